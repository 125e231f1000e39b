//! Message endpoints: send, history, clear; context building; failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use chat_shared::model::{Message, Role};
use chat_shared::prompt::ProviderRequest;
use chat_shared::providers::{Provider, ProviderError, StreamEvent, dummy::DummyProvider};
use chat_shared::service::history::full_history_page;
use futures::stream::BoxStream;
use http_body_util::BodyExt;
use serde_json::{Map, json};
use tower::ServiceExt;

use crate::helpers::{START_MS, TestApp, config, request_with, spawn_app, spawn_app_with};

#[tokio::test]
async fn send_stores_both_messages_and_answers_the_reference_shape() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "dummy"}}))
        .await;
    app.clock.advance_ms(1_000);
    let reply = app
        .post(
            "/api/chat/messages/send",
            json!({"sessionId": id, "message": "What is AI?", "config": {"aiProvider": "dummy"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let b = &reply.body;
    assert_eq!(b["sessionId"], id.as_str());
    assert_eq!(b["messageCount"], 2);
    assert_eq!(b["provider"], "dummy");
    assert_eq!(b["model"], "dummy-1.0");
    assert_eq!(b["timestamp"], "2025-10-08T12:00:01Z");
    assert!(
        b["response"]
            .as_str()
            .unwrap()
            .starts_with("You said: \"What is AI?\". Context: 0 history messages")
    );

    let second = app.send_message(&id, "And ML?").await;
    assert_eq!(second.body["messageCount"], 4);
    assert!(
        second.body["response"]
            .as_str()
            .unwrap()
            .contains("2 history messages")
    );
}

#[tokio::test]
async fn history_is_chronological_with_metadata_flattened() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    app.send_message(&id, "Hello").await;
    app.clock.advance_ms(5);
    app.send_message(&id, "Again").await;
    let reply = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["sessionId"], id.as_str());
    assert_eq!(reply.body["messageCount"], 4);
    let messages = reply.body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(messages[0]["content"], "Hello");
    assert_eq!(messages[0]["timestamp"], START_MS);
    assert_eq!(messages[2]["content"], "Again");
    assert_eq!(messages[2]["timestamp"], START_MS + 5);
    assert!(messages[0].get("provider").is_none());
    assert_eq!(messages[1]["provider"], "dummy");
    assert_eq!(messages[1]["model"], "dummy-1.0");
    assert!(messages[1]["outputTokens"].as_u64().unwrap() > 0);
    assert!(reply.body.get("nextCursor").is_none());
}

#[tokio::test]
async fn history_pages_newest_first_with_a_cursor() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    for i in 0..7 {
        app.send_message(&id, &format!("m{i}")).await;
    }
    let mut seen = Vec::new();
    let mut path = format!("/api/chat/messages/history/{id}?limit=4");
    let mut first = true;
    loop {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        if first {
            assert_eq!(reply.body["messageCount"], 14);
            first = false;
        } else {
            assert!(
                reply.body.get("messageCount").is_none(),
                "only the first page knows it"
            );
        }
        let page: Vec<String> = reply.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().to_owned())
            .collect();
        assert!(page.len() <= 4);
        seen.splice(0..0, page);
        match reply.body["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/chat/messages/history/{id}?limit=4&cursor={cursor}")
            }
            None => break,
        }
    }
    let users: Vec<&String> = seen.iter().filter(|c| c.starts_with('m')).collect();
    assert_eq!(seen.len(), 14);
    assert_eq!(users, ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);

    for bad in ["limit=0", "limit=1001", "limit=x", "cursor=nope"] {
        let reply = app
            .get(&format!("/api/chat/messages/history/{id}?{bad}"))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// A session of `count` messages written straight to the store, each
/// with its index in `content`, `timestamp` and a metadata key `n`.
async fn session_of(app: &TestApp, count: i64) -> String {
    let id = app.create_session(json!({"config": {}})).await;
    let sid = uuid::Uuid::parse_str(&id).unwrap();
    let session = app
        .state
        .repo
        .get_session(app.tenant, sid)
        .await
        .unwrap()
        .unwrap();
    for start in (0..count).step_by(50) {
        let batch: Vec<Message> = (start..(start + 50).min(count))
            .map(|i| Message {
                message_id: app.state.ids.v7_at(START_MS + i),
                role: if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                content: format!("m{i}"),
                timestamp: START_MS + i,
                metadata: Map::from_iter([("n".to_owned(), json!(i))]),
            })
            .collect();
        app.state
            .repo
            .append_messages(&session, &batch, START_MS + start, START_MS / 1000 + 86_400)
            .await
            .unwrap();
    }
    id
}

/// Longer than the pages a whole history is read in, and exactly two
/// pages long: the pages come back oldest first, each in order, and the
/// body's length is the one announced; one read per page.
#[tokio::test]
async fn a_whole_history_of_several_pages_comes_in_order() {
    let app = spawn_app().await;
    let page = full_history_page(app.state.config.store) as i64;
    for count in [2 * page + 50, 2 * page] {
        let id = session_of(&app, count).await;
        app.round_trips();
        let response = app
            .router
            .clone()
            .oneshot(request_with(
                &app.key,
                Method::GET,
                &format!("/api/chat/messages/history/{id}"),
                None,
                &[],
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let announced: usize = response.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), announced);
        let reads = app.round_trips().reads as i64;
        if count % page != 0 {
            assert_eq!(reads, count / page + 1, "one read per page");
        } else {
            // A full last page may need one more (empty) read to know it
            // was the last (DynamoDB's LastEvaluatedKey).
            assert!(
                (count / page..=count / page + 1).contains(&reads),
                "{reads}"
            );
        }
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["sessionId"], id.as_str());
        assert_eq!(body["messageCount"], count);
        assert!(body.get("nextCursor").is_none());
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), count as usize);
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(m["content"], format!("m{i}"));
            assert_eq!(m["n"], i);
            assert_eq!(m["timestamp"], START_MS + i as i64);
        }
    }
}

