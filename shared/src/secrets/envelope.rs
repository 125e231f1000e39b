//! AES-256-GCM (the `aes-gcm` crate) with a random 96-bit nonce per value
//! and the tenant id as associated data: a ciphertext copied onto another
//! tenant's item does not open there.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use uuid::Uuid;

use super::SecretsError;

pub const NONCE_LEN: usize = 12;
pub const KEY_LEN: usize = 32;

/// A cipher for a 32-byte key.
pub fn cipher(key: &[u8]) -> Result<Aes256Gcm, SecretsError> {
    Aes256Gcm::new_from_slice(key)
        .map_err(|_| SecretsError::Key(format!("a data key of {} bytes", key.len())))
}

/// A fresh random nonce.
pub fn nonce() -> Result<[u8; NONCE_LEN], SecretsError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| SecretsError::Key(format!("no randomness: {e}")))?;
    Ok(nonce)
}

/// `plain` encrypted under `cipher`, bound to `aad`: the nonce and the
/// ciphertext with its tag.
pub fn seal_with(
    cipher: &Aes256Gcm,
    aad: &[u8],
    plain: &[u8],
) -> Result<([u8; NONCE_LEN], Vec<u8>), SecretsError> {
    let nonce = nonce()?;
    let data = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| SecretsError::Key("encryption failed".into()))?;
    Ok((nonce, data))
}

/// The plaintext of [`seal_with`]'s output, if `aad` is the one it was
/// sealed with and nothing was changed.
pub fn open_with(
    cipher: &Aes256Gcm,
    aad: &[u8],
    nonce: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, SecretsError> {
    if nonce.len() != NONCE_LEN {
        return Err(SecretsError::Corrupt);
    }
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: data, aad })
        .map_err(|_| SecretsError::Corrupt)
}

/// The associated data of a tenant's secret.
pub fn tenant_aad(tenant: Uuid) -> [u8; 16] {
    *tenant.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_tenant_and_unchanged() {
        let cipher = cipher(&[7u8; KEY_LEN]).expect("key");
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let (nonce, data) = seal_with(&cipher, &tenant_aad(alice), b"sk-alice").expect("seals");
        assert!(!data.windows(8).any(|w| w == b"sk-alice"));
        let opened = open_with(&cipher, &tenant_aad(alice), &nonce, &data).expect("opens");
        assert_eq!(opened, b"sk-alice");
        assert!(matches!(
            open_with(&cipher, &tenant_aad(bob), &nonce, &data),
            Err(SecretsError::Corrupt)
        ));
        let mut tampered = data.clone();
        tampered[0] ^= 1;
        assert!(open_with(&cipher, &tenant_aad(alice), &nonce, &tampered).is_err());
        let (again, _) = seal_with(&cipher, &tenant_aad(alice), b"sk-alice").expect("seals");
        assert_ne!(again, nonce, "a fresh nonce per value");
    }
}
