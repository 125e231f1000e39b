//! `/api/chat/sessions/*`: create, details, config, stats, bot config.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, WidgetCaller};
use crate::clock::iso8601;
use crate::http::extract::SessionPath;
use crate::http::{ApiJson, AppError, check_config, parts};
use crate::model::{SessionConfig, SessionId, UserIdentifier};
use crate::service::sessions::{self as service, NewSession};
use crate::service::stats;

pub use crate::service::sessions::bot_config_of;

/// The sessions group's operations; the privacy endpoints, the OpenAPI
/// document, `/health` and `/api/widget/config` ride with it.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(stats_summary))
        .routes(routes!(stats_by_user))
        .routes(routes!(bot_config))
        .routes(routes!(details))
        .routes(routes!(update_config))
        .routes(routes!(super::openapi::openapi_json))
        .routes(routes!(super::health::health))
        .routes(routes!(super::widget_config::widget_config))
        .merge(super::users::routes())
}

/// The sessions group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> axum::Router {
    super::serve(routes(), state)
}

// `config` and `userIdentifier` are matched by hand: a wrong type answers
// its own 400 (`config must be a JSON object`...), not a parser message.
#[derive(Deserialize, ToSchema)]
pub struct CreateSessionRequest {
    /// Required; merged over the tenant's defaults.
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    config: Option<Value>,
    /// The visitor, when tracked (`userIdentifier` also accepted).
    #[serde(default, alias = "userIdentifier")]
    #[schema(value_type = Option<String>, max_length = 255)]
    user_identifier: Option<Value>,
    /// Hex `HMAC-SHA256(identity secret, user_identifier)` from the
    /// tenant's server (or the `X-User-Signature` header); needed with a
    /// publishable key where the tenant requires signed identity.
    #[serde(default, rename = "userSignature", alias = "user_signature")]
    #[schema(value_type = Option<String>)]
    user_signature: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct ConfigRequest {
    /// Keys merged into the session's config.
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    config: Option<Value>,
}

/// The request's `config`: required, and an object.
fn required_config(config: Option<Value>) -> Result<SessionConfig, AppError> {
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

fn user_identifier(raw: Option<Value>) -> Result<Option<UserIdentifier>, AppError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(UserIdentifier::parse_optional(Some(&s))?),
        Some(_) => Err(AppError::bad_request("user_identifier must be a string")),
    }
}

