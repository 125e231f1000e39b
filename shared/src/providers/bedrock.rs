//! Amazon Bedrock through the Converse API (`ConverseStream`): Claude and
//! the other Converse-capable models, with the function's role. The SDK's
//! default credential chain signs every call (SigV4), so no key is set
//! anywhere; `BEDROCK_MODEL_ID` names the model or inference profile.
//!
//! The stream is AWS event-stream framing decoded by the SDK: `messageStart`,
//! `contentBlockDelta` (text), `messageStop`, then `metadata` (token usage);
//! an exception event may stand anywhere in it. Throttling and transient
//! errors before the stream starts are retried by the SDK's standard retry
//! within the same time budget as the other providers (`PROVIDER_*`); a
//! stream that has started is never replayed.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, SdkError};
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput as Event,
    InferenceConfiguration, Message, SystemContentBlock,
};
use aws_smithy_types::event_stream::RawMessage;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::anthropic::alternating_messages;
use super::{Completion, Provider, ProviderError, StreamEvent};
use crate::config::{BedrockSettings, ProviderHttpSettings};
use crate::prompt::ProviderRequest;

pub struct BedrockProvider {
    settings: BedrockSettings,
    budget: ProviderHttpSettings,
    /// Built on first use: loading the AWS configuration (region,
    /// credentials) waits for nothing at start-up, and a process that never
    /// calls Bedrock never loads it.
    client: OnceCell<Client>,
}

impl BedrockProvider {
    pub fn new(settings: BedrockSettings, budget: ProviderHttpSettings) -> Self {
        Self {
            settings,
            budget,
            client: OnceCell::new(),
        }
    }

    /// Uses this AWS configuration instead of the default chain's (a
    /// caller with its own credentials or region; the tests' fake).
    pub fn with_sdk_config(self, sdk: &SdkConfig) -> Self {
        let client = self.client_for(sdk);
        Self {
            client: OnceCell::new_with(Some(client)),
            ..self
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async { self.client_for(&crate::aws_sdk::sdk_config().await) })
            .await
    }

    /// The SDK client with the providers' time budget: `PROVIDER_MAX_RETRIES`
    /// retries (standard mode: throttling and transient errors, jittered
    /// exponential backoff from `PROVIDER_RETRY_BASE_MS`), each attempt
    /// within `PROVIDER_TIMEOUT_SECONDS` and all of them within that plus
    /// `PROVIDER_RETRY_BUDGET_SECONDS`, as the HTTP providers' worst case.
    fn client_for(&self, sdk: &SdkConfig) -> Client {
        let budget = &self.budget;
        let retry = RetryConfig::standard()
            .with_max_attempts(budget.max_retries.saturating_add(1))
            .with_initial_backoff(budget.retry_base)
            .with_max_backoff(budget.retry_budget.max(budget.retry_base));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(budget.connect_timeout)
            .operation_attempt_timeout(budget.timeout)
            .operation_timeout(operation_budget(budget))
            .build();
        let mut config = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(url) = &self.settings.endpoint_url {
            config = config.endpoint_url(url);
        }
        Client::from_conf(config.build())
    }
}

/// The most a call may take, from the request to the last event.
fn operation_budget(budget: &ProviderHttpSettings) -> Duration {
    budget.timeout.saturating_add(budget.retry_budget)
}

/// The conversation as Converse messages: the same turns as the `claude`
/// provider sends (starting with a user turn, roles alternating).
fn messages(request: &ProviderRequest) -> Result<Vec<Message>, ProviderError> {
    alternating_messages(&request.messages)
        .iter()
        .map(|turn| {
            let role = match turn.get("role").and_then(Value::as_str) {
                Some("assistant") => ConversationRole::Assistant,
                _ => ConversationRole::User,
            };
            let text = turn
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Message::builder()
                .role(role)
                .content(ContentBlock::Text(text.to_owned()))
                .build()
                .map_err(|e| ProviderError::Malformed(format!("request message: {e}")))
        })
        .collect()
}

#[async_trait]
impl Provider for BedrockProvider {
    fn id(&self) -> &'static str {
        "bedrock"
    }

    fn default_model(&self) -> &str {
        &self.settings.model_id
    }

    async fn stream(
        &self,
        request: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
        let started = Instant::now();
        let mut call = self
            .client()
            .await
            .converse_stream()
            .model_id(&request.model)
            .set_messages(Some(messages(&request)?))
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
                    .build(),
            );
        if !request.system.is_empty() {
            call = call.system(SystemContentBlock::Text(request.system.clone()));
        }
        let output = call.send().await.map_err(|e| call_error(&e))?;
        // The reply must end within one attempt's time from here, and
        // within the call's whole budget.
        let deadline =
            (Instant::now() + self.budget.timeout).min(started + operation_budget(&self.budget));
        Ok(decode(output.stream, request.model, deadline))
    }
}

/// A reply being decoded: the events still to come and what its
/// completion will say.
struct Reply {
    events: EventReceiver<Event, ConverseStreamOutputError>,
    model: String,
    deadline: Instant,
    text: String,
    stopped: bool,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    finished: bool,
}

impl Reply {
    fn completion(&mut self) -> Completion {
        self.finished = true;
        Completion {
            text: std::mem::take(&mut self.text),
            model: self.model.clone(),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
        }
    }

