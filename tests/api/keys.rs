//! Publishable keys (`pk_…`): what they may do, on which sessions, from
//! which origins; the widget frame's `frame-ancestors` policy.

use axum::Router;
use axum::http::{Method, StatusCode, header};
use axum::routing::get;
use serde_json::{Value, json};
use tower::ServiceExt;

use chat_shared::model::OriginPattern;

use crate::helpers::{TestApp, config, request_with, spawn_app, spawn_app_with};

fn origins(list: &[&str]) -> Vec<OriginPattern> {
    list.iter()
        .map(|o| OriginPattern::parse(o).unwrap())
        .collect()
}

const SHOP: &str = "https://shop.example";

async fn app_with_origins() -> (TestApp, String) {
    let app = spawn_app().await;
    app.update_tenant(|t| t.allowed_origins = origins(&[SHOP]))
        .await;
    let pk = app.publishable_key().await;
    (app, pk)
}

async fn pk_session(app: &TestApp, pk: &str, body: Value) -> String {
    let reply = app
        .call_with(
            pk,
            Method::POST,
            "/api/chat/sessions/create",
            Some(body),
            &[("Origin", SHOP)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["sessionId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_publishable_key_chats_on_its_own_sessions() {
    let (app, pk) = app_with_origins().await;
    let id = pk_session(&app, &pk, json!({"config": {}})).await;
    let h = [("Origin", SHOP)];
    let sent = app
        .call_with(
            &pk,
            Method::POST,
            "/api/chat/messages/send",
            Some(json!({"sessionId": id, "message": "hi"})),
            &h,
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(sent.body["messageCount"], 2);
    for path in [
        format!("/api/chat/messages/history/{id}"),
        format!("/api/chat/messages/history/{id}?limit=1"),
        format!("/api/chat/files/info/{id}"),
        "/api/chat/sessions/bot-config".to_owned(),
        "/api/chat/providers".to_owned(),
    ] {
        let reply = app.call_with(&pk, Method::GET, &path, None, &h).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    // A later history page proves ownership with a read of its own.
    let first = app
        .call_with(
            &pk,
            Method::GET,
            &format!("/api/chat/messages/history/{id}?limit=1"),
            None,
            &h,
        )
        .await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let older = app
        .call_with(
            &pk,
            Method::GET,
            &format!("/api/chat/messages/history/{id}?limit=1&cursor={cursor}"),
            None,
            &h,
        )
        .await;
    assert_eq!(older.status, StatusCode::OK);
    assert_eq!(older.body["messages"][0]["content"], "hi");
    // The tenant's server (secret key) sees the widget's sessions too.
    assert_eq!(app.history(&id).await.len(), 2);
}

#[tokio::test]
async fn a_publishable_key_is_refused_everything_else_with_403() {
    let (app, pk) = app_with_origins().await;
    let id = pk_session(&app, &pk, json!({"config": {}})).await;
    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/chat/sessions/stats/summary".into(), None),
        (Method::GET, "/api/chat/sessions/stats/by-user".into(), None),
        (Method::GET, format!("/api/chat/sessions/{id}"), None),
        (
            Method::PUT,
            format!("/api/chat/sessions/{id}/config"),
            Some(json!({"config": {"a": 1}})),
        ),
        (
            Method::DELETE,
            format!("/api/chat/messages/clear/{id}"),
            None,
        ),
        (Method::DELETE, format!("/api/chat/files/{id}"), None),
    ];
    for (method, path, body) in endpoints {
        let reply = app
            .call_with(&pk, method.clone(), &path, body, &[("Origin", SHOP)])
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(reply.body["error"], "Forbidden", "{method} {path}");
    }
    // Nothing was cleared or changed behind the refusals.
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(details.body["config"].get("a"), None);
}

#[tokio::test]
async fn a_publishable_key_cannot_reach_other_sessions() {
    let (app, pk) = app_with_origins().await;
    let other_pk = app.publishable_key().await;
    let by_server = app.create_session(json!({"config": {}})).await;
    let by_other_pk = pk_session(&app, &other_pk, json!({"config": {}})).await;
    app.send_message(&by_server, "private").await;
    let h = [("Origin", SHOP)];
    for id in [&by_server, &by_other_pk] {
        for (method, path, body) in [
            (
                Method::GET,
                format!("/api/chat/messages/history/{id}"),
                None,
            ),
            (
                Method::GET,
                format!("/api/chat/messages/history/{id}?limit=5"),
                None,
            ),
            (Method::GET, format!("/api/chat/files/info/{id}"), None),
            (
                Method::POST,
                format!("/api/chat/files/query/{id}"),
                Some(json!({"query": "a"})),
            ),
            (
                Method::POST,
                "/api/chat/messages/send".into(),
                Some(json!({"sessionId": id, "message": "hi"})),
            ),
            (
                Method::POST,
                "/api/chat/messages/stream".into(),
                Some(json!({"sessionId": id, "message": "hi"})),
            ),
        ] {
            let reply = app.call_with(&pk, method.clone(), &path, body, &h).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(reply.body, json!({"error": "Session not found"}));
        }
    }
    // A cursor into someone else's session does not help either.
    let page = app
        .get(&format!("/api/chat/messages/history/{by_server}?limit=1"))
        .await;
    let cursor = page.body["nextCursor"].as_str().unwrap();
    let reply = app
        .call_with(
            &pk,
            Method::GET,
            &format!("/api/chat/messages/history/{by_server}?limit=1&cursor={cursor}"),
            None,
            &h,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Nothing was stored by the refused sends.
    assert_eq!(app.history(&by_server).await.len(), 2);
    assert_eq!(app.history(&by_other_pk).await.len(), 0);
}

#[tokio::test]
async fn publishable_keys_work_only_from_allowed_origins() {
    let (app, pk) = app_with_origins().await;
    let create = |origin: Option<&'static str>| {
        let mut headers = vec![("Host", "api.chat.example")];
        if let Some(o) = origin {
            headers.push(("Origin", o));
        }
        let app = &app;
        let pk = pk.clone();
        async move {
            app.call_with(
                &pk,
                Method::POST,
                "/api/chat/sessions/create",
                Some(json!({"config": {}})),
                &headers,
            )
            .await
        }
    };
    assert_eq!(create(Some(SHOP)).await.status, StatusCode::CREATED);
    assert_eq!(
        create(Some("https://SHOP.example")).await.status,
        StatusCode::CREATED,
        "origins compare case-insensitively"
    );
    assert_eq!(
        create(Some("https://api.chat.example")).await.status,
        StatusCode::CREATED,
        "the API's own origin: the widget frame"
    );
    assert_eq!(
        create(None).await.status,
        StatusCode::CREATED,
        "not from a browser"
    );
    for bad in [
        "https://evil.example",
        "http://shop.example",
        "https://shop.example.evil.example",
        "null",
    ] {
        let reply = create(Some(bad)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{bad}");
        assert_eq!(reply.body["error"], "Domain not whitelisted");
    }
    // A secret key is held to the list too from a browser (issue 14);
    // from a server (no Origin) it is not.
    let reply = app
        .call_with(
            &app.key,
            Method::GET,
            "/api/chat/sessions/stats/summary",
            None,
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .call_with(
            &app.key,
            Method::GET,
            "/api/chat/sessions/stats/summary",
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_publishable_keys_get_the_reference_401() {
    let app = spawn_app().await;
    let reply = app
        .call_as(
            Some("pk_0000000000000000000000000000000000000000000000000"),
            Method::GET,
            "/api/chat/sessions/bot-config",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, json!({"error": "Invalid API key"}));
    // A secret key's hash with the other prefix is not the same key.
    let pk_like = app.key.replacen("cb_", "pk_", 1);
    let reply = app
        .call_as(Some(&pk_like), Method::GET, "/api/chat/providers", None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_widget_frame_may_be_framed_only_by_allowed_origins() {
    // Cache off: the origin list changes after the key was first used.
    let app = spawn_app_with(config(&[("API_KEY_CACHE_SECONDS", "0")]), None).await;
    app.update_tenant(|t| t.allowed_origins = origins(&["https://a.example", "https://b.example"]))
        .await;
    let pk = app.publishable_key().await;
    // The widget's own frame route, as its router serves it: a policy of
    // its own that the hook must keep, apart from frame-ancestors.
    let widget = Router::new().route(
        "/widget/frame.html",
        get(|| async {
            (
                [(
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; frame-ancestors *",
                )],
                "<html></html>",
            )
        }),
    );
    let router = chat_shared::http::with_frame_csp(
        widget.merge(chat_shared::api::app(app.state.clone())),
        app.state.clone(),
    );
    let csp = |uri: String| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(request_with("", Method::GET, &uri, None, &[]))
                .await
                .unwrap();
            response
                .headers()
                .get(header::CONTENT_SECURITY_POLICY)
                .map(|v| v.to_str().unwrap().to_owned())
        }
    };
    assert_eq!(
        csp(format!("/widget/frame.html?apiKey={pk}"))
            .await
            .as_deref(),
        Some("default-src 'none'; frame-ancestors 'self' https://a.example https://b.example")
    );
    assert_eq!(
        csp("/widget/frame.html?apiKey=pk_forged".into())
            .await
            .as_deref(),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    app.update_tenant(|t| t.allowed_origins = origins(&["https://c.example"]))
        .await;
    assert_eq!(
        csp(format!("/widget/frame.html?apiKey={pk}"))
            .await
            .as_deref(),
        Some("default-src 'none'; frame-ancestors 'self' https://c.example")
    );
    // Without a publishable key the page's own policy stands.
    assert_eq!(
        csp("/widget/frame.html".into()).await.as_deref(),
        Some("default-src 'none'; frame-ancestors *")
    );
    // API responses are untouched.
    assert_eq!(csp(format!("/api/chat/providers?apiKey={pk}")).await, None);
}
