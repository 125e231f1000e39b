//! Claude through the Anthropic Messages API (`POST {base}/v1/messages`,
//! streamed): `message_start` (model, input tokens), `content_block_delta`
//! (`text_delta`), `message_delta` (output tokens), `message_stop`, and
//! `error` events.

use async_trait::async_trait;
use eventsource_stream::Event;
use futures::stream::BoxStream;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::http::{Decoded, Decoder, HttpClient, decode_reply, json_data, parse_whole};
use super::{Completion, Provider, ProviderError, StreamEvent};
use crate::config::{ExposeSecret, Secret};
use crate::model::Role;
use crate::prompt::{ChatTurn, ProviderRequest};
use crate::secrets::ProviderKey;

pub const API_VERSION: &str = "2023-06-01";

pub struct AnthropicProvider {
    url: String,
    api_key: ProviderKey,
    model: String,
    http: HttpClient,
}

impl AnthropicProvider {
    pub fn new(base_url: &str, api_key: ProviderKey, model: String, http: HttpClient) -> Self {
        Self {
            url: format!("{}/v1/messages", base_url.trim_end_matches('/')),
            api_key,
            model,
            http,
        }
    }

    fn headers(api_key: Option<&Secret>) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        let api_key = api_key.map_or("", |k| k.expose_secret());
        let mut key = HeaderValue::from_str(api_key).map_err(|_| {
            ProviderError::NotAvailable("ANTHROPIC_API_KEY is not a valid header value".into())
        })?;
        key.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), key);
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        Ok(headers)
    }
}

/// The Messages API's rules for `messages`: it starts with a user turn and
/// roles alternate. Consecutive turns of one role (a stored failed user
/// message followed by a new one) are joined; leading assistant turns and
/// empty turns are dropped.
pub fn alternating_messages(turns: &[ChatTurn]) -> Vec<Value> {
    let mut merged: Vec<(Role, String)> = Vec::new();
    for turn in turns {
        let role = match turn.role {
            Role::User | Role::Assistant => turn.role,
            Role::System => continue,
        };
        if turn.content.trim().is_empty() || (merged.is_empty() && role != Role::User) {
            continue;
        }
        match merged.last_mut() {
            Some((last, text)) if *last == role => {
                text.push_str("\n\n");
                text.push_str(&turn.content);
            }
            _ => merged.push((role, turn.content.clone())),
        }
    }
    merged
        .into_iter()
        .map(|(role, content)| {
            let role = if role == Role::User {
                "user"
            } else {
                "assistant"
            };
            json!({"role": role, "content": content})
        })
        .collect()
}

pub fn request_body(request: &ProviderRequest) -> Value {
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": alternating_messages(&request.messages),
        "stream": true,
    });
    if !request.system.is_empty() {
        body["system"] = request.system.clone().into();
    }
    body
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn id(&self) -> &'static str {
        "claude"
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    async fn stream(
        &self,
        request: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
        let body = request_body(&request);
        let response = self
            .http
            .post_json_with_key(&self.url, Some(&self.api_key), Self::headers, &body)
            .await?;
        decode_reply(response, ClaudeDecoder::new(request.model)).await
    }
}

struct ClaudeDecoder {
    model: String,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

impl ClaudeDecoder {
    fn new(model: String) -> Self {
        Self {
            model,
            input_tokens: None,
            output_tokens: None,
        }
    }

