//! The tenant's session totals and daily counters, sharded (issue 19): a
//! tenant whose counters were written before the split (one `STATS` item,
//! one `DAY#date` item) keeps them, summed with the shards written since,
//! and erasing a session uncounts it exactly whichever item counted it.

use axum::http::{Method, StatusCode};
use chat_shared::store::{Update, WriteOp, keys};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn counters_written_before_the_split_are_still_counted() {
    let app = spawn_app().await;
    let today = keys::date_of(app.state.now_ms());
    let table = app.state.repo.table();
    // As an earlier release left them: 3 sessions (2 with a user), 7
    // messages today.
    let legacy = [
        (
            keys::stats(app.tenant),
            Update::new()
                .add("total_sessions", 3)
                .add("sessions_with_user", 2)
                .add("sessions_without_user", 1),
        ),
        (
            keys::day(app.tenant, &today),
            Update::new().add("sessions", 3).add("messages", 7),
        ),
    ];
    for (key, update) in legacy {
        table.write(WriteOp::update(key, update)).await.unwrap();
    }
    let bob = app
        .create_session(json!({"config": {}, "user_identifier": "bob"}))
        .await;
    app.create_session(json!({"config": {}})).await;
    app.send_message(&bob, "hello").await;

    let summary = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(summary.body["summary"]["totalSessions"], 5);
    assert_eq!(summary.body["summary"]["sessionsWithUser"], 3);
    assert_eq!(summary.body["summary"]["sessionsWithoutUser"], 2);
    let analytics = app.get("/api/tenant/analytics?days=1").await;
    assert_eq!(analytics.status, StatusCode::OK);
    assert_eq!(analytics.body["days"].as_array().unwrap().len(), 1);
    assert_eq!(analytics.body["totals"]["sessions"], 5);
    assert_eq!(analytics.body["totals"]["messages"], 9);

    let erased = app.call(Method::DELETE, "/api/chat/users/bob", None).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    let summary = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(summary.body["summary"]["totalSessions"], 4);
    assert_eq!(summary.body["summary"]["sessionsWithUser"], 2);
}
