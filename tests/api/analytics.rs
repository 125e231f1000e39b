//! `GET /api/tenant/analytics`: daily counters written with each event,
//! every day of the range present, tenants apart.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use chat_shared::prompt::ProviderRequest;
use chat_shared::providers::{Provider, ProviderError, StreamEvent};
use futures::stream::BoxStream;
use serde_json::{Value, json};

use crate::helpers::{TestApp, config, spawn_app, spawn_app_with};

const DAY_MS: i64 = 86_400_000;

async fn analytics(app: &TestApp, days: u32) -> Value {
    let reply = app.get(&format!("/api/tenant/analytics?days={days}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn every_day_of_the_range_is_there_oldest_first_with_zeros() {
    let app = spawn_app().await;
    let reply = app.get("/api/tenant/analytics").await;
    assert_eq!(reply.status, StatusCode::OK);
    let days = reply.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "30 days by default");
    // START_MS is 2025-10-08.
    assert_eq!(days[29]["date"], "2025-10-08");
    assert_eq!(days[0]["date"], "2025-09-09");
    let zero = json!({
        "sessions": 0, "messages": 0, "newUsers": 0, "uploads": 0,
        "feedbackUp": 0, "feedbackDown": 0, "providerErrors": 0,
        "inputTokens": 0, "outputTokens": 0
    });
    assert_eq!(reply.body["totals"], zero);
    let mut first = days[0].clone();
    first.as_object_mut().unwrap().remove("date");
    assert_eq!(first, zero);
    assert_eq!(
        analytics(&app, 365).await["days"].as_array().unwrap().len(),
        365
    );
    assert_eq!(
        analytics(&app, 1).await["days"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn events_count_on_their_day() {
    let app = spawn_app().await;
    let alice = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.create_session(json!({"config": {}})).await;
    app.send_message(&alice, "hello").await;
    app.send_message(&alice, "again").await;
    let uploaded = app
        .upload(Some(&alice), Some(("d.csv", "text/csv", b"a\n1\n")))
        .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);

    app.clock.advance_ms(DAY_MS);
    app.create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    let bob = app
        .create_session(json!({"config": {}, "user_identifier": "bob"}))
        .await;
    app.send_message(&bob, "hi").await;

    let body = analytics(&app, 7).await;
    let days = body["days"].as_array().unwrap();
    let (yesterday, today) = (&days[5], &days[6]);
    assert_eq!(yesterday["date"], "2025-10-08");
    assert_eq!(yesterday["sessions"], 3);
    assert_eq!(yesterday["newUsers"], 1, "alice once");
    assert_eq!(yesterday["messages"], 4);
    assert_eq!(yesterday["uploads"], 1);
    assert!(yesterday["inputTokens"].as_i64().unwrap() > 0);
    assert!(yesterday["outputTokens"].as_i64().unwrap() > 0);
    assert_eq!(today["date"], "2025-10-09");
    assert_eq!(today["sessions"], 2);
    assert_eq!(today["newUsers"], 1, "bob; alice is not new");
    assert_eq!(today["messages"], 2);
    assert_eq!(body["totals"]["sessions"], 5);
    assert_eq!(body["totals"]["newUsers"], 2);
    assert_eq!(body["totals"]["messages"], 6);
    let tokens: i64 = days
        .iter()
        .map(|d| d["outputTokens"].as_i64().unwrap())
        .sum();
    assert_eq!(body["totals"]["outputTokens"], tokens);
    // The range ends today: yesterday's counts leave a 1-day window.
    assert_eq!(analytics(&app, 1).await["totals"]["sessions"], 2);
}

/// A provider that always fails.
struct Failing;

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
        Err(ProviderError::Timeout)
    }
}

#[tokio::test]
async fn provider_failures_count_as_errors_and_their_kept_message() {
    let app = spawn_app_with(config(&[]), Some(vec![Arc::new(Failing)])).await;
    let id = app.create_session(json!({"config": {}})).await;
    for _ in 0..2 {
        let reply = app.send_message(&id, "anyone?").await;
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    }
    let totals = &analytics(&app, 1).await["totals"];
    assert_eq!(totals["providerErrors"], 2);
    assert_eq!(totals["messages"], 2, "the user's messages are kept");
    assert_eq!(totals["outputTokens"], 0);
}

#[tokio::test]
async fn bad_ranges_are_400_and_only_secret_keys_of_the_tenant_read_it() {
    let app = spawn_app().await;
    for days in ["0", "366", "-1", "abc", "1.5", ""] {
        let reply = app.get(&format!("/api/tenant/analytics?days={days}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "days={days}");
        assert_eq!(reply.body["error"], "Invalid days");
    }
    let no_key = app
        .call_as(None, Method::GET, "/api/tenant/analytics", None)
        .await;
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
    let pk = app.publishable_key().await;
    let widget = app
        .call_as(Some(&pk), Method::GET, "/api/tenant/analytics", None)
        .await;
    assert_eq!(widget.status, StatusCode::FORBIDDEN);

    app.create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    let other = app.other_tenant_key().await;
    let theirs = app
        .call_as(
            Some(&other),
            Method::GET,
            "/api/tenant/analytics?days=1",
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.body["totals"]["sessions"], 0);
    assert_eq!(analytics(&app, 1).await["totals"]["sessions"], 1);
}
