//! The `claude` provider against a fake Anthropic Messages API on 127.0.0.1:
//! replies, errors, retries, timeouts, what was sent and what was stored.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fake::{
    FakeProvider, Script, claude_error, claude_message, claude_stream, claude_stream_then_error,
};
use crate::helpers::{TestApp, config, spawn_app_with};

/// An app whose only provider is Claude at the fake server.
async fn claude_app(fake: &FakeProvider, extra: &[(&str, &str)]) -> TestApp {
    // `extra` first: the first setting of a name wins.
    let mut pairs = extra.to_vec();
    pairs.extend_from_slice(&[
        ("ANTHROPIC_API_KEY", "sk-ant-test-key"),
        ("ANTHROPIC_BASE_URL", fake.url.as_str()),
        ("AI_PROVIDER", "claude"),
        ("PROVIDER_RETRY_BASE_MS", "1"),
        ("PROVIDER_TIMEOUT_SECONDS", "5"),
    ]);
    spawn_app_with(config(&pairs), None).await
}

fn failed_reply() -> Value {
    json!({"error": "Failed to process message"})
}

/// The history holds only the user's message, marked failed.
async fn assert_only_failed_user_message(app: &TestApp, id: &str, text: &str) {
    let history = app.history(id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["role"], "user");
    assert_eq!(history[0]["content"], text);
    assert_eq!(history[0]["status"], "failed");
}

#[tokio::test]
async fn a_streamed_reply_is_answered_and_stored_with_usage() {
    let fake = FakeProvider::start(vec![Script::sse(claude_stream(
        &["Hello", "! How can ", "I help?"],
        25,
        15,
    ))])
    .await;
    let app = claude_app(&fake, &[]).await;
    // No aiProvider: AI_PROVIDER=claude answers.
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Hello! How can I help?");
    assert_eq!(reply.body["provider"], "claude");
    assert_eq!(reply.body["model"], "claude-haiku-4-5-20251001");
    assert_eq!(reply.body["messageCount"], 2);

    let history = app.history(&id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["content"], "Hello! How can I help?");
    assert_eq!(history[1]["provider"], "claude");
    assert_eq!(history[1]["model"], "claude-haiku-4-5-20251001");
    assert_eq!(history[1]["inputTokens"], 25);
    assert_eq!(history[1]["outputTokens"], 15);
    assert!(history[1]["latencyMs"].is_i64());
}

#[tokio::test]
async fn the_request_has_the_key_version_model_system_and_alternating_turns() {
    let fake = FakeProvider::start(vec![
        Script::json(
            401,
            claude_error("authentication_error", "invalid x-api-key"),
        ),
        Script::json(200, claude_message("Sure.", 30, 2)),
    ])
    .await;
    let app = claude_app(&fake, &[]).await;
    let id = app
        .create_session(json!({"config": {
            "aiProvider": "claude",
            "model": "claude-sonnet-4-5",
            "customInstructions": "Answer in French."
        }}))
        .await;
    // The first try fails (401) and is stored as a failed user message; the
    // second user message then follows it: two user turns in a row.
    assert_eq!(
        app.send_message(&id, "first try").await.status,
        StatusCode::BAD_GATEWAY
    );
    let reply = app.send_message(&id, "second try").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Sure.");

    let received = fake.received();
    assert_eq!(received.len(), 2, "a 401 is not retried");
    let last = &received[1];
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.headers["x-api-key"], "sk-ant-test-key");
    assert_eq!(last.headers["anthropic-version"], "2023-06-01");
    assert_eq!(last.headers["content-type"], "application/json");
    assert!(last.headers.get("authorization").is_none());
    assert_eq!(last.body["model"], "claude-sonnet-4-5");
    assert_eq!(last.body["stream"], true);
    assert_eq!(last.body["max_tokens"], 2000);
    let system = last.body["system"].as_str().unwrap();
    assert!(system.contains("Answer in French."), "{system}");
    assert_eq!(
        last.body["messages"],
        json!([{"role": "user", "content": "first try\n\nsecond try"}])
    );
}

