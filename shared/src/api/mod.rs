//! One router per endpoint group, all under `/api/chat/`. A Lambda function
//! serves one group; `chatctl serve` merges them with [`app`].

pub mod files;
pub mod messages;
pub mod openapi;
pub mod sessions;
pub mod users;
pub mod widget;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::http::AppError;
use crate::model::Session;

/// One operation: what the router serves and the OpenAPI document lists.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: MethodRouter<AppState>,
}

impl Endpoint {
    pub(crate) fn new(method: Method, path: &'static str, route: MethodRouter<AppState>) -> Self {
        Self {
            method,
            path,
            route,
        }
    }
}

/// A router serving exactly these endpoints.
pub(crate) fn build(endpoints: Vec<Endpoint>, state: AppState) -> Router {
    let mut router = Router::new();
    for e in endpoints {
        router = router.route(e.path, e.route);
    }
    router.with_state(state)
}

/// Every operation the routers serve, by method and path (as the OpenAPI
/// document writes paths).
pub fn route_table(state: &AppState) -> Vec<(Method, &'static str)> {
    [
        sessions::endpoints(state),
        messages::endpoints(state),
        files::endpoints(state),
    ]
    .into_iter()
    .flatten()
    .map(|e| (e.method, e.path))
    .collect()
}

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
