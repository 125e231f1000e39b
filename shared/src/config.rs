//! Typed settings, read once from the environment at start-up.
//!
//! Names and defaults follow the reference system's settings, so an existing
//! deployment's environment carries over. A value that does not parse stops
//! start-up with a message naming the variable; secrets are never printed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::model::{BotSettings, Position, Theme};

/// A current Haiku-class model: fast and cheap, as the reference's default
/// (`claude-3-5-haiku-20241022`) was in its day. `CLAUDE_MODEL` overrides it.
pub const DEFAULT_CLAUDE_MODEL: &str = "claude-haiku-4-5";

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

/// Which table driver backs the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// redb in a data directory: the local default.
    Embedded,
    /// DynamoDB (or a wire-compatible server at `AWS_ENDPOINT_URL`).
    DynamoDb,
}

/// The defaults shown by `GET /sessions/bot-config`; tenants may override them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotDefaults {
    pub name: String,
    pub powered_by: String,
    pub color: String,
    pub msg_bg_color: String,
    pub icon: Option<String>,
    /// `BOT_WELCOME_MESSAGE`: the widget's first words; none when unset.
    pub welcome_message: Option<String>,
    /// `BOT_POSITION`: `right` (default) or `left`.
    pub position: Position,
    /// `BOT_THEME`: `light` (default), `dark` or `auto`.
    pub theme: Theme,
    /// `BOT_LANGUAGE`: the widget's interface language (a BCP 47 tag);
    /// unset, the visitor's browser language.
    pub language: Option<String>,
}

pub use chat_core::secret::{ExposeSecret, Secret};

/// An OpenAI-compatible endpoint (vLLM, Ollama, Groq, a gateway): the
/// `custom` provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomProviderSettings {
    /// Where `/chat/completions` is appended, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer`; local servers often need none.
    pub api_key: Option<Secret>,
}

/// An OpenAI-compatible `/embeddings` endpoint for the knowledge base:
/// documents and questions are embedded and the dense ranking fused with
/// BM25. Unset, the dummy provider's deployments use a local hash
/// embedding and the others BM25 alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingsSettings {
    /// Where `/embeddings` is appended, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
}

/// How provider calls are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderHttpSettings {
    /// `PROVIDER_TIMEOUT_SECONDS`: one attempt, from request to last byte.
    pub timeout: Duration,
    /// `PROVIDER_CONNECT_TIMEOUT_SECONDS`.
    pub connect_timeout: Duration,
    /// `PROVIDER_MAX_RETRIES`: retries after the first attempt on 429, 5xx, 529.
    pub max_retries: u32,
    /// `PROVIDER_RETRY_BASE_MS`: first backoff step, doubled each retry, jittered.
    pub retry_base: Duration,
    /// `PROVIDER_RETRY_BUDGET_SECONDS`: no retry starts after this much time.
    pub retry_budget: Duration,
}

