//! The `openai` and `custom` providers against a fake Chat Completions API
//! on 127.0.0.1: replies, errors, retries, timeouts, what was sent and stored.

use std::time::Duration;

use axum::http::StatusCode;
use chat_shared::config::Secret;
use chat_shared::model::TenantProvider;
use serde_json::{Value, json};

use crate::fake::{FakeProvider, Script, openai_completion, openai_error, openai_stream};
use crate::helpers::{TestApp, config, spawn_app_with};

async fn openai_app(fake: &FakeProvider, extra: &[(&str, &str)]) -> TestApp {
    // `extra` first: the first setting of a name wins.
    let mut pairs = extra.to_vec();
    pairs.extend_from_slice(&[
        ("OPENAI_API_KEY", "sk-openai-test-key"),
        ("OPENAI_BASE_URL", fake.url.as_str()),
        ("AI_PROVIDER", "openai"),
        ("PROVIDER_RETRY_BASE_MS", "1"),
        ("PROVIDER_TIMEOUT_SECONDS", "5"),
    ]);
    spawn_app_with(config(&pairs), None).await
}

fn failed_reply() -> Value {
    json!({"error": "Failed to process message"})
}

async fn assert_only_failed_user_message(app: &TestApp, id: &str) {
    let history = app.history(id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["role"], "user");
    assert_eq!(history[0]["status"], "failed");
}

#[tokio::test]
async fn a_streamed_reply_is_answered_and_stored_with_usage() {
    let fake = FakeProvider::start(vec![Script::sse(openai_stream(
        &["Hello", " there", "!"],
        9,
        12,
    ))])
    .await;
    let app = openai_app(&fake, &[]).await;
    let id = app
        .create_session(
            json!({"config": {"aiProvider": "openai", "customInstructions": "Be brief."}}),
        )
        .await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Hello there!");
    assert_eq!(reply.body["provider"], "openai");
    assert_eq!(reply.body["model"], "gpt-4o-2024-08-06");
    let history = app.history(&id).await;
    assert_eq!(history[1]["provider"], "openai");
    assert_eq!(history[1]["inputTokens"], 9);
    assert_eq!(history[1]["outputTokens"], 12);

    let received = fake.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.headers["authorization"], "Bearer sk-openai-test-key");
    assert_eq!(r.body["model"], "gpt-4o");
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["stream_options"], json!({"include_usage": true}));
    assert_eq!(r.body["max_completion_tokens"], 2000);
    let messages = r.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    assert!(
        messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("Be brief.")
    );
    assert_eq!(messages[1], json!({"role": "user", "content": "Hi"}));
}

#[tokio::test]
async fn a_plain_reply_is_answered_and_history_is_sent_next_time() {
    let fake = FakeProvider::start(vec![
        Script::json(200, openai_completion("First answer.", 20, 3)),
        Script::json(200, openai_completion("Second answer.", 30, 3)),
    ])
    .await;
    let app = openai_app(&fake, &[]).await;
    let id = app
        .create_session(json!({"config": {"model": "gpt-4o-mini"}}))
        .await;
    let first = app.send_message(&id, "One").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["response"], "First answer.");
    let second = app.send_message(&id, "Two").await;
    assert_eq!(second.body["response"], "Second answer.");
    assert_eq!(second.body["messageCount"], 4);
    let sent = &fake.received()[1].body;
    assert_eq!(sent["model"], "gpt-4o-mini");
    let turns: Vec<(&str, &str)> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        turns,
        [
            ("user", "One"),
            ("assistant", "First answer."),
            ("user", "Two")
        ]
    );
    let history = app.history(&id).await;
    assert_eq!(history[3]["inputTokens"], 30);
}

#[tokio::test]
async fn a_401_is_a_502_and_not_retried() {
    let fake = FakeProvider::start(vec![Script::json(
        401,
        openai_error(
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided: sk-op***key.",
        ),
    )])
    .await;
    let app = openai_app(&fake, &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, failed_reply());
    assert_eq!(fake.received().len(), 1);
    assert_only_failed_user_message(&app, &id).await;
}

