//! `AppState`: what every handler gets, built once per process.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Authenticator;
use crate::blob::BlobStore;
#[cfg(feature = "embedded-store")]
use crate::blob::fs::FsBlobStore;
use crate::blob::s3::S3BlobStore;
use crate::clock::{Clock, IdGenerator, SystemClock};
use crate::config::{Config, StoreKind};
use crate::providers::Providers;
use crate::secrets::{KmsKeyWrapper, LocalKeyWrapper, TenantSecrets};
use crate::store::Table;
use crate::store::dynamo::DynamoTable;
#[cfg(feature = "embedded-store")]
use crate::store::embedded::EmbeddedTable;
use crate::store::repo::Repository;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub repo: Repository,
    pub blobs: Arc<dyn BlobStore>,
    pub providers: Providers,
    pub auth: Arc<Authenticator>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<IdGenerator>,
    /// The knowledge base's cached indexes, embeddings and fetcher.
    pub knowledge: Arc<crate::service::knowledge::Runtime>,
    /// What the rate limiter remembers between messages.
    pub limits: Arc<crate::ratelimit::Memo>,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot set up the AI providers: {0}")]
    Providers(#[from] crate::providers::ProviderError),
    #[error("cannot set up tenant secrets: {0}")]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("{0}")]
    Unsupported(String),
}

impl AppState {
    /// Assembles a state from its parts; tests pass their own table, clock
    /// and providers.
    pub fn new(
        config: Config,
        table: Arc<dyn Table>,
        blobs: Arc<dyn BlobStore>,
        providers: Providers,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let auth = Authenticator::new(Duration::from_secs(config.api_key_cache_secs));
        let knowledge = Arc::new(crate::service::knowledge::Runtime::new(&config));
        Self {
            knowledge,
            config: Arc::new(config),
            repo: Repository::new(table),
            blobs,
            providers,
            auth: Arc::new(auth),
            clock,
            ids: Arc::new(IdGenerator::default()),
            limits: Arc::default(),
        }
    }

    /// Tenants' secrets are sealed and opened with `secrets` (by the
    /// repository as tenant items are written, by the providers and the
    /// identity check where they are used).
    pub fn with_tenant_secrets(mut self, secrets: Arc<TenantSecrets>) -> Self {
        self.repo = self.repo.with_tenant_secrets(secrets.clone());
        self.providers = self.providers.with_tenant_secrets(secrets);
        self
    }

    /// The state the settings describe: the store, blobs and providers they
    /// select, on the system clock.
    pub async fn from_config(config: Config) -> Result<Self, StartError> {
        let providers = Providers::from_config(&config)?;
        Self::with_providers(config, providers).await
    }

    /// The store and blobs the settings select, with `providers`.
    pub async fn with_providers(config: Config, providers: Providers) -> Result<Self, StartError> {
        let (table, blobs, secrets): (Arc<dyn Table>, Arc<dyn BlobStore>, _) = match config.store {
            #[cfg(feature = "embedded-store")]
            StoreKind::Embedded => {
                let dir = &config.data_dir;
                let table = EmbeddedTable::open(
                    &dir.join("table.redb"),
                    config.cache_mb.saturating_mul(1 << 20),
                )?;
                let blobs = FsBlobStore::new(dir.join("blobs"));
                let secrets = tenant_secrets(&config, None).await?;
                (Arc::new(table), Arc::new(blobs), secrets)
            }
            #[cfg(not(feature = "embedded-store"))]
            StoreKind::Embedded => {
                return Err(StartError::Unsupported(
                    "CHAT_STORE=embedded, but this build has no embedded store: set CHAT_STORE=dynamodb, \
                     or build with `--features chat-shared/embedded-store`"
                        .to_owned(),
                ));
            }
            StoreKind::DynamoDb => {
                let sdk = aws_sdk_config().await;
                let table = DynamoTable::new(&sdk, &config.table_name);
                let blobs = S3BlobStore::new(&sdk, &config.bucket_name, config.s3_path_style);
                let secrets = tenant_secrets(&config, Some(sdk)).await?;
                (Arc::new(table), Arc::new(blobs), secrets)
            }
        };
        Ok(
            Self::new(config, table, blobs, providers, Arc::new(SystemClock))
                .with_tenant_secrets(Arc::new(secrets)),
        )
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The retention TTL (epoch seconds) for items of `tenant` written at
    /// `now_ms`: the tenant's retention days, else `CHAT_RETENTION_DAYS`.
    pub fn expires_at(&self, tenant: &crate::model::Tenant, now_ms: i64) -> i64 {
        let days = tenant
            .retention_days
            .filter(|d| *d > 0)
            .unwrap_or(self.config.retention_days);
        now_ms.div_euclid(1000) + i64::from(days) * 86_400
    }
}

/// How tenants' secrets are kept, as the settings choose: sealed under a
/// KMS key (`TENANT_SECRETS_KMS_KEY_ID`), else under a local key file
/// (`TENANT_SECRETS_KEY_FILE`, by default the embedded store's
/// `<CHAT_DATA_DIR>/tenant-secrets.key`), else (DynamoDB without a KMS key)
/// plain, as before. No KMS call is made here: the first seal or open does.
async fn tenant_secrets(
    config: &Config,
    sdk: Option<aws_config::SdkConfig>,
) -> Result<TenantSecrets, StartError> {
    let settings = &config.tenant_secrets;
    if let Some(key_id) = &settings.kms_key_id {
        let sdk = match sdk {
            Some(sdk) => sdk,
            None => aws_sdk_config().await,
        };
        return Ok(TenantSecrets::new(Arc::new(KmsKeyWrapper::new(
            &sdk, key_id,
        ))));
    }
    let key_file = match (&settings.key_file, config.store) {
        (Some(path), _) => path.clone(),
        (None, StoreKind::Embedded) => LocalKeyWrapper::default_path(&config.data_dir),
        (None, StoreKind::DynamoDb) => {
            tracing::warn!("no TENANT_SECRETS_KMS_KEY_ID: tenants' secrets are stored plain");
            return Ok(TenantSecrets::plaintext());
        }
    };
    Ok(TenantSecrets::new(Arc::new(
        LocalKeyWrapper::open_or_create(&key_file)?,
    )))
}

/// The AWS SDK configuration every client is built from (`aws_sdk`).
pub use crate::aws_sdk::sdk_config as aws_sdk_config;

/// Logs (text locally, JSON on Lambda) and metrics lines as the
/// environment asks (`observe::logging`). Called once by each binary.
pub fn init_logging() {
    crate::observe::init(&crate::observe::Settings::from_env());
}
