//! What the network providers share: one HTTP client per process, retries
//! with jittered exponential backoff, error mapping, and turning a streamed
//! (SSE) or whole JSON reply into [`StreamEvent`]s.
//!
//! Retries are a short hand-written loop rather than a crate: a retry must
//! wait at least what the provider's `retry-after` asks, within a total time
//! budget, and only the status of the first response decides (a stream that
//! has started is never replayed).

use std::time::{Duration, Instant};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use super::{Completion, ProviderError, StreamEvent};
use crate::config::{ProviderHttpSettings, Secret};
use crate::secrets::ProviderKey;

/// The most of an error body kept for the log.
const MAX_ERROR_BODY: usize = 2_000;

/// The process's provider client: one connection pool, reused by every
/// provider and request.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    settings: ProviderHttpSettings,
}

impl HttpClient {
    pub fn new(settings: ProviderHttpSettings) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("chat-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::NotAvailable(format!("HTTP client: {e}")))?;
        Ok(Self { client, settings })
    }

    /// POSTs `body` as JSON; retries 429, 5xx (Anthropic's 529 included) and
    /// connection failures, then answers the first success or the error.
    pub async fn post_json(
        &self,
        url: &str,
        headers: HeaderMap,
        body: &Value,
    ) -> Result<reqwest::Response, ProviderError> {
        let started = Instant::now();
        let mut retry = 0u32;
        loop {
            let sent = self
                .client
                .post(url)
                .headers(headers.clone())
                .json(body)
                .send()
                .await;
            let (error, retry_after) = match sent {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = retry_after(response.headers());
                    let message = error_message(response).await;
                    (ProviderError::Upstream { status, message }, retry_after)
                }
                Err(e) => (map_reqwest_error(&e), None),
            };
            let retryable = match &error {
                ProviderError::Upstream { status, .. } => *status == 429 || *status >= 500,
                ProviderError::Network(_) => true,
                _ => false,
            };
            if !retryable || retry >= self.settings.max_retries {
                return Err(error);
            }
            let delay =
                backoff(self.settings.retry_base, retry).max(retry_after.unwrap_or_default());
            if started.elapsed() + delay > self.settings.retry_budget {
                tracing::warn!(%error, ?delay, "provider retry would exceed the retry budget");
                return Err(error);
            }
            tracing::warn!(%error, attempt = retry + 1, ?delay, "provider call failed; retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

impl HttpClient {
    /// [`post_json`](Self::post_json) with the headers `headers` makes for
    /// `key`'s current value. A 401 has the key read again from where it
    /// is kept (rotated since this process read it) and, when it changed,
    /// the call made once more with the new key.
    pub async fn post_json_with_key(
        &self,
        url: &str,
        key: Option<&ProviderKey>,
        headers: impl Fn(Option<&Secret>) -> Result<HeaderMap, ProviderError>,
        body: &Value,
    ) -> Result<reqwest::Response, ProviderError> {
        let Some(key) = key else {
            return self.post_json(url, headers(None)?, body).await;
        };
        let used = key.get().await.map_err(key_unavailable)?;
        let first = self.post_json(url, headers(Some(&used))?, body).await;
        if !matches!(first, Err(ProviderError::Upstream { status: 401, .. })) {
            return first;
        }
        match key.refreshed(&used).await {
            Ok(Some(fresh)) => self.post_json(url, headers(Some(&fresh))?, body).await,
            Ok(None) => first,
            Err(e) => {
                tracing::warn!(error = %e, "the provider rejected its key; reading it again failed");
                first
            }
        }
    }
}

/// A key that could not be read or opened: the provider cannot be called.
fn key_unavailable(e: crate::secrets::SecretsError) -> ProviderError {
    ProviderError::NotAvailable(format!("provider key: {e}"))
}

/// `base * 2^retry`, with "equal jitter": half of it fixed, half random, so
/// concurrent clients spread out but never retry at once.
fn backoff(base: Duration, retry: u32) -> Duration {
    let full = base.saturating_mul(1u32 << retry.min(16));
    let half = full / 2;
    let mut bytes = [0u8; 4];
    let fraction = match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    };
    half + half.mul_f64(fraction)
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds; an HTTP date is
/// ignored and the backoff used instead.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    let secs = value("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| value("retry-after"))?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3_600.0)))
}

/// The provider's own explanation of an error answer, for the log:
/// `error.message` of both Anthropic's and OpenAI's error bodies, else the
/// start of the body.
async fn error_message(response: reqwest::Response) -> String {
    let body = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return format!("(error body unreadable: {e})"),
    };
    if let Ok(json) = serde_json::from_slice::<Value>(&body)
        && let Some(message) = json
            .pointer("/error/message")
            .or_else(|| json.get("message"))
            .and_then(Value::as_str)
    {
        return message.to_owned();
    }
    let text = String::from_utf8_lossy(&body);
    text.chars().take(MAX_ERROR_BODY).collect()
}

pub(crate) fn map_reqwest_error(e: &reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else if e.is_decode() {
        ProviderError::Malformed(e.to_string())
    } else {
        ProviderError::Network(e.to_string())
    }
}

/// What a decoder made of one server-sent event.
pub(crate) enum Decoded {
    Text(String),
    Nothing,
    /// The provider said the reply is complete.
    End,
}

/// One provider's reply format.
pub(crate) trait Decoder: Send + 'static {
    /// Handles one server-sent event.
    fn event(&mut self, event: &Event) -> Result<Decoded, ProviderError>;
    /// Whether a stream that ends here (without an end marker) is complete.
    fn complete_at_eof(&self) -> bool {
        false
    }
    /// The completion once the reply ended; `text` is every delta joined.
    fn finish(self, text: String) -> Result<Completion, ProviderError>;
    /// A whole (non-streamed) JSON reply, from a server that ignored `stream`.
    fn whole(self, body: &[u8]) -> Result<Completion, ProviderError>;
}