impl Default for ProviderHttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 2,
            retry_base: Duration::from_millis(500),
            retry_budget: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `CHAT_SESSION_TIMEOUT`, seconds of inactivity after which a session is expired.
    pub session_timeout_secs: i64,
    /// `FILE_UPLOAD_MAX_MEMORY_SIZE`, bytes.
    pub max_upload_bytes: usize,
    /// `AI_PROVIDER`: the provider used when a session does not name one it can have.
    pub default_provider: String,
    pub anthropic_api_key: Option<Secret>,
    pub openai_api_key: Option<Secret>,
    /// `ENABLE_DUMMY_PROVIDER`; defaults to on when no provider key is set.
    pub enable_dummy_provider: bool,
    pub claude_model: String,
    pub openai_model: String,
    pub dummy_model: String,
    /// `ANTHROPIC_BASE_URL`: `/v1/messages` is appended.
    pub anthropic_base_url: String,
    /// `OPENAI_BASE_URL`: `/v1/chat/completions` is appended.
    pub openai_base_url: String,
    /// `CUSTOM_PROVIDER_BASE_URL`, `CUSTOM_PROVIDER_MODEL`, `CUSTOM_PROVIDER_API_KEY`.
    pub custom_provider: Option<CustomProviderSettings>,
    pub provider_http: ProviderHttpSettings,
    pub bot: BotDefaults,
    /// `TRUSTED_ORIGINS`: origins of the deployment's own pages served
    /// elsewhere than the API (the widget's and console's CloudFront
    /// domain), admitted for every tenant like the API's own origin.
    /// Normalized; comma- or space-separated in the variable.
    pub trusted_origins: Vec<String>,
    /// `CHAT_STORE`: `embedded` (default) or `dynamodb`.
    pub store: StoreKind,
    /// `CHAT_DATA_DIR`: where the embedded store keeps its files.
    pub data_dir: PathBuf,
    /// `CHAT_CACHE_MB`: the embedded store's page cache, mebibytes.
    pub cache_mb: usize,
    /// `API_KEY_CACHE_SECONDS`: how long a verified key is trusted without a
    /// table read (0 disables the cache). Revocation takes effect within it.
    pub api_key_cache_secs: u64,
    /// `TABLE_NAME`: the DynamoDB table (with `CHAT_STORE=dynamodb`).
    pub table_name: String,
    /// `BUCKET_NAME`: the S3 bucket for uploaded files (with `CHAT_STORE=dynamodb`).
    pub bucket_name: String,
    /// Path-style S3 addressing: on when an endpoint is set
    /// (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`), or by `S3_FORCE_PATH_STYLE`.
    pub s3_path_style: bool,
    /// `UPLOAD_URL_EXPIRES_SECONDS`: how long a presigned upload URL works.
    pub upload_url_expires_secs: u64,
    /// `RATE_LIMIT_MESSAGES_PER_HOUR`: messages one API key may send per
    /// clock hour, unless its tenant sets its own limit.
    pub rate_limit_per_hour: u32,
    /// `TRUSTED_PROXIES`: CIDR blocks (comma-separated) of proxies in front
    /// of the service whose `X-Forwarded-For` is believed; empty: the
    /// client address is the socket's (or API Gateway's source IP).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `CHAT_RETENTION_DAYS`: days a session's items are kept after their
    /// last write, unless the tenant sets its own period.
    pub retention_days: u32,
    /// `WIDGET_BASE_URL`: where `/widget/chatbot.js` is served (the widget's
    /// CDN), for the embed snippet; unset, the request's own origin.
    pub widget_base_url: Option<String>,
    /// `KNOWLEDGE_EMBEDDINGS_BASE_URL`, `KNOWLEDGE_EMBEDDINGS_MODEL`
    /// (default `text-embedding-3-small`), `KNOWLEDGE_EMBEDDINGS_API_KEY`.
    pub knowledge_embeddings: Option<EmbeddingsSettings>,
    /// `KNOWLEDGE_ALLOW_PRIVATE_URLS`: TEST ONLY, off by default. Lets the
    /// knowledge base fetch URLs on loopback, private and link-local
    /// addresses (the tests' local servers). Never set it in a deployment:
    /// it would let a tenant reach the deployment's internal network.
    pub knowledge_allow_private_urls: bool,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests never touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let anthropic_api_key = env.secret("ANTHROPIC_API_KEY");
        let openai_api_key = env.secret("OPENAI_API_KEY");
        let custom_provider = custom_provider(&env)?;
        let no_real_provider =
            anthropic_api_key.is_none() && openai_api_key.is_none() && custom_provider.is_none();
        let provider_http = provider_http(&env)?;
        Ok(Self {
            session_timeout_secs: env.int("CHAT_SESSION_TIMEOUT", 30 * 60, 1)?,
            max_upload_bytes: env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, 1)?,
            default_provider: env.or("AI_PROVIDER", "claude"),
            enable_dummy_provider: env
                .bool("ENABLE_DUMMY_PROVIDER")?
                .unwrap_or(no_real_provider),
            anthropic_api_key,
            openai_api_key,
            claude_model: env.or("CLAUDE_MODEL", DEFAULT_CLAUDE_MODEL),
            openai_model: env.or("OPENAI_MODEL", "gpt-4o"),
            dummy_model: env.or("DUMMY_MODEL", "dummy-1.0"),
            anthropic_base_url: env.url("ANTHROPIC_BASE_URL", "https://api.anthropic.com")?,
            openai_base_url: env.url("OPENAI_BASE_URL", "https://api.openai.com")?,
            custom_provider,
            provider_http,
            bot: bot_defaults(&env)?,
            trusted_origins: trusted_origins(&env)?,
            store: store_kind(&env)?,
            data_dir: PathBuf::from(env.or("CHAT_DATA_DIR", ".chat-data")),
            cache_mb: env.int("CHAT_CACHE_MB", 64, 1)?,
            api_key_cache_secs: env.int("API_KEY_CACHE_SECONDS", 60, 0)?,
            table_name: env.or("TABLE_NAME", "chat"),
            bucket_name: env.or("BUCKET_NAME", "chat-uploads"),
            s3_path_style: match env.bool("S3_FORCE_PATH_STYLE")? {
                Some(v) => v,
                None => env
                    .get("AWS_ENDPOINT_URL_S3")
                    .or_else(|| env.get("AWS_ENDPOINT_URL"))
                    .is_some(),
            },
            upload_url_expires_secs: env.int("UPLOAD_URL_EXPIRES_SECONDS", 900, 1)?,
            rate_limit_per_hour: env.int("RATE_LIMIT_MESSAGES_PER_HOUR", 100, 1)?,
            retention_days: env.int("CHAT_RETENTION_DAYS", 365, 1)?,
            trusted_proxies: trusted_proxies(env.get("TRUSTED_PROXIES").as_deref())?,
            widget_base_url: env
                .get("WIDGET_BASE_URL")
                .map(|raw| parse_url("WIDGET_BASE_URL", &raw))
                .transpose()?,
            knowledge_embeddings: knowledge_embeddings(&env)?,
            knowledge_allow_private_urls: env
                .bool("KNOWLEDGE_ALLOW_PRIVATE_URLS")?
                .unwrap_or(false),
        })
    }
}

