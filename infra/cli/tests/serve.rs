//! `chatctl` as a new user runs it: the real binary, a real socket on
//! 127.0.0.1, the README's curl walk-through, restarts and admin commands.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method};
use serde_json::{Value, json};

const CHATCTL: &str = env!("CARGO_BIN_EXE_chatctl");

/// A running `chatctl serve`; stopped when dropped.
struct Server {
    child: Child,
    base: String,
    key: String,
    client: Client,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        Server::start_in(data_dir, Path::new("."))
    }

    /// Started with `cwd` as its working directory.
    fn start_in(data_dir: &Path, cwd: &Path) -> Server {
        let mut child = Command::new(CHATCTL)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .current_dir(cwd)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut base, mut key) = (None, None);
        while base.is_none() || key.is_none() {
            let line = lines
                .next()
                .expect("serve printed its address and key")
                .unwrap();
            if let Some(url) = line.strip_prefix("Chat API: ") {
                base = Some(url.trim_end_matches("/api/chat/").to_owned());
            }
            if let Some(k) = line.strip_prefix("Demo API key: ") {
                key = Some(k.to_owned());
            }
        }
        // Keep reading what it prints, so it never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        // The server is on 127.0.0.1: no proxy from the environment.
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Server {
            child,
            base: base.unwrap(),
            key: key.unwrap(),
            client,
        }
    }

    /// A JSON request: the status and the JSON body (`Null` when not JSON).
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A plain GET: status, headers, body.
    async fn get(&self, path: &str) -> (u16, HeaderMap, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    /// Stops it as an operator would (SIGTERM) and waits for it to exit.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("chatctl serve did not stop on SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response header's value, or "" when it is missing.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map_or("", |v| v.to_str().unwrap_or_default())
}

