//! Round trips to the table per request, counted exactly: the budgets of
//! docs/ARCHITECTURE.md. Auth is warm (cached) as on a warm function.

use axum::http::Method;
use chat_shared::store::RoundTrips;
use serde_json::json;

use crate::helpers::spawn_app;

fn trips(reads: u64, writes: u64) -> RoundTrips {
    RoundTrips { reads, writes }
}

#[tokio::test]
async fn each_operation_stays_within_its_budget() {
    let app = spawn_app().await;
    app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(
        app.round_trips(),
        trips(2, 1),
        "a cold key: key item + tenant item, and its lastUsedAt (once per key per hour)"
    );
    app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(app.round_trips(), trips(0, 0), "a warm key costs nothing");

    let id = app
        .create_session(json!({"config": {}, "user_identifier": "u@example.com"}))
        .await;
    assert_eq!(
        app.round_trips(),
        trips(0, 1),
        "create session: one atomic write"
    );

    app.send_message(&id, "hello").await;
    assert_eq!(
        app.round_trips(),
        trips(2, 2),
        "first send in the hour: the key's previous hour is read once per instance (beside the session read)"
    );
    for _ in 0..3 {
        app.send_message(&id, "hello").await;
        assert_eq!(
            app.round_trips(),
            trips(1, 2),
            "send: one read, one atomic write, one rate-limit counter update"
        );
    }

    // A config sent with the message is merged in that same write.
    let reply = app
        .post(
            "/api/chat/messages/send",
            json!({"sessionId": id, "message": "hi", "config": {"jsonData": {"a": 1}}}),
        )
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK);
    assert_eq!(
        app.round_trips(),
        trips(1, 2),
        "send with config: no extra round trip"
    );

    app.get(&format!("/api/chat/messages/history/{id}?limit=2"))
        .await;
    assert_eq!(app.round_trips(), trips(1, 0), "one history page: one read");
    app.get(&format!("/api/chat/messages/history/{id}")).await;
    assert_eq!(
        app.round_trips(),
        trips(1, 0),
        "a short full history: one read"
    );

    app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(app.round_trips(), trips(1, 0));
    app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(
        app.round_trips(),
        trips(2, 0),
        "counters + one page of users, no scan"
    );
    app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(app.round_trips(), trips(2, 0), "counters + one index page");
    app.call(
        Method::PUT,
        &format!("/api/chat/sessions/{id}/config"),
        Some(json!({"config": {"a": 1}})),
    )
    .await;
    assert_eq!(
        app.round_trips(),
        trips(1, 1),
        "config merge: read, conditional write"
    );

    let reply = app.send_message(&id, "rate me").await;
    app.round_trips();
    let feedback = json!({"sessionId": id, "messageId": reply.body["messageId"], "rating": "up"});
    app.post("/api/chat/messages/feedback", feedback).await;
    assert_eq!(
        app.round_trips(),
        trips(2, 1),
        "feedback: read session and message, one atomic write with its counters"
    );
    app.get("/api/tenant/sessions?limit=5").await;
    assert_eq!(
        app.round_trips(),
        trips(1, 0),
        "session list: one index query"
    );
    app.get("/api/tenant/sessions?user=u@example.com").await;
    assert_eq!(app.round_trips(), trips(1, 0), "by user: one query of GSI2");
    app.get("/api/tenant/analytics?days=365").await;
    assert_eq!(
        app.round_trips(),
        trips(2, 0),
        "analytics: one query of the day counters, one of the month's budget shards (at once)"
    );
    app.get(&format!("/api/tenant/sessions/{id}")).await;
    assert_eq!(
        app.round_trips(),
        trips(1, 0),
        "transcript: one partition query"
    );
    app.create_session(json!({"config": {}, "user_identifier": "u@example.com"}))
        .await;
    assert_eq!(
        app.round_trips(),
        trips(0, 2),
        "a returning user's session: the new-user guess fails once"
    );

    app.upload(Some(&id), Some(("d.csv", "text/csv", b"a\n1\n")))
        .await;
    assert_eq!(
        app.round_trips(),
        trips(1, 1),
        "upload: read session, one atomic write"
    );
    app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(app.round_trips(), trips(1, 0));
    app.call(Method::DELETE, &format!("/api/chat/files/{id}"), None)
        .await;
    assert_eq!(app.round_trips(), trips(1, 1));

    app.call(
        Method::DELETE,
        &format!("/api/chat/messages/clear/{id}"),
        None,
    )
    .await;
    assert_eq!(
        app.round_trips(),
        trips(2, 1),
        "clear 8 messages: read session, list keys, one transaction of deletes and the counter"
    );
}

