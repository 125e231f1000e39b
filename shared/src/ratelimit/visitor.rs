//! Who a publishable-key message is counted for.
//!
//! A publishable key is on every visitor's page, so its messages are counted
//! per visitor: by the signed identity when the tenant's server vouched for
//! one (the signature was checked when the session was authorized), else by
//! the widget's visitor id (the session's `user_identifier`, a random id the
//! widget keeps in the browser; the session id without one) together with
//! the client address.
//!
//! Why both: many visitors behind one NAT share an address, so the address
//! alone would make them share one allowance; an id alone costs a script
//! nothing to rotate. With both, visitors behind a NAT keep their own
//! allowances, and a visitor who rotates ids gets a fresh allowance per id
//! only until the tenant ceiling (`limits.tenantPerHour`) stops the whole
//! site's traffic at the level the tenant chose: the ceiling, not the
//! per-visitor limit, is what bounds a determined abuser's spend.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::model::{Session, Tenant};

/// The visitor's counter name: a hash, so neither the identity nor the
/// address is stored in a key.
pub fn visitor_of(
    tenant: &Tenant,
    session: &Session,
    signature: Option<&str>,
    client: Option<IpAddr>,
) -> String {
    let signed = tenant.identity.is_some() && signature.is_some_and(|s| !s.trim().is_empty());
    let identity = match (&session.user_identifier, signed) {
        (Some(user), true) => format!("id:{user}"),
        (user, _) => {
            let id = user
                .clone()
                .unwrap_or_else(|| session.session_id.to_string());
            let addr = client.map_or_else(|| "-".to_owned(), |a| a.to_string());
            format!("anon:{id}@{addr}")
        }
    };
    let digest = Sha256::digest(identity.as_bytes());
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IdentitySettings;

    #[test]
    fn signed_visitors_are_counted_wherever_they_are() {
        let mut tenant = Tenant::default();
        let session: Session = serde_json::from_value(serde_json::json!({
            "tenant_id": uuid::Uuid::nil(), "session_id": uuid::Uuid::nil(), "config": {},
            "user_identifier": "alice", "created_at": 0, "last_activity": 0
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "198.51.100.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        // Anonymous: the same id behind another address is another visitor.
        assert_ne!(
            visitor_of(&tenant, &session, None, Some(a)),
            visitor_of(&tenant, &session, None, Some(b))
        );
        tenant.identity = Some(IdentitySettings {
            secret: chat_core::Secret::new("s"),
            required: false,
        });
        assert_eq!(
            visitor_of(&tenant, &session, Some("sig"), Some(a)),
            visitor_of(&tenant, &session, Some("sig"), Some(b))
        );
        assert_eq!(visitor_of(&tenant, &session, None, None).len(), 32);
    }
}
