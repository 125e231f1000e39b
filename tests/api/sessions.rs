//! Session endpoints: create, details, config, stats, bot config.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{START_MS, config, spawn_app, spawn_app_with};

#[tokio::test]
async fn create_returns_201_with_defaults_merged_under_the_given_config() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/chat/sessions/create",
            json!({
                "config": {"aiProvider": "dummy", "pageContext": {"url": "https://example.com", "title": "Example"}},
                "user_identifier": "user@example.com"
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let b = &reply.body;
    assert!(uuid::Uuid::parse_str(b["sessionId"].as_str().unwrap()).is_ok());
    assert_eq!(b["status"], "created");
    assert_eq!(b["timestamp"], "2025-10-08T12:00:00Z");
    assert_eq!(b["config"]["botName"], "Claude Assistant");
    assert_eq!(b["config"]["aiProvider"], "dummy");
    assert_eq!(b["config"]["pageContext"]["title"], "Example");
}

#[tokio::test]
async fn create_rejects_bad_bodies_with_json_errors() {
    let app = spawn_app().await;
    let path = "/api/chat/sessions/create";
    let cases = [
        (json!({}), "config is required"),
        (json!({"config": null}), "config is required"),
        (json!({"config": "claude"}), "config must be a JSON object"),
        (
            json!({"config": {}, "user_identifier": 42}),
            "user_identifier must be a string",
        ),
        (
            json!({"config": {}, "user_identifier": "u".repeat(256)}),
            "user_identifier too long",
        ),
        (json!([1, 2]), "Invalid JSON"),
    ];
    for (body, error) in cases {
        let reply = app.post(path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["error"], error, "{body}");
    }
    let reply = app
        .send(
            axum::http::Request::post(path)
                .header("X-API-Key", &app.key)
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "Invalid JSON");
    assert!(reply.body["detail"].as_str().unwrap().contains("line 1"));
}

#[tokio::test]
async fn create_accepts_json_without_a_content_type() {
    let app = spawn_app().await;
    let reply = app
        .send(
            axum::http::Request::post("/api/chat/sessions/create")
                .header("X-API-Key", &app.key)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(
                    r#"{"config":{"aiProvider":"claude"}}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[tokio::test]
async fn details_show_counts_times_and_expiry() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "dummy"}, "user_identifier": "u1"}))
        .await;
    app.clock.advance_ms(60_000);
    assert_eq!(app.send_message(&id, "Hello").await.status, StatusCode::OK);
    let reply = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let b = &reply.body;
    assert_eq!(b["sessionId"], id.as_str());
    assert_eq!(b["messageCount"], 2);
    assert_eq!(b["hasFile"], false);
    assert_eq!(b["createdAt"], "2025-10-08T12:00:00Z");
    assert_eq!(b["lastActivity"], "2025-10-08T12:01:00Z");
    assert_eq!(b["isExpired"], false);
    assert_eq!(b["userIdentifier"], "u1");
    assert_eq!(b["config"]["aiProvider"], "dummy");

    app.clock.advance_ms(30 * 60 * 1000 + 1);
    let reply = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(reply.body["isExpired"], true);
}

#[tokio::test]
async fn bad_and_unknown_session_ids() {
    let app = spawn_app().await;
    let reply = app.get("/api/chat/sessions/not-a-uuid").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body, json!({"error": "Invalid session ID"}));
    let unknown = uuid::Uuid::new_v4();
    let reply = app.get(&format!("/api/chat/sessions/{unknown}")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, json!({"error": "Session not found"}));
}