#[tokio::test]
async fn history_of_unknown_and_empty_sessions() {
    let app = spawn_app().await;
    let reply = app
        .get(&format!(
            "/api/chat/messages/history/{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, json!({"error": "Session not found"}));
    let reply = app.get("/api/chat/messages/history/xyz").await;
    assert_eq!(reply.body, json!({"error": "Invalid session ID"}));
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(
        reply.body,
        json!({"sessionId": id, "messages": [], "messageCount": 0})
    );
}

#[tokio::test]
async fn clear_deletes_every_message() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    for i in 0..16 {
        app.send_message(&id, &format!("m{i}")).await;
    }
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/chat/messages/clear/{id}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["sessionId"], id.as_str());
    assert_eq!(reply.body["status"], "cleared");
    assert_eq!(reply.body["messagesCleared"], 32);
    assert_eq!(reply.body["timestamp"], "2025-10-08T12:00:00Z");
    let history = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(history.body["messages"], json!([]));
    assert_eq!(history.body["messageCount"], 0);
    let again = app
        .call(
            Method::DELETE,
            &format!("/api/chat/messages/clear/{id}"),
            None,
        )
        .await;
    assert_eq!(again.body["messagesCleared"], 0);
    let next = app.send_message(&id, "fresh start").await;
    assert_eq!(next.body["messageCount"], 2);
    assert!(
        next.body["response"]
            .as_str()
            .unwrap()
            .contains("0 history messages")
    );

    let unknown = app
        .call(
            Method::DELETE,
            &format!("/api/chat/messages/clear/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn send_rejects_bad_input() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let path = "/api/chat/messages/send";
    let cases = [
        (
            json!({"message": "hi"}),
            StatusCode::BAD_REQUEST,
            "sessionId is required",
        ),
        (
            json!({"sessionId": "abc", "message": "hi"}),
            StatusCode::BAD_REQUEST,
            "Invalid session ID",
        ),
        (
            json!({"sessionId": id}),
            StatusCode::BAD_REQUEST,
            "message is required",
        ),
        (
            json!({"sessionId": id, "message": ""}),
            StatusCode::BAD_REQUEST,
            "message is required",
        ),
        (
            json!({"sessionId": id, "message": 5}),
            StatusCode::BAD_REQUEST,
            "message must be a string",
        ),
        (
            json!({"sessionId": id, "message": "x".repeat(10_001)}),
            StatusCode::BAD_REQUEST,
            "Message too long",
        ),
        (
            json!({"sessionId": uuid::Uuid::new_v4(), "message": "hi"}),
            StatusCode::NOT_FOUND,
            "Session not found",
        ),
    ];
    for (body, status, error) in cases {
        let reply = app.post(path, body).await;
        assert_eq!(reply.status, status, "{error}");
        assert_eq!(reply.body["error"], error);
    }
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(
        details.body["messageCount"], 0,
        "nothing stored for rejected input"
    );
}

#[tokio::test]
async fn an_expired_session_answers_410_and_keeps_its_history() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    app.send_message(&id, "before").await;
    app.clock.advance_ms(30 * 60 * 1000 + 1);
    let reply = app.send_message(&id, "after").await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert_eq!(reply.body, json!({"error": "Session expired"}));
    let history = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(history.status, StatusCode::OK);
    assert_eq!(history.body["messageCount"], 2);
}

#[tokio::test]
async fn the_timeout_comes_from_the_setting() {
    let app = spawn_app_with(config(&[("CHAT_SESSION_TIMEOUT", "60")]), None).await;
    let id = app.create_session(json!({"config": {}})).await;
    app.clock.advance_ms(61_000);
    assert_eq!(app.send_message(&id, "late").await.status, StatusCode::GONE);
}

#[tokio::test]
async fn context_includes_page_instructions_and_the_last_ten_messages() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {
            "pageContext": {"url": "https://example.com/dashboard", "title": "Dashboard"},
            "customInstructions": "Be concise",
            "jsonData": {"campaigns": [{"id": 1, "name": "Campaign A"}]}
        }}))
        .await;
    for i in 0..6 {
        app.send_message(&id, &format!("m{i}")).await;
    }
    let reply = app.send_message(&id, "last").await;
    let text = reply.body["response"].as_str().unwrap();
    assert!(text.contains("10 history messages"), "{text}");
    assert!(text.contains("page context: yes"), "{text}");
    assert!(text.contains("custom instructions: yes"), "{text}");
    assert!(text.contains("json data: yes"), "{text}");
    assert!(text.contains("file data: no"), "{text}");
    assert_eq!(reply.body["messageCount"], 14);
}