#[tokio::test]
async fn a_429_then_500_are_retried_until_a_reply() {
    let fake = FakeProvider::start(vec![
        Script::json(
            429,
            openai_error("requests", "rate_limit_exceeded", "Rate limit reached"),
        )
        .header("retry-after", "0"),
        Script::json(
            500,
            openai_error("server_error", "server_error", "The server had an error"),
        ),
        Script::sse(openai_stream(&["ok"], 1, 1)),
    ])
    .await;
    let app = openai_app(&fake, &[("PROVIDER_MAX_RETRIES", "2")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "ok");
    assert_eq!(fake.received().len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = FakeProvider::start(vec![Script::json(
        503,
        openai_error("server_error", "overloaded", "Service unavailable"),
    )])
    .await;
    let app = openai_app(&fake, &[("PROVIDER_MAX_RETRIES", "1")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(fake.received().len(), 2);
    assert_only_failed_user_message(&app, &id).await;
}

#[tokio::test]
async fn a_slow_reply_is_a_504() {
    let fake = FakeProvider::start(vec![
        Script::json(200, openai_completion("late", 1, 1)).delayed(Duration::from_secs(4)),
    ])
    .await;
    let app = openai_app(&fake, &[("PROVIDER_TIMEOUT_SECONDS", "1")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply.body["error"], "Failed to process message");
    assert_only_failed_user_message(&app, &id).await;
}

#[tokio::test]
async fn malformed_or_broken_replies_are_502() {
    let mut cut = openai_stream(&["Hal", "f"], 1, 1);
    cut.truncate(2);
    for script in [
        Script::raw(200, "application/json", "<html>gateway</html>".into()),
        Script::json(200, json!({"choices": []})),
        // A stream that breaks off: no finish, no [DONE].
        Script::sse(cut.clone()),
        Script::sse(cut).aborted(),
        // An error object inside the stream.
        Script::sse(vec![format!(
            "data: {}\n\n",
            openai_error("server_error", "server_error", "boom")
        )]),
    ] {
        let fake = FakeProvider::start(vec![script]).await;
        let app = openai_app(&fake, &[]).await;
        let id = app.create_session(json!({"config": {}})).await;
        let reply = app.send_message(&id, "Hi").await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);
        assert_eq!(reply.body, failed_reply());
        assert_only_failed_user_message(&app, &id).await;
    }
}

#[tokio::test]
async fn custom_uses_the_configured_compatible_endpoint() {
    let fake = FakeProvider::start(vec![Script::sse(openai_stream(&["local"], 4, 1))]).await;
    let base = format!("{}/v1", fake.url);
    let app = spawn_app_with(
        config(&[
            ("CUSTOM_PROVIDER_BASE_URL", base.as_str()),
            ("CUSTOM_PROVIDER_MODEL", "llama3.2"),
            ("ENABLE_DUMMY_PROVIDER", "true"),
            ("AI_PROVIDER", "dummy"),
        ]),
        None,
    )
    .await;
    let providers = app.get("/api/chat/providers").await;
    assert_eq!(
        providers.body,
        json!({"providers": [
            {"id": "custom", "defaultModel": "llama3.2"},
            {"id": "dummy", "defaultModel": "dummy-1.0"}
        ], "default": "dummy"})
    );
    let id = app
        .create_session(json!({"config": {"aiProvider": "custom"}}))
        .await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["provider"], "custom");
    assert_eq!(reply.body["response"], "local");
    let r = &fake.received()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert!(
        r.headers.get("authorization").is_none(),
        "no key configured"
    );
    assert_eq!(r.body["model"], "llama3.2");
    assert_eq!(r.body["max_tokens"], 2000);
}

#[tokio::test]
async fn a_tenants_own_endpoint_answers_custom_and_its_key_stays_hidden() {
    let fake =
        FakeProvider::start(vec![Script::json(200, openai_completion("tenant", 2, 1))]).await;
    let app = spawn_app_with(config(&[]), None).await;
    let mut tenant = app
        .state
        .repo
        .get_tenant(app.tenant)
        .await
        .unwrap()
        .unwrap();
    tenant.custom_provider = Some(TenantProvider {
        base_url: format!("{}/openai/v1", fake.url),
        model: "mixtral-8x7b".into(),
        api_key: Some(Secret::new("gsk-tenant-secret").into()),
    });
    app.state.repo.update_tenant(&tenant).await.unwrap();

    let providers = app.get("/api/chat/providers").await;
    assert_eq!(
        providers.body,
        json!({"providers": [
            {"id": "custom", "defaultModel": "mixtral-8x7b"},
            {"id": "dummy", "defaultModel": "dummy-1.0"}
        ], "default": "dummy"})
    );
    let id = app
        .create_session(json!({"config": {"aiProvider": "custom"}}))
        .await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["provider"], "custom");
    let r = &fake.received()[0];
    assert_eq!(r.path, "/openai/v1/chat/completions");
    assert_eq!(r.headers["authorization"], "Bearer gsk-tenant-secret");
    for path in ["/api/chat/providers", "/api/chat/sessions/bot-config"] {
        let shown = app.get(path).await.body.to_string();
        assert!(!shown.contains("gsk-tenant-secret"), "{path}: {shown}");
    }
    assert!(!format!("{tenant:?}").contains("gsk-tenant-secret"));

    // Another tenant has no such endpoint: its `custom` falls back.
    let other = app.other_tenant_key().await;
    let reply = app
        .call_as(
            Some(&other),
            axum::http::Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {"aiProvider": "custom"}})),
        )
        .await;
    let other_id = reply.body["sessionId"].as_str().unwrap().to_owned();
    let reply = app
        .call_as(
            Some(&other),
            axum::http::Method::POST,
            "/api/chat/messages/send",
            Some(json!({"sessionId": other_id, "message": "Hi"})),
        )
        .await;
    assert_eq!(reply.body["provider"], "dummy");
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn the_tenants_system_prompt_opens_the_system_message() {
    let fake = FakeProvider::start(vec![Script::json(200, openai_completion("Sí.", 9, 1))]).await;
    let app = openai_app(&fake, &[]).await;
    app.update_tenant(|t| t.system_prompt = Some("Only talk about kettles.".into()))
        .await;
    let id = app
        .create_session(json!({"config": {"customInstructions": "Answer in Spanish."}}))
        .await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let received = fake.received();
    let messages = received[0].body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].as_str().unwrap();
    assert!(
        system.starts_with("Only talk about kettles.\n\n"),
        "{system}"
    );
    assert!(system.find("kettles").unwrap() < system.find("Answer in Spanish.").unwrap());
}
