//! `/api/tenant/*`: the tenant's own API (secret keys only: every handler
//! takes `Caller`, which answers 403 to a publishable key), and the Django
//! system's `/api/clients/me/*` aliases. One Lambda function
//! (`functions/tenant`) serves the group.
//!
//! Each idea is a file with its own `routes()`; adding one is a
//! `.merge(x::routes())` line below.

pub mod analytics;
pub mod clients_me;
pub mod export;
pub mod keys;
pub mod knowledge;
pub mod sessions;
pub mod settings;
pub mod widget_code;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(settings::routes())
        .merge(keys::routes())
        .merge(widget_code::routes())
        .merge(clients_me::routes())
        .merge(sessions::routes())
        .merge(analytics::routes())
        .merge(export::routes())
        .merge(knowledge::routes())
}

/// The tenant group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> axum::Router {
    super::serve(routes(), state)
}
