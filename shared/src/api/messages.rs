//! `/api/chat/messages/*`: send, stream, history, clear; and
//! `/api/chat/providers`.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, WidgetCaller};
use crate::clock::iso8601;
use crate::http::extract::{SessionPath, body_session_id};
use crate::http::{ApiJson, AppError, ClientAddr, check_config};
use crate::model::{Message, Role, SessionId};
use crate::service::exchange::{self, Exchange, ExchangeEvent, SendRequest};
use crate::service::feedback::{self as rating, FeedbackRequest};
use crate::service::history::{self, HistoryRequest};
use crate::store::repo::Rating;

/// The reference's limit on one message.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// Largest history page a client may ask for.
pub const MAX_HISTORY_PAGE: usize = 1_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(stream))
        .routes(routes!(providers))
        .routes(routes!(history))
        .routes(routes!(clear))
        .routes(routes!(feedback))
}

/// The messages group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> axum::Router {
    super::serve(routes(), state)
}

// Fields are matched by hand: a wrong type answers its own 400
// (`message must be a string`...), not a parser message.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    #[serde(default, alias = "session_id")]
    #[schema(value_type = Uuid, required = true)]
    session_id: Option<Value>,
    /// At most 10,000 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 10000)]
    message: Option<Value>,
    /// Keys merged into the session's stored config (as
    /// `PUT /sessions/{id}/config` does, same limits), in the send's own
    /// write; this message already uses them.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    config: Option<Value>,
}

