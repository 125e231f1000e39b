//! Typed settings, read once from the environment at start-up.
//!
//! Names and defaults follow the reference system's settings, so an existing
//! deployment's environment carries over. A value that does not parse stops
//! start-up with a message naming the variable; secrets are never printed.

use std::fmt;
use std::path::PathBuf;

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
}

/// A secret string: usable, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
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
    pub bot: BotDefaults,
    /// `CHAT_STORE`: `embedded` (default) or `dynamodb`.
    pub store: StoreKind,
    /// `CHAT_DATA_DIR`: where the embedded store keeps its files.
    pub data_dir: PathBuf,
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
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests never touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secret = |name: &str| get(name).map(Secret);
        let anthropic_api_key = secret("ANTHROPIC_API_KEY");
        let openai_api_key = secret("OPENAI_API_KEY");
        let no_real_provider = anthropic_api_key.is_none() && openai_api_key.is_none();
        Ok(Self {
            session_timeout_secs: parse_int(&get, "CHAT_SESSION_TIMEOUT", 30 * 60, 1)?,
            max_upload_bytes: parse_int(&get, "FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, 1)?,
            default_provider: get("AI_PROVIDER").unwrap_or_else(|| "claude".into()),
            enable_dummy_provider: match get("ENABLE_DUMMY_PROVIDER") {
                None => no_real_provider,
                Some(v) => parse_bool("ENABLE_DUMMY_PROVIDER", &v)?,
            },
            anthropic_api_key,
            openai_api_key,
            claude_model: get("CLAUDE_MODEL").unwrap_or_else(|| "claude-3-5-haiku-20241022".into()),
            openai_model: get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o".into()),
            dummy_model: get("DUMMY_MODEL").unwrap_or_else(|| "dummy-1.0".into()),
            bot: BotDefaults {
                name: get("BOT_NAME").unwrap_or_else(|| "Claude Assistant".into()),
                powered_by: get("BOT_POWERED_BY").unwrap_or_else(|| "Claude".into()),
                color: get("BOT_COLOR").unwrap_or_else(|| "#667eea".into()),
                msg_bg_color: get("BOT_MSG_BG_COLOR").unwrap_or_else(|| "#667eea".into()),
                icon: get("BOT_ICON"),
            },
            store: match get("CHAT_STORE").as_deref() {
                None | Some("embedded") => StoreKind::Embedded,
                Some("dynamodb") => StoreKind::DynamoDb,
                Some(other) => {
                    return Err(ConfigError {
                        name: "CHAT_STORE",
                        reason: format!("expected `embedded` or `dynamodb`, got `{other}`"),
                    });
                }
            },
            data_dir: get("CHAT_DATA_DIR")
                .map_or_else(|| PathBuf::from(".chat-data"), PathBuf::from),
            api_key_cache_secs: parse_int(&get, "API_KEY_CACHE_SECONDS", 60, 0)?,
            table_name: get("TABLE_NAME").unwrap_or_else(|| "chat".into()),
            bucket_name: get("BUCKET_NAME").unwrap_or_else(|| "chat-uploads".into()),
            s3_path_style: match get("S3_FORCE_PATH_STYLE") {
                Some(v) => parse_bool("S3_FORCE_PATH_STYLE", &v)?,
                None => get("AWS_ENDPOINT_URL_S3")
                    .or_else(|| get("AWS_ENDPOINT_URL"))
                    .is_some(),
            },
            upload_url_expires_secs: parse_int(&get, "UPLOAD_URL_EXPIRES_SECONDS", 900, 1)?,
        })
    }
}

fn parse_int<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(name) else {
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
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let c = config(&[("OPENAI_API_KEY", "sk-very-secret")]).expect("parses");
        assert!(!format!("{c:?}").contains("sk-very-secret"));
    }
}
