//! The tenant API (`/api/tenant/*`) and the Django aliases
//! (`/api/clients/me/*`): every endpoint, its refusals, tenant isolation,
//! the Django shapes, concurrent patches, keys' lifecycle.

use axum::http::{Method, StatusCode};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app};

async fn patch(app: &TestApp, key: &str, body: Value) -> Reply {
    app.call_with(key, Method::PATCH, "/api/tenant/settings", Some(body), &[])
        .await
}

async fn create_key(app: &TestApp, body: Value) -> Reply {
    app.post("/api/tenant/keys", body).await
}

fn keys_of(reply: &Reply) -> Vec<Value> {
    reply.body["keys"].as_array().cloned().unwrap_or_default()
}

/// Every operation of the group, with a valid body.
fn every_operation() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/tenant", None),
        (
            Method::PATCH,
            "/api/tenant/settings",
            Some(json!({"bot": {"name": "X"}})),
        ),
        (Method::GET, "/api/tenant/keys", None),
        (
            Method::POST,
            "/api/tenant/keys",
            Some(json!({"kind": "secret"})),
        ),
        (
            Method::DELETE,
            "/api/tenant/keys/00000000-0000-4000-8000-000000000000",
            None,
        ),
        (Method::GET, "/api/tenant/widget-code", None),
        (Method::GET, "/api/clients/me/config", None),
        (
            Method::PUT,
            "/api/clients/me/config",
            Some(json!({"config": {}})),
        ),
        (Method::POST, "/api/clients/me/regenerate-key", None),
        (Method::GET, "/api/clients/me/widget-code", None),
    ]
}

#[tokio::test]
async fn every_operation_needs_a_secret_key() {
    let app = spawn_app().await;
    let publishable = app.publishable_key().await;
    for (method, path, body) in every_operation() {
        let none = app.call_as(None, method.clone(), path, body.clone()).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(none.body["error"], "Authentication required");
        let bad = app
            .call_as(Some("cb_nope"), method.clone(), path, body.clone())
            .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(bad.body["error"], "Invalid API key");
        let pk = app
            .call_with(&publishable, method.clone(), path, body, &[])
            .await;
        assert_eq!(pk.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(pk.body["error"], "Forbidden");
    }
    // The publishable key changed nothing.
    let me = app.get("/api/tenant").await;
    assert_eq!(me.body["settings"]["bot"], json!({}));
}

#[tokio::test]
async fn the_tenant_and_its_default_settings() {
    let app = spawn_app().await;
    let me = app.get("/api/tenant").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["tenantId"], app.tenant.to_string());
    assert_eq!(me.body["name"], "Test Client");
    assert_eq!(me.body["email"], "test@example.com");
    assert_eq!(me.body["createdAt"], "2025-10-08T12:00:00Z");
    assert_eq!(
        me.body["settings"],
        json!({
            "bot": {}, "systemPrompt": null, "defaultProvider": null, "allowedOrigins": [],
            "identity": {"enabled": false, "required": false},
            "rateLimitPerHour": null, "retentionDays": null
        })
    );
}

