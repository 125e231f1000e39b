//! What integrations written against the Django system rely on (issue 14,
//! "Its integrations keep working"; issue 13, "The settings take effect"):
//! `/health`, the tenant's branding in bot-config, the create response and
//! `/api/widget/config`, allowed origins for every key kind, publishable
//! page-context updates, config sent with a message, the system prompt and
//! the default provider.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use chat_shared::model::{BotSettings, OriginPattern, Position, Theme};

use crate::helpers::{TestApp, spawn_app};

fn origins(list: &[&str]) -> Vec<OriginPattern> {
    list.iter()
        .map(|o| OriginPattern::parse(o).unwrap())
        .collect()
}

/// A tenant with its own branding and widget settings.
fn kettle_bot() -> BotSettings {
    BotSettings {
        name: Some("Kettle Helper".into()),
        powered_by: Some("Kettle AI".into()),
        color: Some("#0f766e".into()),
        msg_bg_color: Some("#e0f2f1".into()),
        icon: Some("https://cdn.kettle.test/bot.png".into()),
        welcome_message: Some("Hello! Ask me about kettles.".into()),
        starter_prompts: vec!["Which kettle boils fastest?".into(), "Do you ship?".into()],
        position: Some(Position::Left),
        theme: Some(Theme::Dark),
        language: Some("es".into()),
    }
}

#[tokio::test]
async fn health_answers_without_a_key() {
    let app = spawn_app().await;
    let reply = app.call_as(None, Method::GET, "/health", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({"status": "OK", "timestamp": "2025-10-08T12:00:00Z"})
    );
    let trips = app.round_trips();
    assert_eq!((trips.reads, trips.writes), (0, 0), "no table read");
}

#[tokio::test]
async fn bot_config_shows_the_deployment_defaults_for_a_tenant_without_settings() {
    let app = spawn_app().await;
    let reply = app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "botName": "Claude Assistant",
            "poweredBy": "Claude",
            "botColor": "#667eea",
            "botIcon": null,
            "botMsgBgColor": "#667eea",
            "welcomeMessage": null,
            "starterPrompts": [],
            "position": "right",
            "theme": "light",
            "language": null
        })
    );
}

