//! The reference's "GDPR Compliance": erase and export a user; nothing kept
//! for `noTracking` sessions; retention TTL on every session item.

use axum::http::{Method, StatusCode};
use chat_shared::store::{Key, Query, keys};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{START_MS, TestApp, config, spawn_app, spawn_app_with};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

async fn partition(app: &TestApp, pk: String) -> Vec<chat_shared::store::Item> {
    app.state
        .repo
        .table()
        .query(&Query::partition(pk))
        .await
        .unwrap()
        .items
}

fn sid(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap()
}

/// Alice: two sessions with messages and files (one replaced, so one file
/// is inactive). Bob: one session. Plus one anonymous session.
async fn populate(app: &TestApp) -> (Vec<String>, String, Vec<String>) {
    let mut alice = Vec::new();
    let mut blobs = Vec::new();
    for n in 0..2 {
        let id = app
            .create_session(json!({"config": {"n": n}, "user_identifier": ALICE}))
            .await;
        app.send_message(&id, &format!("alice says {n}")).await;
        for body in ["a,b\n1,2\n", "a,b\n3,4\n"] {
            let up = app
                .upload(Some(&id), Some(("d.csv", "text/csv", body.as_bytes())))
                .await;
            assert_eq!(up.status, StatusCode::OK, "{}", up.body);
            let file = sid(up.body["file"]["fileId"].as_str().unwrap());
            blobs.push(keys::file_blob(app.tenant, sid(&id), file));
        }
        alice.push(id);
    }
    let bob = app
        .create_session(json!({"config": {}, "user_identifier": BOB}))
        .await;
    app.send_message(&bob, "bob says hi").await;
    app.create_session(json!({"config": {}})).await;
    (alice, bob, blobs)
}

/// A direct upload granted but never completed: its pending item, and its
/// bytes at the upload key. Through the API where the store presigns
/// (S3); on one that does not (the embedded store answers 501), the same
/// item through the repository. The bytes go through the blob port, as
/// the client's `PUT` to the presigned URL would put them.
async fn pending_upload(app: &TestApp, id: &str) -> (Uuid, String) {
    let granted = app
        .post(
            "/api/chat/files/upload-url",
            json!({"sessionId": id, "name": "big.csv", "type": "text/csv", "size": 8}),
        )
        .await;
    let file_id = match granted.status {
        StatusCode::OK => sid(granted.body["fileId"].as_str().unwrap()),
        StatusCode::NOT_IMPLEMENTED => {
            let session = app
                .state
                .repo
                .get_session(app.tenant, sid(id))
                .await
                .unwrap()
                .unwrap();
            let file_id = Uuid::now_v7();
            let pending = chat_shared::model::PendingUpload {
                file_id,
                name: "big.csv".into(),
                file_type: "csv".into(),
                content_type: "text/csv".into(),
                size: 8,
                created_at: START_MS,
                ttl: START_MS / 1000 + 7200,
            };
            app.state
                .repo
                .put_pending_upload(&session, &pending)
                .await
                .unwrap();
            file_id
        }
        other => panic!("upload-url answered {other}: {}", granted.body),
    };
    let key = keys::upload_blob(app.tenant, sid(id), file_id);
    app.state
        .blobs
        .put(&key, "a,b\n1,2\n".into(), "text/csv")
        .await
        .unwrap();
    (file_id, key)
}

