//! Signed visitor identity: with a publishable key, a `user_identifier` is
//! taken only with its HMAC-SHA256 signature where the tenant requires one.

use axum::http::{Method, StatusCode};
use chat_shared::auth::sign_identity;
use chat_shared::config::Secret;
use chat_shared::model::IdentitySettings;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app};

const SECRET: &str = "tenant-identity-secret";
const ALICE: &str = "alice@example.com";

async fn app_with_identity(required: bool) -> (TestApp, String) {
    let app = spawn_app().await;
    app.update_tenant(|t| {
        t.identity = Some(IdentitySettings {
            secret: Secret::new(SECRET).into(),
            required,
        })
    })
    .await;
    let pk = app.publishable_key().await;
    (app, pk)
}

async fn create(app: &TestApp, pk: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
    app.call_with(
        pk,
        Method::POST,
        "/api/chat/sessions/create",
        Some(body),
        headers,
    )
    .await
}

#[tokio::test]
async fn a_required_signature_is_checked_on_create() {
    let (app, pk) = app_with_identity(true).await;
    let good = sign_identity(SECRET, ALICE);
    let forged = sign_identity("guessed-secret", ALICE);
    let bobs = sign_identity(SECRET, "bob@example.com");

    let unsigned = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE}),
        &[],
    )
    .await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    assert_eq!(unsigned.body["error"], "User signature required");
    for wrong in [&forged, &bobs, &"not hex".to_owned()] {
        let reply = create(
            &app,
            &pk,
            json!({"config": {}, "user_identifier": ALICE, "userSignature": wrong}),
            &[],
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{wrong}");
        assert_eq!(reply.body["error"], "Invalid user signature");
    }
    let in_body = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE, "userSignature": good}),
        &[],
    )
    .await;
    assert_eq!(in_body.status, StatusCode::CREATED, "{}", in_body.body);
    let in_header = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE}),
        &[("X-User-Signature", &good)],
    )
    .await;
    assert_eq!(in_header.status, StatusCode::CREATED);
    // Anonymous visitors (noTracking) name no identifier and need no signature.
    let anonymous = create(&app, &pk, json!({"config": {}}), &[]).await;
    assert_eq!(anonymous.status, StatusCode::CREATED);
    // The tenant's own server (secret key) is trusted with any identifier.
    let by_server = create(
        &app,
        &app.key,
        json!({"config": {}, "user_identifier": ALICE}),
        &[],
    )
    .await;
    assert_eq!(by_server.status, StatusCode::CREATED);
    // Refused creations stored nothing: three sessions counted, two Alice's.
    let stats = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(stats.body["summary"]["totalSessions"], 4);
    assert_eq!(stats.body["userStats"][ALICE], 3);
}

#[tokio::test]
async fn a_signed_session_is_used_only_with_its_visitors_signature() {
    let (app, pk) = app_with_identity(true).await;
    let good = sign_identity(SECRET, ALICE);
    let id = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE, "userSignature": good}),
        &[],
    )
    .await
    .body["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let history = format!("/api/chat/messages/history/{id}");
    let send = json!({"sessionId": id, "message": "hi"});

    let ok = app
        .call_with(
            &pk,
            Method::POST,
            "/api/chat/messages/send",
            Some(send.clone()),
            &[("X-User-Signature", &good)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let read = app
        .call_with(
            &pk,
            Method::GET,
            &history,
            None,
            &[("X-User-Signature", &good)],
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["messages"].as_array().unwrap().len(), 2);

    // Another visitor on the same site, with the same publishable key and
    // the session id, but no signature of Alice's identifier.
    let mallory = sign_identity(SECRET, "mallory@example.com");
    for headers in [vec![], vec![("X-User-Signature", mallory.as_str())]] {
        let read = app
            .call_with(&pk, Method::GET, &history, None, &headers)
            .await;
        assert_eq!(read.status, StatusCode::FORBIDDEN, "{headers:?}");
        let sent = app
            .call_with(
                &pk,
                Method::POST,
                "/api/chat/messages/send",
                Some(send.clone()),
                &headers,
            )
            .await;
        assert_eq!(sent.status, StatusCode::FORBIDDEN);
        let info = app
            .call_with(
                &pk,
                Method::GET,
                &format!("/api/chat/files/info/{id}"),
                None,
                &headers,
            )
            .await;
        assert_eq!(info.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.history(&id).await.len(),
        2,
        "nothing stored by refused sends"
    );
}

#[tokio::test]
async fn an_optional_signature_is_checked_only_when_given() {
    let (app, pk) = app_with_identity(false).await;
    let unsigned = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE}),
        &[],
    )
    .await;
    assert_eq!(unsigned.status, StatusCode::CREATED);
    let forged = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE, "userSignature": sign_identity("x", ALICE)}),
        &[],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.body["error"], "Invalid user signature");
    let bad_type = create(
        &app,
        &pk,
        json!({"config": {}, "user_identifier": ALICE, "userSignature": 5}),
        &[],
    )
    .await;
    assert_eq!(bad_type.status, StatusCode::BAD_REQUEST);
}