#[tokio::test]
async fn config_update_merges_keys() {
    let app = spawn_app().await;
    let id = app
        .create_session(json!({"config": {"aiProvider": "claude", "keep": 1}}))
        .await;
    let path = format!("/api/chat/sessions/{id}/config");
    let reply = app
        .call(
            Method::PUT,
            &path,
            Some(json!({"config": {"aiProvider": "openai", "customInstructions": "Be helpful"}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "updated");
    assert_eq!(reply.body["sessionId"], id.as_str());
    let config = &reply.body["config"];
    assert_eq!(config["aiProvider"], "openai");
    assert_eq!(config["customInstructions"], "Be helpful");
    assert_eq!(config["keep"], 1, "keys not named stay");
    assert_eq!(config["botName"], "Claude Assistant");
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(details.body["config"], *config);

    let bad = app
        .call(Method::PUT, &path, Some(json!({"config": [1]})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = app.call(Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(missing.body["error"], "config is required");
    let unknown = app
        .call(
            Method::PUT,
            &format!("/api/chat/sessions/{}/config", uuid::Uuid::new_v4()),
            Some(json!({"config": {}})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let invalid = app
        .call(
            Method::PUT,
            "/api/chat/sessions/123/config",
            Some(json!({"config": {}})),
        )
        .await;
    assert_eq!(invalid.body["error"], "Invalid session ID");
}

#[tokio::test]
async fn stats_summary_counts_sessions_and_recent_activity() {
    let app = spawn_app().await;
    app.create_session(json!({"config": {}})).await;
    app.clock.advance_ms(20 * 60 * 1000);
    app.create_session(json!({"config": {}})).await;
    app.clock.advance_ms(15 * 60 * 1000);
    // 35 minutes after the first session, only the second is recent.
    let reply = app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["totalSessions"], 2);
    assert_eq!(reply.body["recentlyActive"], 1);
    assert_eq!(reply.body["timestamp"], "2025-10-08T12:35:00Z");
    app.create_session(json!({"config": {}})).await;
    let reply = app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(reply.body["totalSessions"], 3);
    assert_eq!(reply.body["recentlyActive"], 2);
}

#[tokio::test]
async fn stats_by_user_matches_the_reference_shape() {
    let app = spawn_app().await;
    for user in [
        "user1@example.com",
        "user1@example.com",
        "user2@example.com",
    ] {
        app.create_session(json!({"config": {}, "user_identifier": user}))
            .await;
    }
    app.create_session(json!({"config": {}})).await;
    app.create_session(json!({"config": {}, "user_identifier": "  "}))
        .await;
    let reply = app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "userStats": {"user1@example.com": 2, "user2@example.com": 1},
            "summary": {
                "totalSessions": 5,
                "sessionsWithUser": 3,
                "sessionsWithoutUser": 2,
                "uniqueUsers": 2
            }
        })
    );
}

#[tokio::test]
async fn bot_config_comes_from_the_environment_and_the_tenant() {
    let app = spawn_app_with(
        config(&[
            ("BOT_NAME", "Helper"),
            ("BOT_ICON", "https://cdn.example.com/i.png"),
        ]),
        None,
    )
    .await;
    let reply = app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "botName": "Helper",
            "poweredBy": "Claude",
            "botColor": "#667eea",
            "botIcon": "https://cdn.example.com/i.png",
            "botMsgBgColor": "#667eea",
            // Contract 3's widget settings, from the defaults.
            "welcomeMessage": null,
            "starterPrompts": [],
            "position": "right",
            "theme": "light",
            "language": null
        })
    );
    let id = app.create_session(json!({"config": {}})).await;
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(details.body["config"]["botName"], "Helper");

    // A tenant's own settings win over the environment's.
    let mut tenant = app
        .state
        .repo
        .get_tenant(app.tenant)
        .await
        .unwrap()
        .unwrap();
    tenant.bot.color = Some("#000000".into());
    let table = app.state.repo.table().clone();
    let mut item: chat_shared::store::Item =
        serde_json::from_value(serde_json::to_value(&tenant).unwrap()).unwrap();
    item.insert("PK".into(), json!(format!("TENANT#{}", app.tenant)));
    item.insert("SK".into(), json!("TENANT"));
    table
        .write(chat_shared::store::WriteOp::put(item))
        .await
        .unwrap();
    let fresh = chat_shared::auth::Authenticator::new(std::time::Duration::ZERO);
    let caller = fresh.verify(&app.state.repo, &app.key).await.unwrap();
    let merged = chat_shared::api::sessions::bot_config_of(&app.state, &caller.tenant);
    assert_eq!(merged["botColor"], "#000000");
    assert_eq!(merged["botName"], "Helper");
    let _ = START_MS;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let reply = app.get("/api/chat/nothing-here").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"], "Not found");
    let reply = app
        .call(Method::DELETE, "/api/chat/sessions/create", None)
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.body["error"], "Method not allowed");
}

#[tokio::test]
async fn configs_every_store_cannot_keep_are_refused() {
    let app = spawn_app().await;
    let path = "/api/chat/sessions/create";
    let big = "x".repeat(70 * 1024);
    let mut deep = json!(1);
    for _ in 0..30 {
        deep = json!([deep]);
    }
    for (config, error) in [
        (json!({"blob": big}), "config too large"),
        (json!({"n": 1e200}), "config holds a number out of range"),
        (json!({"deep": deep}), "config is nested too deeply"),
    ] {
        let reply = app.post(path, json!({"config": config})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["error"], error);
    }
    let wide_user = "😀".repeat(255);
    let reply = app
        .post(path, json!({"config": {}, "user_identifier": wide_user}))
        .await;
    assert_eq!(
        reply.body["error"], "user_identifier too long",
        "bytes count too"
    );

    // Merging may not grow a config past the limit either.
    let id = app
        .create_session(json!({"config": {"a": "y".repeat(40 * 1024)}}))
        .await;
    let reply = app
        .call(
            Method::PUT,
            &format!("/api/chat/sessions/{id}/config"),
            Some(json!({"config": {"b": "z".repeat(40 * 1024)}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "config too large");

    let huge_body = json!({"config": {}, "pad": "p".repeat(1_100_000)});
    let reply = app.post(path, huge_body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.body["error"], "Request body too large");
}