fn new_session(body: CreateSessionRequest, caller: &Caller) -> Result<NewSession, AppError> {
    let config = required_config(body.config)?;
    let user_identifier = user_identifier(body.user_identifier)?;
    let user_signature = match body.user_signature {
        None | Some(Value::Null) => caller.user_signature.clone(),
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(AppError::bad_request("userSignature must be a string")),
    };
    Ok(NewSession {
        config,
        user_identifier,
        user_signature,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionResponse {
    #[schema(value_type = uuid::Uuid)]
    session_id: SessionId,
    #[schema(value_type = Object)]
    config: SessionConfig,
    /// `created`
    status: &'static str,
    timestamp: String,
    /// The tenant's branding, as the Django system's create response
    /// carried it (the same values as `bot-config`).
    #[schema(value_type = String)]
    bot_name: Value,
    #[schema(value_type = String)]
    powered_by: Value,
    #[schema(value_type = String)]
    bot_color: Value,
    /// `null` for none.
    #[schema(value_type = Option<String>)]
    bot_icon: Value,
    #[schema(value_type = String)]
    bot_msg_bg_color: Value,
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
    ApiJson(body): ApiJson<CreateSessionRequest>,
) -> Result<(StatusCode, Json<CreateSessionResponse>), AppError> {
    let new = new_session(body, &caller)?;
    let session = service::create(&state, &caller, new).await?;
    let bot = BotConfig::from(bot_config_of(&state, &caller.tenant));
    Ok((
        StatusCode::CREATED,
        Json(CreateSessionResponse {
            session_id: session.session_id.into(),
            config: session.config,
            status: "created",
            timestamp: iso8601(session.created_at),
            bot_name: bot.bot_name,
            powered_by: bot.powered_by,
            bot_color: bot.bot_color,
            bot_icon: bot.bot_icon,
            bot_msg_bg_color: bot.bot_msg_bg_color,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetails {
    #[schema(value_type = uuid::Uuid)]
    session_id: SessionId,
    #[schema(value_type = Object)]
    config: SessionConfig,
    user_identifier: Option<String>,
    message_count: i64,
    has_file: bool,
    created_at: String,
    last_activity: String,
    is_expired: bool,
}

#[utoipa::path(
    get, path = "/api/chat/sessions/{session_id}", tag = "sessions",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Session details", body = SessionDetails), Errors)
)]
pub(crate) async fn details(
    caller: Caller,
    State(state): State<AppState>,
    path: SessionPath,
) -> Result<Json<SessionDetails>, AppError> {
    let (session, is_expired) = service::details(&state, &caller, path.session_id).await?;
    Ok(Json(SessionDetails {
        session_id: session.session_id.into(),
        user_identifier: session.user_identifier,
        message_count: session.message_count,
        has_file: session.active_file.is_some(),
        created_at: iso8601(session.created_at),
        last_activity: iso8601(session.last_activity),
        config: session.config,
        is_expired,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResponse {
    #[schema(value_type = uuid::Uuid)]
    session_id: SessionId,
    #[schema(value_type = Object)]
    config: SessionConfig,
    /// `updated`
    status: &'static str,
}

/// Merges keys into the session's config. A publishable key may send only
/// `pageContext`, `pageData` and `jsonData`, on its own sessions (403
/// naming any other key).
#[utoipa::path(
    put, path = "/api/chat/sessions/{session_id}/config", tag = "sessions",
    params(("session_id" = Uuid, Path, description = "Session UUID"), ("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body = ConfigRequest,
    responses((status = 200, description = "Merged config", body = ConfigResponse), Errors)
)]
pub(crate) async fn update_config(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    path: SessionPath,
    ApiJson(body): ApiJson<ConfigRequest>,
) -> Result<Json<ConfigResponse>, AppError> {
    let changes = required_config(body.config)?;
    let session = service::update_config(&state, &caller, path.session_id, &changes).await?;
    Ok(Json(ConfigResponse {
        session_id: session.session_id.into(),
        config: session.config,
        status: "updated",
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsSummary {
    total_sessions: i64,
    recently_active: i64,
    timestamp: String,
}

#[utoipa::path(
    get, path = "/api/chat/sessions/stats/summary", tag = "sessions",
    responses((status = 200, description = "Session counts", body = StatsSummary), Errors)
)]
pub(crate) async fn stats_summary(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<StatsSummary>, AppError> {
    let (stats, recently_active) = stats::summary(&state, caller.tenant_id()).await?;
    Ok(Json(StatsSummary {
        total_sessions: stats.total_sessions,
        recently_active,
        timestamp: iso8601(state.now_ms()),
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    total_sessions: i64,
    sessions_with_user: i64,
    sessions_without_user: i64,
    #[schema(value_type = i64)]
    unique_users: usize,
}

/// The by-user response's shape, for the OpenAPI document: the handler
/// writes the body itself, splicing in the users' JSON the service keeps.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct StatsByUser {
    /// Sessions per user identifier.
    user_stats: std::collections::BTreeMap<String, i64>,
    summary: UserSummary,
}

#[utoipa::path(
    get, path = "/api/chat/sessions/stats/by-user", tag = "sessions",
    responses((status = 200, description = "Sessions per user", body = StatsByUser), Errors)
)]
pub(crate) async fn stats_by_user(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let users = stats::by_user(&state, caller.tenant_id()).await?;
    let summary = serde_json::to_vec(&UserSummary {
        total_sessions: users.stats.total_sessions,
        sessions_with_user: users.stats.sessions_with_user,
        sessions_without_user: users.stats.sessions_without_user,
        unique_users: users.unique_users,
    })
    .unwrap_or_default();
    // `{"userStats":<users>,"summary":<summary>}`, the users' object (330 KB
    // at 10,000 users) sent from the reading that all its requests share.
    let body = parts::body([
        Bytes::from_static(br#"{"userStats":"#),
        users.json,
        Bytes::from_static(br#","summary":"#),
        Bytes::from(summary),
        Bytes::from_static(b"}"),
    ]);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

// The bot's appearance and the widget's first words: the tenant's settings
// over the deployment's `BOT_*` defaults.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotConfig {
    #[schema(value_type = String)]
    bot_name: Value,
    #[schema(value_type = String)]
    powered_by: Value,
    #[schema(value_type = String)]
    bot_color: Value,
    #[schema(value_type = Option<String>)]
    bot_icon: Value,
    #[schema(value_type = String)]
    bot_msg_bg_color: Value,
    /// The widget's greeting; `null` for none.
    #[schema(value_type = Option<String>)]
    welcome_message: Value,
    /// Suggestions the widget offers before the first message.
    #[schema(value_type = Vec<String>)]
    starter_prompts: Value,
    /// `right` or `left`.
    #[schema(value_type = String)]
    position: Value,
    /// `light`, `dark` or `auto` (the visitor's system setting).
    #[schema(value_type = String)]
    theme: Value,
    /// The interface language (BCP 47); `null`: the visitor's browser's.
    #[schema(value_type = Option<String>)]
    language: Value,
}

impl From<Map<String, Value>> for BotConfig {
    fn from(mut m: Map<String, Value>) -> Self {
        let mut take = |k: &str| m.remove(k).unwrap_or(Value::Null);
        Self {
            bot_name: take("botName"),
            powered_by: take("poweredBy"),
            bot_color: take("botColor"),
            bot_icon: take("botIcon"),
            bot_msg_bg_color: take("botMsgBgColor"),
            welcome_message: take("welcomeMessage"),
            starter_prompts: take("starterPrompts"),
            position: take("position"),
            theme: take("theme"),
            language: take("language"),
        }
    }
}

#[utoipa::path(
    get, path = "/api/chat/sessions/bot-config", tag = "sessions",
    responses((status = 200, description = "Bot appearance and the widget's settings", body = BotConfig), Errors)
)]
pub(crate) async fn bot_config(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
) -> Json<BotConfig> {
    Json(bot_config_of(&state, &caller.tenant).into())
}
