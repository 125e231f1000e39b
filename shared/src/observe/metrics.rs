//! CloudWatch Embedded Metric Format (EMF): each measurement is one JSON
//! object on one line, whose `_aws.CloudWatchMetrics` directive tells
//! CloudWatch Logs which members are metrics and which are dimensions.
//! Lambda ships stdout to the function's log group, where the metrics are
//! extracted: no API call, no agent, nothing on the request's path but a
//! line written.
//!
//! Our own writer rather than `metrics_cloudwatch_embedded`: that crate
//! is an exporter for the `metrics` facade that aggregates per invocation
//! and keeps properties collector-wide (one global map), so a tenant id per
//! line would race between the concurrent requests of `chatctl serve`, and
//! it writes one dimension set per line. A line per event is a hundred lines
//! here on the `serde_json` the crate already has.
//!
//! Dimensions stay few (every distinct value is a billed metric): none, or
//! `Provider`. The tenant id is a property: searchable in Logs Insights,
//! never a metric of its own.

use std::future::Future;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::providers::{Completion, ProviderError};

/// The namespace when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "ChatPlatform";

/// Where the lines go, and under which namespace.
struct Sink {
    namespace: String,
    write: fn(&str),
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every line to stdout (a binary's start-up, `observe::init`).
pub(crate) fn install_stdout(namespace: &str) {
    let _ = SINK.set(Sink {
        namespace: namespace.to_owned(),
        write: write_stdout,
    });
}

/// One line at a time under stdout's lock, so lines never interleave. A
/// failed write is dropped: metrics never fail a request.
fn write_stdout(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
}

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
        }
    }
}

/// One EMF document: metrics, their dimensions, and properties (context
/// for Logs Insights that is not a metric).
#[derive(Debug, Default)]
pub struct Record {
    /// Each set is one aggregation CloudWatch keeps; `[]` is the total.
    dimension_sets: Vec<Vec<&'static str>>,
    metrics: Vec<(&'static str, Unit)>,
    members: Map<String, Value>,
}

impl Record {
    /// A record aggregated over the whole service (no dimension).
    pub fn total() -> Self {
        Self {
            dimension_sets: vec![vec![]],
            ..Self::default()
        }
    }

    /// A record kept per `name` (with its `value`) and in total.
    pub fn by(name: &'static str, value: &str) -> Self {
        let mut record = Self {
            dimension_sets: vec![vec![name], vec![]],
            ..Self::default()
        };
        record.members.insert(name.into(), value.into());
        record
    }

    pub fn metric(mut self, name: &'static str, unit: Unit, value: impl Into<Value>) -> Self {
        self.metrics.push((name, unit));
        self.members.insert(name.into(), value.into());
        self
    }

    pub fn property(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.members.insert(name.into(), value.into());
        self
    }

    /// The tenant, as a property.
    pub fn tenant(self, tenant: Option<Uuid>) -> Self {
        match tenant {
            Some(id) => self.property("tenantId", id.to_string()),
            None => self,
        }
    }

    /// The JSON document under `namespace`, stamped `timestamp_ms`.
    pub fn to_json(&self, namespace: &str, timestamp_ms: u64) -> Value {
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit.name()}))
            .collect();
        let mut document = self.members.clone();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": self.dimension_sets,
                    "Metrics": metrics,
                }],
            }),
        );
        Value::Object(document)
    }

    /// Writes the line, when metrics are on.
    pub fn emit(self) {
        let Some(sink) = SINK.get() else { return };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        (sink.write)(&self.to_json(&sink.namespace, now).to_string());
    }
}

/// Milliseconds with microsecond precision.
pub(crate) fn millis(latency: Duration) -> f64 {
    // Exact below 2^53 microseconds (285 years).
    #[allow(clippy::cast_precision_loss)]
    let micros = latency.as_micros() as f64;
    micros / 1000.0
}

/// One answered API request: `Requests`, `Latency`, and 0/1 counts of
/// `Http4xx`, `Http5xx` and `RateLimited` (429), so a rate is a sum over
/// `Requests`. The route (a template such as
/// `/api/chat/sessions/{session_id}`) and the status are properties.
pub fn request(tenant: Option<Uuid>, route: &str, status: u16, latency: Duration) -> Record {
    Record::total()
        .metric("Requests", Unit::Count, 1)
        .metric("Latency", Unit::Milliseconds, millis(latency))
        .metric(
            "Http4xx",
            Unit::Count,
            u8::from((400..500).contains(&status)),
        )
        .metric("Http5xx", Unit::Count, u8::from(status >= 500))
        .metric("RateLimited", Unit::Count, u8::from(status == 429))
        .property("route", route)
        .property("status", status)
        .tenant(tenant)
}

