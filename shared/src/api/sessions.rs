//! `/api/chat/sessions/*`: create, details, config, stats, bot config.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

#[allow(unused_imports)]
use super::openapi::*;
use super::{Endpoint, load_session};
use crate::AppState;
use crate::auth::{Caller, WidgetCaller, check_identity};
use crate::clock::iso8601;
use crate::http::extract::MAX_CONFIG_BYTES;
use crate::http::{ApiJson, ApiPath, AppError, check_config, parse_session_id};
use crate::model::{Session, Tenant};
use crate::store::repo::MergeOutcome;

/// Longest accepted `user_identifier` (it is part of a table key).
pub const MAX_USER_IDENTIFIER_CHARS: usize = 255;
/// The identifier is inside a sort key (`USER#…`, at most 1,024 bytes).
pub const MAX_USER_IDENTIFIER_BYTES: usize = 1_000;

/// The sessions group's operations; the privacy endpoints and the OpenAPI
/// document ride with it.
pub fn endpoints(state: &AppState) -> Vec<Endpoint> {
    let mut list = vec![
        Endpoint::new(Method::POST, "/api/chat/sessions/create", post(create)),
        Endpoint::new(
            Method::GET,
            "/api/chat/sessions/stats/summary",
            get(stats_summary),
        ),
        Endpoint::new(
            Method::GET,
            "/api/chat/sessions/stats/by-user",
            get(stats_by_user),
        ),
        Endpoint::new(
            Method::GET,
            "/api/chat/sessions/bot-config",
            get(bot_config),
        ),
        Endpoint::new(Method::GET, "/api/chat/sessions/{session_id}", get(details)),
        Endpoint::new(
            Method::PUT,
            "/api/chat/sessions/{session_id}/config",
            put(update_config),
        ),
        Endpoint::new(
            Method::GET,
            "/api/chat/openapi.json",
            get(super::openapi::openapi_json),
        ),
    ];
    list.extend(super::users::endpoints(state));
    list
}

pub fn routes(state: AppState) -> Router {
    super::build(endpoints(&state), state)
}

/// The sessions group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> Router {
    crate::http::finish(routes(state))
}

#[derive(Deserialize)]
pub(crate) struct CreateBody {
    #[serde(default)]
    config: Option<Value>,
    #[serde(default, alias = "userIdentifier")]
    user_identifier: Option<Value>,
    /// `HMAC-SHA256(identity secret, user_identifier)` in hex, from the
    /// tenant's server (or the `X-User-Signature` header).
    #[serde(default, rename = "userSignature", alias = "user_signature")]
    user_signature: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct ConfigBody {
    #[serde(default)]
    config: Option<Value>,
}

/// The request's `config`: required, and an object.
fn required_config(config: Option<Value>) -> Result<Map<String, Value>, AppError> {
    match config {
        None | Some(Value::Null) => Err(AppError::bad_request_detail(
            "config is required",
            "send {\"config\": {...}}",
        )),
        Some(Value::Object(map)) => {
            check_config(&map)?;
            Ok(map)
        }
        Some(_) => Err(AppError::bad_request("config must be a JSON object")),
    }
}

fn user_identifier(raw: Option<Value>) -> Result<Option<String>, AppError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.chars().count() > MAX_USER_IDENTIFIER_CHARS
                || s.len() > MAX_USER_IDENTIFIER_BYTES
            {
                Err(AppError::bad_request_detail(
                    "user_identifier too long",
                    format!("at most {MAX_USER_IDENTIFIER_CHARS} characters"),
                ))
            } else {
                Ok(Some(s.to_owned()))
            }
        }
        Some(_) => Err(AppError::bad_request("user_identifier must be a string")),
    }
}

/// A tenant's bot settings over the environment's defaults, by the
/// reference's field names.
pub fn bot_config_of(state: &AppState, tenant: &Tenant) -> Map<String, Value> {
    let d = &state.config.bot;
    let mut out = Map::new();
    out.insert("botName".into(), d.name.clone().into());
    out.insert("poweredBy".into(), d.powered_by.clone().into());
    out.insert("botColor".into(), d.color.clone().into());
    out.insert(
        "botIcon".into(),
        d.icon.clone().map_or(Value::Null, Value::from),
    );
    out.insert("botMsgBgColor".into(), d.msg_bg_color.clone().into());
    for (k, v) in &tenant.bot {
        if out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

#[utoipa::path(
    post, path = "/api/chat/sessions/create", tag = "sessions",
    params(("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body = CreateSessionRequest,
    responses((status = 201, description = "Session created", body = CreateSessionResponse), Errors)
)]
pub(crate) async fn create(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let given = required_config(body.config)?;
    let user_identifier = user_identifier(body.user_identifier)?;
    let signature = match body.user_signature {
        None | Some(Value::Null) => caller.user_signature.clone(),
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(AppError::bad_request("userSignature must be a string")),
    };
    if caller.is_publishable()
        && let Some(user) = &user_identifier
    {
        check_identity(&caller.tenant, user, signature.as_deref())?;
    }
    let bot = bot_config_of(&state, &caller.tenant);
    let mut config = Map::new();
    config.insert(
        "botName".into(),
        bot.get("botName").cloned().unwrap_or(Value::Null),
    );
    config.insert(
        "aiProvider".into(),
        state.config.default_provider.clone().into(),
    );
    config.extend(given);

    let now = state.now_ms();
    let session = Session {
        tenant_id: caller.tenant_id(),
        session_id: Uuid::new_v4(),
        config,
        user_identifier,
        created_at: now,
        last_activity: now,
        message_count: 0,
        active_file: None,
        created_by_key: caller.session_owner(),
    };
    let expires = state.expires_at(&caller.tenant, now);
    state.repo.create_session(&session, expires).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "sessionId": session.session_id,
            "config": session.config,
            "status": "created",
            "timestamp": iso8601(now),
        })),
    ))
}