fn validate_send(body: SendMessageRequest) -> Result<SendRequest, AppError> {
    let session_id = body_session_id(body.session_id)?;
    let message = match body.message {
        None | Some(Value::Null) => return Err(AppError::bad_request("message is required")),
        Some(Value::String(s)) => s,
        Some(_) => return Err(AppError::bad_request("message must be a string")),
    };
    if message.trim().is_empty() {
        return Err(AppError::bad_request("message is required"));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(AppError::bad_request_detail(
            "Message too long",
            format!("at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let config = match body.config {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            check_config(&map)?;
            map
        }
        Some(_) => return Err(AppError::bad_request("config must be a JSON object")),
    };
    Ok(SendRequest {
        client: None,
        session_id,
        message,
        config,
    })
}

// The reference's send response; also the `done` event of a stream.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    response: String,
    #[schema(value_type = Uuid)]
    session_id: SessionId,
    message_count: i64,
    provider: &'static str,
    model: String,
    timestamp: String,
    /// The assistant reply's id (what feedback names).
    message_id: Uuid,
    /// The id of the user's message.
    user_message_id: Uuid,
    /// The knowledge-base documents the reply drew on (only when there were
    /// passages): `[{documentId, title, url?}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::service::knowledge::Source>>)]
    sources: Option<Value>,
}

impl From<Exchange> for SendResponse {
    fn from(done: Exchange) -> Self {
        Self {
            message_id: done.reply.message_id,
            user_message_id: done.user_message_id,
            sources: done.reply.metadata.get("sources").cloned(),
            timestamp: iso8601(done.reply.timestamp),
            response: done.reply.content,
            session_id: done.session.session_id.into(),
            message_count: done.message_count,
            provider: done.provider,
            model: done.model,
        }
    }
}

#[utoipa::path(
    post, path = "/api/chat/messages/send", tag = "messages",
    params(("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body = SendMessageRequest,
    responses((status = 200, description = "The reply (X-RateLimit-Limit, -Remaining, -Reset headers)", body = SendResponse), Errors)
)]
pub(crate) async fn send(
    WidgetCaller(caller): WidgetCaller,
    ClientAddr(client): ClientAddr,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> Result<Response, AppError> {
    let request = SendRequest {
        client,
        ..validate_send(body)?
    };
    let (limit, done) = exchange::exchange(&state, &caller, request).await?;
    let mut response = Json(SendResponse::from(done)).into_response();
    limit.apply_headers(response.headers_mut());
    Ok(response)
}

/// `send` as server-sent events: `delta` events (`{"text"}`) as the reply
/// arrives, then one `done` event with exactly `send`'s response, or one
/// `error` event (`{"error", "status", "detail"?}`). Bad input, unknown or
/// expired sessions are answered before the stream starts, as plain JSON.
#[utoipa::path(
    post, path = "/api/chat/messages/stream", tag = "messages",
    params(("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body = SendMessageRequest,
    responses((status = 200, description = "Server-sent events: `delta` ({text}), then `done` (the send response) or `error` ({error, status, detail?})", content_type = "text/event-stream", body = String), Errors)
)]
pub(crate) async fn stream(
    WidgetCaller(caller): WidgetCaller,
    ClientAddr(client): ClientAddr,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> Result<Response, AppError> {
    let request = SendRequest {
        client,
        ..validate_send(body)?
    };
    let (limit, events) = exchange::start_exchange(&state, &caller, request).await?;
    let sse = futures::stream::unfold(events, |mut events| async move {
        let event = events.recv().await?;
        Some((Ok::<_, Infallible>(sse_event(event)), events))
    });
    let mut response = Sse::new(sse)
        .keep_alive(KeepAlive::default())
        .into_response();
    limit.apply_headers(response.headers_mut());
    Ok(response)
}

/// A `delta` event's data.
#[derive(Serialize)]
struct Delta {
    text: String,
}

fn sse_event(event: ExchangeEvent) -> SseEvent {
    let (name, data) = match event {
        ExchangeEvent::Delta(text) => ("delta", serde_json::to_string(&Delta { text })),
        ExchangeEvent::Done(done) => ("done", serde_json::to_string(&SendResponse::from(*done))),
        ExchangeEvent::Failed(error) => {
            let error = AppError::from(error);
            error.log();
            let (status, mut body) = error.status_and_body();
            body["status"] = status.as_u16().into();
            ("error", Ok(body.to_string()))
        }
    };
    SseEvent::default()
        .event(name)
        .data(data.unwrap_or_default())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEntry {
    id: &'static str,
    default_model: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvidersResponse {
    providers: Vec<ProviderEntry>,
    default: Option<&'static str>,
}

/// The providers the caller's sessions can use, with their default models
/// (the reference's `get_available_providers()`).
#[utoipa::path(
    get, path = "/api/chat/providers", tag = "messages",
    responses((status = 200, description = "Available providers", body = ProvidersResponse), Errors)
)]
pub(crate) async fn providers(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
) -> Json<ProvidersResponse> {
    let (list, default) = state.providers.available(&caller.tenant);
    let providers = list
        .into_iter()
        .map(|(id, default_model)| ProviderEntry { id, default_model })
        .collect();
    Json(ProvidersResponse { providers, default })
}

/// A message as the reference's `to_dict()`: `role`, `content`,
/// `timestamp` (epoch ms) and its metadata keys (`provider`, `model`,
/// `status`...) at the top level.
#[derive(Serialize, ToSchema)]
pub struct MessageDict {
    #[serde(rename = "messageId")]
    message_id: Uuid,
    /// `user`, `assistant` or `system`
    #[schema(value_type = String)]
    role: Role,
    content: String,
    timestamp: i64,
    #[serde(flatten)]
    #[schema(ignore)]
    metadata: Map<String, Value>,
}

impl From<Message> for MessageDict {
    fn from(m: Message) -> Self {
        let mut metadata = m.metadata;
        // The message's own fields win over metadata of the same name.
        for own in ["messageId", "role", "content", "timestamp"] {
            metadata.remove(own);
        }
        Self {
            message_id: m.message_id,
            role: m.role,
            content: m.content,
            timestamp: m.timestamp,
            metadata,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct HistoryParams {
    limit: Option<String>,
    cursor: Option<String>,
}

fn history_request(
    session_id: SessionId,
    params: HistoryParams,
) -> Result<HistoryRequest, AppError> {
    let limit = match params.limit.as_deref() {
        None => None,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_HISTORY_PAGE).contains(&n) => Some(n),
            _ => {
                return Err(AppError::bad_request_detail(
                    "Invalid limit",
                    format!("limit must be a whole number from 1 to {MAX_HISTORY_PAGE}"),
                ));
            }
        },
    };
    let before = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            Some(Uuid::try_parse(raw).map_err(|_| AppError::bad_request("Invalid cursor"))?)
        }
    };
    Ok(HistoryRequest {
        session_id,
        limit,
        before,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResponse {
    #[schema(value_type = Uuid)]
    session_id: SessionId,
    /// Oldest first.
    messages: Vec<MessageDict>,
    /// On a first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    message_count: Option<i64>,
    /// With `limit`: the cursor of the page before, or null.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    next_cursor: Option<Option<String>>,
}

/// Message history, oldest first, each message as the reference's
/// `to_dict()`. Without `limit`, the whole history; with `limit`, the newest
/// `limit` messages before `cursor`, and a `nextCursor` for older ones. One
/// read per page; the first page also proves the session exists.
#[utoipa::path(
    get, path = "/api/chat/messages/history/{session_id}", tag = "messages",
    params(
        ("session_id" = Uuid, Path, description = "Session UUID"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "The newest `limit` messages before `cursor`"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
        ("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)"),
    ),
    responses((status = 200, description = "Messages, oldest first", body = HistoryResponse), Errors)
)]
pub(crate) async fn history(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    path: SessionPath,
    params: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) =
        params.map_err(|e| AppError::bad_request_detail("Invalid query string", e.body_text()))?;
    let request = history_request(path.session_id, params)?;
    let paged = request.limit.is_some();
    let found = history::history(&state, &caller, request, encode_messages).await?;
    let pages = found.pages.into_iter().collect::<Result<Vec<_>, _>>()?;
    let envelope = HistoryResponse {
        session_id: path.session_id,
        messages: Vec::new(),
        // Later pages read no session item, so only a first page knows the total.
        message_count: found.session.map(|s| s.message_count),
        next_cursor: paged.then_some(found.next),
    };
    json_with_array(&envelope, ARRAY_FIELD, pages)
}

/// The field of [`HistoryResponse`] whose elements come page by page.
const ARRAY_FIELD: &str = "messages";

/// A page of messages as JSON array elements (`{...},{...}`): encoded as
/// it is read, so a whole history is never held decoded at once.
fn encode_messages(messages: Vec<Message>) -> Result<Bytes, AppError> {
    let mut out = Vec::with_capacity(messages.len() * 160);
    for (i, message) in messages.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &MessageDict::from(message))
            .map_err(|e| AppError::Internal(format!("cannot encode a message: {e}")))?;
    }
    Ok(Bytes::from(out))
}

/// `envelope` as JSON with the elements of its (empty) array `field`
/// spliced in from `pages`, each page's elements already encoded. The body
/// is sent page by page with its length, never copied into one buffer.
fn json_with_array(
    envelope: &impl Serialize,
    field: &str,
    pages: Vec<Bytes>,
) -> Result<Response, AppError> {
    let envelope = Bytes::from(
        serde_json::to_vec(envelope)
            .map_err(|e| AppError::Internal(format!("cannot encode a response: {e}")))?,
    );
    let empty = format!("\"{field}\":[]");
    let at = envelope
        .windows(empty.len())
        .position(|w| w == empty.as_bytes())
        .ok_or_else(|| AppError::Internal(format!("no array {field} in the response")))?
        + empty.len()
        - 1;
    let mut chunks = Vec::with_capacity(pages.len() * 2 + 1);
    chunks.push(envelope.slice(..at));
    for page in pages.into_iter().filter(|p| !p.is_empty()) {
        if chunks.len() > 1 {
            chunks.push(Bytes::from_static(b","));
        }
        chunks.push(page);
    }
    chunks.push(envelope.slice(at..));
    let length: usize = chunks.iter().map(Bytes::len).sum();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
        ],
        Body::from_stream(futures::stream::iter(
            chunks.into_iter().map(Ok::<_, Infallible>),
        )),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClearResponse {
    #[schema(value_type = Uuid)]
    session_id: SessionId,
    /// `cleared`
    status: &'static str,
    messages_cleared: i64,
    timestamp: String,
}

#[utoipa::path(
    delete, path = "/api/chat/messages/clear/{session_id}", tag = "messages",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Messages deleted", body = ClearResponse), Errors)
)]
pub(crate) async fn clear(
    caller: Caller,
    State(state): State<AppState>,
    path: SessionPath,
) -> Result<Json<ClearResponse>, AppError> {
    let (session, cleared) = history::clear(&state, &caller, path.session_id).await?;
    Ok(Json(ClearResponse {
        session_id: session.session_id.into(),
        status: "cleared",
        messages_cleared: cleared,
        timestamp: iso8601(state.now_ms()),
    }))
}

