//! The reference's "GDPR Compliance": erase everything stored about a user,
//! or export it.
//!
//! A user's sessions are found through their session list
//! (`TENANT#{tid}#USER#{user}` / `SESSION#{sid}`, written with each session
//! that names the user), never by scanning.

use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::model::{FileRecord, Message, Session, UserIdentifier};
use crate::store::Item;
use crate::store::keys;
use crate::store::repo::SessionContents;

/// File contents an export carries at most, in total; larger files are
/// listed without content (a Lambda response is at most 6 MB).
pub const MAX_EXPORT_CONTENT_BYTES: usize = 4 * 1024 * 1024;

/// What an erase removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub sessions: usize,
    pub messages: usize,
    pub files: usize,
}

/// Erases the user's sessions with their messages, file records and file
/// bytes (those of direct uploads never completed too), their session list
/// and counters, and takes their sessions off the tenant's counters. Safe
/// to repeat: an erase that failed half-way is finished by the next one; a
/// user with nothing stored erases nothing.
pub async fn erase(state: &AppState, tenant: Uuid, user: &UserIdentifier) -> ServiceResult<Erased> {
    let sessions = state.repo.user_session_ids(tenant, user.as_str()).await?;
    let mut erased = Erased {
        sessions: sessions.len(),
        ..Erased::default()
    };
    for &sid in &sessions {
        let contents = state.repo.session_contents(tenant, sid).await?;
        // A list entry pointing at another user's session cannot exist (the
        // entry is written with the session); check anyway before deleting.
        if let Some(session) = &contents.session
            && session.user_identifier.as_deref() != Some(user.as_str())
        {
            continue;
        }
        erased.messages += contents.messages.len();
        erased.files += contents.files.len();
        erase_session(state, tenant, sid, &contents, Some(user.as_str()), false).await?;
    }
    state.repo.delete_user_stat(tenant, user.as_str()).await?;
    Ok(erased)
}

/// Erases one session given its contents: the file bytes first (once the
/// records are gone nothing points at them), then the records
/// ([`crate::store::repo::Repository::erase_session`]: safe to repeat).
/// With `uncount_user` the user's session count drops by one (erasing a
/// user deletes the user's counters instead).
pub async fn erase_session(
    state: &AppState,
    tenant: Uuid,
    sid: Uuid,
    contents: &SessionContents,
    user: Option<&str>,
    uncount_user: bool,
) -> ServiceResult<()> {
    for file in &contents.files {
        state.blobs.delete(&file.blob_key).await?;
    }
    for upload in &contents.uploads {
        // The bytes PUT to the presigned URL, and the file a completion
        // that did not finish may have written.
        state
            .blobs
            .delete(&keys::upload_blob(tenant, sid, upload.file_id))
            .await?;
        state
            .blobs
            .delete(&keys::file_blob(tenant, sid, upload.file_id))
            .await?;
    }
    state
        .repo
        .erase_session(tenant, sid, user, uncount_user)
        .await?;
    Ok(())
}

/// The user's counters, as stored.
pub struct UserSummary {
    pub session_count: i64,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// A file and, within the export's budget, its bytes.
pub struct ExportedFile {
    pub record: FileRecord,
    pub content: Option<bytes::Bytes>,
}

pub struct ExportedSession {
    pub session: Session,
    pub messages: Vec<Message>,
    pub files: Vec<ExportedFile>,
}

pub struct Export {
    pub summary: Option<UserSummary>,
    pub sessions: Vec<ExportedSession>,
}

/// Everything stored about the user: their counters, and each session with
/// its messages and files (with the files' contents, within
/// [`MAX_EXPORT_CONTENT_BYTES`]). `UserNotFound` when nothing is stored.
pub async fn export(
    state: &AppState,
    tenant: Uuid,
    user: &UserIdentifier,
) -> ServiceResult<Export> {
    let stat = state.repo.user_stat_item(tenant, user.as_str()).await?;
    let ids = state.repo.user_session_ids(tenant, user.as_str()).await?;
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
        for record in contents.files {
            let content = read_within(state, &record, &mut budget).await?;
            files.push(ExportedFile { record, content });
        }
        sessions.push(ExportedSession {
            session,
            messages: contents.messages,
            files,
        });
    }
    if stat.is_none() && sessions.is_empty() {
        return Err(ServiceError::UserNotFound);
    }
    Ok(Export {
        summary: stat.as_ref().map(summary_of),
        sessions,
    })
}

/// The file's bytes when they fit what is left of the budget.
async fn read_within(
    state: &AppState,
    file: &FileRecord,
    budget: &mut usize,
) -> ServiceResult<Option<bytes::Bytes>> {
    if file.size as usize > *budget {
        return Ok(None);
    }
    match state.blobs.get(&file.blob_key).await? {
        Some(bytes) if bytes.len() <= *budget => {
            *budget -= bytes.len();
            Ok(Some(bytes))
        }
        _ => Ok(None),
    }
}

fn summary_of(item: &Item) -> UserSummary {
    let int = |name: &str| item.get(name).and_then(serde_json::Value::as_i64);
    UserSummary {
        session_count: int("session_count").unwrap_or(0),
        first_seen: int("first_seen"),
        last_seen: int("last_seen"),
    }
}
