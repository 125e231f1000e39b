//! `POST /api/chat/messages/stream`: events in order, the final event equal
//! to `/messages/send`'s answer, persistence on success, on failure, and when
//! the client goes away.

use std::time::Duration;

use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;

use crate::fake::{FakeProvider, Script, claude_stream, claude_stream_then_error};
use crate::helpers::{TestApp, config, parse_sse, spawn_app, spawn_app_with};

async fn claude_app(fake: &FakeProvider) -> TestApp {
    spawn_app_with(
        config(&[
            ("ANTHROPIC_API_KEY", "sk-ant-test-key"),
            ("ANTHROPIC_BASE_URL", fake.url.as_str()),
            ("PROVIDER_RETRY_BASE_MS", "1"),
        ]),
        None,
    )
    .await
}

#[tokio::test]
async fn deltas_then_done_with_the_send_response() {
    let fake =
        FakeProvider::start(vec![Script::sse(claude_stream(&["Hel", "lo", "!"], 12, 3))]).await;
    let app = claude_app(&fake).await;
    let id = app.create_session(json!({"config": {}})).await;
    let response = app.stream_request(&id, "Hi").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let events = parse_sse(std::str::from_utf8(&bytes).unwrap());
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["delta", "delta", "delta", "done"]);
    assert_eq!(events[0].data, json!({"text": "Hel"}));
    assert_eq!(events[1].data, json!({"text": "lo"}));
    assert_eq!(events[2].data, json!({"text": "!"}));
    let done = &events[3].data;
    assert_eq!(done["response"], "Hello!");
    assert_eq!(done["provider"], "claude");
    assert_eq!(done["messageCount"], 2);

    // The same exchange through send answers the same shape.
    let sent = app.send_message(&id, "Hi").await;
    let mut keys: Vec<&String> = sent.body.as_object().unwrap().keys().collect();
    let mut done_keys: Vec<&String> = done.as_object().unwrap().keys().collect();
    keys.sort();
    done_keys.sort();
    assert_eq!(keys, done_keys);
    assert_eq!(sent.body["response"], done["response"]);
    assert_eq!(sent.body["model"], done["model"]);
    assert_eq!(sent.body["messageCount"], 4);

    let history = app.history(&id).await;
    assert_eq!(history.len(), 4);
    assert_eq!(history[0]["content"], "Hi");
    assert_eq!(history[1]["content"], "Hello!");
    assert_eq!(history[1]["inputTokens"], 12);
    assert_eq!(history[1]["outputTokens"], 3);
}

#[tokio::test]
async fn the_dummy_provider_streams_too() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "dummy"}}))
        .await;
    let (status, events) = app.stream_message(&id, "What is AI?").await;
    assert_eq!(status, StatusCode::OK);
    let done = events.last().unwrap();
    assert_eq!(done.event, "done");
    let text: String = events[..events.len() - 1]
        .iter()
        .map(|e| {
            assert_eq!(e.event, "delta");
            e.data["text"].as_str().unwrap()
        })
        .collect();
    assert!(events.len() > 3, "word-sized deltas");
    assert_eq!(done.data["response"], text.as_str());
    assert_eq!(app.history(&id).await.len(), 2);
}

#[tokio::test]
async fn a_failure_mid_stream_is_an_error_event_and_keeps_the_users_message() {
    let fake = FakeProvider::start(vec![Script::sse(claude_stream_then_error(&["Half "]))]).await;
    let app = claude_app(&fake).await;
    let id = app.create_session(json!({"config": {}})).await;
    let (status, events) = app.stream_message(&id, "Hello").await;
    assert_eq!(status, StatusCode::OK, "the stream had started");
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["delta", "error"]);
    assert_eq!(
        events[1].data,
        json!({"error": "Failed to process message", "status": 502})
    );
    let history = app.history(&id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["content"], "Hello");
    assert_eq!(history[0]["status"], "failed");
}

#[tokio::test]
async fn bad_requests_are_plain_json_before_any_stream() {
    let app = spawn_app().await;
    let reply = app
        .post("/api/chat/messages/stream", json!({"message": "hi"}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body, json!({"error": "sessionId is required"}));
    let missing = uuid::Uuid::new_v4().to_string();
    let reply = app
        .post(
            "/api/chat/messages/stream",
            json!({"sessionId": missing, "message": "hi"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, json!({"error": "Session not found"}));
    let reply = app
        .call_as(
            None,
            axum::http::Method::POST,
            "/api/chat/messages/stream",
            Some(json!({"sessionId": missing, "message": "hi"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_that_leaves_early_loses_nothing() {
    let fake = FakeProvider::start(vec![
        Script::sse(claude_stream(&["first ", "second ", "third"], 5, 3))
            .gap(Duration::from_millis(100)),
    ])
    .await;
    let app = claude_app(&fake).await;
    let id = app.create_session(json!({"config": {}})).await;
    let response = app.stream_request(&id, "Hello").await;
    let mut body = response.into_body();
    // Read until the first delta arrives, then hang up.
    let mut seen = String::new();
    while !seen.contains("event: delta") {
        let frame = body.frame().await.unwrap().unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
    drop(body);
    assert!(
        app.history(&id).await.is_empty(),
        "nothing is stored before the reply completes"
    );

    let mut history = Vec::new();
    for _ in 0..100 {
        history = app.history(&id).await;
        if !history.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["content"], "Hello");
    assert_eq!(history[1]["content"], "first second third");
}
