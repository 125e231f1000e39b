//! The provider port: how a reply is obtained from an AI model.
//!
//! The trait is streaming-first (`stream` yields text deltas, then the
//! completion), so network-backed providers fit it as they are; `complete`
//! collects a stream for callers that want the whole reply.

pub mod anthropic;
pub mod bedrock;
pub mod dummy;
pub mod http;
pub mod openai;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::config::{
    BedrockSettings, Config, CustomProviderSettings, ProviderHttpSettings, Secret, SecretRef,
};
use crate::model::Tenant;
use crate::secrets::{ProviderKey, TenantSecrets};
// What a provider is asked: built by the context builder, in `chat-core`.
use crate::prompt::ProviderRequest;

/// A finished reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

/// An event of a streamed reply: deltas, then exactly one `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Delta(String),
    Done(Completion),
}

/// Why a provider gave no reply. The message is for logs, never for clients.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("provider not available: {0}")]
    NotAvailable(String),
    #[error("provider timed out")]
    Timeout,
    #[error("provider answered {status}: {message}")]
    Upstream { status: u16, message: String },
    #[error("provider reply malformed: {0}")]
    Malformed(String),
    #[error("provider unreachable: {0}")]
    Network(String),
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The `aiProvider` value that selects it.
    fn id(&self) -> &'static str;

    fn default_model(&self) -> &str;

    /// Starts a reply; the stream yields deltas, then `Done`.
    async fn stream(
        &self,
        request: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError>;

    /// The whole reply.
    async fn complete(&self, request: ProviderRequest) -> Result<Completion, ProviderError> {
        let mut events = self.stream(request).await?;
        while let Some(event) = events.next().await {
            if let StreamEvent::Done(completion) = event? {
                return Ok(completion);
            }
        }
        Err(ProviderError::Malformed(
            "stream ended without a completion".into(),
        ))
    }
}

/// The providers this process can use, and which one answers by default.
/// Network providers share one HTTP client (one connection pool).
#[derive(Clone)]
pub struct Providers {
    by_id: BTreeMap<&'static str, Arc<dyn Provider>>,
    default_id: Option<&'static str>,
    http: http::HttpClient,
    /// Opens a tenant's own provider key when its endpoint is called.
    tenant_secrets: Arc<TenantSecrets>,
}

impl Providers {
    /// The providers the settings enable: `claude` with `ANTHROPIC_API_KEY`
    /// (or `_SECRET` / `_PARAMETER`), `openai` with `OPENAI_API_KEY` (the
    /// same), `custom` with `CUSTOM_PROVIDER_*`, `bedrock` with
    /// `BEDROCK_MODEL_ID`, `dummy` with `ENABLE_DUMMY_PROVIDER` (on when none
    /// of those is set). Keys kept in Secrets Manager or Parameter Store are
    /// read on first use.
    pub fn from_config(config: &Config) -> Result<Self, ProviderError> {
        let http = http::HttpClient::new(config.provider_http.clone())?;
        let list = enabled(config)
            .into_iter()
            .filter_map(|setting| -> Option<Arc<dyn Provider>> {
                Some(match setting {
                    Enabled::Claude(plain, kept) => Arc::new(anthropic::AnthropicProvider::new(
                        &config.anthropic_base_url,
                        ProviderKey::from_setting(plain, kept)?,
                        config.claude_model.clone(),
                        http.clone(),
                    )),
                    Enabled::OpenAi(plain, kept) => Arc::new(openai::OpenAiCompatible::openai(
                        &config.openai_base_url,
                        ProviderKey::from_setting(plain, kept)?,
                        config.openai_model.clone(),
                        http.clone(),
                    )),
                    Enabled::Custom(custom) => Arc::new(openai::OpenAiCompatible::custom(
                        &custom.base_url,
                        ProviderKey::from_setting(
                            custom.api_key.as_ref(),
                            custom.api_key_ref.as_ref(),
                        ),
                        custom.model.clone(),
                        http.clone(),
                    )),
                    Enabled::Bedrock(settings) => Arc::new(bedrock::BedrockProvider::new(
                        settings.clone(),
                        config.provider_http.clone(),
                    )),
                    Enabled::Dummy => {
                        Arc::new(dummy::DummyProvider::new(config.dummy_model.clone()))
                    }
                })
            })
            .collect();
        Ok(Self::with_client(list, &config.default_provider, http))
    }

