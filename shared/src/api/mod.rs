//! One router per endpoint group, all under `/api/chat/`. A Lambda function
//! serves one group; `chatctl serve` merges them with [`app`].
//!
//! Each group's `routes()` is one list of `.routes(routes!(handler))`
//! lines: the same list makes the axum router and the group's part of the
//! OpenAPI document, so adding an endpoint is one handler (with its
//! `#[utoipa::path]`) plus one line there.

pub mod console;
pub mod error;
pub mod files;
pub mod health;
pub mod messages;
pub mod openapi;
pub mod sessions;
pub mod tenant;
pub mod users;
pub mod widget;
pub mod widget_config;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// Every group, with the document's shared parts (info, security, tags).
pub(crate) fn groups() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(sessions::routes())
        .merge(messages::routes())
        .merge(files::routes())
        .merge(tenant::routes())
}

/// A group's router as a host serves it: with the shared layers.
pub(crate) fn serve(group: OpenApiRouter<AppState>, state: AppState) -> Router {
    crate::http::finish(Router::from(group).with_state(state))
}

/// Every group in one router.
pub fn app(state: AppState) -> Router {
    serve(groups(), state)
}