#[tokio::test]
async fn a_patch_merges_and_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    // Warm the keys' cache: the change must still show at once.
    let publishable = app.publishable_key().await;
    let shop = [("Origin", "https://shop.test")];
    let unlisted = app
        .call_with(
            &publishable,
            Method::GET,
            "/api/chat/sessions/bot-config",
            None,
            &shop,
        )
        .await;
    assert_eq!(unlisted.status, StatusCode::FORBIDDEN);
    let before = app.get("/api/chat/sessions/bot-config").await;
    assert_ne!(before.body["botName"], "Kettle Helper");
    let reply = patch(
        &app,
        &app.key,
        json!({
            "bot": {"name": "Kettle Helper", "color": "#0f766e", "starterPrompts": ["Hi"],
                    "position": "left", "theme": "dark"},
            "systemPrompt": "Kettles only.",
            "allowedOrigins": ["https://shop.test"],
            "rateLimitPerHour": 50
        }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["tenantId"], app.tenant.to_string());
    let settings = &reply.body["settings"];
    assert_eq!(settings["bot"]["name"], "Kettle Helper");
    assert_eq!(settings["allowedOrigins"], json!(["https://shop.test"]));
    assert!(reply.body.get("identitySecret").is_none());
    assert_eq!(app.get("/api/tenant").await.body, reply.body);

    let bot = app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(bot.body["botName"], "Kettle Helper");
    assert_eq!(bot.body["botColor"], "#0f766e");
    // Allowed origins apply at once too (to publishable keys).
    let listed = app
        .call_with(
            &publishable,
            Method::GET,
            "/api/chat/sessions/bot-config",
            None,
            &shop,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let foreign = app
        .call_with(
            &publishable,
            Method::GET,
            "/api/chat/sessions/bot-config",
            None,
            &[("Origin", "https://evil.test")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);

    // null clears back to the default; other fields stay.
    let cleared = patch(
        &app,
        &app.key,
        json!({"bot": {"name": null}, "rateLimitPerHour": null}),
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(cleared.body["settings"]["bot"].get("name"), None);
    assert_eq!(cleared.body["settings"]["bot"]["color"], "#0f766e");
    assert_eq!(cleared.body["settings"]["rateLimitPerHour"], Value::Null);
    assert_eq!(cleared.body["settings"]["systemPrompt"], "Kettles only.");
}

#[tokio::test]
async fn a_bad_setting_is_named_and_changes_nothing() {
    let app = spawn_app().await;
    patch(&app, &app.key, json!({"bot": {"name": "Kept"}})).await;
    for (body, field) in [
        (
            json!({"bot": {"name": "New", "color": "teal"}}),
            "bot.color",
        ),
        (json!({"bot": {"icon": "javascript:alert(1)"}}), "bot.icon"),
        (
            json!({"allowedOrigins": ["ok.test", "nope://x"]}),
            "allowedOrigins[1]",
        ),
        (json!({"rateLimitPerHour": 0}), "rateLimitPerHour"),
        (json!({"retentionDays": 5000}), "retentionDays"),
        (json!({"identity": {"required": true}}), "identity.required"),
        (json!({"surprise": true}), "surprise"),
        (json!("a string"), "settings"),
    ] {
        let reply = patch(&app, &app.key, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["error"], "Invalid settings", "{body}");
        assert_eq!(reply.body["field"], field, "{body}");
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let not_json = app
        .send(crate::helpers::request_with(
            &app.key,
            Method::PATCH,
            "/api/tenant/settings",
            None,
            &[],
        ))
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let me = app.get("/api/tenant").await;
    assert_eq!(me.body["settings"]["bot"], json!({"name": "Kept"}));
}

#[tokio::test]
async fn the_identity_secret_is_shown_once_and_rotates() {
    let app = spawn_app().await;
    let on = patch(
        &app,
        &app.key,
        json!({"identity": {"enabled": true, "required": true}}),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let first = on.body["identitySecret"].as_str().unwrap().to_owned();
    assert_eq!(first.len(), 64);
    assert_eq!(
        on.body["settings"]["identity"],
        json!({"enabled": true, "required": true})
    );
    let again = patch(&app, &app.key, json!({"bot": {"name": "B"}})).await;
    assert!(again.body.get("identitySecret").is_none());
    assert!(
        !app.get("/api/tenant")
            .await
            .body
            .to_string()
            .contains(&first)
    );
    let rotated = patch(&app, &app.key, json!({"identity": {"rotateSecret": true}})).await;
    let second = rotated.body["identitySecret"].as_str().unwrap();
    assert_ne!(second, first);
    // The new secret signs identities at once.
    let publishable = app.publishable_key().await;
    let signature = chat_shared::auth::sign_identity(second, "u1");
    let created = app
        .call_with(
            &publishable,
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}, "user_identifier": "u1", "userSignature": signature})),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

/// Patches of different fields at the same time: every one is kept (the
/// write is conditional on the version read, and retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_are_all_kept() {
    let app = spawn_app().await;
    let patches = [
        json!({"bot": {"name": "N"}}),
        json!({"bot": {"color": "#111111"}}),
        json!({"bot": {"msgBgColor": "#222222"}}),
        json!({"bot": {"poweredBy": "P"}}),
        json!({"bot": {"welcomeMessage": "W"}}),
        json!({"bot": {"language": "es"}}),
        json!({"bot": {"theme": "dark"}}),
        json!({"bot": {"position": "left"}}),
        json!({"systemPrompt": "S"}),
        json!({"defaultProvider": "dummy"}),
        json!({"rateLimitPerHour": 7}),
        json!({"retentionDays": 9}),
    ];
    let replies = join_all(patches.iter().map(|p| patch(&app, &app.key, p.clone()))).await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let s = app.get("/api/tenant").await.body["settings"].clone();
    assert_eq!(
        s["bot"],
        json!({"name": "N", "color": "#111111", "msgBgColor": "#222222", "poweredBy": "P",
               "welcomeMessage": "W", "language": "es", "theme": "dark", "position": "left"})
    );
    assert_eq!(s["systemPrompt"], "S");
    assert_eq!(s["defaultProvider"], "dummy");
    assert_eq!(s["rateLimitPerHour"], 7);
    assert_eq!(s["retentionDays"], 9);
}

/// A change made by another writer between a read and its write is not
/// lost: the stale write fails its version condition and is redone.
#[tokio::test]
async fn a_stale_read_modify_write_is_redone() {
    let app = spawn_app().await;
    let repo = &app.state.repo;
    let mut runs = 0;
    let (tenant, ()) = repo
        .modify_tenant(app.tenant, |t| {
            runs += 1;
            if runs == 1 {
                // Another writer slips in after this read (a blocking write
                // from inside the change, on another thread).
                let state = app.state.clone();
                let id = app.tenant;
                std::thread::spawn(move || {
                    tokio::runtime::Runtime::new().unwrap().block_on(async {
                        state
                            .repo
                            .modify_tenant(id, |o| {
                                o.system_prompt = Some("other".into());
                                Ok::<_, chat_shared::store::StoreError>(())
                            })
                            .await
                            .unwrap();
                    });
                })
                .join()
                .unwrap();
            }
            t.bot.name = Some("mine".into());
            Ok::<_, chat_shared::store::StoreError>(())
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(runs, 2, "the first write lost the race and was redone");
    assert_eq!(tenant.system_prompt.as_deref(), Some("other"));
    let stored = repo.get_tenant(app.tenant).await.unwrap().unwrap();
    assert_eq!(stored.system_prompt.as_deref(), Some("other"));
    assert_eq!(stored.bot.name.as_deref(), Some("mine"));
}

#[tokio::test]
async fn keys_are_listed_never_shown_again_and_labelled() {
    let app = spawn_app().await;
    let listed = app.get("/api/tenant/keys").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let keys = keys_of(&listed);
    assert_eq!(keys.len(), 1);
    let first = &keys[0];
    assert_eq!(first["kind"], "secret");
    assert_eq!(first["label"], Value::Null);
    assert_eq!(first["revoked"], false);
    assert_eq!(first["createdAt"], "2025-10-08T12:00:00Z");
    // This very request used the key.
    assert_eq!(first["lastUsedAt"], "2025-10-08T12:00:00Z");
    assert!(app.key.starts_with(first["prefix"].as_str().unwrap()));
    let text = listed.body.to_string();
    assert!(!text.contains(&app.key) && !text.contains("hash"), "{text}");

    app.clock.advance_ms(60_000);
    let created = create_key(&app, json!({"kind": "secret", "label": "  CI server "})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.body["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cb_"));
    assert_eq!(created.body["label"], "CI server");
    assert_eq!(created.body["kind"], "secret");
    assert_eq!(created.body["lastUsedAt"], Value::Null);
    assert_eq!(
        app.call_with(&secret, Method::GET, "/api/tenant", None, &[])
            .await
            .status,
        StatusCode::OK
    );
    let pk = create_key(&app, json!({"kind": "publishable"})).await;
    assert_eq!(pk.status, StatusCode::CREATED);
    assert!(pk.body["key"].as_str().unwrap().starts_with("pk_"));

    let keys = keys_of(&app.get("/api/tenant/keys").await);
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[2]["keyId"], first["keyId"], "newest first");
    assert!(keys.iter().any(|k| k["label"] == "CI server"));
    assert!(!keys.iter().any(|k| k.get("key").is_some()));

    for (body, error) in [
        (json!({"kind": "admin"}), "Invalid JSON"),
        (json!({"label": "x"}), "Invalid JSON"),
        (json!({"kind": "secret", "extra": 1}), "Invalid JSON"),
        (
            json!({"kind": "secret", "label": "x".repeat(101)}),
            "Invalid label",
        ),
        (
            json!({"kind": "secret", "label": "a\u{7}"}),
            "Invalid label",
        ),
    ] {
        let reply = create_key(&app, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["error"], error, "{body}");
    }
}

#[tokio::test]
async fn last_used_is_written_at_most_once_an_hour() {
    let app = spawn_app().await;
    app.get("/api/tenant").await;
    app.round_trips();
    app.get("/api/tenant").await;
    assert_eq!(app.round_trips().writes, 0, "within the hour: no write");
    app.clock.advance_ms(3_600_000);
    app.get("/api/tenant").await;
    assert_eq!(app.round_trips().writes, 1, "an hour later: one write");
    let keys = keys_of(&app.get("/api/tenant/keys").await);
    assert_eq!(keys[0]["lastUsedAt"], "2025-10-08T13:00:00Z");
}

#[tokio::test]
async fn a_revoked_key_stops_at_once_and_the_last_secret_key_stays() {
    let app = spawn_app().await;
    let own_id = keys_of(&app.get("/api/tenant/keys").await)[0]["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = app
        .call(Method::DELETE, &format!("/api/tenant/keys/{own_id}"), None)
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.body);
    assert_eq!(last.body["error"], "Last secret key");

    // A publishable key does not count as a secret key.
    create_key(&app, json!({"kind": "publishable"})).await;
    let again = app
        .call(Method::DELETE, &format!("/api/tenant/keys/{own_id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let other = create_key(&app, json!({"kind": "secret"})).await;
    let (other_key, other_id) = (
        other.body["key"].as_str().unwrap().to_owned(),
        other.body["keyId"].as_str().unwrap().to_owned(),
    );
    // Cached on this instance before it is revoked.
    assert_eq!(
        app.call_with(&other_key, Method::GET, "/api/tenant", None, &[])
            .await
            .status,
        StatusCode::OK
    );
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/keys/{other_id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.body["revoked"], true);
    assert_eq!(revoked.body["keyId"], other_id);
    let refused = app
        .call_with(&other_key, Method::GET, "/api/tenant", None, &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Revoking it again answers the same.
    let repeat = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/keys/{other_id}"),
            None,
        )
        .await;
    assert_eq!(repeat.status, StatusCode::OK);

    for (id, status, error) in [
        ("not-a-uuid", StatusCode::BAD_REQUEST, "Invalid key ID"),
        (
            "00000000-0000-4000-8000-000000000000",
            StatusCode::NOT_FOUND,
            "Key not found",
        ),
    ] {
        let reply = app
            .call(Method::DELETE, &format!("/api/tenant/keys/{id}"), None)
            .await;
        assert_eq!(reply.status, status, "{id}");
        assert_eq!(reply.body["error"], error);
    }
}

/// Two secret keys revoked at the same time: one stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_keep_a_secret_key() {
    let app = spawn_app().await;
    let mut ids = vec![keys_of(&app.get("/api/tenant/keys").await)[0]["keyId"].clone()];
    for _ in 0..3 {
        ids.push(create_key(&app, json!({"kind": "secret"})).await.body["keyId"].clone());
    }
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/tenant/keys/{}", id.as_str().unwrap()))
        .collect();
    let replies = join_all(paths.iter().map(|p| app.call(Method::DELETE, p, None))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (ok, refused),
        (3, 1),
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let state = app.state.repo.list_api_keys(app.tenant).await.unwrap();
    assert_eq!(state.iter().filter(|k| !k.revoked).count(), 1);
}

#[tokio::test]
async fn the_widget_code_uses_one_publishable_key() {
    let app = spawn_app().await;
    let code = app
        .call_with(
            &app.key,
            Method::GET,
            "/api/tenant/widget-code",
            None,
            &[("Host", "127.0.0.1:3000")],
        )
        .await;
    assert_eq!(code.status, StatusCode::OK, "{}", code.body);
    let html = code.body["html"].as_str().unwrap();
    let prefix = code.body["apiKeyPrefix"].as_str().unwrap();
    assert!(prefix.starts_with("pk_"));
    assert!(
        html.starts_with("<script src=\"http://127.0.0.1:3000/widget/chatbot.js?apiKey=pk_"),
        "{html}"
    );
    let key = html
        .split("apiKey=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(key.starts_with(prefix));
    // The key in the snippet chats.
    let created = app
        .call_with(
            key,
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}})),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    // Asked again: the same key, no new one.
    let again = app.get("/api/tenant/widget-code").await;
    assert!(again.body["html"].as_str().unwrap().contains(key));
    let publishable: Vec<Value> = keys_of(&app.get("/api/tenant/keys").await)
        .into_iter()
        .filter(|k| k["kind"] == "publishable")
        .collect();
    assert_eq!(publishable.len(), 1);
    assert_eq!(publishable[0]["label"], "Widget");
    // Behind a proxy, https.
    let proxied = app
        .call_with(
            &app.key,
            Method::GET,
            "/api/tenant/widget-code",
            None,
            &[("Host", "chat.example.com"), ("X-Forwarded-Proto", "https")],
        )
        .await;
    assert!(
        proxied.body["html"]
            .as_str()
            .unwrap()
            .starts_with("<script src=\"https://chat.example.com/widget/")
    );
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let app = spawn_app().await;
    let other = app.other_tenant_key().await;
    patch(&app, &app.key, json!({"bot": {"name": "A bot"}})).await;
    let a_keys = keys_of(&app.get("/api/tenant/keys").await);

    let b = app
        .call_with(&other, Method::GET, "/api/tenant", None, &[])
        .await;
    assert_eq!(b.body["name"], "Other");
    assert_eq!(b.body["settings"]["bot"], json!({}));
    let b_keys = app
        .call_with(&other, Method::GET, "/api/tenant/keys", None, &[])
        .await;
    assert_eq!(keys_of(&b_keys).len(), 1);
    assert_ne!(keys_of(&b_keys)[0]["keyId"], a_keys[0]["keyId"]);
    // B cannot revoke A's key: it is not found.
    let id = a_keys[0]["keyId"].as_str().unwrap();
    let reply = app
        .call_with(
            &other,
            Method::DELETE,
            &format!("/api/tenant/keys/{id}"),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // B's patch and Django config stay B's.
    patch(&app, &other, json!({"bot": {"name": "B bot"}})).await;
    app.call_with(
        &other,
        Method::PUT,
        "/api/clients/me/config",
        Some(json!({"config": {"primary_color": "#000000"}})),
        &[],
    )
    .await;
    let a = app.get("/api/tenant").await;
    assert_eq!(a.body["settings"]["bot"], json!({"name": "A bot"}));
    let b_config = app
        .call_with(&other, Method::GET, "/api/clients/me/config", None, &[])
        .await;
    assert_eq!(b_config.body["config"]["bot_name"], "B bot");
    assert_ne!(b_config.body["client_id"], app.tenant.to_string());
}

#[tokio::test]
async fn the_django_config_endpoints_answer_in_its_shapes() {
    let app = spawn_app().await;
    let empty = app.get("/api/clients/me/config").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(
        empty.body,
        json!({"client_id": app.tenant.to_string(), "name": "Test Client", "config": {},
               "system_prompt": null})
    );
    let updated = app
        .call(
            Method::PUT,
            "/api/clients/me/config",
            Some(json!({"config": {
                "bot_name": "Kettle Helper", "primary_color": "#0f766e",
                "whitelisted_domains": ["https://shop.test"], "system_prompt": "Kettles only.",
                "greeting_style": {"emoji": true}
            }})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        updated.body,
        json!({"client_id": app.tenant.to_string(), "message": "Configuration updated successfully",
               "config": {"bot_name": "Kettle Helper", "primary_color": "#0f766e",
                          "whitelisted_domains": ["https://shop.test"],
                          "system_prompt": "Kettles only.", "greeting_style": {"emoji": true}}})
    );
    // A shallow merge: other keys stay.
    let merged = app
        .call(
            Method::PUT,
            "/api/clients/me/config",
            Some(json!({"config": {"theme": "dark", "bot_name": null}})),
        )
        .await;
    let config = &merged.body["config"];
    assert_eq!(config["theme"], "dark");
    assert_eq!(config.get("bot_name"), None);
    assert_eq!(config["primary_color"], "#0f766e");
    let got = app.get("/api/clients/me/config").await;
    assert_eq!(got.body["system_prompt"], "Kettles only.");
    assert_eq!(got.body["config"], merged.body["config"]);
    // The same settings, seen through the tenant API.
    let me = app.get("/api/tenant").await;
    assert_eq!(me.body["settings"]["bot"]["theme"], "dark");
    assert_eq!(me.body["settings"]["systemPrompt"], "Kettles only.");

    for body in [
        json!({"config": []}),
        json!({"config": "x"}),
        json!({"config": 3}),
    ] {
        let reply = app
            .call(Method::PUT, "/api/clients/me/config", Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            reply.body,
            json!({"config": ["Config must be a JSON object"]})
        );
    }
    let missing = app
        .call(Method::PUT, "/api/clients/me/config", Some(json!({})))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["config"], json!(["This field is required."]));
    let bad = app
        .call(
            Method::PUT,
            "/api/clients/me/config",
            Some(json!({"config": {"bot_name": "Changed", "primary_color": "teal"}})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["config"][0]
            .as_str()
            .unwrap()
            .starts_with("primary_color: ")
    );
    assert_eq!(bad.body["field"], "primary_color");
    assert_eq!(app.get("/api/clients/me/config").await.body, got.body);
}

#[tokio::test]
async fn regenerate_key_revokes_the_calling_key_at_once() {
    let app = spawn_app().await;
    let reply = app.post("/api/clients/me/regenerate-key", json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let keys: Vec<&str> = reply
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["api_key", "message"]);
    let new = reply.body["api_key"].as_str().unwrap();
    assert!(new.starts_with("cb_") && new != app.key);
    let old = app.get("/api/tenant").await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old key is refused at once"
    );
    let listed = app
        .call_with(new, Method::GET, "/api/tenant/keys", None, &[])
        .await;
    let keys = keys_of(&listed);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys.iter().filter(|k| k["revoked"] == true).count(), 1);
}

#[tokio::test]
async fn the_django_widget_code_carries_the_publishable_key() {
    let app = spawn_app().await;
    let reply = app.get("/api/clients/me/widget-code").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut keys: Vec<&str> = reply
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["api_key", "html", "instructions"]);
    let key = reply.body["api_key"].as_str().unwrap();
    assert!(key.starts_with("pk_"));
    assert!(reply.body["html"].as_str().unwrap().contains(key));
    // The same key the tenant API's snippet uses.
    let code = app.get("/api/tenant/widget-code").await;
    assert!(code.body["html"].as_str().unwrap().contains(key));
}
