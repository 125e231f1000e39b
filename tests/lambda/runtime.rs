//! A local implementation of the Lambda Runtime API (2018-06-01), enough to
//! run a real function binary as Lambda does: the function long-polls
//! `GET /runtime/invocation/next`, gets an event with its request id,
//! deadline and function ARN, and posts the result to
//! `/runtime/invocation/{id}/response` (buffered JSON, or a chunked stream
//! in response-streaming mode) or `/runtime/invocation/{id}/error`; a
//! failed start is posted to `/runtime/init/error`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response {
        /// `Lambda-Runtime-Function-Response-Mode: streaming`.
        streaming: bool,
        content_type: Option<String>,
        body: Bytes,
        /// Body chunks as they arrived on the wire.
        chunks: usize,
    },
    Error {
        error_type: Option<String>,
        body: Value,
    },
}

/// An `/init/error` report: the error-type header and the JSON body.
pub type InitError = (Option<String>, Value);

struct Invocation {
    request_id: String,
    event: Vec<u8>,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct Shared {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    first_next: Arc<Mutex<Option<Instant>>>,
    init_error: Arc<Mutex<Option<InitError>>>,
    function_arn: String,
}

pub struct FakeRuntime {
    pub addr: SocketAddr,
    tx: mpsc::Sender<Invocation>,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeRuntime {
    /// Listens on a free 127.0.0.1 port.
    pub async fn start(function_name: &str) -> Self {
        let (tx, rx) = mpsc::channel(1);
        let shared = Shared {
            queue: Arc::new(tokio::sync::Mutex::new(rx)),
            waiting: Arc::default(),
            first_next: Arc::default(),
            init_error: Arc::default(),
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("runtime API serves");
        });
        Self {
            addr,
            tx,
            shared,
            server,
            next_id: AtomicU64::new(1),
        }
    }

    /// Hands `event` to the function's next `GET .../next` and waits for its
    /// answer.
    pub async fn invoke(&self, event: &Value) -> Outcome {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("8f5e1c2a-0000-4000-8000-{n:012}");
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            request_id,
            event: serde_json::to_vec(event).expect("event serializes"),
            reply,
        };
        self.tx
            .send(invocation)
            .await
            .expect("runtime API is running");
        tokio::time::timeout(Duration::from_secs(60), answer)
            .await
            .expect("the function answered within 60 s")
            .expect("the function answered")
    }

    /// When the function first asked for an invocation (its init is over).
    pub async fn wait_first_next(&self, timeout: Duration) -> Option<Instant> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(at) = *lock(&self.shared.first_next) {
                return Some(at);
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        None
    }

    /// The `/runtime/init/error` report, if one arrives within `timeout`.
    pub async fn wait_init_error(&self, timeout: Duration) -> Option<InitError> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(report) = lock(&self.shared.init_error).take() {
                return Some(report);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        None
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Shared>) -> Response {
    lock(&shared.first_next).get_or_insert_with(Instant::now);
    let Some(invocation) = shared.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    lock(&shared.waiting).insert(invocation.request_id.clone(), invocation.reply);
    let deadline = SystemTime::now() + Duration::from_secs(30);
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        headers.insert(
            name,
            HeaderValue::from_str(&value).expect("valid header value"),
        );
    };
    put("lambda-runtime-aws-request-id", invocation.request_id);
    put("lambda-runtime-deadline-ms", deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", shared.function_arn);
    put(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".into(),
    );
    put("content-type", "application/json".into());
    (headers, invocation.event).into_response()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn response(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> StatusCode {
    let Some(reply) = lock(&shared.waiting).remove(&id) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut stream = body.into_data_stream();
    let mut collected = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                chunks += 1;
                collected.extend_from_slice(&chunk);
            }
            Err(_) => return StatusCode::BAD_REQUEST,
        }
    }
    let _ = reply.send(Outcome::Response {
        streaming: header(&headers, "lambda-runtime-function-response-mode").as_deref()
            == Some("streaming"),
        content_type: header(&headers, "content-type"),
        body: Bytes::from(collected),
        chunks,
    });
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(reply) = lock(&shared.waiting).remove(&id) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = reply.send(Outcome::Error {
        error_type: header(&headers, "lambda-runtime-function-error-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some((
        header(&headers, "lambda-runtime-function-error-type"),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    ));
    StatusCode::ACCEPTED
}