fn chatctl(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(CHATCTL)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_readme_walk_through_works_on_a_fresh_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let key = Some(server.key.as_str());
    assert!(server.key.starts_with("cb_"));

    let (status, created) = server
        .call(
            "POST",
            "/api/chat/sessions/create",
            key,
            Some(
                json!({"config": {"aiProvider": "claude"}, "user_identifier": "test@example.com"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["sessionId"].as_str().unwrap().to_owned();

    let (status, sent) = server
        .call(
            "POST",
            "/api/chat/messages/send",
            key,
            Some(json!({"sessionId": id, "message": "Hello!", "config": {"aiProvider": "claude"}})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["messageCount"], 2);
    assert_eq!(
        sent["provider"], "dummy",
        "no provider key here: the dummy answers"
    );

    let (status, history) = server
        .call(
            "GET",
            &format!("/api/chat/messages/history/{id}"),
            key,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
    // The history body is sent page by page, with its length announced
    // (not chunked) on the wire.
    let response = server
        .client
        .get(format!("{}/api/chat/messages/history/{id}", server.base))
        .header("X-API-Key", &server.key)
        .send()
        .await
        .unwrap();
    let length = header(response.headers(), "content-length").to_owned();
    assert_eq!(header(response.headers(), "transfer-encoding"), "");
    assert_eq!(length, response.bytes().await.unwrap().len().to_string());

    let (status, cleared) = server
        .call(
            "DELETE",
            &format!("/api/chat/messages/clear/{id}"),
            key,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cleared["messagesCleared"], 2);

    let (status, stats) = server
        .call("GET", "/api/chat/sessions/stats/by-user", key, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(stats["userStats"], json!({"test@example.com": 1}));

    let (status, error) = server
        .call(
            "POST",
            "/api/chat/sessions/create",
            None,
            Some(json!({"config": {"aiProvider": "claude"}})),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(error["error"], "Authentication required");
    server.stop();
}

#[tokio::test]
async fn the_demo_key_and_data_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Server::start(&data);
    let key = first.key.clone();
    let (_, created) = first
        .call(
            "POST",
            "/api/chat/sessions/create",
            Some(&key),
            Some(json!({"config": {}})),
        )
        .await;
    let id = created["sessionId"].as_str().unwrap().to_owned();
    first
        .call(
            "POST",
            "/api/chat/messages/send",
            Some(&key),
            Some(json!({"sessionId": id, "message": "remember me"})),
        )
        .await;
    first.stop();

    let second = Server::start(&data);
    assert_eq!(second.key, key, "the same demo key after a restart");
    let (status, history) = second
        .call(
            "GET",
            &format!("/api/chat/messages/history/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(history["messages"][0]["content"], "remember me");
    second.stop();
}

#[tokio::test]
async fn tenants_and_keys_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = chatctl(
        &data,
        &[
            "tenant",
            "create",
            "--name",
            "Acme",
            "--email",
            "ops@acme.test",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let key = last_line(&created);
    assert!(key.starts_with("cb_") && key.len() >= 35, "{key}");
    let stdout = String::from_utf8_lossy(&created.stdout).to_string();
    let tenant = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tenant: "))
        .unwrap()
        .to_owned();

    let listed = chatctl(&data, &["tenant", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("Acme"));

    let second = chatctl(&data, &["key", "create", "--tenant", &tenant]);
    assert!(second.status.success());
    let second_key = last_line(&second);
    let keys = chatctl(&data, &["key", "list", "--tenant", &tenant]);
    let keys = String::from_utf8_lossy(&keys.stdout).to_string();
    assert_eq!(keys.lines().count(), 2, "{keys}");
    assert!(!keys.contains(&key[3..]), "listings never show a key");

    let second_id = String::from_utf8_lossy(&second.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("key id: "))
        .unwrap()
        .to_owned();
    let revoked = chatctl(
        &data,
        &["key", "revoke", "--tenant", &tenant, "--key-id", &second_id],
    );
    assert!(revoked.status.success());

    let bad = chatctl(
        &data,
        &[
            "key",
            "create",
            "--tenant",
            "00000000-0000-0000-0000-000000000000",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no tenant"));

    let server = Server::start(&data);
    let (status, _) = server
        .call("GET", "/api/chat/sessions/bot-config", Some(&key), None)
        .await;
    assert_eq!(status, 200, "the tenant's key works on the server");
    let (status, body) = server
        .call(
            "GET",
            "/api/chat/sessions/bot-config",
            Some(&second_key),
            None,
        )
        .await;
    assert_eq!(status, 401, "a revoked key does not");
    assert_eq!(body["error"], "Invalid API key");

    let busy = chatctl(&data, &["tenant", "list"]);
    assert!(!busy.status.success(), "the store is held by the server");
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    server.stop();
}

#[tokio::test]
async fn a_tenant_gets_its_own_provider_endpoint_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = chatctl(
        &data,
        &[
            "tenant",
            "create",
            "--name",
            "Own",
            "--email",
            "ops@own.test",
        ],
    );
    assert!(created.status.success());
    let key = last_line(&created);
    let stdout = String::from_utf8_lossy(&created.stdout).to_string();
    let tenant = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tenant: "))
        .unwrap()
        .to_owned();

    let bad = chatctl(
        &data,
        &[
            "tenant",
            "set-provider",
            "--tenant",
            &tenant,
            "--base-url",
            "nope",
            "--model",
            "m",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--base-url"));

    let set = Command::new(CHATCTL)
        .args([
            "tenant",
            "set-provider",
            "--tenant",
            &tenant,
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "llama3.2",
            "--api-key-env",
            "OWN_PROVIDER_KEY",
            "--data-dir",
        ])
        .arg(&data)
        .env("OWN_PROVIDER_KEY", "own-very-secret")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let shown = String::from_utf8_lossy(&set.stdout).to_string();
    assert!(
        shown.contains("with key") && !shown.contains("own-very-secret"),
        "{shown}"
    );

    let server = Server::start(&data);
    let (status, body) = server
        .call("GET", "/api/chat/providers", Some(&key), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["providers"],
        json!([
            {"id": "custom", "defaultModel": "llama3.2"},
            {"id": "dummy", "defaultModel": "dummy-1.0"}
        ])
    );
    server.stop();

    let cleared = chatctl(
        &data,
        &["tenant", "set-provider", "--tenant", &tenant, "--clear"],
    );
    assert!(cleared.status.success());
    let server = Server::start(&data);
    let (_, body) = server
        .call("GET", "/api/chat/providers", Some(&key), None)
        .await;
    assert_eq!(
        body["providers"],
        json!([{"id": "dummy", "defaultModel": "dummy-1.0"}])
    );
    server.stop();
}

#[tokio::test]
async fn the_widget_and_its_demo_page_are_served_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), elsewhere.path());

    let (status, head, body) = server.get("/widget/chatbot.js").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(
        header(&head, "cache-control").starts_with("public, max-age="),
        "{head:?}"
    );
    assert!(head.contains_key("etag"), "{head:?}");
    assert!(body.contains("chatbot_user_id"));

    let (status, head, body) = server.get("/widget/frame.html").await;
    assert_eq!(status, 200);
    assert!(head.contains_key("content-security-policy"), "{head:?}");
    assert!(body.contains("frame.js"));

    let (status, head, body) = server.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&head, "cache-control"), "no-store");
    assert!(
        body.contains(&format!("/widget/chatbot.js?apiKey={}\"", server.key)),
        "the demo page carries the demo key"
    );

    let (status, _, _) = server.get("/widget/nope.js").await;
    assert_eq!(status, 404);
    let (status, _) = server.call("GET", "/api/chat/nope", None, None).await;
    assert_eq!(status, 404, "the API's own fallback still answers");

    // The Django system's liveness probe, without a key.
    let (status, body) = server.call("GET", "/health", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "OK");
    assert!(body["timestamp"].is_string(), "{body}");
    server.stop();
}

#[tokio::test]
async fn widget_keys_origins_identity_and_limits_are_set_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = chatctl(
        &data,
        &[
            "tenant",
            "create",
            "--name",
            "Shop",
            "--email",
            "ops@shop.test",
        ],
    );
    assert!(created.status.success());
    let tenant = String::from_utf8_lossy(&created.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("tenant: "))
        .unwrap()
        .to_owned();
    let secret_key = last_line(&created);

    let pk = chatctl(
        &data,
        &[
            "key",
            "create",
            "--tenant",
            &tenant,
            "--kind",
            "publishable",
        ],
    );
    assert!(pk.status.success());
    let pk = last_line(&pk);
    assert!(pk.starts_with("pk_"), "{pk}");
    let keys = chatctl(&data, &["key", "list", "--tenant", &tenant]);
    assert!(String::from_utf8_lossy(&keys.stdout).contains("publishable"));

    let bad = chatctl(
        &data,
        &[
            "tenant",
            "set-origins",
            "--tenant",
            &tenant,
            "shop.test/path",
        ],
    );
    assert!(!bad.status.success(), "not an origin");
    let origins = chatctl(
        &data,
        &[
            "tenant",
            "set-origins",
            "--tenant",
            &tenant,
            "https://Shop.test/",
        ],
    );
    assert!(origins.status.success());
    assert!(String::from_utf8_lossy(&origins.stdout).contains("https://shop.test"));

    let identity = chatctl(
        &data,
        &["tenant", "set-identity", "--tenant", &tenant, "--require"],
    );
    assert!(identity.status.success());
    let identity_secret = last_line(&identity);
    assert_eq!(identity_secret.len(), 64, "{identity_secret}");
    let again = chatctl(
        &data,
        &["tenant", "set-identity", "--tenant", &tenant, "--require"],
    );
    assert!(!String::from_utf8_lossy(&again.stdout).contains(&identity_secret));
    let limit = chatctl(
        &data,
        &[
            "tenant",
            "set-rate-limit",
            "--tenant",
            &tenant,
            "--per-hour",
            "1",
        ],
    );
    assert!(limit.status.success());

    let server = Server::start(&data);
    let create =
        |body: Value| server.call("POST", "/api/chat/sessions/create", Some(&pk), Some(body));
    let (status, body) = create(serde_json::json!({"config": {}, "user_identifier": "ann"})).await;
    assert_eq!(status, 403, "{body}");
    let signature = chat_shared::auth::sign_identity(&identity_secret, "ann");
    let (status, body) = create(serde_json::json!({
        "config": {}, "user_identifier": "ann", "userSignature": signature
    }))
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = server
        .call("GET", "/api/chat/sessions/stats/summary", Some(&pk), None)
        .await;
    assert_eq!(status, 403, "a publishable key reads no stats");
    let (status, _) = server
        .call(
            "GET",
            "/api/chat/sessions/stats/summary",
            Some(&secret_key),
            None,
        )
        .await;
    assert_eq!(status, 200);

    let anonymous = create(serde_json::json!({"config": {}})).await.1["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = || {
        server.call(
            "POST",
            "/api/chat/messages/send",
            Some(&pk),
            Some(serde_json::json!({"sessionId": anonymous, "message": "hi"})),
        )
    };
    assert_eq!(send().await.0, 200);
    let (status, body) = send().await;
    assert_eq!(status, 429, "one message per hour: {body}");
    server.stop();
}

/// `chatctl tenant show|settings|keys`: the tenant API's service on the
/// command line, with its validation and its refusals.
#[tokio::test]
async fn tenant_settings_and_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = chatctl(
        &data,
        &[
            "tenant", "create", "--name", "Kettle", "--email", "k@k.test",
        ],
    );
    let stdout = String::from_utf8_lossy(&created.stdout).to_string();
    let tenant = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tenant: "))
        .unwrap()
        .to_owned();
    let key_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("key id: "))
        .unwrap()
        .to_owned();

    let shown = chatctl(&data, &["tenant", "show", "--tenant", &tenant]);
    let body: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(body["name"], "Kettle");
    assert_eq!(body["settings"]["bot"], serde_json::json!({}));

    let set = chatctl(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            &tenant,
            "--set",
            r##"{"bot": {"color": "#0f766e"}, "rateLimitPerHour": 50}"##,
            "--bot-name",
            "Kettle Helper",
        ],
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let body: Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(body["settings"]["bot"]["name"], "Kettle Helper");
    assert_eq!(body["settings"]["bot"]["color"], "#0f766e");
    assert_eq!(body["settings"]["rateLimitPerHour"], 50);

    let bad = chatctl(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            &tenant,
            "--bot-color",
            "teal",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bot.color"));

    let rotated = chatctl(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            &tenant,
            "--rotate-identity-secret",
        ],
    );
    assert_eq!(last_line(&rotated).len(), 64, "the secret, last");

    let pk = chatctl(
        &data,
        &[
            "tenant",
            "keys",
            "create",
            "--tenant",
            &tenant,
            "--kind",
            "publishable",
            "--label",
            "Shop",
        ],
    );
    assert!(last_line(&pk).starts_with("pk_"));
    let listed = chatctl(&data, &["tenant", "keys", "list", "--tenant", &tenant]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("\tShop"));
    let last = chatctl(
        &data,
        &[
            "tenant", "keys", "revoke", "--tenant", &tenant, "--key-id", &key_id,
        ],
    );
    assert!(!last.status.success(), "the last secret key stays");
    assert!(String::from_utf8_lossy(&last.stderr).contains("last active secret key"));
}
