//! Identifiers parsed once at the edge ("parse, don't validate"): a value of
//! these types is valid everywhere it travels, so the rules live here alone.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// A session id: a UUID. Anything else is the reference's 400
/// `Invalid session ID`, wherever it arrives (path, body, form field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SessionId(Uuid);

/// The input was not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid session ID")]
pub struct InvalidSessionId;

impl SessionId {
    /// Surrounding white space is ignored, as clients paste ids.
    pub fn parse(raw: &str) -> Result<Self, InvalidSessionId> {
        Uuid::try_parse(raw.trim())
            .map(Self)
            .map_err(|_| InvalidSessionId)
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for SessionId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<SessionId> for Uuid {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A visitor's identifier as the tenant names it (an e-mail, a user id).
/// It is part of a table sort key, hence the limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserIdentifier(String);

/// Longest accepted identifier, in characters.
pub const MAX_USER_IDENTIFIER_CHARS: usize = 255;
/// Longest accepted identifier, in UTF-8 bytes (DynamoDB key size).
pub const MAX_USER_IDENTIFIER_BYTES: usize = 1_000;

/// Why an identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UserIdentifierError {
    #[error("user_identifier is required")]
    Empty,
    #[error("user_identifier too long")]
    TooLong,
}

impl UserIdentifier {
    /// Trims white space; an empty result is `Empty` (callers for which the
    /// identifier is optional treat that as "none given").
    pub fn parse(raw: &str) -> Result<Self, UserIdentifierError> {
        let s = raw.trim();
        if s.is_empty() {
            Err(UserIdentifierError::Empty)
        } else if s.chars().count() > MAX_USER_IDENTIFIER_CHARS
            || s.len() > MAX_USER_IDENTIFIER_BYTES
        {
            Err(UserIdentifierError::TooLong)
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// An optional identifier: absent or blank is `None`.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, UserIdentifierError> {
        match raw.map(Self::parse) {
            None | Some(Err(UserIdentifierError::Empty)) => Ok(None),
            Some(other) => other.map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserIdentifier {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn session_ids_are_uuids() {
        let id = Uuid::now_v7();
        assert_eq!(SessionId::parse(&format!(" {id} ")).map(Uuid::from), Ok(id));
        assert_eq!(SessionId::parse("nope"), Err(InvalidSessionId));
        let parsed: Result<SessionId, _> = serde_json::from_str("\"x\"");
        assert_eq!(parsed.unwrap_err().to_string(), "Invalid session ID");
    }

    #[test]
    fn user_identifiers_have_one_rule() {
        assert_eq!(UserIdentifier::parse("  a@b.c ").unwrap().as_str(), "a@b.c");
        assert_eq!(UserIdentifier::parse("  "), Err(UserIdentifierError::Empty));
        assert_eq!(UserIdentifier::parse_optional(Some(" ")), Ok(None));
        assert_eq!(UserIdentifier::parse_optional(None), Ok(None));
        let long = "x".repeat(MAX_USER_IDENTIFIER_CHARS + 1);
        assert_eq!(
            UserIdentifier::parse(&long),
            Err(UserIdentifierError::TooLong)
        );
        // 251 characters of 4 bytes each: within the characters, over the bytes.
        let wide = "\u{1F600}".repeat(251);
        assert_eq!(
            UserIdentifier::parse(&wide),
            Err(UserIdentifierError::TooLong)
        );
    }
}
