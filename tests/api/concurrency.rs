//! 50 clients send 20 messages each at once, to sessions of their own and
//! to sessions they share: afterwards every message is stored exactly once
//! and every count is exact (the day's analytics counters too, and the
//! tenant's session totals, both written to shards picked by the session and
//! summed on read). Runs on both drivers with the API suite.

use std::collections::HashMap;

use axum::http::StatusCode;
use chat_shared::store::keys;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{config, spawn_app_with};

const CLIENTS: usize = 50;
const MESSAGES: usize = 20;
/// Clients 0..25 have a session each; 25..50 share 5 sessions, 5 per session.
const OWN: usize = 25;
const SHARED: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_clients_twenty_messages_each_nothing_lost_nothing_doubled() {
    let app = spawn_app_with(config(&[("RATE_LIMIT_MESSAGES_PER_HOUR", "100000")]), None).await;
    let mut sessions = Vec::new();
    for c in 0..OWN {
        sessions.push(
            app.create_session(json!({"config": {}, "user_identifier": format!("own-{c}")}))
                .await,
        );
    }
    for s in 0..SHARED {
        sessions.push(
            app.create_session(json!({"config": {}, "user_identifier": format!("shared-{s}")}))
                .await,
        );
    }
    let session_of = |client: usize| {
        if client < OWN {
            client
        } else {
            OWN + (client - OWN) % SHARED
        }
    };

    let clients = (0..CLIENTS).map(|client| {
        let app = &app;
        let session = sessions[session_of(client)].clone();
        async move {
            for m in 0..MESSAGES {
                let reply = app
                    .send_message(&session, &format!("client {client} message {m}"))
                    .await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            }
        }
    });
    join_all(clients).await;

    // Every user message exactly once, each with one reply, in its session.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut total = 0;
    let mut tokens = (0, 0);
    for (index, session) in sessions.iter().enumerate() {
        let senders = (0..CLIENTS).filter(|c| session_of(*c) == index).count();
        let history = app.history(session).await;
        assert_eq!(history.len(), senders * MESSAGES * 2, "session {index}");
        let details = app.get(&format!("/api/chat/sessions/{session}")).await;
        assert_eq!(
            details.body["messageCount"],
            json!(history.len()),
            "session {index}: counter equals what is stored"
        );
        for m in &history {
            tokens.0 += m["inputTokens"].as_i64().unwrap_or(0);
            tokens.1 += m["outputTokens"].as_i64().unwrap_or(0);
        }
        let users: Vec<&Value> = history.iter().filter(|m| m["role"] == "user").collect();
        let replies = history.iter().filter(|m| m["role"] == "assistant").count();
        assert_eq!(users.len(), replies);
        for m in users {
            let text = m["content"].as_str().unwrap().to_owned();
            let client: usize = text.split(' ').nth(1).unwrap().parse().unwrap();
            assert_eq!(session_of(client), index, "{text} landed in its session");
            *seen.entry(text).or_default() += 1;
        }
        total += history.len();
    }
    assert_eq!(total, CLIENTS * MESSAGES * 2);
    assert_eq!(seen.len(), CLIENTS * MESSAGES);
    assert!(seen.values().all(|n| *n == 1), "no message stored twice");

    // The day's counters, moved inside each exchange's transaction.
    let analytics = app.get("/api/tenant/analytics?days=1").await;
    let day = &analytics.body["totals"];
    assert_eq!(day["sessions"], OWN + SHARED);
    assert_eq!(day["newUsers"], OWN + SHARED);
    assert_eq!(day["messages"], CLIENTS * MESSAGES * 2);
    assert_eq!(day["providerErrors"], 0);
    assert_eq!(
        (day["inputTokens"].as_i64(), day["outputTokens"].as_i64()),
        (Some(tokens.0), Some(tokens.1))
    );

    // Tenant and user counters.
    let stats = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(stats.body["summary"]["totalSessions"], OWN + SHARED);
    assert_eq!(stats.body["summary"]["sessionsWithUser"], OWN + SHARED);
    assert_eq!(stats.body["summary"]["uniqueUsers"], OWN + SHARED);
    for (_, count) in stats.body["userStats"].as_object().unwrap() {
        assert_eq!(*count, json!(1));
    }
    // Those counts came from the sharded items: the tenant's totals and the
    // day's counters spread over several shards, none unsharded.
    let tenant_items = app
        .state
        .repo
        .table()
        .query(&chat_shared::store::Query::partition(keys::tenant_pk(
            app.tenant,
        )))
        .await
        .unwrap()
        .items;
    let sks: Vec<&str> = tenant_items
        .iter()
        .filter_map(|i| i["SK"].as_str())
        .collect();
    let shards = |prefix: &str| sks.iter().filter(|sk| sk.starts_with(prefix)).count();
    assert!(shards("STATS#S") > 1 && shards("DAY#") > 1, "{sks:?}");
    assert!(
        !sks.contains(&"STATS") && !sks.iter().any(|sk| sk.len() == "DAY#yyyy-mm-dd".len()),
        "nothing written unsharded: {sks:?}"
    );

    // The rate-limit counter took every message exactly once too.
    let key = app
        .state
        .repo
        .list_api_keys(app.tenant)
        .await
        .unwrap()
        .remove(0);
    let window = chat_shared::ratelimit::window_of(app.state.now_ms());
    let counter = app
        .state
        .repo
        .table()
        .get(&keys::rate(key.key_id, window))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter["count"], json!(CLIENTS * MESSAGES));
}
