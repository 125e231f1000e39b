//! `/api/tenant/sessions` (list, transcript, delete) and `/api/tenant/export`:
//! paging, filters, errors, tenant isolation.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, config, spawn_app, spawn_app_with};

const DAY_MS: i64 = 86_400_000;

async fn list(app: &TestApp, query: &str) -> Value {
    let reply = app.get(&format!("/api/tenant/sessions{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
    reply.body
}

fn ids(page: &Value) -> Vec<String> {
    page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rows_are_newest_activity_first_and_carry_their_summary() {
    let app = spawn_app().await;
    let old = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.clock.advance_ms(1_000);
    let quiet = app.create_session(json!({"config": {}})).await;
    app.clock.advance_ms(1_000);
    let long = "word ".repeat(100);
    let reply = app.send_message(&old, &long).await;
    let reply_id = reply.body["messageId"].as_str().unwrap().to_owned();
    app.send_message(&old, "second").await;
    app.upload(Some(&old), Some(("d.csv", "text/csv", b"a\n1\n")))
        .await;
    app.post(
        "/api/chat/messages/feedback",
        json!({"sessionId": old, "messageId": reply_id, "rating": "up"}),
    )
    .await;

    let page = list(&app, "").await;
    assert_eq!(ids(&page), [old.clone(), quiet.clone()]);
    assert_eq!(page["nextCursor"], Value::Null);
    let row = &page["sessions"][0];
    assert_eq!(row["userIdentifier"], "alice");
    assert_eq!(row["messageCount"], 4);
    assert_eq!(row["hasFile"], true);
    assert_eq!(row["feedback"], json!({"up": 1, "down": 0}));
    assert_eq!(row["createdAt"], "2025-10-08T12:00:00Z");
    let preview = row["preview"].as_str().unwrap();
    assert!(preview.starts_with("word word") && preview.ends_with('…'));
    assert_eq!(preview.chars().count(), 121);
    let empty = &page["sessions"][1];
    assert_eq!(empty["userIdentifier"], Value::Null);
    assert_eq!(empty["preview"], Value::Null);
    assert_eq!(empty["messageCount"], 0);
    assert_eq!(empty["hasFile"], false);
    assert_eq!(empty["feedback"], json!({"up": 0, "down": 0}));
}

#[tokio::test]
async fn pages_follow_their_cursors_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..23 {
        let user = if i % 3 == 0 { "alice" } else { "bob" };
        created.push(
            app.create_session(json!({"config": {}, "user_identifier": user}))
                .await,
        );
        app.clock.advance_ms(10);
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut query = "?limit=10".to_owned();
    loop {
        let page = list(&app, &query).await;
        assert!(ids(&page).len() <= 10);
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("?limit=10&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created);

    let alice = list(&app, "?user=alice&limit=3").await;
    assert_eq!(ids(&alice).len(), 3);
    let cursor = alice["nextCursor"].as_str().unwrap().to_owned();
    let rest = list(&app, &format!("?user=alice&limit=100&cursor={cursor}")).await;
    let mut all_alice = ids(&alice);
    all_alice.extend(ids(&rest));
    let expected: Vec<String> = created
        .iter()
        .enumerate()
        .filter(|(i, _)| (22 - i) % 3 == 0)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(all_alice, expected);
    assert_eq!(list(&app, "?user=nobody").await["sessions"], json!([]));
}

#[tokio::test]
async fn dates_filter_by_last_activity() {
    let app = spawn_app().await;
    let first = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.clock.advance_ms(DAY_MS);
    let second = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.clock.advance_ms(DAY_MS);
    let third = app.create_session(json!({"config": {}})).await;
    // START_MS is 2025-10-08T12:00Z.
    assert_eq!(
        ids(&list(&app, "?from=2025-10-09").await),
        [third.clone(), second.clone()]
    );
    assert_eq!(
        ids(&list(&app, "?to=2025-10-09").await),
        [second.clone(), first.clone()]
    );
    assert_eq!(
        ids(&list(&app, "?from=2025-10-09&to=2025-10-09").await),
        std::slice::from_ref(&second)
    );
    assert_eq!(
        ids(&list(
            &app,
            "?user=alice&from=2025-10-08T12:00:00Z&to=2025-10-08T12:00:00Z"
        )
        .await),
        std::slice::from_ref(&first)
    );
    assert_eq!(ids(&list(&app, "?user=alice").await), [second, first]);
}

#[tokio::test]
async fn bad_parameters_and_keys_are_refused() {
    let app = spawn_app().await;
    let long_user = format!("?user={}", "u".repeat(300));
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=x",
        "?cursor=nope",
        "?cursor=1759924800130.not-a-uuid",
        "?cursor=1759924800130%23d196a524-c296-4d7a-87e9-a9b71f4fefbd",
        "?cursor=17599248001.d196a524-c296-4d7a-87e9-a9b71f4fefbd",
        "?from=yesterday",
        "?to=2025-13-01",
        long_user.as_str(),
    ] {
        let reply = app.get(&format!("/api/tenant/sessions{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.body
        );
    }
    let id = app.create_session(json!({"config": {}})).await;
    let pk = app.publishable_key().await;
    for (method, path) in [
        (Method::GET, "/api/tenant/sessions".to_owned()),
        (Method::GET, format!("/api/tenant/sessions/{id}")),
        (Method::DELETE, format!("/api/tenant/sessions/{id}")),
        (Method::GET, "/api/tenant/export".to_owned()),
    ] {
        let widget = app.call_as(Some(&pk), method.clone(), &path, None).await;
        assert_eq!(widget.status, StatusCode::FORBIDDEN, "{path}");
        let nobody = app.call_as(None, method.clone(), &path, None).await;
        assert_eq!(nobody.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let bad = app.get("/api/tenant/sessions/not-a-uuid").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"], "Invalid session ID");
    let unknown = uuid::Uuid::new_v4();
    for method in [Method::GET, Method::DELETE] {
        let reply = app
            .call(method, &format!("/api/tenant/sessions/{unknown}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.body["error"], "Session not found");
    }
}

#[tokio::test]
async fn one_tenant_never_sees_anothers_sessions() {
    let app = spawn_app().await;
    let mine = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.send_message(&mine, "private").await;
    let other = app.other_tenant_key().await;
    let call = |method: Method, path: String| {
        let other = other.clone();
        let app = &app;
        async move { app.call_as(Some(&other), method, &path, None).await }
    };
    let listed = call(Method::GET, "/api/tenant/sessions".into()).await;
    assert_eq!(listed.body["sessions"], json!([]));
    let by_user = call(Method::GET, "/api/tenant/sessions?user=alice".into()).await;
    assert_eq!(by_user.body["sessions"], json!([]));
    // A cursor made from the first tenant's session stays in the caller's
    // own partition.
    let forged = format!("/api/tenant/sessions?cursor=9999999999998.{mine}");
    assert_eq!(call(Method::GET, forged).await.body["sessions"], json!([]));
    for method in [Method::GET, Method::DELETE] {
        let reply = call(method, format!("/api/tenant/sessions/{mine}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
    let export = app
        .send(
            Request::get("/api/tenant/export")
                .header("X-API-Key", &other)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.body, Value::Null, "an empty export");
    assert_eq!(
        list(&app, "").await["sessions"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_transcript_has_every_message_with_its_details() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"user_identifier": "alice", "config": {"pageContext": {"url": "https://shop.example/"}}}))
        .await;
    let first = app.send_message(&id, "hello").await;
    app.clock.advance_ms(500);
    app.send_message(&id, "and then").await;
    app.upload(
        Some(&id),
        Some(("sales.csv", "text/csv", b"region,amount\neu,3\n")),
    )
    .await;
    let reply = app.get(&format!("/api/tenant/sessions/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let t = &reply.body;
    assert_eq!(t["sessionId"], json!(id));
    assert_eq!(t["userIdentifier"], "alice");
    assert_eq!(t["messageCount"], 4);
    assert_eq!(t["isExpired"], false);
    assert_eq!(t["config"]["pageContext"]["url"], "https://shop.example/");
    assert_eq!(t["file"]["name"], "sales.csv");
    assert_eq!(t["file"]["rows"], 1);
    assert_eq!(t["file"]["columns"], json!(["region", "amount"]));
    let messages = t["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0]["messageId"], first.body["userMessageId"]);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "hello");
    assert_eq!(messages[0]["timestamp"], "2025-10-08T12:00:00Z");
    assert_eq!(messages[0]["feedback"], Value::Null);
    let answer = &messages[1];
    assert_eq!(answer["messageId"], first.body["messageId"]);
    assert_eq!(answer["role"], "assistant");
    assert_eq!(answer["provider"], "dummy");
    assert!(answer["model"].is_string());
    assert!(answer["inputTokens"].as_i64().unwrap() > 0);
    assert!(answer["outputTokens"].as_i64().unwrap() > 0);
    assert!(answer["latencyMs"].is_i64());
    assert_eq!(messages[2]["content"], "and then");
}

#[tokio::test]
async fn delete_removes_the_session_as_erase_does() {
    let app = spawn_app().await;
    let gone = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.clock.advance_ms(10);
    let kept = app
        .create_session(json!({"config": {}, "user_identifier": "alice"}))
        .await;
    app.clock.advance_ms(10);
    let anonymous = app.create_session(json!({"config": {}})).await;
    app.send_message(&gone, "bye").await;
    app.upload(Some(&gone), Some(("d.csv", "text/csv", b"a\n1\n")))
        .await;
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/sessions/{gone}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"sessionId": gone, "status": "deleted"}));
    let again = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/sessions/{gone}"),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let history = app.get(&format!("/api/chat/messages/history/{gone}")).await;
    assert_eq!(history.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ids(&list(&app, "").await),
        [anonymous.clone(), kept.clone()]
    );
    assert_eq!(ids(&list(&app, "?user=alice").await), [kept]);
    let by_user = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(by_user.status, StatusCode::OK);
    let text = by_user.body.to_string();
    assert!(text.contains("alice"), "{text}");
    let summary = app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(summary.body["totalSessions"], 2, "{}", summary.body);
    let deleted_anon = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/sessions/{anonymous}"),
            None,
        )
        .await;
    assert_eq!(deleted_anon.status, StatusCode::OK);
    let summary = app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(summary.body["totalSessions"], 1);
}

/// The body of a streamed export, as text.
async fn export(app: &TestApp, format: &str) -> (StatusCode, String, String) {
    let request = Request::get(format!("/api/tenant/export?format={format}"))
        .header("X-API-Key", &app.key)
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn export_streams_every_conversation_as_jsonl_or_csv() {
    let settings = config(&[("RATE_LIMIT_MESSAGES_PER_HOUR", "1000")]);
    let app = spawn_app_with(settings, None).await;
    // More sessions than one index page, one with more messages than one
    // partition page.
    let mut sessions = Vec::new();
    for i in 0..40 {
        let id = app
            .create_session(json!({"config": {}, "user_identifier": format!("user-{i}")}))
            .await;
        app.send_message(&id, &format!("question, \"{i}\"\nwith a newline"))
            .await;
        sessions.push(id);
    }
    let busy = sessions[0].clone();
    for i in 0..110 {
        app.send_message(&busy, &format!("more {i}")).await;
    }
    let empty = app.create_session(json!({"config": {}})).await;

    let (status, content_type, text) = export(&app, "jsonl").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 41);
    let busy_line = lines
        .iter()
        .find(|l| l["sessionId"] == json!(busy))
        .unwrap();
    assert_eq!(busy_line["messages"].as_array().unwrap().len(), 222);
    assert_eq!(busy_line["messageCount"], 222);
    assert_eq!(busy_line["messages"][1]["role"], "assistant");
    assert!(busy_line["messages"][1]["messageId"].is_string());
    let empty_line = lines
        .iter()
        .find(|l| l["sessionId"] == json!(empty))
        .unwrap();
    assert_eq!(empty_line["messages"], json!([]));

    let (status, content_type, text) = export(&app, "csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "session_id");
    assert_eq!(&header[6], "content");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // 39 sessions of 2 messages, one of 222, one empty session's row.
    assert_eq!(rows.len(), 39 * 2 + 222 + 1);
    let quoted = rows
        .iter()
        .find(|r| &r[6] == "question, \"5\"\nwith a newline")
        .unwrap();
    assert_eq!(&quoted[5], "user");
    assert_eq!(&quoted[1], "user-5");

    let (status, _, text) = export(&app, "jsonl&from=2025-10-09").await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, ""),
        "a range with nothing"
    );
    let (status, _, text) = export(&app, "csv&to=2025-10-08").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.lines().count() > 300);
    let (status, _, text) = export(&app, "csv&from=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("Invalid from"));

    let (status, _, text) = export(&app, "xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("Invalid format"));
}
