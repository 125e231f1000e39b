//! What a request does, in typed inputs and outputs: handlers parse, call
//! one function here and map its result to a response. Services know
//! nothing of HTTP bodies; they return [`ServiceError`].

pub mod analytics;
pub mod budget;
pub mod error;
pub mod exchange;
pub mod export;
pub mod feedback;
pub mod files;
pub mod history;
pub mod knowledge;
pub mod privacy;
pub mod provider_choice;
pub mod sessions;
pub mod stats;
pub mod tenant;
pub mod tenant_sessions;

pub use error::{ServiceError, ServiceResult};

use crate::AppState;
use crate::auth::Caller;
use crate::model::{Session, SessionId};

/// The caller's session, or `SessionNotFound`: another tenant's session id
/// is simply not found, since the tenant id is part of the key; a
/// publishable key finds only the sessions it created (and needs the
/// visitor's signature where the tenant requires one).
pub async fn load_session(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
) -> ServiceResult<Session> {
    let session = state
        .repo
        .get_session(caller.tenant_id(), session_id.uuid())
        .await?
        .ok_or(ServiceError::SessionNotFound)?;
    caller.authorize(&session)?;
    Ok(session)
}

/// A session that may still take new messages and files.
pub fn ensure_live(state: &AppState, session: &Session) -> ServiceResult<()> {
    if session.is_expired(state.now_ms(), state.config.session_timeout_secs) {
        Err(ServiceError::SessionExpired)
    } else {
        Ok(())
    }
}
