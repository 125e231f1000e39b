//! Key verification with a small per-process cache, so a warm function
//! spends no table read on auth; and each key's `last_used_at`, written at
//! most once per key per hour per process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::keys::{hash_key, kind_of};
use super::{AuthError, Caller};
use crate::model::{ApiKeyRecord, Tenant};
use crate::store::repo::Repository;

/// Keys longer than this are not ours; refused without hashing or a read.
const MAX_KEY_LEN: usize = 128;
/// Bound on cached keys, so a flood of distinct valid keys cannot grow memory.
const MAX_CACHED_KEYS: usize = 10_000;
/// A key's `last_used_at` is written when the last write this process made
/// for it is older than this: a key's listing is late by up to an hour, and
/// requests cost no write but one per key per hour per process.
pub const LAST_USED_INTERVAL_MS: i64 = 3_600_000;

/// Verifies keys against the table, with a small time-bounded cache.
pub struct Authenticator {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Caller)>>,
    /// Key id -> when this process last wrote its `last_used_at`.
    touched: Mutex<HashMap<uuid::Uuid, i64>>,
}

impl Authenticator {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            cache: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
        }
    }

    /// [`Authenticator::verify`] for a request that uses the key: its
    /// `last_used_at` is written when due (on a cold key alongside the
    /// tenant read, so it adds no latency there). A failed write is logged,
    /// never a failed request.
    pub async fn verify_use(
        &self,
        repo: &Repository,
        key: &str,
        now_ms: i64,
    ) -> Result<Caller, AuthError> {
        self.verify_at(repo, key, Some(now_ms)).await
    }

    /// Writes the key's `last_used_at` if this process has not for an hour.
    async fn touch(&self, repo: &Repository, key: &ApiKeyRecord, now_ms: i64) {
        if !self.touch_due(key.key_id, now_ms) {
            return;
        }
        if let Err(e) = repo.touch_api_key(key.tenant_id, key.key_id, now_ms).await {
            tracing::warn!(error = %e, key_id = %key.key_id, "cannot record the key's last use");
        }
    }

    /// Whether this process should write the key's `last_used_at` now; if
    /// so, it is marked written.
    fn touch_due(&self, key_id: uuid::Uuid, now_ms: i64) -> bool {
        let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        if touched
            .get(&key_id)
            .is_some_and(|at| now_ms.saturating_sub(*at) < LAST_USED_INTERVAL_MS)
        {
            return false;
        }
        if touched.len() >= MAX_CACHED_KEYS {
            touched.clear();
        }
        touched.insert(key_id, now_ms);
        true
    }

    /// A tenant changed here: cached callers of its keys see the new
    /// tenant from the next request on (other processes within the
    /// cache's lifetime).
    pub fn refresh_tenant(&self, tenant: &Tenant) {
        let fresh = Arc::new(tenant.clone());
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (_, caller) in cache.values_mut() {
            if caller.tenant.tenant_id == tenant.tenant_id {
                caller.tenant = fresh.clone();
            }
        }
    }

    /// A key revoked here stops working in this process at once.
    pub fn forget_key(&self, key_hash: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.remove(key_hash);
    }

    /// The caller for `key`: one key read and one tenant read on a cache miss.
    pub async fn verify(&self, repo: &Repository, key: &str) -> Result<Caller, AuthError> {
        self.verify_at(repo, key, None).await
    }

    /// `verify`, touching the key when `used_at` is given.
    async fn verify_at(
        &self,
        repo: &Repository,
        key: &str,
        used_at: Option<i64>,
    ) -> Result<Caller, AuthError> {
        let Some(kind) = kind_of(key) else {
            return Err(AuthError::InvalidApiKey);
        };
        if key.len() > MAX_KEY_LEN {
            return Err(AuthError::InvalidApiKey);
        }
        let hash = hash_key(key);
        if let Some(caller) = self.cached(&hash) {
            if let Some(now) = used_at {
                self.touch(repo, &caller.key, now).await;
            }
            return Ok(caller);
        }
        let record = repo
            .find_api_key(&hash)
            .await?
            .ok_or(AuthError::InvalidApiKey)?;
        if record.revoked || record.kind != kind {
            return Err(AuthError::InvalidApiKey);
        }
        let touch = async {
            if let Some(now) = used_at {
                self.touch(repo, &record, now).await;
            }
        };
        let (tenant, ()) = tokio::join!(repo.get_tenant(record.tenant_id), touch);
        let tenant = tenant?.ok_or(AuthError::InvalidApiKey)?;
        let caller = Caller {
            tenant: Arc::new(tenant),
            key: Arc::new(record),
            user_signature: None,
            identity_secret: None,
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
