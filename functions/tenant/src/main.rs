//! The tenant API's Lambda function (`/api/tenant`, `/api/tenant/*` and the
//! Django aliases `/api/clients/me/*`): builds the state once per instance
//! (a failure is reported to the Runtime API's `/init/error`) and serves
//! the group's router. All logic lives in `chat-shared`. It answers in
//! response-streaming mode (as the messages function does), so an export
//! reaches the client as it is read instead of being buffered against
//! Lambda's 6 MB response limit.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let state = chat_shared::lambda::start_listing_providers().await?;
    lambda_http::run_with_streaming_response(chat_shared::api::tenant::router(state)).await
}
