//! The real function binaries, as Lambda runs them: each `chat-*` binary (the
//! code `bootstrap` is built from) is started against a local Lambda Runtime
//! API (`runtime.rs`) with the environment Lambda and template.yaml give it,
//! and fed the API Gateway events in `tests/events/`, on the DynamoDB and S3
//! servers `tests/run.sh` starts. What `sam local invoke` does, without a
//! container.
//!
//! Run by `tests/lambda-local.sh` (feature `lambda`), which builds the
//! binaries, creates the table, bucket and a tenant with `chatctl`, and sets
//! `LAMBDA_BIN_DIR`, `LAMBDA_TEST_API_KEY`, `TABLE_NAME` and `BUCKET_NAME`.
//! Anything missing fails the run.

mod first_request;
mod runtime;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use runtime::{FakeRuntime, Outcome};

/// The session and file ids the sample events carry; replaced by real ones.
const SAMPLE_SESSION: &str = "0b6b1d1e-6a53-4d43-9d55-2f1c7a3e9b10";
const SAMPLE_FILE: &str = "5e0f7c2a-8b1d-4f3e-a6c9-1d2e3f4a5b6c";
const KEY_PLACEHOLDER: &str = "REPLACE_WITH_API_KEY";
/// Sample events of routes that need no key.
const OPEN_EVENTS: [&str; 1] = ["sessions-health"];
/// Between the 8 NUL bytes: the metadata prelude, then the body.
const STREAM_DELIMITER: &[u8] = &[0; 8];

fn required_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: run tests/lambda-local.sh"))
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The plain-string variables template.yaml's `Globals` give every function
/// (`CHAT_STORE`, `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`); the stack's
/// references (`!Ref ChatTable`, ...) come from the test's environment.
fn template_environment() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest_dir().join("../template.yaml"))
        .expect("template.yaml is readable");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("template is YAML");
    let vars = template
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(serde_norway::Value::as_mapping)
        .expect("Globals.Function.Environment.Variables");
    vars.iter()
        .filter(|(_, v)| !matches!(v, serde_norway::Value::Tagged(_)))
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}

/// One running function binary and its Runtime API.
struct Function {
    name: &'static str,
    runtime: FakeRuntime,
    child: Child,
    /// Process start to its first `GET .../invocation/next`.
    init: Duration,
}

