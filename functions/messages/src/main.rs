//! The `/api/chat/messages` Lambda function (and `/api/chat/providers`):
//! builds the state once per instance (a failure is reported to the Runtime
//! API's `/init/error`) and serves the group's router. All logic lives in
//! `chat-shared`.
//!
//! It answers in Lambda's response-streaming mode, so `/messages/stream`
//! reaches the visitor event by event: API Gateway (a REST API whose
//! integrations have `ResponseTransferMode: STREAM`, see template.yaml)
//! invokes it with `InvokeWithResponseStream` for every route of the group;
//! the other routes' answers are simply short streams.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let state = chat_shared::lambda::start().await?;
    lambda_http::run_with_streaming_response(chat_shared::api::messages::router(state)).await
}
