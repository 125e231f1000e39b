//! Key verification with a small per-process cache, so a warm function
//! spends no table read on auth.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::keys::{hash_key, kind_of};
use super::{AuthError, Caller};
use crate::store::repo::Repository;

/// Keys longer than this are not ours; refused without hashing or a read.
const MAX_KEY_LEN: usize = 128;
/// Bound on cached keys, so a flood of distinct valid keys cannot grow memory.
const MAX_CACHED_KEYS: usize = 10_000;

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
    pub async fn verify(&self, repo: &Repository, key: &str) -> Result<Caller, AuthError> {
        let Some(kind) = kind_of(key) else {
            return Err(AuthError::InvalidApiKey);
        };
        if key.len() > MAX_KEY_LEN {
            return Err(AuthError::InvalidApiKey);
        }
        let hash = hash_key(key);
        if let Some(caller) = self.cached(&hash) {
            return Ok(caller);
        }
        let record = repo
            .find_api_key(&hash)
            .await?
            .ok_or(AuthError::InvalidApiKey)?;
        if record.revoked || record.kind != kind {
            return Err(AuthError::InvalidApiKey);
        }
        let tenant = repo
            .get_tenant(record.tenant_id)
            .await?
            .ok_or(AuthError::InvalidApiKey)?;
        let caller = Caller {
            tenant: Arc::new(tenant),
            key: Arc::new(record),
            user_signature: None,
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