    /// One event: text, nothing, or (after `messageStop`) the end.
    fn step(&mut self, event: Option<Event>) -> Result<Option<StreamEvent>, ProviderError> {
        match event {
            Some(Event::ContentBlockDelta(block)) => match block.delta {
                Some(ContentBlockDelta::Text(text)) if !text.is_empty() => {
                    self.text.push_str(&text);
                    Ok(Some(StreamEvent::Delta(text)))
                }
                _ => Ok(None),
            },
            Some(Event::MessageStop(_)) => {
                self.stopped = true;
                Ok(None)
            }
            // The usage comes last, after `messageStop`.
            Some(Event::Metadata(metadata)) => {
                if let Some(usage) = metadata.usage {
                    self.input_tokens = u64::try_from(usage.input_tokens).ok();
                    self.output_tokens = u64::try_from(usage.output_tokens).ok();
                }
                Ok(self.stopped.then(|| StreamEvent::Done(self.completion())))
            }
            Some(_) => Ok(None),
            None if self.stopped => Ok(Some(StreamEvent::Done(self.completion()))),
            None => Err(ProviderError::Malformed(
                "the stream ended before the reply was complete".into(),
            )),
        }
    }
}

/// The event stream as deltas then `Done`; an exception event, a broken or
/// stalled stream is an error and never a `Done`.
fn decode(
    events: EventReceiver<Event, ConverseStreamOutputError>,
    model: String,
    deadline: Instant,
) -> BoxStream<'static, Result<StreamEvent, ProviderError>> {
    let reply = Reply {
        events,
        model,
        deadline,
        text: String::new(),
        stopped: false,
        input_tokens: None,
        output_tokens: None,
        finished: false,
    };
    futures::stream::unfold(reply, |mut reply| async move {
        while !reply.finished {
            let step = match tokio::time::timeout_at(reply.deadline, reply.events.recv()).await {
                Err(_) => Err(ProviderError::Timeout),
                Ok(Err(e)) => Err(stream_error(&e)),
                Ok(Ok(event)) => reply.step(event),
            };
            match step {
                Ok(Some(item)) => return Some((Ok(item), reply)),
                Ok(None) => {}
                Err(e) => {
                    reply.finished = true;
                    return Some((Err(e), reply));
                }
            }
        }
        None
    })
    .boxed()
}

/// Why `ConverseStream` gave no stream. The message is for the log.
fn call_error(error: &SdkError<ConverseStreamError, HttpResponse>) -> ProviderError {
    match error {
        SdkError::ServiceError(context) => upstream(context.raw().status().as_u16(), context.err()),
        other => transport_error(other),
    }
}

/// An exception event in the stream, or a stream that broke off. Exception
/// events carry no status: each gets the one Bedrock answers it with.
fn stream_error(error: &SdkError<ConverseStreamOutputError, RawMessage>) -> ProviderError {
    match error {
        SdkError::ServiceError(context) => {
            let status = match context.err() {
                ConverseStreamOutputError::ThrottlingException(_) => 429,
                ConverseStreamOutputError::ValidationException(_) => 400,
                ConverseStreamOutputError::ModelStreamErrorException(_) => 424,
                ConverseStreamOutputError::ServiceUnavailableException(_) => 503,
                _ => 500,
            };
            upstream(status, context.err())
        }
        other => transport_error(other),
    }
}

fn upstream(status: u16, error: &dyn std::error::Error) -> ProviderError {
    ProviderError::Upstream {
        status,
        message: DisplayErrorContext(error).to_string(),
    }
}

/// A call that never got an answer from Bedrock.
fn transport_error<E, R>(error: &SdkError<E, R>) -> ProviderError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = || DisplayErrorContext(error).to_string();
    match error {
        SdkError::TimeoutError(_) => ProviderError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ProviderError::Timeout,
        SdkError::DispatchFailure(_) => ProviderError::Network(detail()),
        SdkError::ConstructionFailure(_) => ProviderError::NotAvailable(detail()),
        _ => ProviderError::Malformed(detail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::prompt::{ChatTurn, ContextStats};

    fn turn(role: Role, content: &str) -> ChatTurn {
        ChatTurn {
            role,
            content: content.into(),
        }
    }

    #[test]
    fn turns_are_mapped_as_for_claude() {
        let request = ProviderRequest {
            model: "anthropic.claude-haiku-4-5-20251001-v1:0".into(),
            system: "Be brief.".into(),
            messages: vec![
                turn(Role::Assistant, "Hello!"),
                turn(Role::User, "first"),
                turn(Role::User, "second"),
                turn(Role::Assistant, "An answer"),
                turn(Role::User, "Thanks"),
            ],
            max_tokens: 300,
            stats: ContextStats::default(),
        };
        let mapped: Vec<(ConversationRole, Vec<ContentBlock>)> = messages(&request)
            .expect("maps")
            .into_iter()
            .map(|m| (m.role, m.content))
            .collect();
        assert_eq!(
            mapped,
            vec![
                (
                    ConversationRole::User,
                    vec![ContentBlock::Text("first\n\nsecond".into())]
                ),
                (
                    ConversationRole::Assistant,
                    vec![ContentBlock::Text("An answer".into())]
                ),
                (
                    ConversationRole::User,
                    vec![ContentBlock::Text("Thanks".into())]
                ),
            ]
        );
    }

    #[test]
    fn the_budget_is_the_other_providers() {
        let budget = ProviderHttpSettings::default();
        assert_eq!(operation_budget(&budget), Duration::from_secs(90));
    }
}
