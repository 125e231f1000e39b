//! Tenant budgets: monthly caps on messages and provider tokens, the soft
//! threshold in the analytics, the hard one as 429 or the fallback model;
//! exact under concurrency.

use axum::http::{Method, StatusCode};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::limits::app_with_settings;

const DAY_MS: i64 = 86_400_000;

async fn app_with_budget(budget: Value) -> TestApp {
    app_with_settings(json!({"budget": budget})).await
}

async fn budget_of(app: &TestApp) -> Value {
    let reply = app.get("/api/tenant/analytics?days=7").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["budget"].clone()
}

#[tokio::test]
async fn the_monthly_message_cap_answers_429_and_the_month_turns() {
    let app = app_with_budget(json!({"monthlyMessages": 4, "softPercent": 50})).await;
    let s = app.create_session(json!({"config": {}})).await;
    for _ in 0..2 {
        assert_eq!(app.send_message(&s, "hi").await.status, StatusCode::OK);
    }
    let half = budget_of(&app).await;
    assert_eq!(half["monthlyMessages"], 4);
    assert_eq!(
        (half["softReached"].as_bool(), half["hardReached"].as_bool()),
        (Some(true), Some(false))
    );
    for _ in 0..2 {
        assert_eq!(app.send_message(&s, "hi").await.status, StatusCode::OK);
    }
    let refused = app.send_message(&s, "hi").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["error"], "Rate limit exceeded");
    assert_eq!(refused.body["limit"], "monthlyMessages");
    let full = budget_of(&app).await;
    assert_eq!(full["messages"], 4, "refused messages are not stored");
    assert_eq!(full["admitted"], 4);
    assert_eq!(full["hardReached"], true);
    assert_eq!(full["month"], "2025-10");
    // 2025-10-08 12:00 to November: the budget starts afresh.
    app.clock.advance_ms(24 * DAY_MS);
    assert_eq!(app.send_message(&s, "hi").await.status, StatusCode::OK);
    assert_eq!(budget_of(&app).await["messages"], 1);
}

#[tokio::test]
async fn over_budget_the_fallback_model_answers() {
    let app = app_with_budget(json!({
        "monthlyMessages": 2, "onExceeded": "fallback",
        "fallbackProvider": "dummy", "fallbackModel": "small-1"
    }))
    .await;
    let s = app.create_session(json!({"config": {}})).await;
    for _ in 0..2 {
        let reply = app.send_message(&s, "hi").await;
        assert_ne!(reply.body["model"], "small-1");
    }
    let over = app.send_message(&s, "hi").await;
    assert_eq!(over.status, StatusCode::OK, "{}", over.body);
    assert_eq!(over.body["model"], "small-1");
    assert_eq!(over.body["provider"], "dummy");
    let b = budget_of(&app).await;
    assert_eq!(b["hardReached"], true);
    assert_eq!(b["messages"], 3, "answered by the fallback, still counted");
}

#[tokio::test]
async fn tokens_are_counted_from_the_providers_usage_and_capped() {
    let app = app_with_budget(json!({"monthlyTokens": 1})).await;
    let s = app.create_session(json!({"config": {}})).await;
    let first = app.send_message(&s, "hello there").await;
    assert_eq!(first.status, StatusCode::OK);
    let b = budget_of(&app).await;
    let days = app.get("/api/tenant/analytics?days=1").await.body;
    let (tin, tout) = (
        &days["totals"]["inputTokens"],
        &days["totals"]["outputTokens"],
    );
    assert!(tin.as_i64().unwrap() > 0);
    assert_eq!(&b["inputTokens"], tin);
    assert_eq!(&b["outputTokens"], tout);
    assert_eq!(b["tokens"], tin.as_i64().unwrap() + tout.as_i64().unwrap());
    // Tokens are known after the reply: the cap stops the next message.
    let refused = app.send_message(&s, "again").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["limit"], "monthlyTokens");
    let (status, _) = app.stream_message(&s, "and the stream").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn concurrent_messages_stop_exactly_at_the_cap() {
    let app = app_with_budget(json!({"monthlyMessages": 23})).await;
    let mut sessions = Vec::new();
    for _ in 0..50 {
        sessions.push(app.create_session(json!({"config": {}})).await);
    }
    let replies = join_all(sessions.iter().map(|s| app.send_message(s, "hi"))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 23);
    assert!(
        replies
            .iter()
            .filter(|r| r.status != StatusCode::OK)
            .all(|r| r.status == StatusCode::TOO_MANY_REQUESTS
                && r.body["limit"] == "monthlyMessages")
    );
    let b = budget_of(&app).await;
    assert_eq!(
        (b["admitted"].as_i64(), b["messages"].as_i64()),
        (Some(23), Some(23))
    );
}

#[tokio::test]
async fn budgets_are_per_tenant_and_validated() {
    let app = app_with_budget(json!({"monthlyMessages": 1})).await;
    let s = app.create_session(json!({"config": {}})).await;
    assert_eq!(app.send_message(&s, "hi").await.status, StatusCode::OK);
    assert_eq!(
        app.send_message(&s, "hi").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another tenant's budget and counters are its own.
    let other = app.other_tenant_key().await;
    let created = app
        .call_with(
            &other,
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}})),
            &[],
        )
        .await;
    let theirs = created.body["sessionId"].as_str().unwrap();
    let sent = app
        .call_with(
            &other,
            Method::POST,
            "/api/chat/messages/send",
            Some(json!({"sessionId": theirs, "message": "hi"})),
            &[],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    let their_budget = app
        .call_with(&other, Method::GET, "/api/tenant/analytics", None, &[])
        .await
        .body["budget"]
        .clone();
    assert_eq!(their_budget["messages"], 1);
    assert_eq!(their_budget["monthlyMessages"], Value::Null);
    assert_eq!(their_budget["hardReached"], false);
    for (patch, field) in [
        (json!({"budget": {"softPercent": 0}}), "budget.softPercent"),
        (
            json!({"budget": {"onExceeded": "fallback"}}),
            "budget.fallbackProvider",
        ),
        (
            json!({"limits": {"tenantPerHour": 0}}),
            "limits.tenantPerHour",
        ),
    ] {
        let reply = app
            .call(Method::PATCH, "/api/tenant/settings", Some(patch))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["field"], field);
    }
    let shown = app.get("/api/tenant").await.body;
    assert_eq!(shown["settings"]["budget"]["monthlyMessages"], 1);
    assert_eq!(shown["settings"]["budget"]["onExceeded"], "reject");
}