#[tokio::test]
async fn a_401_is_a_502_with_the_users_message_kept() {
    let fake = FakeProvider::start(vec![Script::json(
        401,
        claude_error("authentication_error", "invalid x-api-key"),
    )])
    .await;
    let app = claude_app(&fake, &[]).await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "claude"}}))
        .await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        reply.body,
        failed_reply(),
        "the provider's message is not returned"
    );
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_delay() {
    let fake = FakeProvider::start(vec![
        Script::json(
            429,
            claude_error(
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
            ),
        )
        .header("retry-after", "1"),
        Script::sse(claude_stream(&["Fine."], 5, 2)),
    ])
    .await;
    let app = claude_app(&fake, &[]).await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "claude"}}))
        .await;
    let started = Instant::now();
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Fine.");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry-after honoured"
    );
    assert_eq!(fake.received().len(), 2);
    assert_eq!(app.history(&id).await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_not_waited_for() {
    let fake = FakeProvider::start(vec![
        Script::json(429, claude_error("rate_limit_error", "slow down"))
            .header("retry-after", "60"),
    ])
    .await;
    let app = claude_app(&fake, &[("PROVIDER_RETRY_BUDGET_SECONDS", "2")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let started = Instant::now();
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, failed_reply());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.received().len(), 1);
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_500_is_retried_then_answered_502() {
    let fake = FakeProvider::start(vec![Script::json(
        500,
        claude_error("api_error", "Internal server error"),
    )])
    .await;
    let app = claude_app(&fake, &[("PROVIDER_MAX_RETRIES", "2")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, failed_reply());
    assert_eq!(fake.received().len(), 3, "first attempt and two retries");
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_529_overloaded_is_retried() {
    let fake = FakeProvider::start(vec![
        Script::json(529, claude_error("overloaded_error", "Overloaded")),
        Script::json(200, claude_message("Back.", 7, 1)),
    ])
    .await;
    let app = claude_app(&fake, &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Back.");
    assert_eq!(fake.received().len(), 2);
    let history = app.history(&id).await;
    assert_eq!(history[1]["inputTokens"], 7);
    assert_eq!(history[1]["outputTokens"], 1);
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_a_504() {
    let fake = FakeProvider::start(vec![
        Script::json(200, claude_message("Too late.", 1, 1)).delayed(Duration::from_secs(4)),
    ])
    .await;
    let app = claude_app(&fake, &[("PROVIDER_TIMEOUT_SECONDS", "1")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let started = Instant::now();
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        reply.body,
        json!({"error": "Failed to process message", "detail": "The AI provider did not answer in time"})
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(fake.received().len(), 1, "a timeout is not retried");
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_stream_that_stalls_past_the_timeout_is_a_504() {
    let mut events = claude_stream(&["Hel", "lo"], 3, 2);
    // The stream starts at once, then stalls between events.
    events.truncate(4);
    let fake = FakeProvider::start(vec![Script::sse(events).gap(Duration::from_secs(4))]).await;
    let app = claude_app(&fake, &[("PROVIDER_TIMEOUT_SECONDS", "1")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_malformed_body_is_a_502() {
    for script in [
        Script::raw(200, "application/json", "{\"content\": [".into()),
        Script::json(200, json!({"unexpected": true})),
        Script::sse(vec![
            "event: content_block_delta\ndata: {not json\n\n".into(),
        ]),
    ] {
        let fake = FakeProvider::start(vec![script]).await;
        let app = claude_app(&fake, &[]).await;
        let id = app.create_session(json!({"config": {}})).await;
        let reply = app.send_message(&id, "Hello").await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);
        assert_eq!(reply.body, failed_reply());
        assert_only_failed_user_message(&app, &id, "Hello").await;
    }
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_502() {
    let fake =
        FakeProvider::start(vec![Script::sse(claude_stream_then_error(&["Half an "]))]).await;
    let app = claude_app(&fake, &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, failed_reply());
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn with_an_anthropic_key_claude_is_the_default_and_the_only_provider() {
    let fake = FakeProvider::start(vec![Script::sse(claude_stream(&["Hi"], 1, 1))]).await;
    // Exactly the settings a deployment would set: key and (here) base URL.
    let app = spawn_app_with(
        config(&[
            ("ANTHROPIC_API_KEY", "sk-ant-test-key"),
            ("ANTHROPIC_BASE_URL", fake.url.as_str()),
        ]),
        None,
    )
    .await;
    let providers = app.get("/api/chat/providers").await;
    assert_eq!(providers.status, StatusCode::OK);
    assert_eq!(
        providers.body,
        json!({"providers": [{"id": "claude", "defaultModel": "claude-haiku-4-5"}], "default": "claude"})
    );
    for config in [
        json!({}),
        json!({"aiProvider": "claude"}),
        json!({"aiProvider": "openai"}),
    ] {
        let id = app.create_session(json!({ "config": config })).await;
        let reply = app.send_message(&id, "Hi").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["provider"], "claude");
    }
    assert_eq!(fake.received()[0].body["model"], "claude-haiku-4-5");
}

#[tokio::test]
async fn the_tenants_system_prompt_opens_the_system_field() {
    let fake = FakeProvider::start(vec![Script::json(200, claude_message("Oui.", 9, 1))]).await;
    let app = claude_app(&fake, &[]).await;
    app.update_tenant(|t| t.system_prompt = Some("Only talk about kettles.".into()))
        .await;
    let id = app
        .create_session(json!({"config": {"customInstructions": "Answer in French."}}))
        .await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let received = fake.received();
    let system = received[0].body["system"].as_str().unwrap();
    assert!(
        system.starts_with("Only talk about kettles.\n\n"),
        "{system}"
    );
    assert!(system.find("kettles").unwrap() < system.find("Answer in French.").unwrap());
    assert_eq!(
        received[0].body["messages"],
        json!([{"role": "user", "content": "Hi"}])
    );
}
