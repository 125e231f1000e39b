//! Key material: generating keys, hashing them for the table, and issuing
//! them (with the tenants they belong to) for `chatctl` and tests.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{PUBLISHABLE_KEY_PREFIX, SECRET_KEY_PREFIX};
use crate::model::{ApiKeyRecord, KeyKind, Tenant};
use crate::store::StoreError;
use crate::store::repo::Repository;

pub(super) const KEY_RANDOM_BYTES: usize = 24;

/// A new key of this kind, and the record to store for it.
pub fn new_key(
    kind: KeyKind,
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), getrandom::Error> {
    let mut random = [0u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut random)?;
    let prefix = kind.prefix();
    let key = format!("{prefix}{}", hex::encode(random));
    let record = ApiKeyRecord {
        key_id: Uuid::new_v4(),
        tenant_id: tenant,
        key_hash: hash_key(&key),
        prefix: key.chars().take(prefix.len() + 6).collect(),
        kind,
        created_at: now_ms,
        revoked: false,
    };
    Ok((key, record))
}

/// A new secret key, and the record to store for it.
pub fn new_secret_key(
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), getrandom::Error> {
    new_key(KeyKind::Secret, tenant, now_ms)
}

/// Hex SHA-256 of the key: what the table stores and looks up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The kind a key's prefix announces, if it is one of ours.
pub(super) fn kind_of(key: &str) -> Option<KeyKind> {
    if key.starts_with(SECRET_KEY_PREFIX) {
        Some(KeyKind::Secret)
    } else if key.starts_with(PUBLISHABLE_KEY_PREFIX) {
        Some(KeyKind::Publishable)
    } else {
        None
    }
}

/// Creates a tenant; used by `chatctl` and by tests.
pub async fn create_tenant(
    repo: &Repository,
    name: &str,
    email: &str,
    now_ms: i64,
) -> Result<Tenant, StoreError> {
    let tenant = Tenant {
        tenant_id: Uuid::new_v4(),
        name: name.to_owned(),
        email: email.to_owned(),
        created_at: now_ms,
        ..Tenant::default()
    };
    repo.create_tenant(&tenant).await?;
    Ok(tenant)
}

/// Issues and stores a new secret key for the tenant; returns the key, which
/// is shown once and never stored.
pub async fn issue_key(
    repo: &Repository,
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), StoreError> {
    issue_key_of_kind(repo, tenant, KeyKind::Secret, now_ms).await
}

/// Issues and stores a new key of this kind; the key is shown once.
pub async fn issue_key_of_kind(
    repo: &Repository,
    tenant: Uuid,
    kind: KeyKind,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), StoreError> {
    let (key, record) = new_key(kind, tenant, now_ms)
        .map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    repo.create_api_key(&record).await?;
    Ok((key, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_long_and_distinct() {
        let (a, record) = new_secret_key(Uuid::nil(), 0).expect("randomness");
        let (b, _) = new_secret_key(Uuid::nil(), 0).expect("randomness");
        assert!(a.starts_with("cb_"));
        assert_eq!(a.len(), 3 + 2 * KEY_RANDOM_BYTES);
        assert_ne!(a, b);
        assert_eq!(record.key_hash, hash_key(&a));
        assert!(!record.key_hash.contains(&a[3..]));
    }

    #[test]
    fn publishable_keys_have_their_own_prefix() {
        let (key, record) = new_key(KeyKind::Publishable, Uuid::nil(), 0).expect("randomness");
        assert!(key.starts_with("pk_"));
        assert_eq!(record.kind, KeyKind::Publishable);
        assert_eq!(kind_of(&key), Some(KeyKind::Publishable));
        assert_eq!(kind_of("sk_x"), None);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