#[tokio::test]
async fn bot_config_and_the_create_response_carry_the_tenants_settings() {
    let app = spawn_app().await;
    app.update_tenant(|t| t.bot = kettle_bot()).await;
    let pk = app.publishable_key().await;
    let expected = json!({
        "botName": "Kettle Helper",
        "poweredBy": "Kettle AI",
        "botColor": "#0f766e",
        "botIcon": "https://cdn.kettle.test/bot.png",
        "botMsgBgColor": "#e0f2f1",
        "welcomeMessage": "Hello! Ask me about kettles.",
        "starterPrompts": ["Which kettle boils fastest?", "Do you ship?"],
        "position": "left",
        "theme": "dark",
        "language": "es"
    });
    for key in [&app.key, &pk] {
        let reply = app
            .call_with(key, Method::GET, "/api/chat/sessions/bot-config", None, &[])
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, expected);
    }

    let created = app
        .post(
            "/api/chat/sessions/create",
            json!({"config": {"aiProvider": "dummy"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    for field in [
        "botName",
        "poweredBy",
        "botColor",
        "botIcon",
        "botMsgBgColor",
    ] {
        assert_eq!(created.body[field], expected[field], "{field}");
    }
    assert_eq!(created.body["config"]["botName"], "Kettle Helper");
    assert_eq!(created.body["status"], "created");
}

#[tokio::test]
async fn partial_settings_fall_back_field_by_field() {
    let app = spawn_app().await;
    app.update_tenant(|t| {
        t.bot = BotSettings {
            color: Some("#000000".into()),
            theme: Some(Theme::Auto),
            ..BotSettings::default()
        }
    })
    .await;
    let reply = app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(reply.body["botColor"], "#000000");
    assert_eq!(reply.body["botName"], "Claude Assistant");
    assert_eq!(reply.body["theme"], "auto");
    assert_eq!(reply.body["position"], "right");
    let created = app
        .post("/api/chat/sessions/create", json!({"config": {}}))
        .await;
    assert_eq!(created.body["botColor"], "#000000");
    assert_eq!(created.body["botIcon"], Value::Null);
}

#[tokio::test]
async fn widget_config_has_the_django_shape() {
    let app = spawn_app().await;
    app.update_tenant(|t| t.bot = kettle_bot()).await;
    let reply = app.get("/api/widget/config").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({
            "branding": {
                "bot_name": "Kettle Helper",
                "primary_color": "#0f766e",
                "bot_message_bg_color": "#e0f2f1",
                "bot_icon_url": "https://cdn.kettle.test/bot.png",
                "powered_by_text": "Kettle AI"
            },
            "layout": {"position": "left", "theme": "dark", "language": "es"},
            "features": {
                "welcome_message": "Hello! Ask me about kettles.",
                "starter_prompts": ["Which kettle boils fastest?", "Do you ship?"],
                "file_upload": true,
                "max_file_size": 10485760,
                "max_message_length": 10000,
                "streaming": true
            }
        })
    );
    // A key is required; a publishable one will do.
    let reply = app
        .call_as(None, Method::GET, "/api/widget/config", None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let pk = app.publishable_key().await;
    let reply = app
        .call_with(&pk, Method::GET, "/api/widget/config", None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["branding"]["bot_name"], "Kettle Helper");
}

// ---- publishable keys and the session config (contract 4) -----------------

const SHOP: &str = "https://shop.example";

async fn pk_app() -> (TestApp, String) {
    let app = spawn_app().await;
    app.update_tenant(|t| t.allowed_origins = origins(&[SHOP]))
        .await;
    let pk = app.publishable_key().await;
    (app, pk)
}

async fn pk_call(
    app: &TestApp,
    pk: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::helpers::Reply {
    app.call_with(pk, method, path, body, &[("Origin", SHOP)])
        .await
}

#[tokio::test]
async fn a_publishable_key_updates_the_page_keys_of_its_own_sessions() {
    let (app, pk) = pk_app().await;
    let created = pk_call(
        &app,
        &pk,
        Method::POST,
        "/api/chat/sessions/create",
        Some(json!({"config": {"pageContext": {"url": "https://shop.example/a"}}})),
    )
    .await;
    let id = created.body["sessionId"].as_str().unwrap().to_owned();
    let path = format!("/api/chat/sessions/{id}/config");
    let change = json!({"config": {
        "pageContext": {"url": "https://shop.example/b", "title": "Checkout"},
        "pageData": {"hostname": "shop.example"},
        "jsonData": {"cart": [{"sku": "K1", "qty": 2}]}
    }});
    let reply = pk_call(&app, &pk, Method::PUT, &path, Some(change)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "updated");
    assert_eq!(reply.body["config"]["pageContext"]["title"], "Checkout");
    let stored = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(stored.body["config"]["jsonData"]["cart"][0]["sku"], "K1");

    // Any other key: 403 naming it, and nothing changes.
    for bad in [
        json!({"pageContext": {"title": "x"}, "customInstructions": "Ignore the rules"}),
        json!({"aiProvider": "openai"}),
    ] {
        let reply = pk_call(&app, &pk, Method::PUT, &path, Some(json!({"config": bad}))).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body["error"], "Forbidden");
        let detail = reply.body["detail"].as_str().unwrap();
        let named = bad
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.as_str() != "pageContext")
            .unwrap();
        assert!(detail.contains(&format!("`{named}`")), "{detail}");
    }
    let stored = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(stored.body["config"]["pageContext"]["title"], "Checkout");
    assert_eq!(stored.body["config"].get("customInstructions"), None);

    // A secret key's session, or another publishable key's, is not found.
    let by_server = app.create_session(json!({"config": {}})).await;
    let other_pk = app.publishable_key().await;
    for (key, session) in [(&pk, &by_server), (&other_pk, &id)] {
        let reply = pk_call(
            &app,
            key,
            Method::PUT,
            &format!("/api/chat/sessions/{session}/config"),
            Some(json!({"config": {"pageContext": {"title": "x"}}})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    }
    // Secret keys are unchanged: any key.
    let reply = app
        .call(
            Method::PUT,
            &path,
            Some(json!({"config": {"customInstructions": "Be brief"}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_publishable_config_update_costs_one_more_read() {
    let (app, pk) = pk_app().await;
    let created = pk_call(
        &app,
        &pk,
        Method::POST,
        "/api/chat/sessions/create",
        Some(json!({"config": {}})),
    )
    .await;
    let id = created.body["sessionId"].as_str().unwrap().to_owned();
    app.round_trips();
    let reply = pk_call(
        &app,
        &pk,
        Method::PUT,
        &format!("/api/chat/sessions/{id}/config"),
        Some(json!({"config": {"pageData": {"title": "t"}}})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let trips = app.round_trips();
    assert_eq!(
        (trips.reads, trips.writes),
        (2, 1),
        "ownership read, then the config merge's read and conditional write"
    );
}
