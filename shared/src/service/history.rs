//! A session's messages: read them page by page, or clear them.

use uuid::Uuid;

use super::{ServiceError, ServiceResult, load_session};
use crate::AppState;
use crate::auth::Caller;
use crate::config::StoreKind;
use crate::model::{Message, Session, SessionId};
use crate::store::keys;
use crate::store::{Cursor, Key};

/// Page size when reading a whole history. Each page is decoded, encoded
/// by the caller and dropped before the next is read, so the page bounds
/// what a whole history holds decoded. On the embedded store a page is a
/// read in the process and one server answers every request at once: pages
/// of 100 (16 whole histories of 1,000 messages read at once peaked 8-18 MB
/// lower than in pages of 500). On DynamoDB each page is a round trip and
/// a Lambda instance answers one request at a time: pages of 500.
pub fn full_history_page(store: StoreKind) -> usize {
    match store {
        StoreKind::Embedded => 100,
        StoreKind::DynamoDb => 500,
    }
}

/// Which messages to read.
pub struct HistoryRequest {
    pub session_id: SessionId,
    /// The newest `limit` messages; the whole history when `None`.
    pub limit: Option<usize>,
    /// The id of the oldest message of the page before.
    pub before: Option<Uuid>,
}

/// What a history read found. `P` is a page of messages as the caller's
/// `page` function made it (the API encodes each page to JSON as it
/// comes, so a whole history is never held decoded at once).
pub struct History<P> {
    /// Oldest page first; each page made from its messages, oldest first.
    pub pages: Vec<P>,
    /// Read on a first page only (later pages read no session item).
    pub session: Option<Session>,
    /// The id to pass as `before` for the next older page, if any.
    pub next: Option<String>,
}

/// One read per page; the first page also proves the session exists.
/// Each page read goes through `page` (its messages oldest first) before
/// the next is read.
pub async fn history<P>(
    state: &AppState,
    caller: &Caller,
    request: HistoryRequest,
    mut page: impl FnMut(Vec<Message>) -> P,
) -> ServiceResult<History<P>> {
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
    let page_size = request
        .limit
        .unwrap_or_else(|| full_history_page(state.config.store));
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
    // Pages are read newest first; each is reversed into oldest first.
    let mut oldest_first = |mut messages: Vec<Message>| {
        messages.reverse();
        page(messages)
    };
    let mut pages = vec![oldest_first(first.messages)];
    let mut next = first.next;
    if request.limit.is_none() {
        while let Some(after) = next.take() {
            let older = state
                .repo
                .history_page(tenant, session_id, page_size, Some(after))
                .await?;
            pages.push(oldest_first(older.messages));
            next = older.next;
        }
    }
    pages.reverse();
    Ok(History {
        pages,
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
