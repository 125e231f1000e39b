//! `/api/tenant/sessions`: the tenant's conversations, paged and filtered;
//! one conversation with its transcript; deleting one.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::http::AppError;
use crate::http::extract::SessionPath;
use crate::model::{ActiveFile, Role, SessionConfig, UserIdentifier};
use crate::service::tenant_sessions as service;
use crate::store::repo::{SessionFilter, SessionRow, TranscriptMessage, is_session_cursor};

/// Rows per page unless the caller asks otherwise, and at most.
const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(transcript, delete))
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    user: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackCounts {
    up: i64,
    down: i64,
}

/// A session as a list row shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    session_id: Uuid,
    user_identifier: Option<String>,
    created_at: String,
    last_activity: String,
    message_count: i64,
    has_file: bool,
    feedback: FeedbackCounts,
    /// The first user message, cut to 120 characters.
    preview: Option<String>,
}

impl From<&SessionRow> for SessionSummary {
    fn from(row: &SessionRow) -> Self {
        let s = &row.session;
        Self {
            session_id: s.session_id,
            user_identifier: s.user_identifier.clone(),
            created_at: iso8601(s.created_at),
            last_activity: iso8601(s.last_activity),
            message_count: s.message_count,
            has_file: s.active_file.is_some(),
            feedback: FeedbackCounts {
                up: row.feedback_up,
                down: row.feedback_down,
            },
            preview: row.preview.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    /// Newest activity first.
    sessions: Vec<SessionSummary>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

/// An instant given as `yyyy-mm-dd` (the start of that UTC day, or its end
/// for `to`) or RFC 3339; epoch ms.
fn instant(raw: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        return Some(if end_of_day {
            start + 86_399_999
        } else {
            start
        });
    }
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The `from` and `to` of a query string, as an activity range (epoch ms).
pub(super) fn activity_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let bound = |raw: Option<&str>, end: bool, name: &'static str| match raw {
        None | Some("") => Ok(None),
        Some(raw) => instant(raw, end)
            // The activity keys are 13-digit epoch ms.
            .filter(|ms| (0..9_999_999_999_999).contains(ms))
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_request_detail(name, "a date (yyyy-mm-dd) or an RFC 3339 time")
            }),
    };
    Ok((
        bound(from, false, "Invalid from")?,
        bound(to, true, "Invalid to")?,
    ))
}

fn list_request(params: ListParams) -> Result<(SessionFilter, usize, Option<String>), AppError> {
    let (from_ms, to_ms) = activity_range(params.from.as_deref(), params.to.as_deref())?;
    let user = match params.user.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(UserIdentifier::parse(raw)?.into_string()),
    };
    let limit = match params.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                AppError::bad_request_detail(
                    "Invalid limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                )
            })?,
    };
    let cursor = match params.cursor {
        None => None,
        Some(c) if c.is_empty() => None,
        Some(c) if is_session_cursor(&c) => Some(c),
        Some(_) => return Err(AppError::bad_request("Invalid cursor")),
    };
    let filter = SessionFilter {
        user,
        from_ms,
        to_ms,
    };
    Ok((filter, limit, cursor))
}

/// The tenant's sessions, newest activity first, optionally one user's
/// and those last active between `from` and `to`; one index query per
/// page (GSI1, or GSI2 for a user), never a scan.
#[utoipa::path(
    get, path = "/api/tenant/sessions", tag = "tenant",
    params(
        ("user" = Option<String>, Query, description = "Only this user_identifier's sessions"),
        ("from" = Option<String>, Query, description = "Last active at or after: yyyy-mm-dd (UTC) or RFC 3339"),
        ("to" = Option<String>, Query, description = "Last active at or before: yyyy-mm-dd (that whole UTC day) or RFC 3339"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Rows per page, default 20"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of sessions", body = SessionList), Errors)
)]
pub(crate) async fn list(
    caller: Caller,
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<SessionList>, AppError> {
    let Query(params) =
        params.map_err(|e| AppError::bad_request_detail("Invalid query string", e.body_text()))?;
    let (filter, limit, cursor) = list_request(params)?;
    let page = service::list(&state, &caller, &filter, limit, cursor.as_deref()).await?;
    Ok(Json(SessionList {
        sessions: page.rows.iter().map(SessionSummary::from).collect(),
        next_cursor: page.next,
    }))
}

/// The active file, without its prompt excerpt.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileSummary {
    file_id: Uuid,
    name: String,
    #[serde(rename = "type")]
    file_type: String,
    size: u64,
    rows: u64,
    columns: Vec<String>,
    summary: String,
    uploaded_at: String,
}

