//! Extractors that turn bad input into our JSON errors instead of axum's
//! plain-text rejections.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::{InvalidSessionId, SessionId};

use super::AppError;

/// A JSON body. Unlike `axum::Json` it does not insist on a `Content-Type`
/// header (curl's `-d` sends a form type), and a body that does not parse
/// answers 400 with the parser's reason.
pub struct ApiJson<T>(pub T);

/// Request bodies larger than this are refused before parsing (messages are
/// at most 10,000 characters; configs are small).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::bad_request_detail("Invalid request body", e.body_text()))?;
        if bytes.len() > MAX_JSON_BODY {
            return Err(AppError::BodyTooLarge {
                limit: MAX_JSON_BODY,
            });
        }
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => {
                return Err(AppError::bad_request_detail(
                    "Invalid JSON",
                    "the request body is empty",
                ));
            }
            // serde would read a struct from an array too; bodies are objects.
            Some(b'[') => {
                return Err(AppError::bad_request_detail(
                    "Invalid JSON",
                    "the request body must be a JSON object",
                ));
            }
            Some(_) => {}
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| AppError::bad_request_detail("Invalid JSON", e.to_string()))
    }
}

/// Largest session config, serialized: it lives on the session item (a
/// DynamoDB item holds 400 KB) and is read on every message.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;
/// Deepest nesting accepted in a config (DynamoDB stores 32 levels).
const MAX_CONFIG_DEPTH: usize = 20;
/// Numbers DynamoDB stores: magnitude below 1e126.
const MAX_NUMBER_MAGNITUDE: f64 = 1e125;

/// Checks a config object fits what every store keeps exactly: its size,
/// its depth and its numbers. 400 with the reason otherwise.
pub fn check_config(config: &serde_json::Map<String, serde_json::Value>) -> Result<(), AppError> {
    fn walk(v: &serde_json::Value, depth: usize) -> Result<(), &'static str> {
        if depth > MAX_CONFIG_DEPTH {
            return Err("config is nested too deeply");
        }
        match v {
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(x) if x.abs() < MAX_NUMBER_MAGNITUDE => Ok(()),
                _ => Err("config holds a number out of range"),
            },
            serde_json::Value::Array(items) => items.iter().try_for_each(|i| walk(i, depth + 1)),
            serde_json::Value::Object(map) => map.values().try_for_each(|i| walk(i, depth + 1)),
            _ => Ok(()),
        }
    }
    map_walk(config, walk)?;
    let size = serde_json::to_vec(config)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CONFIG_BYTES {
        return Err(AppError::bad_request_detail(
            "config too large",
            format!("at most {MAX_CONFIG_BYTES} bytes of JSON"),
        ));
    }
    Ok(())
}

fn map_walk(
    config: &serde_json::Map<String, serde_json::Value>,
    walk: fn(&serde_json::Value, usize) -> Result<(), &'static str>,
) -> Result<(), AppError> {
    config
        .values()
        .try_for_each(|v| walk(v, 1))
        .map_err(AppError::bad_request)
}

/// Path rejections as JSON 400s: a segment that is not a session id is
/// the reference's `Invalid session ID`; anything else (invalid UTF-8 after
/// percent-decoding, a missing segment) is `Invalid URL`.
impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        if let PathRejection::FailedToDeserializePathParams(e) = &rejection
            // `SessionId`'s Deserialize reports its parse error by message.
            && matches!(e.kind(), ErrorKind::Message(m) if *m == InvalidSessionId.to_string())
        {
            return AppError::InvalidSessionId;
        }
        AppError::bad_request_detail("Invalid URL", rejection.body_text())
    }
}

impl From<InvalidSessionId> for AppError {
    fn from(_: InvalidSessionId) -> Self {
        AppError::InvalidSessionId
    }
}

/// `/{session_id}` in a path, parsed once.
#[derive(Deserialize, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct SessionPath {
    pub session_id: SessionId,
}

/// A session id in a JSON body (`sessionId`): required; a string that is
/// not a UUID, or a value that is not a string, is `Invalid session ID`.
pub fn body_session_id(raw: Option<Value>) -> Result<SessionId, AppError> {
    match raw {
        None | Some(Value::Null) => Err(AppError::bad_request("sessionId is required")),
        Some(Value::String(s)) => Ok(SessionId::parse(&s)?),
        Some(_) => Err(AppError::InvalidSessionId),
    }
}