#[utoipa::path(
    get, path = "/api/chat/sessions/{session_id}", tag = "sessions",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Session details", body = SessionDetails), Errors)
)]
pub(crate) async fn details(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let session = load_session(&state, &caller, parse_session_id(&session_id)?).await?;
    let expired = session.is_expired(state.now_ms(), state.config.session_timeout_secs);
    Ok(Json(json!({
        "sessionId": session.session_id,
        "config": session.config,
        "userIdentifier": session.user_identifier,
        "messageCount": session.message_count,
        "hasFile": session.active_file.is_some(),
        "createdAt": iso8601(session.created_at),
        "lastActivity": iso8601(session.last_activity),
        "isExpired": expired,
    })))
}

#[utoipa::path(
    put, path = "/api/chat/sessions/{session_id}/config", tag = "sessions",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    request_body = ConfigRequest,
    responses((status = 200, description = "Merged config", body = ConfigResponse), Errors)
)]
pub(crate) async fn update_config(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(session_id): ApiPath<String>,
    ApiJson(body): ApiJson<ConfigBody>,
) -> Result<Json<Value>, AppError> {
    let session_id = parse_session_id(&session_id)?;
    let changes = required_config(body.config)?;
    let session = match state
        .repo
        .merge_config(caller.tenant_id(), session_id, &changes, MAX_CONFIG_BYTES)
        .await?
    {
        MergeOutcome::Merged(session) => *session,
        MergeOutcome::NotFound => return Err(AppError::SessionNotFound),
        MergeOutcome::TooLarge => {
            return Err(AppError::bad_request_detail(
                "config too large",
                format!("the merged config would pass {MAX_CONFIG_BYTES} bytes of JSON"),
            ));
        }
    };
    Ok(Json(json!({
        "sessionId": session.session_id,
        "config": session.config,
        "status": "updated",
    })))
}

#[utoipa::path(
    get, path = "/api/chat/sessions/stats/summary", tag = "sessions",
    responses((status = 200, description = "Session counts", body = StatsSummary), Errors)
)]
pub(crate) async fn stats_summary(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Value>, AppError> {
    let now = state.now_ms();
    let tenant = caller.tenant_id();
    let stats = state.repo.tenant_stats(tenant).await?;
    let since = now - state.config.session_timeout_secs * 1000;
    let recently_active = state.repo.count_active_since(tenant, since).await?;
    Ok(Json(json!({
        "totalSessions": stats.total_sessions,
        "recentlyActive": recently_active,
        "timestamp": iso8601(now),
    })))
}

#[utoipa::path(
    get, path = "/api/chat/sessions/stats/by-user", tag = "sessions",
    responses((status = 200, description = "Sessions per user", body = StatsByUser), Errors)
)]
pub(crate) async fn stats_by_user(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Value>, AppError> {
    let tenant = caller.tenant_id();
    let stats = state.repo.tenant_stats(tenant).await?;
    let users = state.repo.user_stats(tenant).await?;
    let unique_users = users.len();
    let user_stats: Map<String, Value> = users
        .into_iter()
        .map(|u| (u.user_identifier, Value::from(u.session_count)))
        .collect();
    Ok(Json(json!({
        "userStats": user_stats,
        "summary": {
            "totalSessions": stats.total_sessions,
            "sessionsWithUser": stats.sessions_with_user,
            "sessionsWithoutUser": stats.sessions_without_user,
            "uniqueUsers": unique_users,
        }
    })))
}

#[utoipa::path(
    get, path = "/api/chat/sessions/bot-config", tag = "sessions",
    responses((status = 200, description = "Bot appearance", body = BotConfig), Errors)
)]
pub(crate) async fn bot_config(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
) -> Json<Value> {
    Json(Value::Object(bot_config_of(&state, &caller.tenant)))
}
