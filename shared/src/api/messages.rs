//! `/api/chat/messages/*`: send, stream, history, clear; and
//! `/api/chat/providers`.

use std::convert::Infallible;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

#[allow(unused_imports)]
use super::openapi::*;
use super::{Endpoint, ensure_live, load_session};
use crate::AppState;
use crate::auth::{Caller, WidgetCaller};
use crate::clock::iso8601;
use crate::context::{ContextInput, build_context};
use crate::http::{ApiJson, ApiPath, AppError, check_config, parse_session_id};
use crate::model::{Message, Role, Session, Tenant};
use crate::providers::{Completion, Provider, ProviderError, ProviderRequest, StreamEvent};
use crate::ratelimit::{self, RateLimit};
use crate::store::keys;
use crate::store::{Cursor, Key};

/// The reference's limit on one message.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// Largest history page a client may ask for.
pub const MAX_HISTORY_PAGE: usize = 1_000;
/// Page size when reading a whole history.
const FULL_HISTORY_PAGE: usize = 500;

pub fn endpoints(_state: &AppState) -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::POST, "/api/chat/messages/send", post(send)),
        Endpoint::new(Method::POST, "/api/chat/messages/stream", post(stream)),
        Endpoint::new(Method::GET, "/api/chat/providers", get(providers)),
        Endpoint::new(
            Method::GET,
            "/api/chat/messages/history/{session_id}",
            get(history),
        ),
        Endpoint::new(
            Method::DELETE,
            "/api/chat/messages/clear/{session_id}",
            delete(clear),
        ),
    ]
}

pub fn routes(state: AppState) -> Router {
    super::build(endpoints(&state), state)
}

/// The messages group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> Router {
    crate::http::finish(routes(state))
}

#[derive(Deserialize)]
pub(crate) struct SendBody {
    #[serde(default, alias = "session_id")]
    #[serde(rename = "sessionId")]
    session_id: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    config: Option<Value>,
}

/// A validated send request.
pub struct SendRequest {
    pub session_id: Uuid,
    pub message: String,
    /// Per-message overrides of the session config (not stored).
    pub overrides: Map<String, Value>,
}

fn validate_send(body: SendBody) -> Result<SendRequest, AppError> {
    let session_id = match body.session_id {
        None | Some(Value::Null) => return Err(AppError::bad_request("sessionId is required")),
        Some(Value::String(s)) => parse_session_id(&s)?,
        Some(_) => return Err(AppError::InvalidSessionId),
    };
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
    let overrides = match body.config {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            check_config(&map)?;
            map
        }
        Some(_) => return Err(AppError::bad_request("config must be a JSON object")),
    };
    Ok(SendRequest {
        session_id,
        message,
        overrides,
    })
}

/// The outcome of a send, shaped as the reference's response.
pub struct Exchange {
    pub session: Session,
    pub reply: Message,
    pub message_count: i64,
    pub provider: &'static str,
    pub model: String,
}

impl Exchange {
    pub fn to_json(&self) -> Value {
        json!({
            "response": self.reply.content,
            "sessionId": self.session.session_id,
            "messageCount": self.message_count,
            "provider": self.provider,
            "model": self.model,
            "timestamp": iso8601(self.reply.timestamp),
        })
    }
}

/// What a running exchange reports: text as it arrives, then the stored
/// outcome or the error.
pub enum ExchangeEvent {
    Delta(String),
    Done(Box<Exchange>),
    Failed(AppError),
}

/// How long a delta waits for a client that stopped reading before the
/// exchange stops forwarding deltas (it still completes and stores).
const STALLED_READER: std::time::Duration = std::time::Duration::from_secs(30);

/// Deltas buffered between the provider task and a slow client.
const EVENT_BUFFER: usize = 64;

/// Starts one exchange: one read (session + last 10 messages) here, so a
/// bad session is a plain 4xx; then a spawned task runs the provider and one
/// atomic write of both messages and the session's counters. When the
/// provider fails, the user's message is stored marked `failed` and the error
/// reported. The task finishes (and stores) even when the receiver is
/// dropped, so a client that goes away loses nothing.
pub async fn start_exchange(
    state: &AppState,
    caller: &Caller,
    request: SendRequest,
) -> Result<(RateLimit, mpsc::Receiver<ExchangeEvent>), AppError> {
    // The message is counted while the session is read: one wait for the
    // table instead of two in a row. The limit is looked at first, so an
    // over-limit caller gets 429 whatever the session, as when counted alone.
    let (limit, found) = tokio::join!(
        ratelimit::count_message(state, caller),
        state
            .repo
            .session_with_recent_messages(caller.tenant_id(), request.session_id),
    );
    let limit = limit?;
    let (session, history) = found?.ok_or(AppError::SessionNotFound)?;
    caller.authorize(&session)?;
    ensure_live(state, &session)?;

    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let state = state.clone();
    let tenant = caller.tenant.clone();
    tokio::spawn(async move {
        let outcome = run_exchange(&state, &tenant, session, history, request, &tx).await;
        let last = match outcome {
            Ok(done) => ExchangeEvent::Done(Box::new(done)),
            Err(error) => ExchangeEvent::Failed(error),
        };
        // A receiver that is gone is fine: everything is stored already.
        let _ = tx.send(last).await;
    });
    Ok((limit, rx))
}

