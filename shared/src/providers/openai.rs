//! OpenAI Chat Completions (`POST {base}/v1/chat/completions`, streamed with
//! `data: {choices:[{delta:{content}}]}` ... `data: [DONE]`, usage in the last
//! chunk via `stream_options.include_usage`), and any OpenAI-compatible
//! endpoint (vLLM, Ollama, Groq, gateways) as the `custom` provider.

use async_trait::async_trait;
use eventsource_stream::Event;
use futures::stream::BoxStream;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::http::{Decoded, Decoder, HttpClient, decode_reply, json_data, parse_whole};
use super::{Completion, Provider, ProviderError, StreamEvent};
use crate::config::{ExposeSecret, Secret};
use crate::model::Role;
use crate::prompt::ProviderRequest;
use crate::secrets::ProviderKey;

pub struct OpenAiCompatible {
    id: &'static str,
    url: String,
    api_key: Option<ProviderKey>,
    model: String,
    /// OpenAI deprecates `max_tokens` for `max_completion_tokens`;
    /// compatible servers mostly know only `max_tokens`.
    max_tokens_field: &'static str,
    http: HttpClient,
}

impl OpenAiCompatible {
    /// OpenAI itself: `{base}/v1/chat/completions`.
    pub fn openai(base_url: &str, api_key: ProviderKey, model: String, http: HttpClient) -> Self {
        Self {
            id: "openai",
            url: format!("{}/v1/chat/completions", base_url.trim_end_matches('/')),
            api_key: Some(api_key),
            model,
            max_tokens_field: "max_completion_tokens",
            http,
        }
    }

    /// An OpenAI-compatible server: `{base}/chat/completions`, where the base
    /// already names the API root (`http://127.0.0.1:11434/v1`).
    pub fn custom(
        base_url: &str,
        api_key: Option<ProviderKey>,
        model: String,
        http: HttpClient,
    ) -> Self {
        Self {
            id: "custom",
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key,
            model,
            max_tokens_field: "max_tokens",
            http,
        }
    }

    fn headers(&self, api_key: Option<&Secret>) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| {
                    ProviderError::NotAvailable(format!(
                        "the {} API key is not a valid header value",
                        self.id
                    ))
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(headers)
    }

    pub fn request_body(&self, request: &ProviderRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            messages.push(json!({"role": "system", "content": request.system}));
        }
        for turn in &request.messages {
            let role = match turn.role {
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::System => "system",
            };
            messages.push(json!({"role": role, "content": turn.content}));
        }
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        body[self.max_tokens_field] = request.max_tokens.into();
        body
    }
}

#[async_trait]
impl Provider for OpenAiCompatible {
    fn id(&self) -> &'static str {
        self.id
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    async fn stream(
        &self,
        request: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
        let body = self.request_body(&request);
        let headers = |key: Option<&Secret>| self.headers(key);
        let response = self
            .http
            .post_json_with_key(&self.url, self.api_key.as_ref(), headers, &body)
            .await?;
        decode_reply(response, ChunkDecoder::new(request.model)).await
    }
}

struct ChunkDecoder {
    model: String,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    finished: bool,
}

impl ChunkDecoder {
    fn new(model: String) -> Self {
        Self {
            model,
            input_tokens: None,
            output_tokens: None,
            finished: false,
        }
    }

    fn common(&mut self, data: &Value) -> Result<(), ProviderError> {
        if let Some(error) = data.get("error").filter(|e| !e.is_null()) {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error without a message");
            return Err(ProviderError::Upstream {
                status: 500,
                message: message.to_owned(),
            });
        }
        if let Some(model) = data.get("model").and_then(Value::as_str) {
            self.model = model.to_owned();
        }
        if let Some(usage) = data.get("usage").filter(|u| u.is_object()) {
            self.input_tokens = usage.get("prompt_tokens").and_then(Value::as_u64);
            self.output_tokens = usage.get("completion_tokens").and_then(Value::as_u64);
        }
        Ok(())
    }
}

