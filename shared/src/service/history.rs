//! A session's messages: read them page by page, or clear them.

use uuid::Uuid;

use super::{ServiceError, ServiceResult, load_session};
use crate::AppState;
use crate::auth::Caller;
use crate::model::{Message, Session, SessionId};
use crate::store::keys;
use crate::store::{Cursor, Key};

/// Page size when reading a whole history.
const FULL_HISTORY_PAGE: usize = 500;

/// Which messages to read.
pub struct HistoryRequest {
    pub session_id: SessionId,
    /// The newest `limit` messages; the whole history when `None`.
    pub limit: Option<usize>,
    /// The id of the oldest message of the page before.
    pub before: Option<Uuid>,
}

pub struct History {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Read on a first page only (later pages read no session item).
    pub session: Option<Session>,
    /// The id to pass as `before` for the next older page, if any.
    pub next: Option<String>,
}

/// One read per page; the first page also proves the session exists.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    request: HistoryRequest,
) -> ServiceResult<History> {
    let tenant = caller.tenant_id();
    let session_id = request.session_id.uuid();
    let cursor = request.before.map(|id| Cursor {
        key: keys::message(tenant, session_id, id),
        index_key: None,
    });
    let first_page = cursor.is_none();
    if !first_page && caller.is_publishable() {
        // A later page reads no session item; a publishable key must still
        // prove the session is its own.
        load_session(state, caller, request.session_id).await?;
    }
    let page_size = request.limit.unwrap_or(FULL_HISTORY_PAGE);
    let first = state
        .repo
        .history_page(tenant, session_id, page_size, cursor)
        .await?;
    // A first page starts at the session item: without it, no session.
    if first_page {
        let session = first
            .session
            .as_ref()
            .ok_or(ServiceError::SessionNotFound)?;
        caller.authorize(session)?;
    }
    let mut newest_first = first.messages;
    let mut next = first.next;
    if request.limit.is_none() {
        while let Some(after) = next.take() {
            let page = state
                .repo
                .history_page(tenant, session_id, page_size, Some(after))
                .await?;
            newest_first.extend(page.messages);
            next = page.next;
        }
    }
    newest_first.reverse();
    Ok(History {
        messages: newest_first,
        session: first.session,
        next: next.as_ref().and_then(message_id_of),
    })
}

fn message_id_of(cursor: &Cursor) -> Option<String> {
    let Key { sk, .. } = &cursor.key;
    sk.strip_prefix(keys::MSG_PREFIX).map(str::to_owned)
}

/// Deletes the session's messages; how many there were.
pub async fn clear(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
) -> ServiceResult<(Session, i64)> {
    let session = load_session(state, caller, session_id).await?;
    let cleared = state
        .repo
        .clear_messages(session.tenant_id, session.session_id)
        .await?;
    Ok((session, cleared))
}
