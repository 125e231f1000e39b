//! A deployment's provider key, wherever it is kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::key_store::{AwsKeyStore, KeyFetcher};
use super::{SecretsError, TenantSecrets};
use crate::config::{Secret, SecretRef};
use chat_core::secret::TenantSecret;

/// After a refresh found the store still holding a rejected key, further
/// 401s with that key within this time do not read the store again (one
/// read, not one per request, while a bad key stays in place).
const RECHECK_AFTER: Duration = Duration::from_secs(30);

/// The key a provider sends. Cheap to clone (shared).
#[derive(Clone)]
pub struct ProviderKey(Arc<Source>);

enum Source {
    /// From the environment: fixed for the process.
    Fixed(Secret),
    /// From Secrets Manager or Parameter Store: read on first use, read
    /// again after the provider rejects it.
    Stored {
        what: SecretRef,
        store: Arc<dyn KeyFetcher>,
        state: tokio::sync::Mutex<Stored>,
    },
    /// A tenant's own key, sealed on its tenant item: opened on first use.
    Tenant {
        tenant: uuid::Uuid,
        secret: TenantSecret,
        secrets: Arc<TenantSecrets>,
    },
}

#[derive(Default)]
struct Stored {
    current: Option<Secret>,
    /// A key the provider rejected that the store still held, and when.
    still_rejected: Option<(Secret, Instant)>,
}

impl ProviderKey {
    pub fn fixed(secret: Secret) -> Self {
        Self(Arc::new(Source::Fixed(secret)))
    }

    /// A key read from `store` as `what` names it.
    pub fn stored(what: SecretRef, store: Arc<dyn KeyFetcher>) -> Self {
        Self(Arc::new(Source::Stored {
            what,
            store,
            state: tokio::sync::Mutex::new(Stored::default()),
        }))
    }

    /// A tenant's own key as its tenant item keeps it.
    pub fn tenant(tenant: uuid::Uuid, secret: TenantSecret, secrets: Arc<TenantSecrets>) -> Self {
        Self(Arc::new(Source::Tenant {
            tenant,
            secret,
            secrets,
        }))
    }

    /// The key a setting gives: the environment's value, else the place it
    /// names, read through the process's AWS key store.
    pub fn from_setting(plain: Option<&Secret>, kept: Option<&SecretRef>) -> Option<Self> {
        match (plain, kept) {
            (Some(secret), _) => Some(Self::fixed(secret.clone())),
            (None, Some(what)) => Some(Self::stored(what.clone(), AwsKeyStore::shared())),
            (None, None) => None,
        }
    }

    /// The key to send: read from where it is kept on the first call.
    pub async fn get(&self) -> Result<Secret, SecretsError> {
        match &*self.0 {
            Source::Fixed(secret) => Ok(secret.clone()),
            Source::Stored { what, store, state } => {
                let mut state = state.lock().await;
                if let Some(current) = &state.current {
                    return Ok(current.clone());
                }
                let fresh = store.fetch(what).await?;
                state.current = Some(fresh.clone());
                Ok(fresh)
            }
            Source::Tenant {
                tenant,
                secret,
                secrets,
            } => secrets.open(*tenant, secret).await,
        }
    }

    /// After the provider answered 401 to `rejected`: a different key to
    /// try once, read again from where it is kept (it was rotated), or
    /// `None` when there is none (a fixed key, or the store still holds
    /// the rejected one). Concurrent callers share one read.
    pub async fn refreshed(&self, rejected: &Secret) -> Result<Option<Secret>, SecretsError> {
        let Source::Stored { what, store, state } = &*self.0 else {
            return Ok(None);
        };
        let mut state = state.lock().await;
        if let Some(current) = state.current.as_ref().filter(|c| *c != rejected) {
            return Ok(Some(current.clone()));
        }
        if state
            .still_rejected
            .as_ref()
            .is_some_and(|(key, at)| key == rejected && at.elapsed() < RECHECK_AFTER)
        {
            return Ok(None);
        }
        let fresh = store.fetch(what).await?;
        if &fresh == rejected {
            state.still_rejected = Some((fresh, Instant::now()));
            return Ok(None);
        }
        tracing::info!("provider key read again after a 401: it changed");
        state.current = Some(fresh.clone());
        state.still_rejected = None;
        Ok(Some(fresh))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use secrecy::ExposeSecret;

    use super::*;

    /// A store whose value the test sets, counting reads.
    struct Fake {
        value: Mutex<String>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl KeyFetcher for Fake {
        async fn fetch(&self, _: &SecretRef) -> Result<Secret, SecretsError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Secret::new(self.value.lock().expect("lock").clone()))
        }
    }

    fn fake(value: &str) -> Arc<Fake> {
        Arc::new(Fake {
            value: Mutex::new(value.into()),
            reads: AtomicUsize::new(0),
        })
    }

    #[tokio::test]
    async fn read_once_and_again_after_a_rotation() {
        let store = fake("k1");
        let key = ProviderKey::stored(SecretRef::Parameter("/p".into()), store.clone());
        for _ in 0..3 {
            assert_eq!(key.get().await.expect("key").expose_secret(), "k1");
        }
        assert_eq!(store.reads.load(Ordering::SeqCst), 1);
        *store.value.lock().expect("lock") = "k2".into();
        let k1 = Secret::new("k1");
        let fresh = key.refreshed(&k1).await.expect("read").expect("rotated");
        assert_eq!(fresh.expose_secret(), "k2");
        assert_eq!(key.get().await.expect("key").expose_secret(), "k2");
        // A late 401 with the old key gets the new one without a read.
        let late = key.refreshed(&k1).await.expect("ok").expect("the new key");
        assert_eq!(late.expose_secret(), "k2");
        assert_eq!(store.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_key_rejected_but_not_rotated_is_not_retried_nor_read_per_request() {
        let store = fake("k1");
        let key = ProviderKey::stored(SecretRef::SecretsManager("s".into()), store.clone());
        let k1 = key.get().await.expect("key");
        assert!(key.refreshed(&k1).await.expect("read").is_none());
        assert!(key.refreshed(&k1).await.expect("ok").is_none());
        assert_eq!(store.reads.load(Ordering::SeqCst), 2);
        let fixed = ProviderKey::fixed(k1.clone());
        assert!(fixed.refreshed(&k1).await.expect("ok").is_none());
    }
}
