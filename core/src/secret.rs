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
}