#[tokio::test]
async fn an_unavailable_provider_falls_back_to_the_default() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "claude"}}))
        .await;
    let reply = app.send_message(&id, "Hello!").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["provider"], "dummy",
        "the reply names who answered"
    );
}

/// A provider that fails every call, counting them.
struct Failing {
    error: ProviderError,
    calls: AtomicUsize,
}

#[async_trait]
impl Provider for Failing {
    fn id(&self) -> &'static str {
        "dummy"
    }

    fn default_model(&self) -> &str {
        "failing-1"
    }

    async fn stream(
        &self,
        _request: ProviderRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent, ProviderError>>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(self.error.clone())
    }
}

#[tokio::test]
async fn a_provider_failure_is_502_and_keeps_the_users_message_marked_failed() {
    let failing = Arc::new(Failing {
        error: ProviderError::Upstream {
            status: 500,
            message: "secret internal detail".into(),
        },
        calls: AtomicUsize::new(0),
    });
    let app = spawn_app_with(config(&[]), Some(vec![failing.clone()])).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Will this work?").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, json!({"error": "Failed to process message"}));
    assert_eq!(failing.calls.load(Ordering::SeqCst), 1);
    let history = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(history.body["messageCount"], 1);
    let messages = history.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["content"], "Will this work?");
    assert_eq!(messages[0]["status"], "failed");
}

#[tokio::test]
async fn a_provider_timeout_is_504() {
    let failing = Arc::new(Failing {
        error: ProviderError::Timeout,
        calls: AtomicUsize::new(0),
    });
    let app = spawn_app_with(config(&[]), Some(vec![failing])).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "slow?").await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply.body["error"], "Failed to process message");
}

#[tokio::test]
async fn no_provider_at_all_is_a_clear_502() {
    let app = spawn_app_with(config(&[("ENABLE_DUMMY_PROVIDER", "false")]), None).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "anyone?").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    let _ = DummyProvider::new("unused".into());
}

#[tokio::test]
async fn concurrent_sends_to_one_session_are_all_stored_and_counted() {
    let app = Arc::new(spawn_app().await);
    let id = app.create_session(json!({"config": {}})).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, id) = (app.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            app.send_message(&id, &format!("c{i}")).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let history = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(history.body["messageCount"], 40);
    let messages = history.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 40);
    let mut users: Vec<&str> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    users.sort_unstable();
    users.dedup();
    assert_eq!(users.len(), 20, "every message stored exactly once");
}

#[tokio::test]
async fn concurrent_clears_count_each_message_once() {
    let app = Arc::new(spawn_app().await);
    let id = app.create_session(json!({"config": {}})).await;
    for i in 0..30 {
        app.send_message(&id, &format!("m{i}")).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (app, id) = (app.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            app.call(
                Method::DELETE,
                &format!("/api/chat/messages/clear/{id}"),
                None,
            )
            .await
        }));
    }
    let mut cleared = 0;
    for t in tasks {
        let reply = t.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        cleared += reply.body["messagesCleared"].as_i64().unwrap();
    }
    assert_eq!(cleared, 60, "every message counted by exactly one clear");
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(details.body["messageCount"], 0);
}