/// The tenant API: one read per view, one conditional write per change,
/// never a Scan (the key list is a query of the tenant's own partition).
#[tokio::test]
async fn the_tenant_api_stays_within_its_budget() {
    let app = spawn_app().await;
    app.get("/api/tenant").await;
    app.round_trips();

    app.get("/api/tenant").await;
    assert_eq!(app.round_trips(), trips(1, 0), "the tenant: one read");
    app.call(
        Method::PATCH,
        "/api/tenant/settings",
        Some(json!({"bot": {"name": "B"}})),
    )
    .await;
    assert_eq!(
        app.round_trips(),
        trips(1, 1),
        "settings: read, write conditional on the version"
    );
    app.get("/api/tenant/keys").await;
    assert_eq!(app.round_trips(), trips(1, 0), "keys: one query");
    let created = app
        .post("/api/tenant/keys", json!({"kind": "secret"}))
        .await;
    assert_eq!(
        app.round_trips(),
        trips(0, 1),
        "a new key: one transaction (lookup + listing + tenant check)"
    );
    let id = created.body["keyId"].as_str().unwrap().to_owned();
    app.call(Method::DELETE, &format!("/api/tenant/keys/{id}"), None)
        .await;
    assert_eq!(
        app.round_trips(),
        trips(1, 1),
        "revoke: one query (keys + tenant), one transaction (both items + version)"
    );
    app.get("/api/tenant/widget-code").await;
    assert_eq!(
        app.round_trips(),
        trips(1, 1),
        "the first snippet: the key query, a new publishable key"
    );
    app.get("/api/tenant/widget-code").await;
    assert_eq!(app.round_trips(), trips(1, 0), "later: the key query");
    app.call(
        Method::PUT,
        "/api/clients/me/config",
        Some(json!({"config": {"theme": "dark"}})),
    )
    .await;
    assert_eq!(app.round_trips(), trips(1, 1), "Django config: as a patch");
    app.post("/api/clients/me/regenerate-key", json!({})).await;
    assert_eq!(
        app.round_trips(),
        trips(0, 1),
        "regenerate: one transaction (new key, old key revoked)"
    );
}

/// The knowledge base: a tenant without documents reads nothing more on
/// send; one with documents neither (the index is a blob, cached by the
/// version on the tenant item that authentication already read).
#[tokio::test]
async fn knowledge_adds_no_round_trip_to_send() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    app.send_message(&id, "hello").await;
    app.round_trips();
    app.send_message(&id, "hello").await;
    assert_eq!(app.round_trips(), trips(1, 2), "no documents: as before");

    let added = app
        .add_file(
            "returns.md",
            "text/markdown",
            b"# Returns\n\nKettles within 30 days.",
        )
        .await;
    assert_eq!(added.status, axum::http::StatusCode::CREATED);
    assert_eq!(
        app.round_trips(),
        trips(1, 1),
        "add: read the tenant, one transaction (tenant version + document item)"
    );
    let reply = app.send_message(&id, "return a kettle").await;
    assert!(reply.body.get("sources").is_some(), "{}", reply.body);
    assert_eq!(
        app.round_trips(),
        trips(1, 2),
        "with documents: no extra round trip"
    );
    app.get("/api/tenant/knowledge").await;
    assert_eq!(app.round_trips(), trips(1, 0), "list: one query");
    app.post("/api/tenant/knowledge/search", json!({"query": "kettle"}))
        .await;
    assert_eq!(app.round_trips(), trips(0, 0), "search: the cached index");
    let doc = added.body["documentId"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("/api/tenant/knowledge/{doc}"),
        None,
    )
    .await;
    assert_eq!(
        app.round_trips(),
        trips(2, 1),
        "delete: the document, the tenant; one transaction"
    );
}

/// The widget's send: the visitor's counter, the tenant ceiling's shard and
/// the month's budget shard in one write; reads only for what an instance
/// cannot know (a previous hour, once; the month's tokens with a token cap).
#[tokio::test]
async fn widget_sends_count_every_limit_in_one_write() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::config(&[("API_KEY_CACHE_SECONDS", "0")]),
        None,
    )
    .await;
    crate::limits::set_settings(
        &app,
        json!({"limits": {"perVisitorPerHour": 50, "tenantPerHour": 1000}, "budget": {"monthlyMessages": 1000}}),
    )
    .await;
    let pk = app.publishable_key().await;
    let session = crate::limits::visitor_session(&app, &pk, "visitor-1").await;
    app.round_trips();
    let send = || crate::limits::send_from(&app, &pk, &session, "192.0.2.1:1", &[]);
    // The key cache is off here: every request reads the key and tenant (2).
    assert_eq!(send().await.status, axum::http::StatusCode::OK);
    assert_eq!(
        app.round_trips(),
        trips(2 + 1 + 2, 2),
        "first: session, visitor's previous hour, ceiling's previous hour; one transaction + the exchange"
    );
    for _ in 0..3 {
        assert_eq!(send().await.status, axum::http::StatusCode::OK);
        assert_eq!(app.round_trips(), trips(2 + 1, 2), "steady: one write for every limit");
    }
    crate::limits::set_settings(&app, json!({"budget": {"monthlyTokens": 1000000}})).await;
    app.round_trips();
    assert_eq!(send().await.status, axum::http::StatusCode::OK);
    assert_eq!(
        app.round_trips(),
        trips(2 + 2, 2),
        "a token cap reads the month's shards (one Query) beside the session"
    );
}
