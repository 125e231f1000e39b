//! Signed visitor identity: a tenant's server signs a `user_identifier`
//! with the tenant's identity secret, so a publishable key (which anyone
//! can copy) cannot read another visitor's sessions.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AuthError;
use crate::config::{ExposeSecret, Secret};
use crate::model::Tenant;
use crate::secrets::TenantSecrets;
use crate::store::StoreError;

/// Longest accepted identity signature (hex SHA-256 is 64 characters).
const MAX_SIGNATURE_LEN: usize = 128;

/// `HMAC-SHA256(secret, user_identifier)` in lowercase hex: what a tenant's
/// server computes and hands the widget as `userSignature`.
pub fn sign_identity(secret: &str, user_identifier: &str) -> String {
    hex::encode(
        identity_mac(secret, user_identifier)
            .finalize()
            .into_bytes(),
    )
}

fn identity_mac(secret: &str, user_identifier: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(user_identifier.as_bytes());
    mac
}

/// Whether `signature` (hex) signs `user_identifier`; constant-time.
pub fn verify_identity(secret: &str, user_identifier: &str, signature: &str) -> bool {
    let signature = signature.trim();
    if signature.len() > MAX_SIGNATURE_LEN {
        return false;
    }
    let Ok(bytes) = hex::decode(signature) else {
        return false;
    };
    identity_mac(secret, user_identifier)
        .verify_slice(&bytes)
        .is_ok()
}

/// The tenant's identity secret, opened (sealed at rest): only for a
/// request that carries a signature to check.
pub async fn open_identity_secret(
    secrets: &TenantSecrets,
    tenant: &Tenant,
) -> Result<Option<Secret>, AuthError> {
    let Some(identity) = &tenant.identity else {
        return Ok(None);
    };
    secrets
        .open(tenant.tenant_id, &identity.secret)
        .await
        .map(Some)
        .map_err(|e| {
            AuthError::Store(StoreError::Unavailable(format!(
                "cannot open the tenant's identity secret: {e}"
            )))
        })
}

/// The tenant's identity rule for a `user_identifier` named by a
/// publishable-key request: with an identity secret, a signature that is
/// given must be right; when the tenant requires it, it must be given.
/// `opened` is the identity secret as [`open_identity_secret`] gives it
/// (needed only when a signature is given; a plain stored one serves too).
pub fn check_identity(
    tenant: &Tenant,
    opened: Option<&Secret>,
    user_identifier: &str,
    signature: Option<&str>,
) -> Result<(), AuthError> {
    let Some(identity) = &tenant.identity else {
        return Ok(());
    };
    match signature.map(str::trim).filter(|s| !s.is_empty()) {
        Some(sig) => {
            let secret = opened.or_else(|| identity.secret.plain()).ok_or_else(|| {
                AuthError::Store(StoreError::Unavailable(
                    "the identity secret was not opened".into(),
                ))
            })?;
            if verify_identity(secret.expose_secret(), user_identifier, sig) {
                Ok(())
            } else {
                Err(AuthError::InvalidUserSignature)
            }
        }
        None if identity.required => Err(AuthError::UserSignatureRequired),
        None => Ok(()),
    }
}

/// A new identity secret: 256 random bits in hex.
pub fn new_identity_secret() -> Result<String, getrandom::Error> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    Ok(hex::encode(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign_identity("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = sign_identity("s3cret", "alice@example.com");
        assert!(verify_identity("s3cret", "alice@example.com", &sig));
        assert!(verify_identity(
            "s3cret",
            "alice@example.com",
            &sig.to_uppercase()
        ));
        assert!(!verify_identity("s3cret", "bob@example.com", &sig));
        assert!(!verify_identity("other", "alice@example.com", &sig));
        assert!(!verify_identity("s3cret", "alice@example.com", "zz"));
        assert!(!verify_identity("s3cret", "alice@example.com", &sig[..62]));
    }
}
