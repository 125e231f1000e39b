//! A visitor rates an assistant reply (thumbs up or down, an optional
//! comment); rating again replaces the earlier rating.

use super::{ServiceError, ServiceResult, load_session};
use crate::AppState;
use crate::auth::Caller;
use crate::model::SessionId;
use crate::store::repo::{NewRating, RateOutcome, Rating};

/// A validated rating.
pub struct FeedbackRequest {
    pub session_id: SessionId,
    pub message_id: uuid::Uuid,
    pub rating: Rating,
    pub comment: Option<String>,
}

/// Reads the session (a publishable key rates only its own sessions' replies),
/// then stores the rating in one atomic write with its counters.
pub async fn rate(
    state: &AppState,
    caller: &Caller,
    request: &FeedbackRequest,
) -> ServiceResult<()> {
    let session = load_session(state, caller, request.session_id).await?;
    let outcome = state
        .repo
        .rate_message(&NewRating {
            tenant: session.tenant_id,
            session: session.session_id,
            message: request.message_id,
            rating: request.rating,
            comment: request.comment.as_deref(),
            at_ms: state.now_ms(),
        })
        .await?;
    match outcome {
        RateOutcome::Rated => Ok(()),
        RateOutcome::MessageNotFound => Err(ServiceError::MessageNotFound),
        RateOutcome::NotAReply => Err(ServiceError::NotAReply),
    }
}