#[tokio::test]
async fn erase_removes_the_bytes_of_an_upload_never_completed() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {}, "user_identifier": ALICE}))
        .await;
    let (file_id, key) = pending_upload(&app, &id).await;
    assert!(app.state.blobs.get(&key).await.unwrap().is_some());

    let reply = app
        .call(Method::DELETE, "/api/chat/users/alice%40example.com", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["filesErased"], 0);
    assert!(app.state.blobs.get(&key).await.unwrap().is_none(), "{key}");
    assert!(
        app.state
            .repo
            .get_pending_upload(app.tenant, sid(&id), file_id)
            .await
            .unwrap()
            .is_none()
    );
    let left = partition(&app, keys::session_pk(app.tenant, sid(&id))).await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn erase_leaves_nothing_of_the_user() {
    let app = spawn_app().await;
    let (alice, bob, blobs) = populate(&app).await;
    for blob in &blobs {
        assert!(app.state.blobs.get(blob).await.unwrap().is_some());
    }

    let reply = app
        .call(Method::DELETE, "/api/chat/users/alice%40example.com", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "erased");
    assert_eq!(reply.body["sessionsErased"], 2);
    assert_eq!(reply.body["messagesErased"], 4);
    assert_eq!(reply.body["filesErased"], 4);

    // Straight from the table and the blob store.
    for id in &alice {
        let left = partition(&app, keys::session_pk(app.tenant, sid(id))).await;
        assert!(left.is_empty(), "session {id} partition: {left:?}");
    }
    assert!(
        partition(&app, keys::user_sessions_pk(app.tenant, ALICE))
            .await
            .is_empty()
    );
    let table = app.state.repo.table();
    assert!(
        table
            .get(&keys::user(app.tenant, ALICE))
            .await
            .unwrap()
            .is_none()
    );
    for blob in &blobs {
        assert!(app.state.blobs.get(blob).await.unwrap().is_none(), "{blob}");
    }
    // The tenant partition and its activity index hold nothing of hers.
    let tenant_items = partition(&app, keys::tenant_pk(app.tenant)).await;
    assert!(!format!("{tenant_items:?}").contains(ALICE));
    let active = table
        .query(&Query::partition(keys::tenant_pk(app.tenant)).on_gsi1())
        .await
        .unwrap()
        .items;
    assert_eq!(active.len(), 2, "bob's and the anonymous session");
    for id in &alice {
        assert!(!format!("{active:?}").contains(id.as_str()));
    }

    // Counters: as if her sessions had never been.
    let stats = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(
        stats.body,
        json!({
            "userStats": {BOB: 1},
            "summary": {"totalSessions": 2, "sessionsWithUser": 1, "sessionsWithoutUser": 1, "uniqueUsers": 1}
        })
    );
    // Bob is untouched.
    assert_eq!(app.history(&bob).await.len(), 2);
    for id in &alice {
        let gone = app.get(&format!("/api/chat/sessions/{id}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }
    // Again: nothing left to erase, and no counter moves twice.
    let again = app
        .call(Method::DELETE, "/api/chat/users/alice%40example.com", None)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["sessionsErased"], 0);
    let summary = app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(summary.body["totalSessions"], 2);
    let export = app.get("/api/chat/users/alice%40example.com/export").await;
    assert_eq!(export.status, StatusCode::NOT_FOUND);
    assert_eq!(export.body["error"], "User not found");
}

#[tokio::test]
async fn an_interrupted_erase_is_finished_by_the_next() {
    let app = spawn_app().await;
    let (alice, _, _) = populate(&app).await;
    // As if an erase stopped right after removing the first session item
    // and counting it: its messages and list entry are still there.
    let first = sid(&alice[0]);
    app.state
        .repo
        .table()
        .transact(vec![
            chat_shared::store::WriteOp::delete(keys::session(app.tenant, first)),
            chat_shared::store::WriteOp::update(
                keys::stats(app.tenant),
                chat_shared::store::Update::new()
                    .add("total_sessions", -1)
                    .add("sessions_with_user", -1),
            ),
        ])
        .await
        .unwrap();
    let reply = app
        .call(Method::DELETE, &format!("/api/chat/users/{ALICE}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["sessionsErased"], 2);
    assert!(
        partition(&app, keys::session_pk(app.tenant, first))
            .await
            .is_empty()
    );
    let summary = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(summary.body["summary"]["totalSessions"], 2);
    assert_eq!(summary.body["summary"]["sessionsWithUser"], 1);
}

#[tokio::test]
async fn export_round_trips_what_is_stored() {
    let app = spawn_app().await;
    let (alice, _, _) = populate(&app).await;
    let reply = app.get(&format!("/api/chat/users/{ALICE}/export")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.body;
    assert_eq!(body["userIdentifier"], ALICE);
    assert_eq!(body["summary"]["sessionCount"], 2);
    assert_eq!(body["summary"]["firstSeen"], "2025-10-08T12:00:00Z");
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for exported in sessions {
        let id = exported["sessionId"].as_str().unwrap();
        assert!(alice.iter().any(|a| a == id));
        // Messages exactly as history gives them.
        assert_eq!(exported["messages"], Value::Array(app.history(id).await));
        assert_eq!(exported["messageCount"], 2);
        let details = app.get(&format!("/api/chat/sessions/{id}")).await;
        assert_eq!(exported["config"], details.body["config"]);
        let files = exported["files"].as_array().unwrap();
        assert_eq!(files.len(), 2);
        let contents: Vec<&str> = files
            .iter()
            .map(|f| f["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents, ["a,b\n1,2\n", "a,b\n3,4\n"]);
        assert_eq!(files[0]["isActive"], false);
        assert_eq!(files[1]["isActive"], true);
        let info = app.get(&format!("/api/chat/files/info/{id}")).await;
        assert_eq!(files[1]["fileId"], info.body["file"]["fileId"]);
    }
    // Nobody else's data: Bob's message is not in Alice's export.
    assert!(!body.to_string().contains("bob says hi"));
    let unknown = app.get("/api/chat/users/nobody/export").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let too_long = app
        .get(&format!("/api/chat/users/{}/export", "x".repeat(300)))
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn privacy_endpoints_need_a_secret_key() {
    let app = spawn_app().await;
    app.create_session(json!({"config": {}, "user_identifier": ALICE}))
        .await;
    let pk = app.publishable_key().await;
    for (method, path) in [
        (Method::DELETE, format!("/api/chat/users/{ALICE}")),
        (Method::GET, format!("/api/chat/users/{ALICE}/export")),
    ] {
        let reply = app.call_with(&pk, method.clone(), &path, None, &[]).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        let reply = app.call_as(None, method, &path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let stats = app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(stats.body["totalSessions"], 1, "nothing was erased");
}

#[tokio::test]
async fn no_tracking_sessions_store_no_identifier() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {"noTracking": true}}))
        .await;
    app.send_message(&id, "hello").await;
    let items = partition(&app, keys::session_pk(app.tenant, sid(&id))).await;
    assert_eq!(items.len(), 3);
    for item in &items {
        assert!(!item.contains_key("user_identifier"), "{item:?}");
    }
    let tenant_items = partition(&app, keys::tenant_pk(app.tenant)).await;
    assert!(
        !tenant_items
            .iter()
            .any(|i| Key::of(i).unwrap().sk.starts_with(keys::USER_PREFIX)),
        "no user counters"
    );
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(details.body["userIdentifier"], Value::Null);
}

fn ttl_of(item: &chat_shared::store::Item) -> i64 {
    item.get("ttl").and_then(Value::as_i64).expect("ttl")
}

#[tokio::test]
async fn every_session_item_expires_after_the_retention_period() {
    let app = spawn_app_with(config(&[("CHAT_RETENTION_DAYS", "30")]), None).await;
    let day = 86_400;
    let start = START_MS / 1000;
    let id = app
        .create_session(json!({"config": {}, "user_identifier": ALICE}))
        .await;
    let table = app.state.repo.table();
    let session_key = keys::session(app.tenant, sid(&id));
    let session = table.get(&session_key).await.unwrap().unwrap();
    assert_eq!(ttl_of(&session), start + 30 * day);
    let entry = table
        .get(&keys::user_session(app.tenant, ALICE, sid(&id)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ttl_of(&entry), start + 30 * day);

    // Activity moves the session's expiry; new items get their own.
    app.clock.advance_ms(600_000);
    app.send_message(&id, "hello").await;
    app.upload(Some(&id), Some(("d.csv", "text/csv", b"a\n1\n")))
        .await;
    let later = start + 600 + 30 * day;
    for item in partition(&app, keys::session_pk(app.tenant, sid(&id))).await {
        assert_eq!(ttl_of(&item), later, "{item:?}");
    }
    let entry = table
        .get(&keys::user_session(app.tenant, ALICE, sid(&id)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ttl_of(&entry),
        later,
        "the user's list entry follows the session"
    );

    // A tenant's own period wins.
    let app = spawn_app().await;
    app.update_tenant(|t| t.retention_days = Some(7)).await;
    let id = app.create_session(json!({"config": {}})).await;
    let session = app
        .state
        .repo
        .table()
        .get(&keys::session(app.tenant, sid(&id)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ttl_of(&session), start + 7 * day);
}
