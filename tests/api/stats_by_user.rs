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
    // embedded store without reading the store at all (DynamoDB, written by
    // many instances, reads the counters and the users every time).
    app.round_trips();
    let again = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(again.body, once.body);
    let reading = 2 * u64::from(on_cloud_drivers());
    assert_eq!(
        app.round_trips(),
        RoundTrips {
            reads: reading,
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

/// Requests that arrive together after a write share one reading of the
/// counters and the users (single flight): at most two readings (the one
/// under way when a request arrives may have begun before it, so that
/// request waits for the next one), not one per request.
#[tokio::test]
async fn a_burst_of_requests_shares_one_reading_of_the_users() {
    let app = spawn_app().await;
    for user in ["alice@example.com", "bob@example.com", "carol@example.com"] {
        app.create_session(json!({"config": {}, "user_identifier": user}))
            .await;
    }
    // Warms the key cache; then a write, so nothing is kept.
    app.get("/api/chat/sessions/stats/by-user").await;
    app.create_session(json!({"config": {}, "user_identifier": "alice@example.com"}))
        .await;
    app.round_trips();

    const BURST: u64 = 24;
    let replies =
        futures::future::join_all((0..BURST).map(|_| app.get("/api/chat/sessions/stats/by-user")))
            .await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            users(&reply.body),
            json!({"alice@example.com": 2, "bob@example.com": 1, "carol@example.com": 1})
        );
    }
    let trips = app.round_trips();
    assert_eq!(trips.writes, 0);
    // One or two readings, each of the counters and of the users: 2 or 4
    // reads where one per request would make 2 x BURST.
    assert!(
        (2..=4).contains(&trips.reads),
        "{trips:?}: the users were read more than twice for {BURST} requests"
    );
}
