//! A tenant's conversations: list them, read one whole, delete one.

use super::{ServiceError, ServiceResult, privacy};
use crate::AppState;
use crate::auth::Caller;
use crate::model::SessionId;
use crate::store::repo::{SessionFilter, SessionPage, Transcript};

/// One page of the caller's sessions, newest activity first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &SessionFilter,
    limit: usize,
    cursor: Option<&str>,
) -> ServiceResult<SessionPage> {
    Ok(state
        .repo
        .list_sessions(caller.tenant_id(), filter, limit, cursor)
        .await?)
}

/// The session with its whole transcript.
pub async fn transcript(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
) -> ServiceResult<Transcript> {
    state
        .repo
        .transcript(caller.tenant_id(), session_id.uuid())
        .await?
        .ok_or(ServiceError::SessionNotFound)
}

/// Deletes the session as erasing its user would: file bytes, every item
/// of its partition, its list entry, and it is taken off the tenant's and
/// the user's counters. The daily counters keep it (they count what
/// happened each day).
pub async fn delete(state: &AppState, caller: &Caller, session_id: SessionId) -> ServiceResult<()> {
    let (tenant, sid) = (caller.tenant_id(), session_id.uuid());
    let contents = state.repo.session_contents(tenant, sid).await?;
    let Some(session) = &contents.session else {
        return Err(ServiceError::SessionNotFound);
    };
    let user = session.user_identifier.as_deref();
    privacy::erase_session(state, tenant, sid, &contents, user, true).await
}