/// Longest feedback comment, in characters.
pub const MAX_FEEDBACK_COMMENT_CHARS: usize = 2_000;

// Fields are matched by hand, as in `send`: each bad field has its own 400.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackBody {
    #[serde(default, alias = "session_id")]
    #[schema(value_type = Uuid, required = true)]
    session_id: Option<Value>,
    /// The assistant reply's `messageId`.
    #[serde(default, alias = "message_id")]
    #[schema(value_type = Uuid, required = true)]
    message_id: Option<Value>,
    /// `up` or `down`
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    rating: Option<Value>,
    /// At most 2,000 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    comment: Option<Value>,
}

fn validate_feedback(body: FeedbackBody) -> Result<FeedbackRequest, AppError> {
    let session_id = body_session_id(body.session_id)?;
    let message_id = match body.message_id {
        None | Some(Value::Null) => return Err(AppError::bad_request("messageId is required")),
        Some(Value::String(s)) => {
            Uuid::try_parse(&s).map_err(|_| AppError::bad_request("Invalid message ID"))?
        }
        Some(_) => return Err(AppError::bad_request("Invalid message ID")),
    };
    let rating = match &body.rating {
        Some(Value::String(s)) => Rating::parse(s),
        _ => None,
    }
    .ok_or_else(|| AppError::bad_request_detail("Invalid rating", "rating must be up or down"))?;
    let comment = match body.comment {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= MAX_FEEDBACK_COMMENT_CHARS => {
            Some(s).filter(|s| !s.trim().is_empty())
        }
        Some(Value::String(_)) => {
            return Err(AppError::bad_request_detail(
                "Comment too long",
                format!("at most {MAX_FEEDBACK_COMMENT_CHARS} characters"),
            ));
        }
        Some(_) => return Err(AppError::bad_request("comment must be a string")),
    };
    Ok(FeedbackRequest {
        session_id,
        message_id,
        rating,
        comment,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackResponse {
    #[schema(value_type = Uuid)]
    session_id: SessionId,
    message_id: Uuid,
    /// `up` or `down`
    rating: &'static str,
    comment: Option<String>,
}

/// Rates an assistant reply. Rating the same reply again replaces the
/// earlier rating (and its comment); the session's and the day's feedback
/// counts move exactly once per change.
#[utoipa::path(
    post, path = "/api/chat/messages/feedback", tag = "messages",
    params(("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body = FeedbackBody,
    responses((status = 200, description = "The rating as stored", body = FeedbackResponse), Errors)
)]
pub(crate) async fn feedback(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> Result<Json<FeedbackResponse>, AppError> {
    let request = validate_feedback(body)?;
    rating::rate(&state, &caller, &request).await?;
    Ok(Json(FeedbackResponse {
        session_id: request.session_id,
        message_id: request.message_id,
        rating: request.rating.as_str(),
        comment: request.comment,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn body(v: Value) -> SendMessageRequest {
        serde_json::from_value(v).expect("decodes")
    }

    /// The spliced body is the JSON the envelope would be with the pages'
    /// elements in its array, whatever pages are empty.
    #[tokio::test]
    async fn pages_are_spliced_into_the_envelopes_array() {
        #[derive(Serialize)]
        struct Envelope {
            id: &'static str,
            messages: Vec<Value>,
            after: u8,
        }
        let empty = Envelope {
            id: "messages",
            messages: Vec::new(),
            after: 1,
        };
        let cases: [(&[&str], Value); 4] = [
            (&[], json!([])),
            (&[""], json!([])),
            (&["1", "", "2,3"], json!([1, 2, 3])),
            (&["", "{\"a\":[]}", ""], json!([{"a": []}])),
        ];
        for (pages, array) in cases {
            let pages = pages
                .iter()
                .map(|p| Bytes::from_static(p.as_bytes()))
                .collect();
            let response = json_with_array(&empty, "messages", pages).expect("spliced");
            let length = response.headers()[header::CONTENT_LENGTH]
                .to_str()
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .expect("a length");
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body");
            assert_eq!(bytes.len(), length);
            let got: Value = serde_json::from_slice(&bytes).expect("JSON");
            assert_eq!(
                got,
                json!({"id": "messages", "messages": array, "after": 1})
            );
        }
        let err = json_with_array(&json!({"other": []}), "messages", Vec::new())
            .expect_err("no such array");
        assert!(matches!(err, AppError::Internal(_)), "{err}");
    }

    #[test]
    fn send_validation_names_the_problem() {
        let id = Uuid::new_v4().to_string();
        let err = |v| validate_send(body(v)).err().map(|e| e.to_string());
        assert_eq!(
            err(json!({"message": "hi"})).as_deref(),
            Some("bad request: sessionId is required")
        );
        assert_eq!(
            err(json!({"sessionId": "nope", "message": "hi"})).as_deref(),
            Some("invalid session id")
        );
        assert_eq!(
            err(json!({"sessionId": id, "message": "  "})).as_deref(),
            Some("bad request: message is required")
        );
        assert_eq!(
            err(json!({"sessionId": id, "message": "x".repeat(10_001)})).as_deref(),
            Some("bad request: Message too long")
        );
        assert!(
            validate_send(body(
                json!({"sessionId": id, "message": "é".repeat(10_000)})
            ))
            .is_ok()
        );
        assert_eq!(
            err(json!({"sessionId": id, "message": "hi", "config": 3})).as_deref(),
            Some("bad request: config must be a JSON object")
        );
    }
}