/// `CUSTOM_PROVIDER_*`: both the base URL and the model, or neither.
fn custom_provider<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<CustomProviderSettings>, ConfigError> {
    match (
        env.get("CUSTOM_PROVIDER_BASE_URL"),
        env.get("CUSTOM_PROVIDER_MODEL"),
    ) {
        (None, None) => Ok(None),
        (Some(base_url), Some(model)) => Ok(Some(CustomProviderSettings {
            base_url: parse_url("CUSTOM_PROVIDER_BASE_URL", &base_url)?,
            model,
            api_key: env.secret("CUSTOM_PROVIDER_API_KEY"),
        })),
        (Some(_), None) => Err(ConfigError {
            name: "CUSTOM_PROVIDER_MODEL",
            reason: "required when CUSTOM_PROVIDER_BASE_URL is set".into(),
        }),
        (None, Some(_)) => Err(ConfigError {
            name: "CUSTOM_PROVIDER_BASE_URL",
            reason: "required when CUSTOM_PROVIDER_MODEL is set".into(),
        }),
    }
}

/// `KNOWLEDGE_EMBEDDINGS_*`: the knowledge base's embeddings endpoint.
fn knowledge_embeddings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<EmbeddingsSettings>, ConfigError> {
    env.get("KNOWLEDGE_EMBEDDINGS_BASE_URL")
        .map(|raw| {
            Ok(EmbeddingsSettings {
                base_url: parse_url("KNOWLEDGE_EMBEDDINGS_BASE_URL", &raw)?,
                model: env.or("KNOWLEDGE_EMBEDDINGS_MODEL", "text-embedding-3-small"),
                api_key: env.secret("KNOWLEDGE_EMBEDDINGS_API_KEY"),
            })
        })
        .transpose()
}

/// `PROVIDER_*`: timeouts and retries of provider calls.
fn provider_http<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<ProviderHttpSettings, ConfigError> {
    let secs = |name: &'static str, default: u64, min: u64| {
        env.int(name, default, min).map(Duration::from_secs)
    };
    Ok(ProviderHttpSettings {
        timeout: secs("PROVIDER_TIMEOUT_SECONDS", 60, 1)?,
        connect_timeout: secs("PROVIDER_CONNECT_TIMEOUT_SECONDS", 10, 1)?,
        max_retries: env.int("PROVIDER_MAX_RETRIES", 2, 0)?,
        retry_base: Duration::from_millis(env.int("PROVIDER_RETRY_BASE_MS", 500, 1)?),
        retry_budget: secs("PROVIDER_RETRY_BUDGET_SECONDS", 30, 0)?,
    })
}

