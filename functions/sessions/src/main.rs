//! The `/api/chat/sessions` Lambda function: builds the state once per instance
//! and serves the group's router. All logic lives in `chat-shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    chat_shared::state::init_logging();
    let state = chat_shared::state::state_from_env().await?;
    lambda_http::run(chat_shared::api::sessions::router(state)).await
}
