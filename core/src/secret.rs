//! A secret string (a provider key, a visitor-identity secret) over the
//! `secrecy` crate: read with [`ExposeSecret::expose_secret`], never shown
//! by `Debug`, zeroed when dropped.

use std::fmt;

pub use secrecy::ExposeSecret;
use secrecy::SecretString;

#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }
}

impl ExposeSecret<str> for Secret {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Settings and tenants compare by value (tests, change detection).
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl Eq for Secret {}

/// Stored as a plain string (a tenant's own provider key is kept on the
/// tenant item); `secrecy` leaves serializing a string secret to its owner.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose_secret())
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A tenant's secret as the tenant item keeps it: sealed (encrypted at
/// rest, `chat_shared::secrets`), or plain on items written before
/// encryption was configured (read as they are, sealed on the next write).
/// Stored as a string when plain (the old form) and as a map when sealed.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum TenantSecret {
    Plain(Secret),
    Sealed(SealedSecret),
}

impl TenantSecret {
    /// The value when it is stored plain; a sealed one must be opened.
    pub fn plain(&self) -> Option<&Secret> {
        match self {
            TenantSecret::Plain(secret) => Some(secret),
            TenantSecret::Sealed(_) => None,
        }
    }

    pub fn is_sealed(&self) -> bool {
        matches!(self, TenantSecret::Sealed(_))
    }
}

impl From<Secret> for TenantSecret {
    fn from(secret: Secret) -> Self {
        TenantSecret::Plain(secret)
    }
}

impl fmt::Debug for TenantSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantSecret::Plain(_) => f.write_str("Plain(***)"),
            TenantSecret::Sealed(s) => write!(f, "Sealed({})", s.wrap),
        }
    }
}

/// An AES-256-GCM ciphertext and the data key it was made with, wrapped by
/// a key-encryption key, so any process holding that key can open it. All
/// byte fields are base64 (standard alphabet, padded).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SealedSecret {
    /// What wrapped the data key: `kms` (a KMS ciphertext blob) or `local`
    /// (a key file's key, for the embedded store).
    pub wrap: String,
    /// The wrapped data key.
    pub key: String,
    /// The 96-bit GCM nonce.
    pub nonce: String,
    /// Ciphertext and tag; the associated data is the tenant id.
    pub data: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value_and_serde_keeps_it() {
        let secret = Secret::new("sk-123");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let json = serde_json::to_string(&secret).expect("serializes");
        assert_eq!(json, "\"sk-123\"");
        let back: Secret = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, secret);
        assert_eq!(back.expose_secret(), "sk-123");
    }

    #[test]
    fn tenant_secrets_read_the_old_plain_form_and_the_sealed_map() {
        let plain: TenantSecret = serde_json::from_str("\"old-key\"").expect("plain");
        assert_eq!(plain.plain().map(|s| s.expose_secret()), Some("old-key"));
        assert_eq!(serde_json::to_string(&plain).expect("ser"), "\"old-key\"");
        let sealed: TenantSecret = serde_json::from_value(serde_json::json!(
            {"wrap": "kms", "key": "a2V5", "nonce": "bm9uY2U=", "data": "ZGF0YQ=="}
        ))
        .expect("sealed");
        assert!(sealed.is_sealed() && sealed.plain().is_none());
        assert_eq!(format!("{plain:?} {sealed:?}"), "Plain(***) Sealed(kms)");
    }
}
