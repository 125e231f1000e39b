//! A deterministic provider for tests and demos: its reply echoes the message
//! and says what context it was given, so tests can check context building.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use super::{Completion, Provider, ProviderError, StreamEvent};
use crate::prompt::{ProviderRequest, estimate_token_count};

pub struct DummyProvider {
    model: String,
}

impl DummyProvider {
    pub fn new(model: String) -> Self {
        Self { model }
    }

    fn reply(request: &ProviderRequest) -> String {
        let message = request
            .messages
            .last()
            .map(|t| t.content.as_str())
            .unwrap_or_default();
        let s = &request.stats;
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        format!(
            "You said: \"{message}\". Context: {} history messages, page context: {}, custom instructions: {}, file data: {}, json data: {}.",
            s.history_messages,
            yes_no(s.has_page_context),
            yes_no(s.has_custom_instructions),
            yes_no(s.has_file_data),
            yes_no(s.has_json_data),
        )
    }
}

#[async_trait]
impl Provider for DummyProvider {
    fn id(&self) -> &'static str {
        "dummy"
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    async fn stream(
        &self,
        request: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
        let text = Self::reply(&request);
        let completion = Completion {
            input_tokens: Some(request.stats.estimated_tokens as u64),
            output_tokens: Some(estimate_token_count(&text) as u64),
            model: request.model,
            text: text.clone(),
        };
        // Word-sized deltas, as a network provider would send them.
        let deltas: Vec<Result<StreamEvent, ProviderError>> = text
            .split_inclusive(' ')
            .map(|w| Ok(StreamEvent::Delta(w.to_owned())))
            .chain(std::iter::once(Ok(StreamEvent::Done(completion))))
            .collect();
        Ok(stream::iter(deltas).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::prompt::{ChatTurn, ContextStats};

    #[tokio::test]
    async fn deltas_add_up_to_the_completion() {
        let provider = DummyProvider::new("dummy-1.0".into());
        let request = ProviderRequest {
            model: "dummy-1.0".into(),
            system: String::new(),
            messages: vec![ChatTurn {
                role: Role::User,
                content: "Hello there".into(),
            }],
            max_tokens: 100,
            stats: ContextStats {
                history_messages: 2,
                ..Default::default()
            },
        };
        let mut events = provider.stream(request.clone()).await.expect("stream");
        let mut text = String::new();
        let mut done = None;
        while let Some(event) = events.next().await {
            match event.expect("no error") {
                StreamEvent::Delta(d) => text.push_str(&d),
                StreamEvent::Done(c) => done = Some(c),
            }
        }
        let done = done.expect("a completion");
        assert_eq!(text, done.text);
        assert!(
            done.text
                .starts_with("You said: \"Hello there\". Context: 2 history messages")
        );
        assert_eq!(provider.complete(request).await.expect("complete"), done);
    }
}