/// One provider call (a whole streamed reply): `ProviderCalls`,
/// `ProviderErrors` (0/1) and `ProviderLatency`, per provider and in total;
/// a failure's kind (`timeout`, `upstream`, ...) is a property.
pub fn provider_call(
    tenant: Uuid,
    provider: &str,
    latency: Duration,
    error: Option<&ProviderError>,
) -> Record {
    let record = Record::by("Provider", provider)
        .metric("ProviderCalls", Unit::Count, 1)
        .metric("ProviderErrors", Unit::Count, u8::from(error.is_some()))
        .metric("ProviderLatency", Unit::Milliseconds, millis(latency))
        .tenant(Some(tenant));
    match error {
        Some(e) => record.property("errorKind", error_kind(e)),
        None => record,
    }
}

/// A stable name for a provider failure (its text may quote the provider).
fn error_kind(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::NotAvailable(_) => "notAvailable",
        ProviderError::Timeout => "timeout",
        ProviderError::Upstream { .. } => "upstream",
        ProviderError::Malformed(_) => "malformed",
        ProviderError::Network(_) => "network",
    }
}

/// Runs `call` (a provider's whole reply) and emits its
/// [`provider_call`] line: a call site wraps its future in this and is
/// otherwise unchanged.
pub async fn timed_provider_call<T>(
    tenant: Uuid,
    provider: &str,
    call: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    let started = std::time::Instant::now();
    let outcome = call.await;
    provider_call(tenant, provider, started.elapsed(), outcome.as_ref().err()).emit();
    outcome
}

/// One stored exchange (the visitor's message and the reply):
/// `Messages`, and the provider's token counts where it reported them.
pub fn message(tenant: Uuid, provider: &str, reply: &Completion) -> Record {
    let mut record = Record::total()
        .metric("Messages", Unit::Count, 1)
        .property("provider", provider)
        .tenant(Some(tenant));
    if let Some(n) = reply.input_tokens {
        record = record.metric("InputTokens", Unit::Count, n);
    }
    if let Some(n) = reply.output_tokens {
        record = record.metric("OutputTokens", Unit::Count, n);
    }
    record
}

/// One session created: `Sessions`.
pub fn session_created(tenant: Uuid) -> Record {
    Record::total()
        .metric("Sessions", Unit::Count, 1)
        .tenant(Some(tenant))
}

/// One file stored (multipart or a completed direct upload): `Uploads`
/// and `UploadBytes`.
pub fn upload(tenant: Uuid, bytes: u64) -> Record {
    Record::total()
        .metric("Uploads", Unit::Count, 1)
        .metric("UploadBytes", Unit::Bytes, bytes)
        .tenant(Some(tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_an_emf_document() {
        let tenant = Uuid::nil();
        let line = provider_call(
            tenant,
            "claude",
            Duration::from_micros(1500),
            Some(&ProviderError::Timeout),
        )
        .to_json("Chat", 1_700_000_000_000);
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Chat",
                        "Dimensions": [["Provider"], []],
                        "Metrics": [
                            {"Name": "ProviderCalls", "Unit": "Count"},
                            {"Name": "ProviderErrors", "Unit": "Count"},
                            {"Name": "ProviderLatency", "Unit": "Milliseconds"},
                        ],
                    }],
                },
                "Provider": "claude",
                "ProviderCalls": 1,
                "ProviderErrors": 1,
                "ProviderLatency": 1.5,
                "tenantId": tenant.to_string(),
                "errorKind": "timeout",
            })
        );
    }

    #[test]
    fn a_request_counts_its_status_class() {
        let limited =
            request(None, "/api/chat/messages/send", 429, Duration::ZERO).to_json("Chat", 0);
        assert_eq!(limited["Http4xx"], 1);
        assert_eq!(limited["RateLimited"], 1);
        assert_eq!(limited["Http5xx"], 0);
        assert!(limited.get("tenantId").is_none());
        let failed = request(Some(Uuid::nil()), "/x", 503, Duration::ZERO).to_json("Chat", 0);
        assert_eq!(
            (failed["Http4xx"].clone(), failed["Http5xx"].clone()),
            (json!(0), json!(1))
        );
        assert_eq!(
            failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
    }
}