    /// The same providers as [`Providers::from_config`], known by name and
    /// default model only: for the Lambda functions that offer providers and
    /// check names against them but never call one (sessions, files,
    /// tenant). No provider's client is made, so none of their code (the
    /// Bedrock SDK, Secrets Manager, Parameter Store, the providers' wire
    /// formats) is linked into those functions. Asked for a reply, a listed
    /// provider answers [`ProviderError::NotAvailable`].
    pub fn listed(config: &Config) -> Result<Self, ProviderError> {
        let http = http::HttpClient::new(config.provider_http.clone())?;
        let list = enabled(config)
            .into_iter()
            .map(|setting| -> Arc<dyn Provider> {
                Arc::new(Listed {
                    id: setting.id(),
                    model: setting.model(config).to_owned(),
                })
            })
            .collect();
        Ok(Self::with_client(list, &config.default_provider, http))
    }

    /// `preferred` is the default when present, else the first in the list.
    /// The HTTP client (for tenants' own endpoints) uses default settings.
    pub fn new(list: Vec<Arc<dyn Provider>>, preferred: &str) -> Result<Self, ProviderError> {
        let http = http::HttpClient::new(ProviderHttpSettings::default())?;
        Ok(Self::with_client(list, preferred, http))
    }

    fn with_client(list: Vec<Arc<dyn Provider>>, preferred: &str, http: http::HttpClient) -> Self {
        let default_id = list
            .iter()
            .find(|p| p.id() == preferred)
            .or_else(|| list.first())
            .map(|p| p.id());
        Self {
            by_id: list.into_iter().map(|p| (p.id(), p)).collect(),
            default_id,
            http,
            tenant_secrets: Arc::new(TenantSecrets::plaintext()),
        }
    }

    /// Tenants' own provider keys are opened with `secrets`.
    pub fn with_tenant_secrets(mut self, secrets: Arc<TenantSecrets>) -> Self {
        self.tenant_secrets = secrets;
        self
    }

    /// The provider a session asks for when it is available, else the
    /// default one (so a session naming `claude` still gets an answer on a
    /// server without a Claude key; the reply says which provider answered).
    /// A tenant with its own OpenAI-compatible endpoint gets it for `custom`.
    pub fn resolve(
        &self,
        requested: Option<&str>,
        tenant: &Tenant,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        if requested == Some("custom")
            && let Some(own) = &tenant.custom_provider
        {
            let key = own.api_key.clone().map(|secret| {
                ProviderKey::tenant(tenant.tenant_id, secret, self.tenant_secrets.clone())
            });
            return Ok(Arc::new(openai::OpenAiCompatible::custom(
                &own.base_url,
                key,
                own.model.clone(),
                self.http.clone(),
            )));
        }
        requested
            .and_then(|id| self.by_id.get(id))
            .or_else(|| self.default_id.and_then(|id| self.by_id.get(id)))
            .cloned()
            .ok_or_else(|| ProviderError::NotAvailable("no provider is configured".into()))
    }

    /// The providers a tenant can use, with their default models, and the
    /// default one (the reference's `get_available_providers()`).
    pub fn available(
        &self,
        tenant: &Tenant,
    ) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        let mut list: Vec<(&'static str, String)> = self
            .by_id
            .values()
            .map(|p| (p.id(), p.default_model().to_owned()))
            .collect();
        if let Some(own) = &tenant.custom_provider {
            list.retain(|(id, _)| *id != "custom");
            list.push(("custom", own.model.clone()));
            list.sort_by_key(|(id, _)| *id);
        }
        (list, self.default_id)
    }
}

