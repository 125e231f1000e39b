//! Messages per API key per hour, counted in the shared table: the limit
//! holds across function instances.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chat_shared::AppState;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, config, request_with, spawn_app, spawn_app_with};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn send(router: &axum::Router, key: &str, session: &str) -> (Response, Value) {
    let response = router
        .clone()
        .oneshot(request_with(
            key,
            Method::POST,
            "/api/chat/messages/send",
            Some(json!({"sessionId": session, "message": "hi"})),
            &[],
        ))
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap();
    (Response::from_parts(parts, axum::body::Body::empty()), json)
}

/// A second instance of the service over the same table and blobs, with its
/// own key cache, as another Lambda instance would be.
fn second_instance(app: &TestApp) -> axum::Router {
    let state = AppState::new(
        (*app.state.config).clone(),
        app.table.clone() as Arc<dyn chat_shared::store::Table>,
        app.state.blobs.clone(),
        app.state.providers.clone(),
        app.clock.clone(),
    );
    chat_shared::api::app(state)
}

#[tokio::test]
async fn the_101st_message_in_an_hour_is_429_across_two_instances() {
    let app = spawn_app().await;
    let other = second_instance(&app);
    let a = app.create_session(json!({"config": {}})).await;
    let b = app.create_session(json!({"config": {}})).await;
    // 2025-10-08T12:00:00Z: the window ends at 13:00.
    let reset = (crate::helpers::START_MS / 1000 / 3600 + 1) * 3600;
    for i in 0..100 {
        let router = if i % 2 == 0 { &app.router } else { &other };
        let session = if i % 3 == 0 { &a } else { &b };
        let (response, body) = send(router, &app.key, session).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "message {}: {body}",
            i + 1
        );
        assert_eq!(
            header(&response, "x-ratelimit-limit").as_deref(),
            Some("100")
        );
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            Some((99 - i).to_string())
        );
        assert_eq!(
            header(&response, "x-ratelimit-reset"),
            Some(reset.to_string())
        );
    }
    app.clock.advance_ms(10 * 60 * 1000);
    for router in [&app.router, &other] {
        let (response, body) = send(router, &app.key, &a).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["error"], "Rate limit exceeded");
        assert_eq!(body["limit"], "key");
        // The hour slides: at 13:00 all 100 are still carried; one more
        // fits once one of them is no longer (36 s later).
        assert_eq!(header(&response, "retry-after").as_deref(), Some("3036"));
        assert_eq!(
            header(&response, "x-ratelimit-limit").as_deref(),
            Some("100")
        );
        assert_eq!(
            header(&response, "x-ratelimit-remaining").as_deref(),
            Some("0")
        );
        assert_eq!(
            header(&response, "x-ratelimit-reset"),
            Some(reset.to_string())
        );
    }
    // The stream is held to the same count, before it starts.
    let (status, _) = app.stream_message(&a, "hi").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Over the limit, the limit is what the caller hears, whatever the
    // session (it is read alongside the count).
    let (response, _) = send(&app.router, &app.key, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Refused messages are not stored.
    let stored = app.history(&a).await.len() + app.history(&b).await.len();
    assert_eq!(stored, 200);
    // Another key of the tenant has its own allowance.
    let pk = app.publishable_key().await;
    let pk_session = app
        .call_with(
            &pk,
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}})),
            &[],
        )
        .await;
    let pk_session = pk_session.body["sessionId"].as_str().unwrap();
    let (response, _) = send(&other, &pk, pk_session).await;
    assert_eq!(response.status(), StatusCode::OK);
    // An hour with nothing carried starts afresh (the hour after the full
    // one still carries it, fading).
    app.clock.advance_ms(110 * 60 * 1000);
    let c = app.create_session(json!({"config": {}})).await;
    let (response, _) = send(&other, &app.key, &c).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "x-ratelimit-remaining").as_deref(),
        Some("99")
    );
}

#[tokio::test]
async fn the_limit_is_set_by_the_environment_and_per_tenant() {
    let app = spawn_app_with(
        config(&[
            ("RATE_LIMIT_MESSAGES_PER_HOUR", "2"),
            ("API_KEY_CACHE_SECONDS", "0"),
        ]),
        None,
    )
    .await;
    let id = app.create_session(json!({"config": {}})).await;
    for expected in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        assert_eq!(app.send_message(&id, "hi").await.status, expected);
    }
    app.update_tenant(|t| t.rate_limit_per_hour = Some(4)).await;
    // A refused message is not counted: this is the 3rd of 4.
    let (response, _) = send(&app.router, &app.key, &id).await;
    assert_eq!(response.status(), StatusCode::OK, "3rd of 4 this hour");
    assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("4"));
    assert_eq!(
        header(&response, "x-ratelimit-remaining").as_deref(),
        Some("1")
    );
    assert_eq!(app.send_message(&id, "hi").await.status, StatusCode::OK);
    assert_eq!(
        app.send_message(&id, "hi").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Bad input is answered before anything is counted.
    let bad = app
        .post("/api/chat/messages/send", json!({"sessionId": id}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
