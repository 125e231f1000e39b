//! `spawn_app()`: a fresh app on a temporary embedded store, a manual clock
//! and a tenant with a key; helpers to call it like a client would.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chat_shared::AppState;
use chat_shared::auth;
use chat_shared::blob::BlobStore;
use chat_shared::blob::fs::FsBlobStore;
use chat_shared::blob::s3::S3BlobStore;
use chat_shared::clock::ManualClock;
use chat_shared::config::Config;
use chat_shared::providers::{Provider, Providers};
use chat_shared::store::dynamo::DynamoTable;
use chat_shared::store::embedded::EmbeddedTable;
use chat_shared::store::{CountingTable, RoundTrips, Table};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// 2025-10-08T12:00:00Z
pub const START_MS: i64 = 1_759_924_800_000;

pub struct TestApp {
    /// The DynamoDB driver under the app when the suite runs with
    /// `CHAT_STORE=dynamodb`; its interceptor counts requests on the wire
    /// (read by the `cloud` feature's tests).
    #[cfg_attr(not(feature = "cloud"), allow(dead_code))]
    pub dynamo: Option<DynamoTable>,
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub table: Arc<CountingTable>,
    pub key: String,
    pub tenant: uuid::Uuid,
    pub _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

pub fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_lookup(|name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(config(&[]), None).await
}

/// An app with these settings and, when given, this provider list instead
/// of the configured ones.
pub async fn spawn_app_with(config: Config, providers: Option<Vec<Arc<dyn Provider>>>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (inner, blobs, dynamo) = stores(&dir).await;
    let table = Arc::new(CountingTable::new(inner));
    let clock = Arc::new(ManualClock::new(START_MS));
    let providers = match providers {
        Some(list) => Providers::new(list, &config.default_provider).unwrap(),
        None => Providers::from_config(&config).unwrap(),
    };
    let state = AppState::new(config, table.clone(), blobs, providers, clock.clone());
    let tenant = auth::create_tenant(&state.repo, "Test Client", "test@example.com", START_MS)
        .await
        .unwrap();
    let (key, _) = auth::issue_key(&state.repo, tenant.tenant_id, START_MS)
        .await
        .unwrap();
    table.take();
    if let Some(wire) = &dynamo {
        wire.requests().take();
    }
    TestApp {
        dynamo,
        router: chat_shared::api::app(state.clone()),
        state,
        clock,
        table,
        key,
        tenant: tenant.tenant_id,
        _dir: dir,
    }
}

/// Whether this run is on the DynamoDB/S3 drivers (`CHAT_STORE=dynamodb`,
/// servers at `AWS_ENDPOINT_URL_*`, as `tests/run.sh` sets up).
pub fn on_cloud_drivers() -> bool {
    std::env::var("CHAT_STORE").is_ok_and(|v| v == "dynamodb")
}

/// A fresh table and bucket on the cloud drivers; fails when the servers
/// are not there.
pub async fn cloud_stores() -> (DynamoTable, S3BlobStore) {
    let sdk = chat_shared::state::aws_sdk_config().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let table = DynamoTable::new(&sdk, format!("t-{id}"));
    table
        .create_if_missing()
        .await
        .expect("the DynamoDB-compatible server at AWS_ENDPOINT_URL_DYNAMODB answers");
    // Short: the S3-compatible test server keeps metadata in one file whose
    // name encodes bucket and key, and file names stop at 255 bytes.
    let blobs = S3BlobStore::new(&sdk, format!("b-{}", &id[..12]), true);
    blobs
        .create_if_missing()
        .await
        .expect("the S3-compatible server at AWS_ENDPOINT_URL_S3 answers");
    table.requests().take();
    (table, blobs)
}

async fn stores(
    dir: &tempfile::TempDir,
) -> (Arc<dyn Table>, Arc<dyn BlobStore>, Option<DynamoTable>) {
    if on_cloud_drivers() {
        let (table, blobs) = cloud_stores().await;
        (Arc::new(table.clone()), Arc::new(blobs), Some(table))
    } else {
        (
            Arc::new(EmbeddedTable::temporary().unwrap()),
            Arc::new(FsBlobStore::new(dir.path().join("blobs"))),
            None,
        )
    }
}

impl TestApp {
    /// A second tenant of the same deployment, with its own key.
    pub async fn other_tenant_key(&self) -> String {
        let t = auth::create_tenant(&self.state.repo, "Other", "other@example.com", START_MS)
            .await
            .unwrap();
        auth::issue_key(&self.state.repo, t.tenant_id, START_MS)
            .await
            .unwrap()
            .0
    }

