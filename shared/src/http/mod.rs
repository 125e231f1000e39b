//! HTTP plumbing shared by the routers: the error type, the caller and body
//! extractors, the layers every group gets, the widget frame's policy and
//! the serving of compiled-in files.

pub mod body_buffer;
mod caller;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod frame_csp;
pub mod parts;
pub mod static_files;

pub use client_addr::ClientAddr;
pub use error::AppError;
pub use extract::{ApiJson, check_config};
pub use frame_csp::with_frame_csp;

use axum::Router;
use axum::http::{HeaderName, Method, header};
use tower_http::cors::{Any, CorsLayer};

use crate::auth::{API_KEY_HEADER, USER_SIGNATURE_HEADER};
use crate::ratelimit::{LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER};

/// Applies what every endpoint group shares: JSON 404/405 bodies, CORS
/// (the widget calls the API from tenants' sites) and the request log.
pub fn finish(router: Router) -> Router {
    router
        .fallback(|| async { AppError::RouteNotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    HeaderName::from_static("content-type"),
                    HeaderName::from_static(API_KEY_HEADER),
                    HeaderName::from_static(USER_SIGNATURE_HEADER),
                ])
                // The widget reads its remaining allowance.
                .expose_headers([
                    HeaderName::from_static(LIMIT_HEADER),
                    HeaderName::from_static(REMAINING_HEADER),
                    HeaderName::from_static(RESET_HEADER),
                    header::RETRY_AFTER,
                ]),
        )
        // Outermost: one log and metrics line per request, CORS answers too.
        .layer(axum::middleware::from_fn(crate::observe::request::layer))
}
