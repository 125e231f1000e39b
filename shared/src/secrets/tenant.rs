//! Tenants' secrets at rest: sealed when a tenant item is written, opened
//! where a request uses one (a signature to check, a call to the tenant's
//! own provider), never on a plain tenant read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::Aes256Gcm;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::SecretsError;
use super::envelope::{cipher, open_with, seal_with, tenant_aad};
use super::wrap::KeyWrapper;
use crate::config::Secret;
use crate::model::Tenant;
use chat_core::secret::{SealedSecret, TenantSecret};

/// How long a process seals with one data key before asking for a new
/// one: a rotated or replaced KMS key reaches new values within this time.
const DATA_KEY_MAX_AGE: Duration = Duration::from_secs(3600);
/// Opened data keys kept per process (one per process that wrote some
/// tenant's secret); past this the cache starts again.
const OPENED_KEYS_MAX: usize = 256;

/// The data key this process seals with.
struct SealingKey {
    cipher: Arc<Aes256Gcm>,
    wrapped: String,
    made: Instant,
}

/// Seals and opens tenants' secrets. Without a wrapper (no KMS key and no
/// key file configured) secrets are written plain, as before encryption
/// existed, and a sealed one cannot be opened.
pub struct TenantSecrets {
    wrapper: Option<Arc<dyn KeyWrapper>>,
    sealing: tokio::sync::Mutex<Option<SealingKey>>,
    opened: Mutex<HashMap<String, Arc<Aes256Gcm>>>,
}

impl TenantSecrets {
    /// Secrets stored as given.
    pub fn plaintext() -> Self {
        Self::with(None)
    }

    /// Secrets sealed under data keys `wrapper` wraps.
    pub fn new(wrapper: Arc<dyn KeyWrapper>) -> Self {
        Self::with(Some(wrapper))
    }

    fn with(wrapper: Option<Arc<dyn KeyWrapper>>) -> Self {
        Self {
            wrapper,
            sealing: tokio::sync::Mutex::new(None),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// Whether written secrets are sealed.
    pub fn seals(&self) -> bool {
        self.wrapper.is_some()
    }

    /// The tenant with every plain secret sealed (a no-op without a key).
    pub async fn seal_tenant(&self, tenant: &mut Tenant) -> Result<(), SecretsError> {
        if !self.seals() {
            return Ok(());
        }
        let id = tenant.tenant_id;
        if let Some(identity) = &mut tenant.identity {
            self.seal_in_place(id, &mut identity.secret).await?;
        }
        if let Some(key) = tenant
            .custom_provider
            .as_mut()
            .and_then(|p| p.api_key.as_mut())
        {
            self.seal_in_place(id, key).await?;
        }
        Ok(())
    }

    async fn seal_in_place(
        &self,
        tenant: Uuid,
        secret: &mut TenantSecret,
    ) -> Result<(), SecretsError> {
        if let TenantSecret::Plain(plain) = secret {
            *secret = TenantSecret::Sealed(self.seal(tenant, plain).await?);
        }
        Ok(())
    }

    /// `plain` sealed for `tenant` under this process's data key.
    pub async fn seal(&self, tenant: Uuid, plain: &Secret) -> Result<SealedSecret, SecretsError> {
        let wrapper = self
            .wrapper
            .as_ref()
            .ok_or_else(|| SecretsError::NoKey("none".into()))?;
        let (cipher, wrapped) = self.sealing_key(wrapper.as_ref()).await?;
        let (nonce, data) = seal_with(
            &cipher,
            &tenant_aad(tenant),
            plain.expose_secret().as_bytes(),
        )?;
        Ok(SealedSecret {
            wrap: wrapper.name().to_owned(),
            key: wrapped,
            nonce: BASE64.encode(nonce),
            data: BASE64.encode(data),
        })
    }

    /// The current data key, made (one `GenerateDataKey`) when there is
    /// none or it is older than [`DATA_KEY_MAX_AGE`].
    async fn sealing_key(
        &self,
        wrapper: &dyn KeyWrapper,
    ) -> Result<(Arc<Aes256Gcm>, String), SecretsError> {
        let mut current = self.sealing.lock().await;
        if let Some(key) = current
            .as_ref()
            .filter(|k| k.made.elapsed() < DATA_KEY_MAX_AGE)
        {
            return Ok((key.cipher.clone(), key.wrapped.clone()));
        }
        let (plain, wrapped) = wrapper.new_data_key().await?;
        let key = SealingKey {
            cipher: Arc::new(cipher(plain.expose_secret())?),
            wrapped: BASE64.encode(wrapped),
            made: Instant::now(),
        };
        // This process may open what it sealed without asking KMS.
        self.remember(&key.wrapped, key.cipher.clone());
        let out = (key.cipher.clone(), key.wrapped.clone());
        *current = Some(key);
        Ok(out)
    }

    /// The value of a tenant's secret: a plain one as it is; a sealed one
    /// decrypted, its data key unwrapped once per process.
    pub async fn open(&self, tenant: Uuid, secret: &TenantSecret) -> Result<Secret, SecretsError> {
        let sealed = match secret {
            TenantSecret::Plain(plain) => return Ok(plain.clone()),
            TenantSecret::Sealed(sealed) => sealed,
        };
        let wrapper = self
            .wrapper
            .as_ref()
            .filter(|w| w.name() == sealed.wrap)
            .ok_or_else(|| SecretsError::NoKey(sealed.wrap.clone()))?;
        let cipher = match self.remembered(&sealed.key) {
            Some(cipher) => cipher,
            None => {
                let wrapped = decode(&sealed.key)?;
                let plain = wrapper.unwrap(&wrapped).await?;
                let cipher = Arc::new(cipher(plain.expose_secret())?);
                self.remember(&sealed.key, cipher.clone());
                cipher
            }
        };
        let plain = open_with(
            &cipher,
            &tenant_aad(tenant),
            &decode(&sealed.nonce)?,
            &decode(&sealed.data)?,
        )?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SecretsError::Corrupt)
    }

    fn remembered(&self, wrapped: &str) -> Option<Arc<Aes256Gcm>> {
        let opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        opened.get(wrapped).cloned()
    }

    fn remember(&self, wrapped: &str, cipher: Arc<Aes256Gcm>) {
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if opened.len() >= OPENED_KEYS_MAX {
            opened.clear();
        }
        opened.insert(wrapped.to_owned(), cipher);
    }
}

fn decode(text: &str) -> Result<Vec<u8>, SecretsError> {
    BASE64.decode(text).map_err(|_| SecretsError::Corrupt)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::model::{IdentitySettings, TenantProvider};
    use crate::secrets::LocalKeyWrapper;
    use crate::secrets::wrap::DataKey;

    /// The local wrapper, counting its calls.
    struct Counting {
        inner: LocalKeyWrapper,
        made: AtomicUsize,
        unwrapped: AtomicUsize,
    }

    #[async_trait]
    impl KeyWrapper for Counting {
        fn name(&self) -> &'static str {
            "local"
        }
        async fn new_data_key(&self) -> Result<(DataKey, Vec<u8>), SecretsError> {
            self.made.fetch_add(1, Ordering::SeqCst);
            self.inner.new_data_key().await
        }
        async fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, SecretsError> {
            self.unwrapped.fetch_add(1, Ordering::SeqCst);
            self.inner.unwrap(wrapped).await
        }
    }

