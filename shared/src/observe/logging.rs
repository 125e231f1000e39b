//! The process's `tracing` subscriber and the metrics sink, set up once by
//! each binary from the environment.
//!
//! | variable | values | default |
//! |---|---|---|
//! | `LOG_FORMAT` | `json`, `text` | `json` on Lambda, `text` elsewhere |
//! | `RUST_LOG` | an `EnvFilter` | `info` |
//! | `METRICS` | `emf`, `off` | `emf` on Lambda, `off` elsewhere |
//! | `METRICS_NAMESPACE` | a CloudWatch namespace | `ChatPlatform` |
//!
//! Logs go to stderr, metrics lines to stdout: on Lambda both reach the
//! function's log group, where CloudWatch extracts the metrics; locally
//! they stay apart (`chatctl serve` prints its banner on stdout).

use super::metrics;

/// Set by Lambda in every function's environment.
const LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One line per event for people (timestamp, level, fields).
    Text,
    /// One JSON object per line: `timestamp`, `level`, the event's fields
    /// at the top level, `target`, and the enclosing request's `span`
    /// (`request_id`, `route`, `tenant_id`).
    Json,
}

/// The observability settings, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub log_format: LogFormat,
    /// Write EMF lines (`None`: metrics off).
    pub metrics_namespace: Option<String>,
}

impl Settings {
    /// Reads the settings through `lookup` (the environment in binaries).
    /// An unknown value falls back to the default with a warning on stderr:
    /// a typo in a logging switch must not keep a function from starting.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let on_lambda = lookup(LAMBDA_FUNCTION_NAME).is_some_and(|v| !v.is_empty());
        let log_format = match lookup("LOG_FORMAT").as_deref().map(str::trim) {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            other => {
                if let Some(v) = other.filter(|v| !v.is_empty()) {
                    eprintln!("LOG_FORMAT={v} is neither json nor text; using the default");
                }
                if on_lambda {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }
        };
        let metrics_on = match lookup("METRICS").as_deref().map(str::trim) {
            Some("emf") => true,
            Some("off") => false,
            _ => on_lambda,
        };
        let namespace = lookup("METRICS_NAMESPACE")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| metrics::DEFAULT_NAMESPACE.to_owned());
        Self {
            log_format,
            metrics_namespace: metrics_on.then_some(namespace),
        }
    }

    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

/// Installs the subscriber (stderr; `RUST_LOG` sets the level, default
/// `info`) and the metrics sink. Called once by each binary; a second call
/// (tests) keeps the first.
pub fn init(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if let Some(namespace) = &settings.metrics_namespace {
        metrics::install_stdout(namespace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn json_and_metrics_on_lambda_text_and_no_metrics_locally() {
        let local = settings(&[]);
        assert_eq!(local.log_format, LogFormat::Text);
        assert_eq!(local.metrics_namespace, None);
        let lambda = settings(&[(LAMBDA_FUNCTION_NAME, "chat-sessions")]);
        assert_eq!(lambda.log_format, LogFormat::Json);
        assert_eq!(lambda.metrics_namespace.as_deref(), Some("ChatPlatform"));
    }

    #[test]
    fn each_default_can_be_overridden() {
        let local = settings(&[
            ("LOG_FORMAT", "json"),
            ("METRICS", "emf"),
            ("METRICS_NAMESPACE", "Chat/prod"),
        ]);
        assert_eq!(local.log_format, LogFormat::Json);
        assert_eq!(local.metrics_namespace.as_deref(), Some("Chat/prod"));
        let lambda = settings(&[
            (LAMBDA_FUNCTION_NAME, "f"),
            ("LOG_FORMAT", "text"),
            ("METRICS", "off"),
        ]);
        assert_eq!(lambda.log_format, LogFormat::Text);
        assert_eq!(lambda.metrics_namespace, None);
        assert_eq!(
            settings(&[("LOG_FORMAT", "yaml")]).log_format,
            LogFormat::Text
        );
    }
}
