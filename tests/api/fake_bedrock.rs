//! A fake Amazon Bedrock runtime: an axum server on 127.0.0.1 (a free
//! port) that checks every request's SigV4 signature against the test
//! credentials (recomputed with aws-sigv4), refuses a wrong or missing one
//! as Bedrock does (403 `InvalidSignatureException`, never a script), and
//! answers `ConverseStream` with scripted replies in AWS event-stream
//! framing written by aws-smithy-eventstream, one frame per chunk. It
//! records every request and stops when dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

/// The credentials the fake expects (the "role" of the tests' function).
pub const ACCESS_KEY: &str = "AKIAFAKEBEDROCKTEST";
pub const SECRET_KEY: &str = "fake/bedrock/secret/key/for/tests/only";
pub const REGION: &str = "us-east-1";
/// SigV4's service name for the Bedrock runtime.
const SERVICE: &str = "bedrock";

/// An SDK configuration for the fake: its region, these static credentials
/// (`secret` other than [`SECRET_KEY`] signs wrongly), the deployment's
/// HTTP client (`aws_sdk`), nothing from the environment.
pub fn sdk_config(secret: &str) -> SdkConfig {
    let credentials = Credentials::new(ACCESS_KEY, secret, None, None, "fake-bedrock");
    SdkConfig::builder()
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .behavior_version(BehaviorVersion::latest())
        .http_client(chat_shared::aws_sdk::https_client())
        .build()
}

/// One frame of an event stream.
#[derive(Clone)]
pub enum Frame {
    /// `:message-type: event`, `:event-type: <name>`, JSON payload.
    Event(&'static str, Value),
    /// `:message-type: exception`, `:exception-type: <name>`, JSON payload.
    Exception(&'static str, Value),
}

/// One scripted answer to a signed request.
#[derive(Clone)]
pub enum Script {
    /// An error before any stream: status, `x-amzn-ErrorType`, message.
    Error(u16, &'static str, &'static str),
    /// A 200 event stream, frames sent `gap` apart.
    Stream(Vec<Frame>, Duration),
}

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    /// Whether its signature was right (else it was answered 403).
    pub signed: bool,
}

#[derive(Default)]
struct Inner {
    scripts: Mutex<VecDeque<Script>>,
    received: Mutex<Vec<Received>>,
}

pub struct FakeBedrock {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBedrock {
    /// Answers signed requests with `scripts` in order; the last repeats.
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
}

async fn answer(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verdict = verify(&method, &uri, &headers, &body);
    inner.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signed: verdict.is_ok(),
    });
    if let Err(why) = verdict {
        return error_response(403, "InvalidSignatureException", &why);
    }
    let script = {
        let mut scripts = inner.scripts.lock().unwrap();
        if scripts.len() > 1 {
            scripts.pop_front().unwrap()
        } else {
            scripts.front().cloned().expect("a script")
        }
    };
    match script {
        Script::Error(status, kind, message) => error_response(status, kind, message),
        Script::Stream(frames, gap) => stream_response(frames, gap),
    }
}

/// A restJson1 error as Bedrock sends it: the type in `x-amzn-ErrorType`.
fn error_response(status: u16, kind: &str, message: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .header(
            "x-amzn-errortype",
            format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        )
        .body(Body::from(json!({"message": message}).to_string()))
        .unwrap()
}

fn stream_response(frames: Vec<Frame>, gap: Duration) -> Response {
    let stream =
        futures::stream::iter(frames.into_iter().enumerate()).then(move |(i, f)| async move {
            if i > 0 {
                tokio::time::sleep(gap).await;
            }
            Ok::<_, std::io::Error>(encode(&f))
        });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/vnd.amazon.eventstream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// One frame in the event-stream binary format (prelude, headers, payload,
/// CRCs), as the SDK's decoder reads it.
pub fn encode(frame: &Frame) -> Bytes {
    let (message_type, type_header, name, payload) = match frame {
        Frame::Event(name, payload) => ("event", ":event-type", *name, payload),
        Frame::Exception(name, payload) => ("exception", ":exception-type", *name, payload),
    };
    let string = |s: &str| HeaderValue::String(s.to_owned().into());
    let message = Message::new(Bytes::from(payload.to_string()))
        .add_header(Header::new(":message-type", string(message_type)))
        .add_header(Header::new(type_header, string(name)))
        .add_header(Header::new(":content-type", string("application/json")));
    let mut out = Vec::new();
    write_message_to(&message, &mut out).unwrap();
    Bytes::from(out)
}

/// Recomputes the request's SigV4 signature with the expected secret, over
/// exactly the headers it says it signed, at the time it says it signed.
pub fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("no {name} header"))
    };
    let authorization = header("authorization")?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not a SigV4 authorization")?;
    let field = |key: &str| {
        fields
            .split(", ")
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
            .ok_or_else(|| format!("no {key} in the authorization"))
    };
    let credential = field("Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != ACCESS_KEY || scope[2] != REGION || scope[3] != SERVICE {
        return Err(format!("unexpected credential scope {credential}"));
    }
    let time = signing_time(header("x-amz-date")?)?;
    let signed: Vec<(&str, &str)> = field("SignedHeaders")?
        .split(';')
        .map(|name| Ok((name, header(name)?)))
        .collect::<Result<_, String>>()?;
    let identity: Identity = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "fake").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let url = format!("http://{}{}", header("host")?, uri);
    let request = SignableRequest::new(
        method.as_str(),
        url,
        signed.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if field("Signature")? == expected {
        Ok(())
    } else {
        Err("The request signature we calculated does not match the signature you provided.".into())
    }
}

/// `x-amz-date` (`20251008T120000Z`) as a time.
fn signing_time(raw: &str) -> Result<SystemTime, String> {
    let parsed = chrono::NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%SZ")
        .map_err(|e| format!("x-amz-date {raw}: {e}"))?;
    let secs = u64::try_from(parsed.and_utc().timestamp()).map_err(|e| e.to_string())?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

// ---- ConverseStream replies, shaped from the API reference -----------------

fn delta(text: &str) -> Frame {
    Frame::Event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": text}}),
    )
}

/// A text block has no `contentBlockStart` (tool use blocks do).
fn opening() -> Vec<Frame> {
    vec![Frame::Event("messageStart", json!({"role": "assistant"}))]
}

/// messageStart, a delta per piece, messageStop, then the usage.
pub fn reply(pieces: &[&str], input: u64, output: u64) -> Script {
    let mut frames = opening();
    frames.extend(pieces.iter().map(|p| delta(p)));
    frames.extend([
        Frame::Event("contentBlockStop", json!({"contentBlockIndex": 0})),
        Frame::Event("messageStop", json!({"stopReason": "end_turn"})),
        Frame::Event(
            "metadata",
            json!({
                "usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
                "metrics": {"latencyMs": 412}
            }),
        ),
    ]);
    Script::Stream(frames, Duration::ZERO)
}

/// Some deltas, then a `modelStreamErrorException` and the end.
pub fn reply_then_exception(pieces: &[&str]) -> Script {
    let mut frames = opening();
    frames.extend(pieces.iter().map(|p| delta(p)));
    frames.push(Frame::Exception(
        "modelStreamErrorException",
        json!({
            "message": "Model stream error: the model's output could not be processed",
            "originalStatusCode": 500,
            "originalMessage": "upstream failure"
        }),
    ));
    Script::Stream(frames, Duration::ZERO)
}

pub fn throttled() -> Script {
    Script::Error(
        429,
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
    )
}