fn command(binary: &str, runtime: &FakeRuntime) -> Command {
    let path = PathBuf::from(required_env("LAMBDA_BIN_DIR")).join(binary);
    assert!(
        path.is_file(),
        "no binary at {}: build it first",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.envs(template_environment())
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", binary)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}"))
        .env("AWS_REGION", "us-east-1")
        .env("ENABLE_DUMMY_PROVIDER", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

async fn start(name: &'static str) -> Function {
    let runtime = FakeRuntime::start(name).await;
    let started = Instant::now();
    let child = command(name, &runtime).spawn().expect("the binary starts");
    let ready = runtime
        .wait_first_next(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("{name} never asked for an invocation"));
    Function {
        name,
        runtime,
        child,
        init: ready - started,
    }
}

/// An HTTP answer as API Gateway would give it to the client.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: serde_json::Map<String, Value>,
    body: String,
    streamed: bool,
    chunks: usize,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

/// Decodes a function's answer: the Lambda proxy JSON of a buffered
/// function, or the metadata prelude + 8 NUL bytes + body of a streaming one.
fn answer(outcome: Outcome) -> Answer {
    let (streaming, content_type, body, chunks) = match outcome {
        Outcome::Response {
            streaming,
            content_type,
            body,
            chunks,
        } => (streaming, content_type, body, chunks),
        Outcome::Error { error_type, body } => {
            panic!("the function reported an error ({error_type:?}): {body}")
        }
    };
    if streaming {
        assert_eq!(
            content_type.as_deref(),
            Some("application/vnd.awslambda.http-integration-response"),
            "streamed answers carry the HTTP integration content type"
        );
        let at = body
            .windows(STREAM_DELIMITER.len())
            .position(|w| w == STREAM_DELIMITER)
            .expect("a streamed answer has the 8-NUL delimiter");
        let prelude: Value =
            serde_json::from_slice(&body[..at]).expect("the metadata prelude is JSON");
        let headers = prelude["headers"].as_object().cloned().unwrap_or_default();
        // API Gateway takes one string per header in the prelude.
        for (name, value) in &headers {
            assert!(value.is_string(), "header {name} is not a string: {value}");
        }
        Answer {
            status: prelude["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .expect("statusCode"),
            headers,
            body: String::from_utf8(body[at + STREAM_DELIMITER.len()..].to_vec())
                .expect("UTF-8 body"),
            streamed: true,
            chunks,
        }
    } else {
        let proxy: Value = serde_json::from_slice(&body).expect("a proxy response is JSON");
        let raw = proxy["body"].as_str().unwrap_or_default();
        let body = if proxy["isBase64Encoded"].as_bool() == Some(true) {
            panic!("unexpected binary body: {raw}");
        } else {
            raw.to_owned()
        };
        Answer {
            status: proxy["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .expect("statusCode"),
            headers: proxy_headers(&proxy),
            body,
            streamed: false,
            chunks,
        }
    }
}

/// A proxy response's headers as API Gateway merges them: `headers`, then
/// `multiValueHeaders` (joined with ", ").
fn proxy_headers(proxy: &Value) -> serde_json::Map<String, Value> {
    let mut headers = proxy["headers"].as_object().cloned().unwrap_or_default();
    if let Some(multi) = proxy["multiValueHeaders"].as_object() {
        for (name, values) in multi {
            let joined: Vec<&str> = values
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            headers.insert(name.clone(), Value::String(joined.join(", ")));
        }
    }
    headers
}

/// `tests/events/{name}.json` with the key, session and file ids filled in.
fn event(name: &str, key: &str, session: &str, file: &str) -> Value {
    let path = manifest_dir().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    // Every route takes a key but the open health check.
    assert!(
        text.contains(KEY_PLACEHOLDER) || OPEN_EVENTS.contains(&name),
        "{name} has the key placeholder"
    );
    let fill = |text: &str| {
        text.replace(KEY_PLACEHOLDER, key)
            .replace(SAMPLE_SESSION, session)
            .replace(SAMPLE_FILE, file)
    };
    let mut event: Value =
        serde_json::from_str(&fill(&text)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
    // A binary body (multipart) is base64: fill in its ids too.
    if event["isBase64Encoded"] == true {
        let encoded = event["body"].as_str().expect("a base64 body");
        let decoded = BASE64.decode(encoded).expect("the body is base64");
        let filled = fill(std::str::from_utf8(&decoded).expect("a text multipart body"));
        event["body"] = Value::String(BASE64.encode(filled));
    }
    event
}

struct Calls {
    key: String,
    session: String,
    file: String,
}

impl Calls {
    async fn call(&self, function: &Function, name: &str) -> Answer {
        let event = event(name, &self.key, &self.session, &self.file);
        let answer = answer(function.runtime.invoke(&event).await);
        // Every answer goes to a browser on another origin.
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some("*"),
            "{name}: CORS header"
        );
        answer
    }

    async fn expect(&self, function: &Function, name: &str, status: u16) -> Value {
        let answer = self.call(function, name).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
        answer.json()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_through_the_real_binaries() {
    let key = required_env("LAMBDA_TEST_API_KEY");
    required_env("TABLE_NAME");
    required_env("BUCKET_NAME");
    required_env("AWS_ENDPOINT_URL_DYNAMODB");
    required_env("AWS_ENDPOINT_URL_S3");

    let sessions = start("chat-sessions").await;
    let messages = start("chat-messages").await;
    let files = start("chat-files").await;
    let tenant = start("chat-tenant").await;
    for f in [&sessions, &messages, &files, &tenant] {
        println!("init {}: {:.1} ms", f.name, f.init.as_secs_f64() * 1000.0);
    }

    let mut calls = Calls {
        key: "cb_not_a_key".into(),
        session: SAMPLE_SESSION.into(),
        file: SAMPLE_FILE.into(),
    };
    let refused = calls.expect(&sessions, "sessions-create", 401).await;
    assert_eq!(refused["error"], "Invalid API key");
    calls.key = key;

    // The sample session id belongs to nobody: 404 as a JSON answer.
    let unknown = calls.expect(&sessions, "sessions-details", 404).await;
    assert!(unknown["error"].is_string());

    // ---- sessions (buffered) ----
    let created = calls.expect(&sessions, "sessions-create", 201).await;
    assert_eq!(created["status"], "created");
    calls.session = created["sessionId"].as_str().expect("sessionId").to_owned();

    let details = calls.expect(&sessions, "sessions-details", 200).await;
    assert_eq!(details["sessionId"], calls.session.as_str());
    assert_eq!(details["messageCount"], 0);
    let updated = calls.expect(&sessions, "sessions-update-config", 200).await;
    assert_eq!(updated["config"]["botName"], "Shop Assistant");
    assert_eq!(updated["config"]["aiProvider"], "dummy");
    let summary = calls.expect(&sessions, "sessions-stats-summary", 200).await;
    assert_eq!(summary["totalSessions"], 1);
    let by_user = calls.expect(&sessions, "sessions-stats-by-user", 200).await;
    assert_eq!(by_user["userStats"], json!({"visitor@example.com": 1}));
    let bot = calls.expect(&sessions, "sessions-bot-config", 200).await;
    assert!(bot["botName"].is_string(), "{bot}");
    let widget = calls.expect(&sessions, "sessions-widget-config", 200).await;
    assert_eq!(widget["branding"]["bot_name"], bot["botName"], "{widget}");
    let health = calls.expect(&sessions, "sessions-health", 200).await;
    assert_eq!(health["status"], "OK");

    // ---- messages (every route streams) ----
    let providers = calls.call(&messages, "messages-providers").await;
    assert!(providers.streamed, "the messages function streams");
    assert_eq!(providers.status, 200, "{}", providers.body);
    assert_eq!(providers.json()["default"], "dummy");

    let sent = calls.call(&messages, "messages-send").await;
    assert!(sent.streamed);
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json()["messageCount"], 2);
    assert_eq!(sent.json()["provider"], "dummy");

    let stream = calls.call(&messages, "messages-stream").await;
    assert!(stream.streamed);
    assert_eq!(stream.status, 200, "{}", stream.body);
    assert!(
        stream
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream")),
        "{:?}",
        stream.headers
    );
    let deltas = stream.body.matches("event: delta").count();
    assert!(deltas > 1, "several delta events: {}", stream.body);
    let done = stream
        .body
        .split("event: done\ndata: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("a done event: {}", stream.body));
    let done: Value = serde_json::from_str(done).expect("done data is JSON");
    assert_eq!(done["messageCount"], 4);
    // Prelude, delimiter and the events arrive as separate chunks.
    assert!(
        stream.chunks > 3,
        "streamed in chunks, got {}",
        stream.chunks
    );

    let history = calls.call(&messages, "messages-history").await;
    assert_eq!(history.status, 200, "{}", history.body);
    let history = history.json();
    let roles: Vec<&str> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    // The sample names a reply this store does not have: routed and refused.
    let feedback = calls.call(&messages, "messages-feedback").await;
    assert_eq!(feedback.status, 404, "{}", feedback.body);
    assert_eq!(feedback.json()["error"], "Message not found");

    // ---- files (buffered; multipart arrives base64-encoded) ----
    let uploaded = calls.expect(&files, "files-upload", 200).await;
    assert_eq!(uploaded["file"]["rows"], 2, "{uploaded}");
    let info = calls.expect(&files, "files-info", 200).await;
    assert_eq!(info["file"]["rows"], 2, "{info}");
    let found = calls.expect(&files, "files-query", 200).await;
    let results = found["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{found}");
    let grant = calls.expect(&files, "files-upload-url", 200).await;
    assert!(
        grant["uploadUrl"]
            .as_str()
            .is_some_and(|u| u.contains("X-Amz-Signature")),
        "{grant}"
    );
    calls.file = grant["fileId"].as_str().expect("fileId").to_owned();
    // Nothing was PUT to the URL yet.
    calls.expect(&files, "files-complete", 409).await;
    calls.expect(&files, "files-delete", 200).await;
    let info = calls.call(&files, "files-info").await;
    assert!(info.status == 200 || info.status == 404, "{}", info.body);

    // ---- back to messages and sessions ----
    let cleared = calls.call(&messages, "messages-clear").await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let details = calls.expect(&sessions, "sessions-details", 200).await;
    assert_eq!(details["messageCount"], 0);
    assert_eq!(details["hasFile"], false);

    // ---- tenant (last: regenerate-key revokes the key the others use) ----
    let me = calls.expect(&tenant, "tenant-get", 200).await;
    assert!(me["tenantId"].is_string(), "{me}");
    // The export streams (the tenant function answers in streaming mode):
    // a CSV header, then a row per message of the session above.
    let export = calls.call(&tenant, "tenant-export").await;
    assert!(export.streamed, "the tenant function streams");
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(export.body.starts_with("session_id,"), "{}", export.body);
    assert!(export.body.contains(&calls.session), "{}", export.body);
    let patched = calls.expect(&tenant, "tenant-settings", 200).await;
    assert_eq!(patched["settings"]["bot"]["name"], "Shop Assistant");
    let created = calls.expect(&tenant, "tenant-keys-create", 201).await;
    assert!(
        created["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("pk_"))
    );
    let listed = calls.expect(&tenant, "tenant-keys-list", 200).await;
    assert!(listed["keys"].as_array().is_some_and(|k| k.len() >= 2));
    calls.file = created["keyId"].as_str().expect("keyId").to_owned();
    let revoked = calls.expect(&tenant, "tenant-keys-revoke", 200).await;
    assert_eq!(revoked["revoked"], true);
    let config = calls.expect(&tenant, "tenant-clients-config", 200).await;
    assert_eq!(config["config"]["bot_name"], "Shop Assistant");
    let updated = calls
        .expect(&tenant, "tenant-clients-config-update", 200)
        .await;
    assert_eq!(updated["message"], "Configuration updated successfully");
    let regenerated = calls
        .expect(&tenant, "tenant-clients-regenerate-key", 200)
        .await;
    calls.expect(&tenant, "tenant-get", 401).await;
    calls.key = regenerated["api_key"].as_str().expect("api_key").to_owned();
    calls.expect(&tenant, "tenant-get", 200).await;

    for mut f in [sessions, messages, files, tenant] {
        assert!(
            f.child.try_wait().expect("child status").is_none(),
            "{} is still running after its invocations",
            f.name
        );
        // Peak memory after its requests (for BENCHMARKS.md; Linux only).
        if let Some(pid) = f.child.id()
            && let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(peak) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            println!(
                "peak RSS {}: {}",
                f.name,
                peak.trim_start_matches("VmHWM:").trim()
            );
        }
        f.child.kill().await.expect("stop the function");
    }
}

#[tokio::test]
async fn a_bad_setting_is_reported_to_init_error() {
    let runtime = FakeRuntime::start("chat-sessions").await;
    let mut child = command("chat-sessions", &runtime)
        .env("CHAT_STORE", "postgres")
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let (error_type, body) = runtime
        .wait_init_error(Duration::from_secs(30))
        .await
        .expect("an /init/error report");
    assert_eq!(error_type.as_deref(), Some("Runtime.InitError"));
    assert_eq!(body["errorType"], "InvalidSetting");
    assert!(
        body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("CHAT_STORE")),
        "{body}"
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the process exits")
        .expect("exit status");
    assert!(!status.success(), "a failed start exits non-zero");
    assert!(
        runtime
            .wait_first_next(Duration::from_millis(1))
            .await
            .is_none(),
        "a failed start never asks for an invocation"
    );
}

/// Init time of each binary: process start to its first `GET .../next`,
/// `LAMBDA_INIT_RUNS` times (default 20). Needs only `LAMBDA_BIN_DIR`: init
/// makes no network call. For BENCHMARKS.md:
/// `LAMBDA_BIN_DIR=target/release cargo test -p integration-tests --features lambda --test lambda init_times -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand for BENCHMARKS.md"]
async fn init_times() {
    let runs: usize = std::env::var("LAMBDA_INIT_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    for name in [
        "chat-sessions",
        "chat-messages",
        "chat-files",
        "chat-tenant",
    ] {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let runtime = FakeRuntime::start(name).await;
            let started = Instant::now();
            let mut child = command(name, &runtime)
                .env("TABLE_NAME", "chat")
                .env("BUCKET_NAME", "chat-uploads")
                .spawn()
                .expect("the binary starts");
            let ready = runtime
                .wait_first_next(Duration::from_secs(30))
                .await
                .unwrap_or_else(|| panic!("{name} never asked for an invocation"));
            times.push((ready - started).as_secs_f64() * 1000.0);
            child.kill().await.expect("stop the function");
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "init {name}: median {:.1} ms, p90 {:.1} ms, max {:.1} ms ({runs} runs)",
            at(0.5),
            at(0.9),
            at(1.0)
        );
    }
}
