//! A fake AI provider: a tiny axum server on 127.0.0.1 (a free port) that
//! answers scripted replies in the providers' wire formats and records every
//! request it gets. It stops when dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone)]
pub struct Script {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// Waited before the status line is sent.
    pub delay: Duration,
    /// Body pieces, sent one by one with `gap` between them.
    pub chunks: Vec<String>,
    pub gap: Duration,
    /// After the last chunk, break the connection instead of ending cleanly.
    pub abort: bool,
}

impl Script {
    pub fn json(status: u16, body: Value) -> Self {
        Self::raw(status, "application/json", body.to_string())
    }

    pub fn raw(status: u16, content_type: &str, body: String) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            delay: Duration::ZERO,
            chunks: vec![body],
            gap: Duration::ZERO,
            abort: false,
        }
    }

    /// A `text/event-stream` answer, one chunk per event.
    pub fn sse(events: Vec<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type", "text/event-stream".to_owned())],
            delay: Duration::ZERO,
            chunks: events,
            gap: Duration::ZERO,
            abort: false,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn gap(mut self, gap: Duration) -> Self {
        self.gap = gap;
        self
    }

    pub fn aborted(mut self) -> Self {
        self.abort = true;
        self
    }
}

/// A request the fake server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    scripts: Mutex<VecDeque<Script>>,
    received: Mutex<Vec<Received>>,
    first_bytes: Mutex<Vec<Instant>>,
}

pub struct FakeProvider {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeProvider {
    /// Starts a server answering `scripts` in order; the last one repeats.
    pub async fn start(scripts: Vec<Script>) -> Self {
        let inner = Arc::new(Inner::default());
        *inner.scripts.lock().unwrap() = scripts.into();
        let app = Router::new().fallback(answer).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, inner, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// When the first body byte of each answer was handed to the socket.
    pub fn first_bytes(&self) -> Vec<Instant> {
        self.inner.first_bytes.lock().unwrap().clone()
    }
}

async fn answer(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let script = {
        let mut scripts = inner.scripts.lock().unwrap();
        if scripts.len() > 1 {
            scripts.pop_front().unwrap()
        } else {
            scripts.front().cloned().expect("a script")
        }
    };
    tokio::time::sleep(script.delay).await;
    let gap = script.gap;
    let abort = script.abort;
    let chunks = script.chunks.clone();
    let timing = inner.clone();
    let stream = futures::stream::iter(chunks.into_iter().enumerate())
        .then(move |(i, chunk)| {
            let timing = timing.clone();
            async move {
                if i > 0 {
                    tokio::time::sleep(gap).await;
                } else {
                    timing.first_bytes.lock().unwrap().push(Instant::now());
                }
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            }
        })
        .chain(futures::stream::iter(abort.then(|| {
            Err(std::io::Error::other("connection broken by the fake"))
        })));
    let mut response = Response::builder().status(StatusCode::from_u16(script.status).unwrap());
    for (name, value) in &script.headers {
        response = response.header(*name, value);
    }
    response.body(Body::from_stream(stream)).unwrap()
}

// ---- Anthropic Messages API, shaped from its documented examples ----------

pub fn claude_message(text: &str, input: u64, output: u64) -> Value {
    json!({
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": input, "output_tokens": output}
    })
}

pub fn claude_error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn sse_event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// A streamed reply: `message_start`, a text block in `pieces`, usage in
/// `message_delta`, `message_stop`.
pub fn claude_stream(pieces: &[&str], input: u64, output: u64) -> Vec<String> {
    let mut events = vec![
        sse_event(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant",
                "content": [], "model": "claude-haiku-4-5-20251001", "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ),
        sse_event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        sse_event("ping", json!({"type": "ping"})),
    ];
    events.extend(pieces.iter().map(|p| {
        sse_event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
        )
    }));
    events.push(sse_event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(sse_event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output}}),
    ));
    events.push(sse_event("message_stop", json!({"type": "message_stop"})));
    events
}

/// A stream that starts, sends `pieces`, then an `error` event.
pub fn claude_stream_then_error(pieces: &[&str]) -> Vec<String> {
    let mut events = claude_stream(pieces, 10, 1);
    events.truncate(3 + pieces.len());
    events.push(sse_event(
        "error",
        claude_error("overloaded_error", "Overloaded"),
    ));
    events
}

// ---- OpenAI Chat Completions ----------------------------------------------

pub fn openai_completion(text: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

pub fn openai_error(kind: &str, code: &str, message: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn chunk(delta: Value, finish: Value) -> String {
    let data = json!({
        "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190,
        "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
    });
    format!("data: {data}\n\n")
}

/// A streamed reply with `include_usage`: role, content pieces, finish,
/// the usage chunk (empty `choices`), `[DONE]`.
pub fn openai_stream(pieces: &[&str], prompt: u64, completion: u64) -> Vec<String> {
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    events.extend(
        pieces
            .iter()
            .map(|p| chunk(json!({"content": p}), Value::Null)),
    );
    events.push(chunk(json!({}), json!("stop")));
    let usage = json!({
        "id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190,
        "model": "gpt-4o-2024-08-06", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    });
    events.push(format!("data: {usage}\n\n"));
    events.push("data: [DONE]\n\n".to_owned());
    events
}
