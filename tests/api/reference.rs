//! The reference system's own "API Tests", run against this implementation.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn test_create_session_with_auth() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/chat/sessions/create",
            json!({"config": {"aiProvider": "dummy"}, "user_identifier": "test_user@example.com"}),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert!(reply.body.get("sessionId").is_some());
}

#[tokio::test]
async fn test_create_session_without_auth() {
    let app = spawn_app().await;
    let reply = app
        .call_as(
            None,
            axum::http::Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {"aiProvider": "dummy"}})),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.get("error").is_some());
}

#[tokio::test]
async fn test_send_message() {
    let app = spawn_app().await;
    let session_id = app
        .create_session(json!({"config": {"aiProvider": "dummy"}}))
        .await;
    let reply = app
        .post(
            "/api/chat/messages/send",
            json!({"sessionId": session_id, "message": "Test", "config": {"aiProvider": "dummy"}}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("response").is_some());
    assert_eq!(reply.body["messageCount"], 2);
}

#[tokio::test]
async fn test_get_user_stats() {
    let app = spawn_app().await;
    let reply = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("userStats").is_some());
    assert!(reply.body.get("summary").is_some());
}
