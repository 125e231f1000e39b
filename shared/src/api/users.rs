//! `/api/chat/users/{user_identifier}`: the reference's "GDPR Compliance"
//! — erase everything stored about a user, or export it. Secret keys only.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::MessageDict;
use super::openapi::Errors;
use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::http::AppError;
use crate::model::{SessionConfig, SessionId, UserIdentifier};
use crate::service::privacy::{self, ExportedFile, ExportedSession};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(erase))
        .routes(routes!(export))
}

/// `/{user_identifier}` in a path; its rule is [`UserIdentifier::parse`].
#[derive(Deserialize, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct UserPath {
    user_identifier: String,
}

impl UserPath {
    fn parse(self) -> Result<UserIdentifier, AppError> {
        Ok(UserIdentifier::parse(&self.user_identifier)?)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EraseResponse {
    #[schema(value_type = String)]
    user_identifier: UserIdentifier,
    /// `erased`
    status: &'static str,
    #[schema(value_type = u64)]
    sessions_erased: usize,
    #[schema(value_type = u64)]
    messages_erased: usize,
    #[schema(value_type = u64)]
    files_erased: usize,
    timestamp: String,
}

/// Erases the user's sessions with their messages, file records and file
/// bytes, their session list and counters, and takes their sessions off the
/// tenant's counters. Safe to repeat: an erase that failed half-way is
/// finished by the next one; a user with nothing stored erases nothing.
#[utoipa::path(
    delete, path = "/api/chat/users/{user_identifier}", tag = "privacy",
    params(("user_identifier" = String, Path, description = "The user identifier sessions were created with")),
    responses((status = 200, description = "Everything of the user erased", body = EraseResponse), Errors)
)]
pub(crate) async fn erase(
    caller: Caller,
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Json<EraseResponse>, AppError> {
    let user = path.parse()?;
    let erased = privacy::erase(&state, caller.tenant_id(), &user).await?;
    Ok(Json(EraseResponse {
        user_identifier: user,
        status: "erased",
        sessions_erased: erased.sessions,
        messages_erased: erased.messages,
        files_erased: erased.files,
        timestamp: iso8601(state.now_ms()),
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    session_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seen: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportFile {
    file_id: uuid::Uuid,
    name: String,
    #[serde(rename = "type")]
    file_type: String,
    size: u64,
    summary: String,
    columns: Vec<String>,
    rows: u64,
    uploaded_at: String,
    is_active: bool,
    /// The file's text, unless the export's 4 MB budget was spent.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_omitted: Option<bool>,
}

impl From<ExportedFile> for ExportFile {
    fn from(f: ExportedFile) -> Self {
        let r = f.record;
        let content = f
            .content
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        Self {
            content_omitted: content.is_none().then_some(true),
            content,
            file_id: r.file_id,
            name: r.name,
            file_type: r.file_type,
            size: r.size,
            summary: r.summary,
            columns: r.columns,
            rows: r.rows,
            uploaded_at: iso8601(r.uploaded_at),
            is_active: r.is_active,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportSession {
    #[schema(value_type = uuid::Uuid)]
    session_id: SessionId,
    #[schema(value_type = Object)]
    config: SessionConfig,
    created_at: String,
    last_activity: String,
    message_count: i64,
    messages: Vec<MessageDict>,
    files: Vec<ExportFile>,
}

impl From<ExportedSession> for ExportSession {
    fn from(e: ExportedSession) -> Self {
        let s = e.session;
        Self {
            session_id: s.session_id.into(),
            config: s.config,
            created_at: iso8601(s.created_at),
            last_activity: iso8601(s.last_activity),
            message_count: s.message_count,
            messages: e.messages.into_iter().map(MessageDict::from).collect(),
            files: e.files.into_iter().map(ExportFile::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResponse {
    #[schema(value_type = String)]
    user_identifier: UserIdentifier,
    exported_at: String,
    summary: Option<ExportSummary>,
    sessions: Vec<ExportSession>,
}

/// Everything stored about the user: their counters, and each session with
/// its messages and files (with the files' contents, within
/// [`privacy::MAX_EXPORT_CONTENT_BYTES`]). 404 when nothing is stored.
#[utoipa::path(
    get, path = "/api/chat/users/{user_identifier}/export", tag = "privacy",
    params(("user_identifier" = String, Path, description = "The user identifier sessions were created with")),
    responses((status = 200, description = "Everything stored about the user", body = ExportResponse), Errors)
)]
pub(crate) async fn export(
    caller: Caller,
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Json<ExportResponse>, AppError> {
    let user = path.parse()?;
    let export = privacy::export(&state, caller.tenant_id(), &user).await?;
    Ok(Json(ExportResponse {
        user_identifier: user,
        exported_at: iso8601(state.now_ms()),
        summary: export.summary.map(|s| ExportSummary {
            session_count: s.session_count,
            first_seen: s.first_seen.map(iso8601),
            last_seen: s.last_seen.map(iso8601),
        }),
        sessions: export
            .sessions
            .into_iter()
            .map(ExportSession::from)
            .collect(),
    }))
}