/// `BOT_*`: what `GET /sessions/bot-config` shows unless a tenant overrides it.
fn bot_defaults<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<BotDefaults, ConfigError> {
    let language = env.get("BOT_LANGUAGE");
    if let Some(tag) = &language {
        let probe = BotSettings {
            language: Some(tag.clone()),
            ..BotSettings::default()
        };
        probe.validate().map_err(|e| ConfigError {
            name: "BOT_LANGUAGE",
            reason: e.detail,
        })?;
    }
    Ok(BotDefaults {
        name: env.or("BOT_NAME", "Claude Assistant"),
        powered_by: env.or("BOT_POWERED_BY", "Claude"),
        color: env.or("BOT_COLOR", "#667eea"),
        msg_bg_color: env.or("BOT_MSG_BG_COLOR", "#667eea"),
        icon: env.get("BOT_ICON"),
        welcome_message: env.get("BOT_WELCOME_MESSAGE"),
        position: env.word("BOT_POSITION", Position::Right, "right or left")?,
        theme: env.word("BOT_THEME", Theme::Light, "light, dark or auto")?,
        language,
    })
}

/// `TRUSTED_ORIGINS`: a list of exact origins (no patterns: these are the
/// deployment's own hosts).
/// `TRUSTED_PROXIES`: `10.0.0.0/8, 2001:db8::/32`; a bare address is a /32
/// (or /128).
fn trusted_proxies(raw: Option<&str>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError {
                    name: "TRUSTED_PROXIES",
                    reason: format!("`{s}` is not a CIDR block such as 10.0.0.0/8"),
                })
        })
        .collect()
}

fn trusted_origins<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Vec<String>, ConfigError> {
    let raw = env.get("TRUSTED_ORIGINS").unwrap_or_default();
    raw.split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|o| {
            chat_core::model::normalize_origin(o).map_err(|e| ConfigError {
                name: "TRUSTED_ORIGINS",
                reason: e.to_string(),
            })
        })
        .collect()
}

/// `CHAT_STORE`.
fn store_kind<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<StoreKind, ConfigError> {
    match env.get("CHAT_STORE").as_deref() {
        None | Some("embedded") => Ok(StoreKind::Embedded),
        Some("dynamodb") => Ok(StoreKind::DynamoDb),
        Some(other) => Err(ConfigError {
            name: "CHAT_STORE",
            reason: format!("expected `embedded` or `dynamodb`, got `{other}`"),
        }),
    }
}

/// The settings as `lookup` gives them: trimmed, an empty value unset, and
/// each kind of value parsed by one rule that names the variable when it
/// fails.
struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }

    fn int<T>(&self, name: &'static str, default: T, min: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let value: T = raw.parse().map_err(|_| ConfigError {
            name,
            reason: format!("expected a whole number, got `{raw}`"),
        })?;
        if value < min {
            return Err(ConfigError {
                name,
                reason: format!("must be at least {min}"),
            });
        }
        Ok(value)
    }

    /// One of a few lowercase words (`T`'s serde names), else `default`.
    fn word<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        serde_json::from_value(serde_json::Value::String(raw.to_ascii_lowercase())).map_err(|_| {
            ConfigError {
                name,
                reason: format!("expected {expected}, got `{raw}`"),
            }
        })
    }

    fn bool(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name).map(|raw| parse_bool(name, &raw)).transpose()
    }

    fn url(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        parse_url(name, &self.or(name, default))
    }
}