/// One provider the settings enable, before any client is made. Claude and
/// OpenAI carry their key's settings (`enabled` lists them when one of the
/// two is set).
enum Enabled<'a> {
    Claude(Option<&'a Secret>, Option<&'a SecretRef>),
    OpenAi(Option<&'a Secret>, Option<&'a SecretRef>),
    Custom(&'a CustomProviderSettings),
    Bedrock(&'a BedrockSettings),
    Dummy,
}

impl Enabled<'_> {
    fn id(&self) -> &'static str {
        match self {
            Enabled::Claude(..) => "claude",
            Enabled::OpenAi(..) => "openai",
            Enabled::Custom(_) => "custom",
            Enabled::Bedrock(_) => "bedrock",
            Enabled::Dummy => "dummy",
        }
    }

    fn model<'c>(&'c self, config: &'c Config) -> &'c str {
        match self {
            Enabled::Claude(..) => &config.claude_model,
            Enabled::OpenAi(..) => &config.openai_model,
            Enabled::Custom(custom) => &custom.model,
            Enabled::Bedrock(settings) => &settings.model_id,
            Enabled::Dummy => &config.dummy_model,
        }
    }
}

/// The providers the settings enable, in the order they are offered.
fn enabled(config: &Config) -> Vec<Enabled<'_>> {
    let mut list = Vec::new();
    let anthropic = (
        config.anthropic_api_key.as_ref(),
        config.anthropic_api_key_ref.as_ref(),
    );
    if anthropic.0.is_some() || anthropic.1.is_some() {
        list.push(Enabled::Claude(anthropic.0, anthropic.1));
    }
    let openai = (
        config.openai_api_key.as_ref(),
        config.openai_api_key_ref.as_ref(),
    );
    if openai.0.is_some() || openai.1.is_some() {
        list.push(Enabled::OpenAi(openai.0, openai.1));
    }
    if let Some(custom) = &config.custom_provider {
        list.push(Enabled::Custom(custom));
    }
    if let Some(settings) = &config.bedrock {
        list.push(Enabled::Bedrock(settings));
    }
    if config.enable_dummy_provider {
        list.push(Enabled::Dummy);
    }
    list
}

/// A provider known by name and default model only ([`Providers::listed`]).
struct Listed {
    id: &'static str,
    model: String,
}

#[async_trait]
impl Provider for Listed {
    fn id(&self) -> &'static str {
        self.id
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    async fn stream(
        &self,
        _: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
        Err(ProviderError::NotAvailable(format!(
            "{} is only listed in this function, which sends no messages",
            self.id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("valid settings")
    }

    #[tokio::test]
    async fn listed_providers_are_the_ones_the_settings_enable() {
        let settings = config(&[
            ("ANTHROPIC_API_KEY", "sk-ant"),
            ("OPENAI_API_KEY_PARAMETER", "/chat/openai"),
            ("CUSTOM_PROVIDER_BASE_URL", "http://127.0.0.1:9/v1"),
            ("CUSTOM_PROVIDER_MODEL", "local-model"),
            ("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku"),
            ("ENABLE_DUMMY_PROVIDER", "true"),
            ("AI_PROVIDER", "openai"),
        ]);
        let tenant = Tenant::default();
        let called = Providers::from_config(&settings).expect("providers");
        let listed = Providers::listed(&settings).expect("listed");
        let offered = called.available(&tenant);
        assert_eq!(listed.available(&tenant), offered);
        assert_eq!(offered.0.len(), 5, "{offered:?}");
        assert_eq!(offered.1, Some("openai"));

        let only_dummy = config(&[]);
        let listed = Providers::listed(&only_dummy).expect("listed");
        assert_eq!(
            listed.available(&tenant),
            Providers::from_config(&only_dummy)
                .expect("providers")
                .available(&tenant)
        );
        let dummy = listed.resolve(Some("dummy"), &tenant).expect("dummy");
        let request = ProviderRequest {
            model: String::new(),
            system: String::new(),
            messages: Vec::new(),
            max_tokens: 16,
            stats: Default::default(),
        };
        let refused = dummy.complete(request).await;
        assert!(matches!(refused, Err(ProviderError::NotAvailable(_))));
    }
}