    fn usage(&mut self, usage: Option<&Value>) {
        let Some(usage) = usage else { return };
        if let Some(n) = usage.get("input_tokens").and_then(Value::as_u64) {
            self.input_tokens = Some(n);
        }
        if let Some(n) = usage.get("output_tokens").and_then(Value::as_u64) {
            self.output_tokens = Some(n);
        }
    }
}

/// An `error` event: the HTTP status the same error would have had.
fn stream_error(data: &Value) -> ProviderError {
    let kind = data
        .pointer("/error/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "invalid_request_error" => 400,
        _ => 500,
    };
    let message = data
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("error event without a message");
    ProviderError::Upstream {
        status,
        message: format!("{kind}: {message}"),
    }
}

impl Decoder for ClaudeDecoder {
    fn event(&mut self, event: &Event) -> Result<Decoded, ProviderError> {
        if event.event == "ping" {
            return Ok(Decoded::Nothing);
        }
        let data = json_data(event)?;
        match data
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&event.event)
        {
            "message_start" => {
                if let Some(model) = data.pointer("/message/model").and_then(Value::as_str) {
                    self.model = model.to_owned();
                }
                self.usage(data.pointer("/message/usage"));
                Ok(Decoded::Nothing)
            }
            "content_block_delta" => match data.pointer("/delta/type").and_then(Value::as_str) {
                Some("text_delta") => data
                    .pointer("/delta/text")
                    .and_then(Value::as_str)
                    .map(|t| Decoded::Text(t.to_owned()))
                    .ok_or_else(|| ProviderError::Malformed("text_delta without text".into())),
                _ => Ok(Decoded::Nothing),
            },
            "message_delta" => {
                self.usage(data.get("usage"));
                Ok(Decoded::Nothing)
            }
            "message_stop" => Ok(Decoded::End),
            "error" => Err(stream_error(&data)),
            _ => Ok(Decoded::Nothing),
        }
    }

    fn finish(self, text: String) -> Result<Completion, ProviderError> {
        Ok(Completion {
            text,
            model: self.model,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
        })
    }

    fn whole(mut self, body: &[u8]) -> Result<Completion, ProviderError> {
        let data = parse_whole(body)?;
        let blocks = data
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| ProviderError::Malformed("reply without `content`".into()))?;
        let text: String = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        if let Some(model) = data.get("model").and_then(Value::as_str) {
            self.model = model.to_owned();
        }
        self.usage(data.get("usage"));
        self.finish(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::ContextStats;

    fn turn(role: Role, content: &str) -> ChatTurn {
        ChatTurn {
            role,
            content: content.into(),
        }
    }

    #[test]
    fn messages_start_with_a_user_turn_and_alternate() {
        let turns = [
            turn(Role::Assistant, "Hello! How can I help?"),
            turn(Role::User, "first try"),
            turn(Role::User, "second try"),
            turn(Role::Assistant, "An answer"),
            turn(Role::Assistant, ""),
            turn(Role::User, "Thanks"),
        ];
        assert_eq!(
            alternating_messages(&turns),
            vec![
                json!({"role": "user", "content": "first try\n\nsecond try"}),
                json!({"role": "assistant", "content": "An answer"}),
                json!({"role": "user", "content": "Thanks"}),
            ]
        );
    }

    #[test]
    fn the_body_carries_model_system_and_stream() {
        let request = ProviderRequest {
            model: "claude-haiku-4-5".into(),
            system: "Be brief.".into(),
            messages: vec![turn(Role::User, "Hi")],
            max_tokens: 300,
            stats: ContextStats::default(),
        };
        let body = request_body(&request);
        assert_eq!(
            body,
            json!({
                "model": "claude-haiku-4-5",
                "max_tokens": 300,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "Hi"}],
                "stream": true,
            })
        );
    }

    #[test]
    fn events_give_text_usage_and_the_end() {
        let mut d = ClaudeDecoder::new("asked".into());
        let ev = |name: &str, data: Value| Event {
            event: name.into(),
            data: data.to_string(),
            ..Default::default()
        };
        let start = ev(
            "message_start",
            json!({"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        );
        assert!(matches!(d.event(&start), Ok(Decoded::Nothing)));
        let delta = ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        );
        assert!(matches!(d.event(&delta), Ok(Decoded::Text(t)) if t == "Hi"));
        let usage = ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}}),
        );
        assert!(matches!(d.event(&usage), Ok(Decoded::Nothing)));
        let stop = ev("message_stop", json!({"type": "message_stop"}));
        assert!(matches!(d.event(&stop), Ok(Decoded::End)));
        let error = ev(
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        );
        assert!(matches!(
            d.event(&error),
            Err(ProviderError::Upstream { status: 529, .. })
        ));
        let done = d.finish("Hi".into()).expect("completes");
        assert_eq!(done.model, "claude-x");
        assert_eq!(done.input_tokens, Some(25));
        assert_eq!(done.output_tokens, Some(15));
    }
}