async fn run_exchange(
    state: &AppState,
    tenant: &Tenant,
    session: Session,
    history: Vec<Message>,
    request: SendRequest,
    tx: &mpsc::Sender<ExchangeEvent>,
) -> Result<Exchange, AppError> {
    let mut config = session.config.clone();
    config.extend(request.overrides);
    let requested = config.get("aiProvider").and_then(Value::as_str);
    let received_at = state.now_ms();
    let mut user_message = Message {
        message_id: state.ids.v7_at(received_at),
        role: Role::User,
        content: request.message,
        timestamp: received_at,
        metadata: Map::new(),
    };

    let outcome = match state.providers.resolve(requested, tenant) {
        Ok(provider) => {
            let prompt = build_context(&ContextInput {
                message: &user_message.content,
                config: &config,
                history: &history,
                file: session.active_file.as_ref(),
                default_model: provider.default_model(),
            });
            relay(provider.as_ref(), prompt, tx)
                .await
                .map(|completion| (provider.id(), completion))
        }
        Err(e) => Err(e),
    };

    let (provider, completion) = match outcome {
        Ok(ok) => ok,
        Err(error) => {
            user_message
                .metadata
                .insert("status".into(), Value::from("failed"));
            let now = state.now_ms();
            let expires = state.expires_at(tenant, now);
            state
                .repo
                .append_messages(&session, std::slice::from_ref(&user_message), now, expires)
                .await?;
            return Err(AppError::Provider(error));
        }
    };

    let replied_at = state.now_ms();
    let mut metadata = Map::new();
    metadata.insert("provider".into(), provider.into());
    metadata.insert("model".into(), completion.model.clone().into());
    if let Some(n) = completion.input_tokens {
        metadata.insert("inputTokens".into(), n.into());
    }
    if let Some(n) = completion.output_tokens {
        metadata.insert("outputTokens".into(), n.into());
    }
    metadata.insert(
        "latencyMs".into(),
        replied_at.saturating_sub(received_at).into(),
    );
    let reply = Message {
        message_id: state.ids.v7_at(replied_at),
        role: Role::Assistant,
        content: completion.text,
        timestamp: replied_at,
        metadata,
    };
    state
        .repo
        .append_messages(
            &session,
            &[user_message, reply.clone()],
            replied_at,
            state.expires_at(tenant, replied_at),
        )
        .await?;
    Ok(Exchange {
        message_count: session.message_count + 2,
        model: completion.model,
        provider,
        session,
        reply,
    })
}

/// Streams the provider's reply, forwarding each delta, until its completion.
async fn relay(
    provider: &dyn Provider,
    prompt: ProviderRequest,
    tx: &mpsc::Sender<ExchangeEvent>,
) -> Result<Completion, ProviderError> {
    let mut events = provider.stream(prompt).await?;
    let mut forwarding = true;
    while let Some(event) = events.next().await {
        match event? {
            StreamEvent::Delta(text) => {
                // Nobody listening (the client left, or `send` ignores
                // deltas), or a client that stopped reading: keep going, the
                // reply is still stored, and a stalled reader never holds the
                // exchange (or its provider connection) open.
                if forwarding
                    && tx
                        .send_timeout(ExchangeEvent::Delta(text), STALLED_READER)
                        .await
                        .is_err()
                {
                    forwarding = false;
                }
            }
            StreamEvent::Done(completion) => return Ok(completion),
        }
    }
    Err(ProviderError::Malformed(
        "stream ended without a completion".into(),
    ))
}

/// Runs one exchange to its end: the reply `send` answers.
pub async fn exchange(
    state: &AppState,
    caller: &Caller,
    request: SendRequest,
) -> Result<(RateLimit, Exchange), AppError> {
    let (limit, mut events) = start_exchange(state, caller, request).await?;
    while let Some(event) = events.recv().await {
        match event {
            ExchangeEvent::Delta(_) => {}
            ExchangeEvent::Done(done) => return Ok((limit, *done)),
            ExchangeEvent::Failed(error) => return Err(error),
        }
    }
    Err(AppError::Internal(
        "the exchange ended without an outcome".into(),
    ))
}

