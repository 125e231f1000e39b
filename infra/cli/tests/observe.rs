//! What operators see of a real run: `chatctl serve` with the Lambda
//! functions' logging (`LOG_FORMAT=json`) and metrics (`METRICS=emf`)
//! serves a visitor's and a tenant's whole day (keys, signed identity,
//! sessions, messages, a stream, an upload, a failing provider, a rate
//! limit); then
//! - every log line is JSON, each request has its line (route template,
//!   status, latency, tenant), and no line holds a key, a secret, a
//!   signature, message text or file content;
//! - every metrics line is a valid CloudWatch Embedded Metric Format
//!   document with the expected namespace, dimensions and values.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

const CHATCTL: &str = env!("CARGO_BIN_EXE_chatctl");
const NAMESPACE: &str = "ChatTest";
const ORIGIN: &str = "https://shop.example";
/// A provider key the server holds: never in a log line.
const ANTHROPIC_KEY: &str = "sk-ant-observe-test-0123456789abcdef";

/// `chatctl serve` with its stderr (logs) and stdout (banner, metrics) kept.
struct Server {
    child: Child,
    base: String,
    key: String,
    client: Client,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

/// Collects a pipe's lines on a thread of its own.
fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            into.lock().unwrap().push(line);
        }
    });
}

impl Server {
    fn start(data_dir: &Path, unreachable_provider: &str) -> Server {
        let mut child = Command::new(CHATCTL)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "debug")
            .env("LOG_FORMAT", "json")
            .env("METRICS", "emf")
            .env("METRICS_NAMESPACE", NAMESPACE)
            .env("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
            .env("ANTHROPIC_BASE_URL", unreachable_provider)
            .env("ENABLE_DUMMY_PROVIDER", "true")
            .env("PROVIDER_MAX_RETRIES", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        collect(child.stderr.take().unwrap(), stderr.clone());
        let stdout = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().unwrap(), stdout.clone());
        let (mut base, mut key) = (None, None);
        for _ in 0..200 {
            for line in stdout.lock().unwrap().iter() {
                if let Some(url) = line.strip_prefix("Chat API: ") {
                    base = Some(url.trim_end_matches("/api/chat/").to_owned());
                }
                if let Some(k) = line.strip_prefix("Demo API key: ") {
                    key = Some(k.to_owned());
                }
            }
            if base.is_some() && key.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Server {
            child,
            base: base.expect("serve printed its address"),
            key: key.expect("serve printed its key"),
            client,
            stderr,
            stdout,
        }
    }

    fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", key)
            .header("Origin", ORIGIN)
    }

    /// A JSON call: the status and the body (`Null` when not JSON).
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path, key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Stops it and returns (log lines, metrics lines).
    fn stop(mut self) -> (Vec<String>, Vec<String>) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        // The reader threads drain what was written before the exit.
        std::thread::sleep(Duration::from_millis(200));
        let logs = self.stderr.lock().unwrap().clone();
        let metrics = self
            .stdout
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with('{'))
            .cloned()
            .collect();
        (logs, metrics)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An address where nothing listens: the "claude" provider's calls fail.
