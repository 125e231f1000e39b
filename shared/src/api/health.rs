//! `GET /health`: the Django system's liveness probe, kept for the load
//! balancers and monitors pointed at it. No key, no table read: it says the
//! function answers, not that its dependencies do.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::clock::iso8601;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `OK`
    status: &'static str,
    /// Now, ISO 8601.
    timestamp: String,
}

/// Whether the API answers (no key needed).
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The API answers", body = Health))
)]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "OK",
        timestamp: iso8601(state.now_ms()),
    })
}
