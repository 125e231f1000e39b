//! HTTP plumbing shared by the routers: the error type, body extractors and
//! the layers every group gets.

pub mod error;
pub mod extract;

pub use error::AppError;
pub use extract::{ApiJson, check_config, parse_session_id};

use axum::Router;
use axum::http::{HeaderName, Method};
use tower_http::cors::{Any, CorsLayer};

/// Applies what every endpoint group shares: JSON 404/405 bodies and CORS
/// (the widget calls the API from tenants' sites).
pub fn finish(router: Router) -> Router {
    router
        .fallback(|| async { AppError::RouteNotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    HeaderName::from_static("content-type"),
                    HeaderName::from_static("x-api-key"),
                ]),
        )
}