#[utoipa::path(
    post, path = "/api/chat/messages/send", tag = "messages",
    params(("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body = SendMessageRequest,
    responses((status = 200, description = "The reply (X-RateLimit-Limit, -Remaining, -Reset headers)", body = SendResponse), Errors)
)]
pub(crate) async fn send(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SendBody>,
) -> Result<Response, AppError> {
    let request = validate_send(body)?;
    let (limit, done) = exchange(&state, &caller, request).await?;
    let mut response = Json(done.to_json()).into_response();
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
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SendBody>,
) -> Result<Response, AppError> {
    let request = validate_send(body)?;
    let (limit, events) = start_exchange(&state, &caller, request).await?;
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

fn sse_event(event: ExchangeEvent) -> SseEvent {
    let (name, data) = match event {
        ExchangeEvent::Delta(text) => ("delta", json!({ "text": text })),
        ExchangeEvent::Done(done) => ("done", done.to_json()),
        ExchangeEvent::Failed(error) => {
            error.log();
            let (status, mut body) = error.status_and_body();
            body["status"] = status.as_u16().into();
            ("error", body)
        }
    };
    SseEvent::default().event(name).data(data.to_string())
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
) -> Json<Value> {
    let (list, default) = state.providers.available(&caller.tenant);
    let providers: Vec<Value> = list
        .into_iter()
        .map(|(id, model)| json!({"id": id, "defaultModel": model}))
        .collect();
    Json(json!({"providers": providers, "default": default}))
}

#[derive(Deserialize)]
pub(crate) struct HistoryParams {
    limit: Option<String>,
    cursor: Option<String>,
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
    ApiPath(session_id): ApiPath<String>,
    params: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Json<Value>, AppError> {
    let Query(params) =
        params.map_err(|e| AppError::bad_request_detail("Invalid query string", e.body_text()))?;
    let session_id = parse_session_id(&session_id)?;
    let tenant = caller.tenant_id();
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
    let cursor = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            let id = Uuid::try_parse(raw).map_err(|_| AppError::bad_request("Invalid cursor"))?;
            Some(Cursor {
                key: keys::message(tenant, session_id, id),
                index_key: None,
            })
        }
    };
    let first_page = cursor.is_none();
    if !first_page && caller.is_publishable() {
        // A later page reads no session item; a publishable key must still
        // prove the session is its own.
        super::load_session(&state, &caller, session_id).await?;
    }
    let page_size = limit.unwrap_or(FULL_HISTORY_PAGE);
    let first = state
        .repo
        .history_page(tenant, session_id, page_size, cursor)
        .await?;
    // A first page starts at the session item: without it, no session.
    if first_page {
        let session = first.session.as_ref().ok_or(AppError::SessionNotFound)?;
        caller.authorize(session)?;
    }
    let mut newest_first = first.messages;
    let mut next = first.next;
    if limit.is_none() {
        while let Some(after) = next.take() {
            let page = state
                .repo
                .history_page(tenant, session_id, page_size, Some(after))
                .await?;
            newest_first.extend(page.messages);
            next = page.next;
        }
    }
    let messages: Vec<Value> = newest_first.iter().rev().map(Message::to_dict).collect();
    let mut body = json!({
        "sessionId": session_id,
        "messages": messages,
    });
    // Later pages read no session item, so only a first page knows the total.
    if let Some(session) = &first.session {
        body["messageCount"] = session.message_count.into();
    }
    if limit.is_some() {
        body["nextCursor"] = next
            .as_ref()
            .and_then(message_id_of)
            .map_or(Value::Null, Value::from);
    }
    Ok(Json(body))
}

fn message_id_of(cursor: &Cursor) -> Option<String> {
    let Key { sk, .. } = &cursor.key;
    sk.strip_prefix(keys::MSG_PREFIX).map(str::to_owned)
}

#[utoipa::path(
    delete, path = "/api/chat/messages/clear/{session_id}", tag = "messages",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Messages deleted", body = ClearResponse), Errors)
)]
pub(crate) async fn clear(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let session = load_session(&state, &caller, parse_session_id(&session_id)?).await?;
    let cleared = state
        .repo
        .clear_messages(session.tenant_id, session.session_id)
        .await?;
    Ok(Json(json!({
        "sessionId": session.session_id,
        "status": "cleared",
        "messagesCleared": cleared,
        "timestamp": iso8601(state.now_ms()),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> SendBody {
        serde_json::from_value(v).expect("decodes")
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
