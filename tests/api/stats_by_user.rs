//! Stats by user answered from the users' counts the service keeps while
//! the store reports the tenant's partition unchanged: every write that
//! changes a count shows in the next answer.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use chat_shared::store::RoundTrips;

use crate::helpers::{on_cloud_drivers, spawn_app};

fn users(body: &Value) -> Value {
    body["userStats"].clone()
}

#[tokio::test]
async fn every_change_shows_in_the_next_answer() {
    let app = spawn_app().await;
    let empty = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(users(&empty.body), json!({}));

    app.create_session(json!({"config": {}, "user_identifier": "alice@example.com"}))
        .await;
    let once = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(users(&once.body), json!({"alice@example.com": 1}));
    // Asked again with nothing written: the same answer, and on the
    // embedded store without reading the users again (DynamoDB, written by
    // many instances, reads them every time).
    app.round_trips();
    let again = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(again.body, once.body);
    let users_read = u64::from(on_cloud_drivers());
    assert_eq!(
        app.round_trips(),
        RoundTrips {
            reads: 1 + users_read,
            writes: 0
        }
    );

    app.create_session(json!({"config": {}, "user_identifier": "bob@example.com"}))
        .await;
    app.create_session(json!({"config": {}, "user_identifier": "alice@example.com"}))
        .await;
    let more = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(
        more.body,
        json!({
            "userStats": {"alice@example.com": 2, "bob@example.com": 1},
            "summary": {"totalSessions": 3, "sessionsWithUser": 3,
                        "sessionsWithoutUser": 0, "uniqueUsers": 2}
        })
    );

    let erased = app
        .call(Method::DELETE, "/api/chat/users/bob%40example.com", None)
        .await;
    assert_eq!(erased.status, StatusCode::OK);
    let after = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(users(&after.body), json!({"alice@example.com": 2}));
    assert_eq!(after.body["summary"]["uniqueUsers"], 1);
}
