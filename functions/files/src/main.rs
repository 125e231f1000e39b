//! The `/api/chat/files` Lambda function: builds the state once per instance
//! (a failure is reported to the Runtime API's `/init/error`) and serves the
//! group's router. All logic lives in `chat-shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let state = chat_shared::lambda::start_listing_providers().await?;
    lambda_http::run(chat_shared::api::files::router(state)).await
}