/// An `http(s)://` base URL (parsed by the `url` crate, so the host is
/// lowercased and a default port dropped), kept without a trailing slash
/// (`name` names the setting in the error).
pub fn parse_url(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError {
        name,
        reason: format!("expected an http:// or https:// URL, got `{raw}`"),
    };
    let url = Url::parse(raw).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(invalid());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_bool(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            name,
            reason: format!("expected true or false, got `{raw}`"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn knowledge_settings_are_off_by_default() {
        let c = config(&[]).expect("defaults");
        assert!(c.knowledge_embeddings.is_none());
        assert!(!c.knowledge_allow_private_urls);
        let c = config(&[
            ("KNOWLEDGE_EMBEDDINGS_BASE_URL", "http://127.0.0.1:9/v1"),
            ("KNOWLEDGE_ALLOW_PRIVATE_URLS", "true"),
        ])
        .expect("valid");
        let e = c.knowledge_embeddings.expect("configured");
        assert_eq!(e.model, "text-embedding-3-small");
        assert!(e.api_key.is_none());
        assert!(c.knowledge_allow_private_urls);
        let bad = config(&[("KNOWLEDGE_EMBEDDINGS_BASE_URL", "not a url")]).expect_err("refused");
        assert_eq!(bad.name, "KNOWLEDGE_EMBEDDINGS_BASE_URL");
    }

    #[test]
    fn defaults_follow_the_reference_settings() {
        let c = config(&[]).expect("defaults parse");
        assert_eq!(c.session_timeout_secs, 1800);
        assert_eq!(c.max_upload_bytes, 10 * 1024 * 1024);
        assert_eq!(c.default_provider, "claude");
        assert_eq!(c.bot.name, "Claude Assistant");
        assert_eq!(c.bot.color, "#667eea");
        assert_eq!(c.bot.icon, None);
        assert!(c.enable_dummy_provider, "dummy is on when no key is set");
        assert_eq!(c.store, StoreKind::Embedded);
        assert_eq!(c.rate_limit_per_hour, 100);
        assert_eq!(c.retention_days, 365);
    }

    #[test]
    fn a_provider_key_turns_the_dummy_default_off() {
        let c = config(&[("ANTHROPIC_API_KEY", "sk-test")]).expect("parses");
        assert!(!c.enable_dummy_provider);
        let c = config(&[
            ("ANTHROPIC_API_KEY", "sk-test"),
            ("ENABLE_DUMMY_PROVIDER", "True"),
        ])
        .expect("parses");
        assert!(c.enable_dummy_provider);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("CHAT_SESSION_TIMEOUT", "soon")]).expect_err("rejected");
        assert_eq!(err.name, "CHAT_SESSION_TIMEOUT");
        let err = config(&[("CHAT_STORE", "postgres")]).expect_err("rejected");
        assert_eq!(err.name, "CHAT_STORE");
        let err = config(&[("ENABLE_DUMMY_PROVIDER", "maybe")]).expect_err("rejected");
        assert_eq!(err.name, "ENABLE_DUMMY_PROVIDER");
        for (name, bad) in [
            ("BOT_POSITION", "top"),
            ("BOT_THEME", "neon"),
            ("BOT_LANGUAGE", "english!"),
            ("TRUSTED_ORIGINS", "https://ok.test, *.bad.test"),
        ] {
            let err = config(&[(name, bad)]).expect_err("rejected");
            assert_eq!(err.name, name);
        }
    }

    #[test]
    fn bot_defaults_cover_the_widget_settings() {
        let c = config(&[]).expect("defaults parse");
        assert_eq!(c.bot.position, Position::Right);
        assert_eq!(c.bot.theme, Theme::Light);
        assert_eq!((c.bot.welcome_message, c.bot.language), (None, None));
        let c = config(&[
            ("BOT_POSITION", "Left"),
            ("BOT_THEME", "auto"),
            ("BOT_LANGUAGE", "pt-BR"),
            ("BOT_WELCOME_MESSAGE", "Hi there"),
        ])
        .expect("parses");
        assert_eq!(c.bot.position, Position::Left);
        assert_eq!(c.bot.theme, Theme::Auto);
        assert_eq!(c.bot.language.as_deref(), Some("pt-BR"));
        assert_eq!(c.bot.welcome_message.as_deref(), Some("Hi there"));
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks() {
        let c = config(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")]).expect("parses");
        assert_eq!(c.trusted_proxies.len(), 3);
        assert_eq!(c.trusted_proxies[1].to_string(), "192.0.2.7/32");
        assert!(config(&[]).expect("parses").trusted_proxies.is_empty());
        let e = config(&[("TRUSTED_PROXIES", "10.0.0.0/33")]).expect_err("refused");
        assert_eq!(e.name, "TRUSTED_PROXIES");
    }

    #[test]
    fn trusted_origins_are_a_normalized_list() {
        let c = config(&[(
            "TRUSTED_ORIGINS",
            "https://D1.cloudfront.net/, http://127.0.0.1:9000",
        )])
        .expect("parses");
        assert_eq!(
            c.trusted_origins,
            ["https://d1.cloudfront.net", "http://127.0.0.1:9000"]
        );
        assert!(config(&[]).expect("parses").trusted_origins.is_empty());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let c = config(&[
            ("OPENAI_API_KEY", "sk-very-secret"),
            ("CUSTOM_PROVIDER_BASE_URL", "http://127.0.0.1:11434/v1"),
            ("CUSTOM_PROVIDER_MODEL", "llama3"),
            ("CUSTOM_PROVIDER_API_KEY", "custom-very-secret"),
        ])
        .expect("parses");
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk-very-secret"));
        assert!(!shown.contains("custom-very-secret"));
    }

    #[test]
    fn provider_settings_have_defaults() {
        let c = config(&[]).expect("parses");
        assert_eq!(c.claude_model, DEFAULT_CLAUDE_MODEL);
        assert_eq!(c.openai_model, "gpt-4o");
        assert_eq!(c.anthropic_base_url, "https://api.anthropic.com");
        assert_eq!(c.openai_base_url, "https://api.openai.com");
        assert_eq!(c.custom_provider, None);
        assert_eq!(c.provider_http.timeout, Duration::from_secs(60));
        assert_eq!(c.provider_http.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.provider_http.max_retries, 2);
        assert_eq!(c.provider_http.retry_base, Duration::from_millis(500));
        assert_eq!(c.provider_http.retry_budget, Duration::from_secs(30));
    }

    #[test]
    fn provider_settings_are_read() {
        let c = config(&[
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9000/"),
            ("OPENAI_BASE_URL", "https://proxy.example/openai"),
            ("CLAUDE_MODEL", "claude-sonnet-4-5"),
            ("PROVIDER_TIMEOUT_SECONDS", "5"),
            ("PROVIDER_MAX_RETRIES", "0"),
            ("CUSTOM_PROVIDER_BASE_URL", "http://127.0.0.1:8000/v1"),
            ("CUSTOM_PROVIDER_MODEL", "mistral"),
        ])
        .expect("parses");
        assert_eq!(c.anthropic_base_url, "http://127.0.0.1:9000");
        assert_eq!(c.openai_base_url, "https://proxy.example/openai");
        assert_eq!(c.claude_model, "claude-sonnet-4-5");
        assert_eq!(c.provider_http.timeout, Duration::from_secs(5));
        assert_eq!(c.provider_http.max_retries, 0);
        let custom = c.custom_provider.expect("custom provider");
        assert_eq!(custom.base_url, "http://127.0.0.1:8000/v1");
        assert_eq!(custom.model, "mistral");
        assert_eq!(custom.api_key, None);
        assert!(
            !c.enable_dummy_provider,
            "a custom endpoint is a real provider"
        );
    }

    #[test]
    fn base_urls_are_http_urls_without_a_trailing_slash() {
        for (raw, want) in [
            ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
            (
                "https://proxy.example/openai",
                "https://proxy.example/openai",
            ),
            ("https://Proxy.Example:443/v1/", "https://proxy.example/v1"),
        ] {
            assert_eq!(parse_url("X", raw).expect(raw), want);
        }
        for raw in [
            "api.anthropic.com",
            "ftp://files.example",
            "https://a b",
            "http://",
        ] {
            let err = parse_url("X", raw).expect_err(raw);
            assert_eq!(
                err.to_string(),
                format!("invalid setting X: expected an http:// or https:// URL, got `{raw}`")
            );
        }
    }

    #[test]
    fn bad_provider_settings_name_the_variable() {
        let err = config(&[("ANTHROPIC_BASE_URL", "api.anthropic.com")]).expect_err("rejected");
        assert_eq!(err.name, "ANTHROPIC_BASE_URL");
        let err = config(&[("PROVIDER_TIMEOUT_SECONDS", "0")]).expect_err("rejected");
        assert_eq!(err.name, "PROVIDER_TIMEOUT_SECONDS");
        let err =
            config(&[("CUSTOM_PROVIDER_BASE_URL", "http://127.0.0.1:1/v1")]).expect_err("rejected");
        assert_eq!(err.name, "CUSTOM_PROVIDER_MODEL");
        let err = config(&[("CUSTOM_PROVIDER_MODEL", "llama3")]).expect_err("rejected");
        assert_eq!(err.name, "CUSTOM_PROVIDER_BASE_URL");
    }
}
