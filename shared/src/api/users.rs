//! `/api/chat/users/{user_identifier}`: the reference's "GDPR Compliance"
//! — erase everything stored about a user, or export it. Secret keys only.
//!
//! A user's sessions are found through their session list
//! (`TENANT#{tid}#USER#{user}` / `SESSION#{sid}`, written with each session
//! that names the user), never by scanning.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get};
use serde_json::{Map, Value, json};

use super::Endpoint;
#[allow(unused_imports)]
use super::openapi::*;
use crate::AppState;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::http::{ApiPath, AppError};
use crate::model::Message;
use crate::store::keys;

/// File contents an export carries at most, in total; larger files are
/// listed with `contentOmitted: true` (a Lambda response is at most 6 MB).
pub const MAX_EXPORT_CONTENT_BYTES: usize = 4 * 1024 * 1024;

pub fn endpoints(_state: &AppState) -> Vec<Endpoint> {
    vec![
        Endpoint::new(
            Method::DELETE,
            "/api/chat/users/{user_identifier}",
            delete(erase),
        ),
        Endpoint::new(
            Method::GET,
            "/api/chat/users/{user_identifier}/export",
            get(export),
        ),
    ]
}

/// The identifier from the path, as sessions store it.
fn user_identifier(raw: &str) -> Result<String, AppError> {
    let user = raw.trim();
    if user.is_empty() {
        return Err(AppError::bad_request("user_identifier is required"));
    }
    if user.chars().count() > super::sessions::MAX_USER_IDENTIFIER_CHARS {
        return Err(AppError::bad_request_detail(
            "user_identifier too long",
            format!(
                "at most {} characters",
                super::sessions::MAX_USER_IDENTIFIER_CHARS
            ),
        ));
    }
    Ok(user.to_owned())
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
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let user = user_identifier(&raw)?;
    let tenant = caller.tenant_id();
    let sessions = state.repo.user_session_ids(tenant, &user).await?;
    let (mut messages, mut files) = (0usize, 0usize);
    for &sid in &sessions {
        let contents = state.repo.session_contents(tenant, sid).await?;
        // A list entry pointing at another user's session cannot exist (the
        // entry is written with the session); check anyway before deleting.
        if let Some(session) = &contents.session
            && session.user_identifier.as_deref() != Some(user.as_str())
        {
            continue;
        }
        // Bytes first: once the records are gone nothing points at them.
        for file in &contents.files {
            state.blobs.delete(&file.blob_key).await?;
        }
        for upload in &contents.uploads {
            state
                .blobs
                .delete(&keys::file_blob(tenant, sid, upload.file_id))
                .await?;
        }
        messages += contents.messages.len();
        files += contents.files.len();
        state.repo.erase_user_session(tenant, &user, sid).await?;
    }
    state.repo.delete_user_stat(tenant, &user).await?;
    Ok(Json(json!({
        "userIdentifier": user,
        "status": "erased",
        "sessionsErased": sessions.len(),
        "messagesErased": messages,
        "filesErased": files,
        "timestamp": iso8601(state.now_ms()),
    })))
}

/// Everything stored about the user: their counters, and each session with
/// its messages and files (with the files' contents, within
/// [`MAX_EXPORT_CONTENT_BYTES`]). 404 when nothing is stored.
#[utoipa::path(
    get, path = "/api/chat/users/{user_identifier}/export", tag = "privacy",
    params(("user_identifier" = String, Path, description = "The user identifier sessions were created with")),
    responses((status = 200, description = "Everything stored about the user", body = ExportResponse), Errors)
)]
pub(crate) async fn export(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let user = user_identifier(&raw)?;
    let tenant = caller.tenant_id();
    let stat = state.repo.user_stat_item(tenant, &user).await?;
    let ids = state.repo.user_session_ids(tenant, &user).await?;
    let mut budget = MAX_EXPORT_CONTENT_BYTES;
    let mut sessions = Vec::with_capacity(ids.len());
    for sid in ids {
        let contents = state.repo.session_contents(tenant, sid).await?;
        let Some(session) = contents.session else {
            continue;
        };
        if session.user_identifier.as_deref() != Some(user.as_str()) {
            continue;
        }
        let mut files = Vec::with_capacity(contents.files.len());
        for file in &contents.files {
            let mut entry = json!({
                "fileId": file.file_id,
                "name": file.name,
                "type": file.file_type,
                "size": file.size,
                "summary": file.summary,
                "columns": file.columns,
                "rows": file.rows,
                "uploadedAt": iso8601(file.uploaded_at),
                "isActive": file.is_active,
            });
            let bytes = if (file.size as usize) <= budget {
                state.blobs.get(&file.blob_key).await?
            } else {
                None
            };
            match bytes {
                Some(bytes) if bytes.len() <= budget => {
                    budget -= bytes.len();
                    entry["content"] = String::from_utf8_lossy(&bytes).into_owned().into();
                }
                _ => entry["contentOmitted"] = true.into(),
            }
            files.push(entry);
        }
        sessions.push(json!({
            "sessionId": session.session_id,
            "config": session.config,
            "createdAt": iso8601(session.created_at),
            "lastActivity": iso8601(session.last_activity),
            "messageCount": session.message_count,
            "messages": contents.messages.iter().map(Message::to_dict).collect::<Vec<_>>(),
            "files": files,
        }));
    }
    if stat.is_none() && sessions.is_empty() {
        return Err(AppError::UserNotFound);
    }
    let summary = stat.map(|item| {
        let int = |name: &str| item.get(name).and_then(Value::as_i64);
        let mut out = Map::new();
        out.insert(
            "sessionCount".into(),
            int("session_count").unwrap_or(0).into(),
        );
        if let Some(t) = int("first_seen") {
            out.insert("firstSeen".into(), iso8601(t).into());
        }
        if let Some(t) = int("last_seen") {
            out.insert("lastSeen".into(), iso8601(t).into());
        }
        Value::Object(out)
    });
    Ok(Json(json!({
        "userIdentifier": user,
        "exportedAt": iso8601(state.now_ms()),
        "summary": summary,
        "sessions": sessions,
    })))
}