impl From<&ActiveFile> for FileSummary {
    fn from(f: &ActiveFile) -> Self {
        Self {
            file_id: f.file_id,
            name: f.name.clone(),
            file_type: f.file_type.clone(),
            size: f.size,
            rows: f.rows,
            columns: f.columns.clone(),
            summary: f.summary.clone(),
            uploaded_at: iso8601(f.uploaded_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackEntry {
    /// `up` or `down`
    rating: String,
    comment: Option<String>,
    at: Option<String>,
}

/// A message of a transcript: its id, role, content and time, what the
/// provider reported (`provider`, `model`, `inputTokens`, `outputTokens`,
/// `latencyMs`; `status: "failed"` on a user message whose reply failed)
/// and the visitor's rating of a reply.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptEntry {
    message_id: Uuid,
    /// `user`, `assistant` or `system`
    #[schema(value_type = String)]
    role: Role,
    content: String,
    timestamp: String,
    #[serde(flatten)]
    #[schema(ignore)]
    metadata: Map<String, Value>,
    feedback: Option<FeedbackEntry>,
}

impl From<TranscriptMessage> for TranscriptEntry {
    fn from(t: TranscriptMessage) -> Self {
        let mut metadata = t.message.metadata;
        for own in ["messageId", "role", "content", "timestamp", "feedback"] {
            metadata.remove(own);
        }
        Self {
            message_id: t.message.message_id,
            role: t.message.role,
            content: t.message.content,
            timestamp: iso8601(t.message.timestamp),
            metadata,
            feedback: t.feedback.map(|f| FeedbackEntry {
                rating: f.rating,
                comment: f.comment,
                at: f.at.map(iso8601),
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionTranscript {
    #[serde(flatten)]
    summary: SessionSummary,
    is_expired: bool,
    #[schema(value_type = Object)]
    config: SessionConfig,
    /// The active file, or null.
    file: Option<FileSummary>,
    /// Every message, oldest first.
    messages: Vec<TranscriptEntry>,
}

/// One session with its config, active file and whole transcript (each
/// message's id, time, provider, model, tokens, latency and feedback).
#[utoipa::path(
    get, path = "/api/tenant/sessions/{session_id}", tag = "tenant",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "The session and its transcript", body = SessionTranscript), Errors)
)]
pub(crate) async fn transcript(
    caller: Caller,
    State(state): State<AppState>,
    path: SessionPath,
) -> Result<Json<SessionTranscript>, AppError> {
    let t = service::transcript(&state, &caller, path.session_id).await?;
    let session = &t.row.session;
    Ok(Json(SessionTranscript {
        summary: SessionSummary::from(&t.row),
        is_expired: session.is_expired(state.now_ms(), state.config.session_timeout_secs),
        config: session.config.clone(),
        file: session.active_file.as_ref().map(FileSummary::from),
        messages: t.messages.into_iter().map(TranscriptEntry::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedSession {
    session_id: Uuid,
    /// `deleted`
    status: &'static str,
}

/// Deletes the session with its messages and files, as erasing its user
/// does for each of the user's sessions.
#[utoipa::path(
    delete, path = "/api/tenant/sessions/{session_id}", tag = "tenant",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Deleted", body = DeletedSession), Errors)
)]
pub(crate) async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    path: SessionPath,
) -> Result<Json<DeletedSession>, AppError> {
    service::delete(&state, &caller, path.session_id).await?;
    Ok(Json(DeletedSession {
        session_id: path.session_id.uuid(),
        status: "deleted",
    }))
}
