//! The widget's limits: per visitor (signed identity, else visitor id and
//! client address), the tenant ceiling over all visitors, secret keys per
//! key; sliding over the hour; exact under concurrency.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use chat_shared::auth::sign_identity;
use chat_shared::model::IdentitySettings;
use futures::future::join_all;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, config, request_with, spawn_app_with};

const MINUTE: i64 = 60_000;

pub struct Sent {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

/// Sends one message as `key` from `addr` (the socket's peer).
pub async fn send_from(
    app: &TestApp,
    key: &str,
    session: &str,
    addr: &str,
    headers: &[(&str, &str)],
) -> Sent {
    let mut request = request_with(
        key,
        Method::POST,
        "/api/chat/messages/send",
        Some(json!({"sessionId": session, "message": "hi"})),
        headers,
    );
    let peer: SocketAddr = addr.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Sent {
        status: parts.status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers: parts.headers,
    }
}

fn header(sent: &Sent, name: &str) -> String {
    sent.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A widget session of `visitor` (its `user_identifier`).
pub async fn visitor_session(app: &TestApp, pk: &str, visitor: &str) -> String {
    let reply = app
        .call_with(
            pk,
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}, "user_identifier": visitor})),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["sessionId"].as_str().unwrap().to_owned()
}

pub async fn set_settings(app: &TestApp, patch: Value) {
    let reply = app
        .call(Method::PATCH, "/api/tenant/settings", Some(patch))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// An app whose settings apply from the next request (no key cache) and
/// whose sessions do not time out, with `settings` patched in.
pub async fn app_with_settings(settings: Value) -> TestApp {
    let app = spawn_app_with(
        config(&[
            ("API_KEY_CACHE_SECONDS", "0"),
            ("CHAT_SESSION_TIMEOUT", "100000000"),
        ]),
        None,
    )
    .await;
    set_settings(&app, settings).await;
    app
}

async fn app_with_limits(limits: Value) -> (TestApp, String) {
    let app = app_with_settings(json!({"limits": limits})).await;
    let pk = app.publishable_key().await;
    (app, pk)
}

const HOME: &str = "198.51.100.10:5000";

#[tokio::test]
async fn each_visitor_has_an_allowance_of_its_own() {
    let (app, pk) = app_with_limits(json!({"perVisitorPerHour": 3})).await;
    let alice = visitor_session(&app, &pk, "alice-browser").await;
    let bob = visitor_session(&app, &pk, "bob-browser").await;
    for i in 0..3 {
        let sent = send_from(&app, &pk, &alice, HOME, &[]).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        assert_eq!(header(&sent, "x-ratelimit-limit"), "3");
        assert_eq!(header(&sent, "x-ratelimit-remaining"), (2 - i).to_string());
    }
    let refused = send_from(&app, &pk, &alice, HOME, &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["error"], "Rate limit exceeded");
    assert_eq!(refused.body["limit"], "visitor");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("per visitor")
    );
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    // Full at 12:00: the next hour carries all 3, so one fits 20 minutes in.
    assert_eq!(header(&refused, "retry-after"), (80 * 60).to_string());
    // Bob, behind the same NAT address, is not locked out.
    let other = send_from(&app, &pk, &bob, HOME, &[]).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    // Alice's id from another address is another visitor (ids alone are
    // never trusted); the stream is held to the same count.
    let moved = send_from(&app, &pk, &alice, "203.0.113.5:1", &[]).await;
    assert_eq!(moved.status, StatusCode::OK);
    let (status, _) = app.stream_message(&alice, "hi").await;
    assert_eq!(status, StatusCode::OK, "a secret key is counted per key");
    // Refused messages are not stored.
    assert_eq!(app.history(&alice).await.len(), 2 * 5);
}

#[tokio::test]
async fn a_signed_visitor_is_one_visitor_wherever_it_is() {
    let (app, pk) = app_with_limits(json!({"perVisitorPerHour": 2})).await;
    app.update_tenant(|t| {
        t.identity = Some(IdentitySettings {
            secret: chat_shared::config::Secret::new("s3cret").into(),
            required: false,
        })
    })
    .await;
    let sig = sign_identity("s3cret", "alice@example.com");
    let headers = [("X-User-Signature", sig.as_str())];
    let session = app
        .call_with(
            &pk,
            Method::POST,
            "/api/chat/sessions/create",
            Some(
                json!({"config": {}, "user_identifier": "alice@example.com", "userSignature": sig}),
            ),
            &headers,
        )
        .await;
    let session = session.body["sessionId"].as_str().unwrap().to_owned();
    for addr in ["192.0.2.1:1", "192.0.2.2:1"] {
        let sent = send_from(&app, &pk, &session, addr, &headers).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    }
    let refused = send_from(&app, &pk, &session, "192.0.2.3:1", &headers).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["limit"], "visitor");
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let app = spawn_app_with(
        config(&[
            ("API_KEY_CACHE_SECONDS", "0"),
            ("CHAT_SESSION_TIMEOUT", "100000000"),
            ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ]),
        None,
    )
    .await;
    set_settings(&app, json!({"limits": {"perVisitorPerHour": 1}})).await;
    let pk = app.publishable_key().await;
    let s = visitor_session(&app, &pk, "v").await;
    let via = |client: &'static str| [("X-Forwarded-For", client)];
    let proxy = "10.1.2.3:443";
    assert_eq!(
        send_from(&app, &pk, &s, proxy, &via("192.0.2.1"))
            .await
            .status,
        StatusCode::OK
    );
    // Another client behind the proxy: its own allowance.
    assert_eq!(
        send_from(&app, &pk, &s, proxy, &via("192.0.2.2"))
            .await
            .status,
        StatusCode::OK
    );
    let again = send_from(&app, &pk, &s, proxy, &via("192.0.2.2")).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    // A direct client's header is ignored: it cannot pose as someone else.
    let direct = "192.0.2.2:9";
    let first = send_from(&app, &pk, &s, direct, &via("192.0.2.99")).await;
    assert_eq!(
        first.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the same as 192.0.2.2 via the proxy"
    );
}