fn unreachable_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn multipart(session: &str, name: &str, content: &str) -> (String, Vec<u8>) {
    let boundary = "----observe-test-boundary-Zq1";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"sessionId\"\r\n\r\n{session}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// Everything the run sends that must never be logged, and the number of
/// API requests it made.
struct Run {
    secrets: Vec<String>,
    requests: usize,
}

/// The day: a tenant sets up keys and identity, a signed visitor chats
/// (send and stream), uploads a file, asks a failing provider, hits the
/// rate limit; a few refusals on the way.
async fn a_day_of_use(server: &Server) -> Run {
    let admin = server.key.clone();
    let mut secrets = vec![admin.clone(), ANTHROPIC_KEY.to_owned()];
    let mut requests = 0;
    macro_rules! call {
        ($method:expr, $path:expr, $key:expr, $body:expr) => {{
            requests += 1;
            server.call($method, $path, $key, $body).await
        }};
    }

    let (status, body) = call!(
        Method::POST,
        "/api/tenant/keys",
        &admin,
        Some(json!({"kind": "secret"}))
    );
    assert_eq!(status, 201, "{body}");
    let second_secret = body["key"].as_str().unwrap().to_owned();
    let (status, body) = call!(
        Method::POST,
        "/api/tenant/keys",
        &admin,
        Some(json!({"kind": "publishable"}))
    );
    assert_eq!(status, 201, "{body}");
    let pk = body["key"].as_str().unwrap().to_owned();
    let patch = json!({"allowedOrigins": [ORIGIN], "identity": {"enabled": true, "rotateSecret": true, "required": true},
                       "rateLimitPerHour": 4});
    let (status, body) = call!(
        Method::PATCH,
        "/api/tenant/settings",
        &second_secret,
        Some(patch)
    );
    assert_eq!(status, 200, "{body}");
    let identity_secret = body["identitySecret"].as_str().unwrap().to_owned();
    let visitor = "visitor-7f3a@example.com";
    let signature = chat_shared::auth::sign_identity(&identity_secret, visitor);
    secrets.extend([
        second_secret.clone(),
        pk.clone(),
        identity_secret,
        signature.clone(),
    ]);

    let create = json!({"config": {"aiProvider": "dummy"}, "user_identifier": visitor, "userSignature": signature});
    let (status, body) = call!(Method::POST, "/api/chat/sessions/create", &pk, Some(create));
    assert_eq!(status, 201, "{body}");
    let session = body["sessionId"].as_str().unwrap().to_owned();

    let text = "Please keep my note: the vault code is LOGSCAN-MESSAGE-5521";
    secrets.push(text.to_owned());
    let sign = |b: RequestBuilder| b.header("X-User-Signature", signature.as_str());
    requests += 1;
    let sent = sign(server.request(Method::POST, "/api/chat/messages/send", &pk))
        .json(&json!({"sessionId": session, "message": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let reply: Value = sent.json().await.unwrap();
    secrets.push(reply["response"].as_str().unwrap_or_default().to_owned());

    let streamed_text = "Another private line LOGSCAN-STREAM-9034";
    secrets.push(streamed_text.to_owned());
    requests += 1;
    let stream = sign(server.request(Method::POST, "/api/chat/messages/stream", &pk))
        .json(&json!({"sessionId": session, "message": streamed_text}))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let events = stream.text().await.unwrap();
    assert!(events.contains("done"), "{events}");

    let content = "name,secret_column\nalice,LOGSCAN-FILE-CONTENT-1187\n";
    secrets.push("LOGSCAN-FILE-CONTENT-1187".to_owned());
    let (content_type, body) = multipart(&session, "people.csv", content);
    requests += 1;
    let uploaded = sign(server.request(Method::POST, "/api/chat/files/upload", &pk))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200, "{}", uploaded.text().await.unwrap());

    // A session on the provider that cannot be reached: 502.
    let (status, body) = call!(
        Method::POST,
        "/api/chat/sessions/create",
        &admin,
        Some(json!({"config": {"aiProvider": "claude"}}))
    );
    assert_eq!(status, 201, "{body}");
    let failing = body["sessionId"].as_str().unwrap().to_owned();
    let failing_text = "LOGSCAN-FAILED-MESSAGE-3310";
    secrets.push(failing_text.to_owned());
    let (status, body) = call!(
        Method::POST,
        "/api/chat/messages/send",
        &admin,
        Some(json!({"sessionId": failing, "message": failing_text}))
    );
    assert_eq!(status, 502, "{body}");

    let (status, _) = call!(
        Method::GET,
        &format!("/api/chat/sessions/{session}"),
        &admin,
        None
    );
    assert_eq!(status, 200);
    let (status, _) = call!(
        Method::GET,
        &format!("/api/chat/messages/history/{session}"),
        &admin,
        None
    );
    assert_eq!(status, 200);
    let (status, _) = call!(Method::GET, "/api/tenant/export", &admin, None);
    assert_eq!(status, 200);
    let (status, _) = call!(Method::GET, "/api/chat/sessions/create", &admin, None);
    assert_eq!(status, 405);
    let (status, _) = call!(
        Method::GET,
        "/api/tenant",
        "cb_not-a-key-LOGSCAN-BAD-KEY",
        None
    );
    assert_eq!(status, 401);
    secrets.push("cb_not-a-key-LOGSCAN-BAD-KEY".to_owned());

    // The visitor's key over its hourly allowance (4): 429.
    let mut limited = false;
    for _ in 0..4 {
        requests += 1;
        let response = sign(server.request(Method::POST, "/api/chat/messages/send", &pk))
            .json(&json!({"sessionId": session, "message": text}))
            .send()
            .await
            .unwrap();
        limited |= response.status() == 429;
    }
    assert!(limited, "the fifth message of the hour is refused");
    Run { secrets, requests }
}

#[tokio::test]
async fn logs_name_each_request_and_never_a_secret_and_metrics_are_emf() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &unreachable_url());
    let run = a_day_of_use(&server).await;
    let (logs, metrics) = server.stop();

    for line in logs.iter().chain(&metrics) {
        for secret in run.secrets.iter().filter(|s| s.len() >= 8) {
            assert!(
                !line.contains(secret.as_str()),
                "a log line holds `{secret}`: {line}"
            );
        }
    }
    check_request_lines(&logs, run.requests);
    check_emf(&metrics);
}

/// Every line is JSON; one `request` line per request, each with its route
/// template, method, status and latency, and the tenant once known.
fn check_request_lines(logs: &[String], requests: usize) {
    let parsed: Vec<Value> = logs
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let lines: Vec<&Value> = parsed
        .iter()
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(lines.len(), requests, "one line per request: {lines:#?}");
    let mut routes = HashMap::new();
    for line in &lines {
        let route = line["route"].as_str().unwrap();
        *routes.entry(route.to_owned()).or_insert(0) += 1;
        assert!(line["status"].as_u64().is_some(), "{line}");
        assert!(line["latency_ms"].as_f64().is_some(), "{line}");
        assert!(line["method"].is_string(), "{line}");
        let authenticated = line["status"] != 401 && line["status"] != 405;
        assert_eq!(line["tenant_id"].is_string(), authenticated, "{line}");
    }
    assert_eq!(routes["/api/chat/messages/send"], 6, "{routes:?}");
    assert_eq!(
        routes["/api/chat/sessions/{session_id}"], 1,
        "templates, not paths: {routes:?}"
    );
    assert_eq!(
        routes["/api/chat/messages/history/{session_id}"], 1,
        "{routes:?}"
    );
    assert!(lines.iter().any(|l| l["status"] == 429));
    assert!(lines.iter().any(|l| l["status"] == 502));
}

/// Each metrics line against the EMF specification: `_aws` with a
/// timestamp and directives; every dimension and metric a member of the
/// root (dimensions strings, metrics numbers); the tenant a property.
fn check_emf(metrics: &[String]) {
    let mut totals: HashMap<String, f64> = HashMap::new();
    let mut providers: HashMap<(String, String), f64> = HashMap::new();
    for line in metrics {
        let doc: Value = serde_json::from_str(line).unwrap();
        let aws = &doc["_aws"];
        assert!(
            aws["Timestamp"].as_u64().unwrap() > 1_600_000_000_000,
            "{line}"
        );
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{line}");
        let directive = &directives[0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        for set in directive["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                let name = name.as_str().unwrap();
                assert!(
                    doc[name].is_string(),
                    "dimension {name} is a string member: {line}"
                );
                assert_ne!(name, "tenantId", "the tenant is never a dimension");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(
                ["Count", "Milliseconds", "Bytes"].contains(&metric["Unit"].as_str().unwrap()),
                "{line}"
            );
            let value = doc[name]
                .as_f64()
                .unwrap_or_else(|| panic!("{name} is a number: {line}"));
            *totals.entry(name.to_owned()).or_default() += value;
            if let Some(provider) = doc["Provider"].as_str() {
                *providers
                    .entry((provider.to_owned(), name.to_owned()))
                    .or_default() += value;
            }
        }
        if doc
            .get("Requests")
            .is_none_or(|_| doc["status"] != 401 && doc["status"] != 405)
        {
            assert!(
                doc["tenantId"].is_string(),
                "the tenant as a property: {line}"
            );
        }
    }
    let total = |name: &str| totals.get(name).copied().unwrap_or_default();
    assert_eq!(total("Sessions"), 2.0, "{totals:?}");
    assert_eq!(
        total("Messages"),
        4.0,
        "send, stream and two within the limit: {totals:?}"
    );
    assert_eq!(total("Uploads"), 1.0);
    assert!(total("UploadBytes") > 0.0);
    assert_eq!(total("Http5xx"), 1.0, "the unreachable provider's 502");
    assert!(total("RateLimited") >= 1.0);
    assert!(total("Http4xx") >= 3.0, "405, 401 and 429");
    assert_eq!(providers[&("claude".into(), "ProviderErrors".into())], 1.0);
    assert_eq!(providers[&("dummy".into(), "ProviderErrors".into())], 0.0);
    assert_eq!(providers[&("dummy".into(), "ProviderCalls".into())], 4.0);
    assert!(total("ProviderLatency") > 0.0);
}
