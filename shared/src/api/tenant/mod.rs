//! `/api/tenant/*`: the tenant's own API (secret `cb_` keys only; a
//! publishable key gets 403 from the `Caller` extractor).
//!
//! Minimal group module of the tenant-data branch; the tenant-api branch
//! owns this file (settings, keys, widget code, the Django aliases).

pub mod analytics;
pub mod export;
pub mod sessions;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(sessions::routes())
        .merge(analytics::routes())
        .merge(export::routes())
}

/// The tenant group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> axum::Router {
    super::serve(routes(), state)
}