struct DecodeState<D> {
    events: BoxStream<'static, Result<Event, EventStreamError<reqwest::Error>>>,
    decoder: Option<D>,
    text: String,
}

/// The reply as deltas then `Done`, whether the server streamed it (SSE) or
/// sent it whole. A stream that breaks off yields an error, never a `Done`.
pub(crate) async fn decode_reply<D: Decoder>(
    response: reqwest::Response,
    decoder: D,
) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
    let streamed = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !streamed {
        let body = response.bytes().await.map_err(|e| map_reqwest_error(&e))?;
        let completion = decoder.whole(&body)?;
        let events = [
            Ok(StreamEvent::Delta(completion.text.clone())),
            Ok(StreamEvent::Done(completion)),
        ];
        return Ok(futures::stream::iter(events).boxed());
    }
    let state = DecodeState {
        events: response.bytes_stream().eventsource().boxed(),
        decoder: Some(decoder),
        text: String::new(),
    };
    Ok(futures::stream::unfold(state, |mut st| async move {
        loop {
            let decoder = st.decoder.as_mut()?;
            let step = match st.events.next().await {
                Some(Ok(event)) => decoder.event(&event),
                Some(Err(EventStreamError::Transport(e))) => Err(map_reqwest_error(&e)),
                Some(Err(e)) => Err(ProviderError::Malformed(e.to_string())),
                None if decoder.complete_at_eof() => Ok(Decoded::End),
                None => Err(ProviderError::Malformed(
                    "the stream ended before the reply was complete".into(),
                )),
            };
            let item = match step {
                Ok(Decoded::Text(text)) if !text.is_empty() => {
                    st.text.push_str(&text);
                    Ok(StreamEvent::Delta(text))
                }
                Ok(Decoded::Text(_) | Decoded::Nothing) => continue,
                Ok(Decoded::End) => {
                    let decoder = st.decoder.take()?;
                    decoder
                        .finish(std::mem::take(&mut st.text))
                        .map(StreamEvent::Done)
                }
                Err(e) => {
                    st.decoder = None;
                    Err(e)
                }
            };
            return Some((item, st));
        }
    })
    .boxed())
}

/// Parses an event's JSON data.
pub(crate) fn json_data(event: &Event) -> Result<Value, ProviderError> {
    serde_json::from_str(&event.data)
        .map_err(|e| ProviderError::Malformed(format!("event `{}`: {e}", event.event)))
}

pub(crate) fn parse_whole(body: &[u8]) -> Result<Value, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::Malformed(format!("reply body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_with_jitter_within_bounds() {
        let base = Duration::from_millis(100);
        for retry in 0..4 {
            let full = base * (1 << retry);
            let d = backoff(base, retry);
            assert!(d >= full / 2 && d <= full, "{retry}: {d:?}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&h), None);
    }
}
