//! `AppState`: what every handler gets, built once per process.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Authenticator;
use crate::blob::BlobStore;
use crate::blob::fs::FsBlobStore;
use crate::blob::s3::S3BlobStore;
use crate::clock::{Clock, IdGenerator, SystemClock};
use crate::config::{Config, StoreKind};
use crate::providers::Providers;
use crate::store::Table;
use crate::store::dynamo::DynamoTable;
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

    /// The state the settings describe: the store, blobs and providers they
    /// select, on the system clock.
    pub async fn from_config(config: Config) -> Result<Self, StartError> {
        let (table, blobs): (Arc<dyn Table>, Arc<dyn BlobStore>) = match config.store {
            StoreKind::Embedded => {
                let dir = &config.data_dir;
                let table = EmbeddedTable::open(
                    &dir.join("table.redb"),
                    config.cache_mb.saturating_mul(1 << 20),
                )?;
                (
                    Arc::new(table),
                    Arc::new(FsBlobStore::new(dir.join("blobs"))),
                )
            }
            StoreKind::DynamoDb => {
                let sdk = aws_sdk_config().await;
                (
                    Arc::new(DynamoTable::new(&sdk, &config.table_name)),
                    Arc::new(S3BlobStore::new(
                        &sdk,
                        &config.bucket_name,
                        config.s3_path_style,
                    )),
                )
            }
        };
        let providers = Providers::from_config(&config)?;
        Ok(Self::new(
            config,
            table,
            blobs,
            providers,
            Arc::new(SystemClock),
        ))
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

/// The AWS SDK configuration from the standard chain (environment,
/// profile, container/instance roles; `AWS_ENDPOINT_URL*` for local servers),
/// with `us-east-1` when no region is set anywhere. Loaded once per process.
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    let region =
        aws_config::meta::region::RegionProviderChain::default_provider().or_else("us-east-1");
    // Standard retry mode: throttling and transient errors are retried with
    // jittered backoff by the SDK itself.
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4))
        .load()
        .await
}

/// Logs to stderr as one line per event; `RUST_LOG` sets the level (default
/// `info`). Called once by each binary.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The state a Lambda function runs with: settings from the environment.
pub async fn state_from_env() -> Result<AppState, StartError> {
    AppState::from_config(Config::from_env()?).await
}
