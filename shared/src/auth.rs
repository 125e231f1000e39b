//! API keys and the tenant extractor.
//!
//! A secret key is `cb_` followed by 192 random bits in hex. Only its SHA-256
//! is stored. Verified keys are cached per process for
//! `API_KEY_CACHE_SECONDS`, so a warm function spends no table read on auth;
//! a revoked key stops working within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::http::AppError;
use crate::model::{ApiKeyRecord, KeyKind, Tenant};
use crate::store::StoreError;
use crate::store::repo::Repository;

pub const API_KEY_HEADER: &str = "x-api-key";
pub const SECRET_KEY_PREFIX: &str = "cb_";
const KEY_RANDOM_BYTES: usize = 24;
/// Keys longer than this are not ours; refused without hashing or a read.
const MAX_KEY_LEN: usize = 128;
/// Bound on cached keys, so a flood of distinct valid keys cannot grow memory.
const MAX_CACHED_KEYS: usize = 10_000;

/// The authenticated caller: the tenant and the key it used.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Arc<Tenant>,
    pub key: Arc<ApiKeyRecord>,
}

impl Caller {
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.tenant_id
    }
}

/// A new secret key, and the record to store for it.
pub fn new_secret_key(
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), getrandom::Error> {
    let mut random = [0u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut random)?;
    let key = format!("{SECRET_KEY_PREFIX}{}", hex::encode(random));
    let record = ApiKeyRecord {
        key_id: Uuid::new_v4(),
        tenant_id: tenant,
        key_hash: hash_key(&key),
        prefix: key.chars().take(SECRET_KEY_PREFIX.len() + 6).collect(),
        kind: KeyKind::Secret,
        created_at: now_ms,
        revoked: false,
    };
    Ok((key, record))
}

/// Hex SHA-256 of the key: what the table stores and looks up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Verifies keys against the table, with a small time-bounded cache.
pub struct Authenticator {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Caller)>>,
}

impl Authenticator {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The caller for `key`: one key read and one tenant read on a cache miss.
    pub async fn verify(&self, repo: &Repository, key: &str) -> Result<Caller, AppError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.starts_with(SECRET_KEY_PREFIX) {
            return Err(AppError::InvalidApiKey);
        }
        let hash = hash_key(key);
        if let Some(caller) = self.cached(&hash) {
            return Ok(caller);
        }
        let record = repo
            .find_api_key(&hash)
            .await?
            .ok_or(AppError::InvalidApiKey)?;
        if record.revoked {
            return Err(AppError::InvalidApiKey);
        }
        let tenant = repo
            .get_tenant(record.tenant_id)
            .await?
            .ok_or(AppError::InvalidApiKey)?;
        let caller = Caller {
            tenant: Arc::new(tenant),
            key: Arc::new(record),
        };
        self.remember(hash, caller.clone());
        Ok(caller)
    }

    fn cached(&self, hash: &str) -> Option<Caller> {
        if self.ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (at, caller) = cache.get(hash)?;
        (at.elapsed() < self.ttl).then(|| caller.clone())
    }

    fn remember(&self, hash: String, caller: Caller) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_KEYS {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
        }
        cache.insert(hash, (Instant::now(), caller));
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(value) = parts.headers.get(API_KEY_HEADER) else {
            return Err(AppError::MissingApiKey);
        };
        let key = value.to_str().map_err(|_| AppError::InvalidApiKey)?.trim();
        if key.is_empty() {
            return Err(AppError::MissingApiKey);
        }
        state.auth.verify(&state.repo, key).await
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
        bot: Default::default(),
        custom_provider: None,
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
    let (key, record) = new_secret_key(tenant, now_ms)
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
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