    /// A publishable key (`pk_…`) for this app's tenant.
    pub async fn publishable_key(&self) -> String {
        auth::issue_key_of_kind(
            &self.state.repo,
            self.tenant,
            chat_shared::model::KeyKind::Publishable,
            START_MS,
        )
        .await
        .unwrap()
        .0
    }

    /// Changes this app's tenant (origins, identity, limits). Keys already
    /// cached see the change after `API_KEY_CACHE_SECONDS`; tests that
    /// change a tenant after its keys were used run with the cache off.
    pub async fn update_tenant(&self, change: impl FnOnce(&mut chat_shared::model::Tenant)) {
        let mut tenant = self
            .state
            .repo
            .get_tenant(self.tenant)
            .await
            .unwrap()
            .unwrap();
        change(&mut tenant);
        self.state.repo.update_tenant(&tenant).await.unwrap();
    }

    /// A JSON request with any key and extra headers.
    pub async fn call_with(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send(request_with(key, method, path, body, headers))
            .await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        Reply { status, body }
    }

    /// A JSON request with this app's key.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(Some(&self.key), method, path, body).await
    }

    pub async fn call_as(
        &self,
        key: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            builder = builder.header("X-API-Key", key);
        }
        let request = match body {
            Some(json) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => builder.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates a session; returns its id.
    pub async fn create_session(&self, body: Value) -> String {
        let reply = self.post("/api/chat/sessions/create", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["sessionId"].as_str().unwrap().to_owned()
    }

    pub async fn send_message(&self, session: &str, message: &str) -> Reply {
        self.post(
            "/api/chat/messages/send",
            serde_json::json!({"sessionId": session, "message": message}),
        )
        .await
    }

    /// A multipart upload, as a browser or `requests` sends it.
    pub async fn upload(&self, session: Option<&str>, file: Option<(&str, &str, &[u8])>) -> Reply {
        self.upload_announcing(session, file, None).await
    }

    /// [`TestApp::upload`], announcing `Content-Length: announced` when
    /// given, whether or not that is the body's length (the router is
    /// called directly, so nothing checks it).
    pub async fn upload_announcing(
        &self,
        session: Option<&str>,
        file: Option<(&str, &str, &[u8])>,
        announced: Option<usize>,
    ) -> Reply {
        let boundary = "----chat-test-boundary-7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        if let Some(session) = session {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"sessionId\"\r\n\r\n{session}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((name, content_type, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/chat/files/upload")
            .header("X-API-Key", &self.key);
        if let Some(length) = announced {
            request = request.header(header::CONTENT_LENGTH, length);
        }
        let request = request
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Round trips to the table since the last call.
    pub fn round_trips(&self) -> RoundTrips {
        self.table.take()
    }
}

/// A JSON request with this key and extra headers.
pub fn request_with(
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("X-API-Key", key);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    match body {
        Some(json) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

/// A server-sent event as a client parses it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: String,
    pub data: Value,
}

/// Parses a whole `text/event-stream` body (comment lines are keep-alives).
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = String::from("message");
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                }
            }
            (!data.is_empty()).then(|| SseEvent {
                event,
                data: serde_json::from_str(&data.join("\n")).unwrap(),
            })
        })
        .collect()
}

impl TestApp {
    /// `POST /messages/stream`, the response itself (its body not read).
    pub async fn stream_request(&self, session: &str, message: &str) -> axum::response::Response {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/chat/messages/stream")
            .header("X-API-Key", &self.key)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                serde_json::json!({"sessionId": session, "message": message}).to_string(),
            ))
            .unwrap();
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// `POST /messages/stream` read to its end: the status and the events.
    pub async fn stream_message(
        &self,
        session: &str,
        message: &str,
    ) -> (StatusCode, Vec<SseEvent>) {
        let response = self.stream_request(session, message).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, parse_sse(std::str::from_utf8(&bytes).unwrap()))
    }

    /// The session's stored messages, oldest first.
    pub async fn history(&self, session: &str) -> Vec<Value> {
        let reply = self
            .get(&format!("/api/chat/messages/history/{session}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["messages"].as_array().unwrap().clone()
    }
}
