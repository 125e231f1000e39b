//! Authentication and tenant isolation on every endpoint.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{config, spawn_app, spawn_app_with};

fn every_endpoint(session: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            "/api/chat/sessions/create".into(),
            Some(json!({"config": {}})),
        ),
        (Method::GET, format!("/api/chat/sessions/{session}"), None),
        (
            Method::PUT,
            format!("/api/chat/sessions/{session}/config"),
            Some(json!({"config": {}})),
        ),
        (Method::GET, "/api/chat/sessions/stats/summary".into(), None),
        (Method::GET, "/api/chat/sessions/stats/by-user".into(), None),
        (Method::GET, "/api/chat/sessions/bot-config".into(), None),
        (
            Method::POST,
            "/api/chat/messages/send".into(),
            Some(json!({"sessionId": session, "message": "hi"})),
        ),
        (
            Method::GET,
            format!("/api/chat/messages/history/{session}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/chat/messages/clear/{session}"),
            None,
        ),
        (Method::POST, "/api/chat/files/upload".into(), None),
        (Method::GET, format!("/api/chat/files/info/{session}"), None),
        (
            Method::POST,
            format!("/api/chat/files/query/{session}"),
            Some(json!({"query": "a"})),
        ),
        (Method::DELETE, format!("/api/chat/files/{session}"), None),
    ]
}

#[tokio::test]
async fn every_endpoint_needs_a_valid_key() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let endpoints = every_endpoint(&id);
    assert_eq!(endpoints.len(), 13, "the reference's thirteen endpoints");
    for (method, path, body) in endpoints {
        let missing = app.call_as(None, method.clone(), &path, body.clone()).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(
            missing.body,
            json!({
                "error": "Authentication required",
                "detail": "Valid API key must be provided in X-API-Key header"
            })
        );
        for bad in ["cb_not_a_real_key", "sk-something", "", "cb_"] {
            let invalid = app
                .call_as(Some(bad), method.clone(), &path, body.clone())
                .await;
            assert_eq!(
                invalid.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {bad}"
            );
            if !bad.is_empty() {
                assert_eq!(invalid.body, json!({"error": "Invalid API key"}), "{bad}");
            }
        }
    }
}

#[tokio::test]
async fn another_tenants_sessions_are_not_found() {
    let app = spawn_app().await;
    let id = app
        .create_session(
            json!({"config": {"secret": "tenant A"}, "user_identifier": "a@example.com"}),
        )
        .await;
    app.send_message(&id, "private").await;
    app.upload(Some(&id), Some(("data.csv", "text/csv", b"x\n1\n")))
        .await;
    let other = app.other_tenant_key().await;
    for (method, path, body) in every_endpoint(&id) {
        if path.contains(&id) || path.ends_with("send") {
            let reply = app.call_as(Some(&other), method.clone(), &path, body).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(
                reply.body,
                json!({"error": "Session not found"}),
                "{method} {path}"
            );
        }
    }
    let reply = app
        .call_as(
            Some(&other),
            Method::GET,
            "/api/chat/sessions/stats/by-user",
            None,
        )
        .await;
    assert_eq!(
        reply.body,
        json!({"userStats": {}, "summary": {"totalSessions": 0, "sessionsWithUser": 0, "sessionsWithoutUser": 0, "uniqueUsers": 0}})
    );
    let summary = app
        .call_as(
            Some(&other),
            Method::GET,
            "/api/chat/sessions/stats/summary",
            None,
        )
        .await;
    assert_eq!(summary.body["totalSessions"], 0);
    assert_eq!(summary.body["recentlyActive"], 0);
    // Nothing of tenant A changed.
    let history = app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(history.body["messageCount"], 2);
    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(info.body["hasFile"], true);
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let app = spawn_app_with(config(&[("API_KEY_CACHE_SECONDS", "0")]), None).await;
    assert_eq!(
        app.get("/api/chat/sessions/bot-config").await.status,
        StatusCode::OK
    );
    let keys = app.state.repo.list_api_keys(app.tenant).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].key_hash != app.key && !keys[0].prefix.is_empty());
    assert!(
        app.state
            .repo
            .revoke_api_key(app.tenant, keys[0].key_id)
            .await
            .unwrap()
    );
    let reply = app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, json!({"error": "Invalid API key"}));
}