impl Decoder for ChunkDecoder {
    fn event(&mut self, event: &Event) -> Result<Decoded, ProviderError> {
        if event.data.trim() == "[DONE]" {
            return Ok(Decoded::End);
        }
        let data = json_data(event)?;
        self.common(&data)?;
        let Some(choice) = data.pointer("/choices/0") else {
            return Ok(Decoded::Nothing);
        };
        if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
            self.finished = true;
        }
        Ok(choice
            .pointer("/delta/content")
            .and_then(Value::as_str)
            .map_or(Decoded::Nothing, |t| Decoded::Text(t.to_owned())))
    }

    /// Some compatible servers close the stream after the finishing chunk
    /// without `[DONE]`.
    fn complete_at_eof(&self) -> bool {
        self.finished
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
        self.common(&data)?;
        let text = data
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Malformed("reply without choices[0].message".into()))?
            .to_owned();
        self.finish(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderHttpSettings;
    use crate::prompt::{ChatTurn, ContextStats};
    use std::time::Duration;

    fn http() -> HttpClient {
        HttpClient::new(ProviderHttpSettings {
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            max_retries: 0,
            retry_base: Duration::from_millis(1),
            retry_budget: Duration::from_secs(1),
        })
        .expect("client")
    }

    fn request() -> ProviderRequest {
        ProviderRequest {
            model: "m".into(),
            system: "Be brief.".into(),
            messages: vec![ChatTurn {
                role: Role::User,
                content: "Hi".into(),
            }],
            max_tokens: 50,
            stats: ContextStats::default(),
        }
    }

    #[test]
    fn openai_and_custom_bodies_differ_only_in_the_token_field() {
        let openai = OpenAiCompatible::openai(
            "https://api.openai.com",
            ProviderKey::fixed(Secret::new("k")),
            "gpt-4o".into(),
            http(),
        );
        let custom =
            OpenAiCompatible::custom("http://127.0.0.1:1/v1/", None, "llama".into(), http());
        assert_eq!(openai.url, "https://api.openai.com/v1/chat/completions");
        assert_eq!(custom.url, "http://127.0.0.1:1/v1/chat/completions");
        let expected = |field: &str| {
            let mut v = json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
            });
            v[field] = 50.into();
            v
        };
        assert_eq!(
            openai.request_body(&request()),
            expected("max_completion_tokens")
        );
        assert_eq!(custom.request_body(&request()), expected("max_tokens"));
        assert!(
            custom
                .headers(None)
                .expect("headers")
                .get(AUTHORIZATION)
                .is_none()
        );
        let auth = openai.headers(Some(&Secret::new("k"))).expect("headers");
        assert_eq!(auth.get(AUTHORIZATION).expect("set"), "Bearer k");
    }

    #[test]
    fn chunks_give_text_usage_and_the_end() {
        let mut d = ChunkDecoder::new("asked".into());
        let ev = |data: &str| Event {
            data: data.into(),
            ..Default::default()
        };
        let chunk = json!({"model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]});
        assert!(matches!(d.event(&ev(&chunk.to_string())), Ok(Decoded::Text(t)) if t == "Hel"));
        assert!(!d.complete_at_eof());
        let last = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        assert!(matches!(
            d.event(&ev(&last.to_string())),
            Ok(Decoded::Nothing)
        ));
        assert!(d.complete_at_eof());
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12}});
        assert!(matches!(
            d.event(&ev(&usage.to_string())),
            Ok(Decoded::Nothing)
        ));
        assert!(matches!(d.event(&ev("[DONE]")), Ok(Decoded::End)));
        assert!(d.event(&ev("{not json")).is_err());
        let done = d.finish("Hel".into()).expect("completes");
        assert_eq!(done.model, "gpt-4o-2024-08-06");
        assert_eq!((done.input_tokens, done.output_tokens), (Some(9), Some(12)));
    }
}
