//! Message ids in replies and history, and feedback on replies: validation,
//! ownership, replacement with the counters kept exact.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A session with one exchange; (session id, reply id, user message id).
async fn exchanged(app: &TestApp) -> (String, String, String) {
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "hello").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply_id = reply.body["messageId"].as_str().unwrap().to_owned();
    let user_id = reply.body["userMessageId"].as_str().unwrap().to_owned();
    (id, reply_id, user_id)
}

fn rate(session: &str, message: &str, rating: &str) -> Value {
    json!({"sessionId": session, "messageId": message, "rating": rating})
}

#[tokio::test]
async fn replies_and_history_carry_message_ids() {
    let app = spawn_app().await;
    let (id, reply_id, user_id) = exchanged(&app).await;
    assert_ne!(reply_id, user_id);
    let history = app.history(&id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["messageId"], json!(user_id));
    assert_eq!(history[0]["role"], "user");
    assert_eq!(history[1]["messageId"], json!(reply_id));

    let (status, events) = app.stream_message(&id, "again").await;
    assert_eq!(status, StatusCode::OK);
    let done = &events.iter().find(|e| e.event == "done").unwrap().data;
    assert!(done["messageId"].is_string() && done["userMessageId"].is_string());
    assert_eq!(app.history(&id).await[3]["messageId"], done["messageId"]);
}

#[tokio::test]
async fn a_second_rating_replaces_the_first_and_counts_stay_exact() {
    let app = spawn_app().await;
    let (id, reply_id, _) = exchanged(&app).await;
    let first = app
        .post(
            "/api/chat/messages/feedback",
            json!({"sessionId": id, "messageId": reply_id, "rating": "up", "comment": "nice"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        first.body,
        json!({"sessionId": id, "messageId": reply_id, "rating": "up", "comment": "nice"})
    );
    for rating in ["up", "down", "down", "up", "down"] {
        let again = app
            .post("/api/chat/messages/feedback", rate(&id, &reply_id, rating))
            .await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["comment"], Value::Null);
    }
    let detail = app.get(&format!("/api/tenant/sessions/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert_eq!(detail.body["feedback"], json!({"up": 0, "down": 1}));
    let rated = &detail.body["messages"][1];
    assert_eq!(rated["messageId"], json!(reply_id));
    assert_eq!(rated["feedback"]["rating"], "down");

    let days = app.get("/api/tenant/analytics?days=1").await;
    assert_eq!(days.body["totals"]["feedbackUp"], 0);
    assert_eq!(days.body["totals"]["feedbackDown"], 1);
}

#[tokio::test]
async fn concurrent_ratings_of_one_reply_count_once() {
    let app = spawn_app().await;
    let (id, reply_id, _) = exchanged(&app).await;
    let calls = (0..8).map(|i| {
        let body = rate(&id, &reply_id, if i % 2 == 0 { "up" } else { "down" });
        let app = &app;
        async move { app.post("/api/chat/messages/feedback", body).await }
    });
    // Each rating either lands or loses its race with a clear 409.
    let replies = futures::future::join_all(calls).await;
    assert!(replies.iter().any(|r| r.status == StatusCode::OK));
    for reply in replies {
        assert!(
            [StatusCode::OK, StatusCode::CONFLICT].contains(&reply.status),
            "{}",
            reply.body
        );
    }
    let detail = app.get(&format!("/api/tenant/sessions/{id}")).await;
    let (up, down) = (
        detail.body["feedback"]["up"].as_i64().unwrap(),
        detail.body["feedback"]["down"].as_i64().unwrap(),
    );
    assert_eq!(up + down, 1, "{}", detail.body["feedback"]);
    let days = app.get("/api/tenant/analytics?days=1").await;
    assert_eq!(days.body["totals"]["feedbackUp"], up);
    assert_eq!(days.body["totals"]["feedbackDown"], down);
}

#[tokio::test]
async fn bad_feedback_is_a_clear_400_and_unknown_messages_404() {
    let app = spawn_app().await;
    let (id, reply_id, user_id) = exchanged(&app).await;
    let cases = [
        (
            json!({"messageId": reply_id, "rating": "up"}),
            "sessionId is required",
        ),
        (
            json!({"sessionId": "nope", "messageId": reply_id, "rating": "up"}),
            "Invalid session ID",
        ),
        (
            json!({"sessionId": id, "rating": "up"}),
            "messageId is required",
        ),
        (
            json!({"sessionId": id, "messageId": "x", "rating": "up"}),
            "Invalid message ID",
        ),
        (
            json!({"sessionId": id, "messageId": reply_id, "rating": "meh"}),
            "Invalid rating",
        ),
        (
            json!({"sessionId": id, "messageId": reply_id}),
            "Invalid rating",
        ),
        (
            json!({"sessionId": id, "messageId": reply_id, "rating": "up", "comment": 3}),
            "comment must be a string",
        ),
        (
            json!({"sessionId": id, "messageId": reply_id, "rating": "up", "comment": "x".repeat(2001)}),
            "Comment too long",
        ),
        (rate(&id, &user_id, "up"), "Not an assistant reply"),
    ];
    for (body, error) in cases {
        let reply = app.post("/api/chat/messages/feedback", body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.body["error"], error);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    let reply = app
        .post("/api/chat/messages/feedback", rate(&id, &unknown, "up"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "Message not found");
    let nobody = uuid::Uuid::new_v4().to_string();
    let reply = app
        .post(
            "/api/chat/messages/feedback",
            rate(&nobody, &reply_id, "up"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "Session not found");
    let reply = app
        .call_as(
            None,
            Method::POST,
            "/api/chat/messages/feedback",
            Some(rate(&id, &reply_id, "up")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn publishable_keys_rate_only_their_own_sessions_and_tenants_stay_apart() {
    let app = spawn_app().await;
    let pk = app.publishable_key().await;
    let (secret_session, secret_reply, _) = exchanged(&app).await;
    let created = app
        .call_as(
            Some(&pk),
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}})),
        )
        .await;
    let own = created.body["sessionId"].as_str().unwrap().to_owned();
    let sent = app
        .call_as(
            Some(&pk),
            Method::POST,
            "/api/chat/messages/send",
            Some(json!({"sessionId": own, "message": "hi"})),
        )
        .await;
    let own_reply = sent.body["messageId"].as_str().unwrap().to_owned();
    let path = "/api/chat/messages/feedback";
    let mine = app
        .call_as(
            Some(&pk),
            Method::POST,
            path,
            Some(rate(&own, &own_reply, "up")),
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let theirs = app
        .call_as(
            Some(&pk),
            Method::POST,
            path,
            Some(rate(&secret_session, &secret_reply, "up")),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    let other = app.other_tenant_key().await;
    let foreign = app
        .call_as(
            Some(&other),
            Method::POST,
            path,
            Some(rate(&own, &own_reply, "down")),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    // A message id of another session of the same tenant is not found there.
    let crossed = app
        .post(path, rate(&secret_session, &own_reply, "up"))
        .await;
    assert_eq!(crossed.status, StatusCode::NOT_FOUND);
    assert_eq!(crossed.body["error"], "Message not found");
}
