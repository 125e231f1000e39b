//! One router per endpoint group, all under `/api/chat/`. A Lambda function
//! serves one group; `chatctl serve` merges them with [`app`].

pub mod files;
pub mod messages;
pub mod sessions;
pub mod users;

use axum::Router;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::http::AppError;
use crate::model::Session;

/// Every group in one router.
pub fn app(state: AppState) -> Router {
    crate::http::finish(
        Router::new()
            .merge(sessions::routes(state.clone()))
            .merge(messages::routes(state.clone()))
            .merge(files::routes(state)),
    )
}

/// The caller's session, or 404: another tenant's session id is simply not
/// found, since the tenant id is part of the key; a publishable key finds
/// only the sessions it created (and needs the visitor's signature where the
/// tenant requires one).
pub(crate) async fn load_session(
    state: &AppState,
    caller: &Caller,
    session_id: Uuid,
) -> Result<Session, AppError> {
    let session = state
        .repo
        .get_session(caller.tenant_id(), session_id)
        .await?
        .ok_or(AppError::SessionNotFound)?;
    caller.authorize(&session)?;
    Ok(session)
}

/// A session that may still take new messages and files.
pub(crate) fn ensure_live(state: &AppState, session: &Session) -> Result<(), AppError> {
    if session.is_expired(state.now_ms(), state.config.session_timeout_secs) {
        Err(AppError::SessionExpired)
    } else {
        Ok(())
    }
}