#[tokio::test]
async fn the_window_slides_over_the_top_of_the_hour() {
    let (app, pk) = app_with_limits(json!({"perVisitorPerHour": 4})).await;
    let s = visitor_session(&app, &pk, "v").await;
    app.clock.advance_ms(59 * MINUTE);
    for _ in 0..4 {
        assert_eq!(
            send_from(&app, &pk, &s, HOME, &[]).await.status,
            StatusCode::OK
        );
    }
    // 13:00: a fixed window would allow 4 more at once (8 in two minutes).
    app.clock.advance_ms(MINUTE);
    let top = send_from(&app, &pk, &s, HOME, &[]).await;
    assert_eq!(top.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&top, "retry-after"),
        "900",
        "once 3 of 4 are carried"
    );
    // 13:30: half the previous hour is carried (2), so 2 fit.
    app.clock.advance_ms(30 * MINUTE);
    for remaining in ["1", "0"] {
        let sent = send_from(&app, &pk, &s, HOME, &[]).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        assert_eq!(header(&sent, "x-ratelimit-remaining"), remaining);
    }
    assert_eq!(
        send_from(&app, &pk, &s, HOME, &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Two hours on, nothing is carried.
    app.clock.advance_ms(120 * MINUTE);
    let sent = send_from(&app, &pk, &s, HOME, &[]).await;
    assert_eq!(header(&sent, "x-ratelimit-remaining"), "3");
}

#[tokio::test]
async fn the_tenant_ceiling_caps_all_visitors_together_exactly() {
    let (app, pk) = app_with_limits(json!({"perVisitorPerHour": 100, "tenantPerHour": 37})).await;
    let mut sessions = Vec::new();
    for i in 0..60 {
        sessions.push(visitor_session(&app, &pk, &format!("visitor-{i}")).await);
    }
    let sends = sessions.iter().enumerate().map(|(i, s)| {
        let (app, pk) = (&app, &pk);
        async move {
            let addr = format!("192.0.2.{}:80", i % 200);
            let mut results = Vec::new();
            for _ in 0..2 {
                results.push(send_from(app, pk, s, &addr, &[]).await);
            }
            results
        }
    });
    let results: Vec<Sent> = join_all(sends).await.into_iter().flatten().collect();
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 37, "exactly the ceiling, whatever the interleaving");
    let refused: Vec<_> = results
        .iter()
        .filter(|r| r.status != StatusCode::OK)
        .collect();
    assert!(
        refused
            .iter()
            .all(|r| r.status == StatusCode::TOO_MANY_REQUESTS
                && r.body["limit"] == "tenant"
                && header(r, "x-ratelimit-limit") == "37")
    );
    // The ceiling is the widget's: the tenant's own server (a secret key)
    // goes on, and another tenant is untouched.
    let own = app.create_session(json!({"config": {}})).await;
    assert_eq!(app.send_message(&own, "hi").await.status, StatusCode::OK);
    let other = app.other_tenant_key().await;
    let issued = app
        .call_with(
            &other,
            Method::POST,
            "/api/tenant/keys",
            Some(json!({"kind": "publishable"})),
            &[],
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    let other_pk = issued.body["key"].as_str().unwrap().to_owned();
    let theirs = visitor_session(&app, &other_pk, "visitor-0").await;
    let sent = send_from(&app, &other_pk, &theirs, "192.0.2.0:80", &[]).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
}

#[tokio::test]
async fn secret_keys_keep_their_per_key_limit_with_its_name() {
    let app = spawn_app_with(
        config(&[
            ("RATE_LIMIT_MESSAGES_PER_HOUR", "2"),
            ("API_KEY_CACHE_SECONDS", "0"),
        ]),
        None,
    )
    .await;
    // The visitor settings do not touch secret keys.
    set_settings(
        &app,
        json!({"limits": {"perVisitorPerHour": 50, "tenantPerHour": 1}}),
    )
    .await;
    let s = app.create_session(json!({"config": {}})).await;
    for _ in 0..2 {
        assert_eq!(app.send_message(&s, "hi").await.status, StatusCode::OK);
    }
    let refused = app.send_message(&s, "hi").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["limit"], "key");
}