    fn tenant_with_secrets() -> Tenant {
        Tenant {
            tenant_id: Uuid::now_v7(),
            identity: Some(IdentitySettings {
                secret: Secret::new("identity-secret").into(),
                required: true,
            }),
            custom_provider: Some(TenantProvider {
                base_url: "http://127.0.0.1:1/v1".into(),
                model: "m".into(),
                api_key: Some(Secret::new("tenant-provider-key").into()),
            }),
            ..Tenant::default()
        }
    }

    #[tokio::test]
    async fn one_data_key_per_process_and_one_unwrap_per_data_key() {
        let dir = tempfile::tempdir().expect("dir");
        let local = || LocalKeyWrapper::open_or_create(&dir.path().join("k")).expect("key");
        let counting = Arc::new(Counting {
            inner: local(),
            made: AtomicUsize::new(0),
            unwrapped: AtomicUsize::new(0),
        });
        let writer = TenantSecrets::new(counting.clone());
        let mut tenant = tenant_with_secrets();
        writer.seal_tenant(&mut tenant).await.expect("seals");
        let stored = serde_json::to_string(&tenant).expect("json");
        assert!(!stored.contains("identity-secret") && !stored.contains("tenant-provider-key"));
        let identity = tenant.identity.clone().expect("identity").secret;
        assert!(identity.is_sealed());
        assert_eq!(
            counting.made.load(Ordering::SeqCst),
            1,
            "one data key for both"
        );
        let opened = writer
            .open(tenant.tenant_id, &identity)
            .await
            .expect("opens");
        assert_eq!(opened.expose_secret(), "identity-secret");
        assert_eq!(counting.unwrapped.load(Ordering::SeqCst), 0, "its own key");

        // Another process opens it with one unwrap, then from its cache.
        let reader = TenantSecrets::new(counting.clone());
        let key = tenant
            .custom_provider
            .clone()
            .expect("p")
            .api_key
            .expect("key");
        for _ in 0..3 {
            let opened = reader.open(tenant.tenant_id, &key).await.expect("opens");
            assert_eq!(opened.expose_secret(), "tenant-provider-key");
        }
        assert_eq!(counting.unwrapped.load(Ordering::SeqCst), 1);
        assert!(matches!(
            reader.open(Uuid::now_v7(), &key).await,
            Err(SecretsError::Corrupt)
        ));
        assert!(matches!(
            TenantSecrets::plaintext()
                .open(tenant.tenant_id, &key)
                .await,
            Err(SecretsError::NoKey(_))
        ));
    }

    #[tokio::test]
    async fn without_a_key_secrets_stay_plain() {
        let mut tenant = tenant_with_secrets();
        let before = tenant.clone();
        TenantSecrets::plaintext()
            .seal_tenant(&mut tenant)
            .await
            .expect("no-op");
        assert_eq!(tenant, before);
    }
}
