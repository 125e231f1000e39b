//! HTTP plumbing shared by the routers: the error type, body extractors and
//! the layers every group gets.

pub mod error;
pub mod extract;

pub use error::AppError;
pub use extract::{ApiJson, check_config};

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::cors::{Any, CorsLayer};

use crate::AppState;
use crate::auth::{PUBLISHABLE_KEY_PREFIX, frame_ancestors_directive};

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
                    HeaderName::from_static("x-user-signature"),
                ])
                // The widget reads its remaining allowance.
                .expose_headers([
                    HeaderName::from_static(crate::ratelimit::LIMIT_HEADER),
                    HeaderName::from_static(crate::ratelimit::REMAINING_HEADER),
                    HeaderName::from_static(crate::ratelimit::RESET_HEADER),
                    header::RETRY_AFTER,
                ]),
        )
}

/// Layers [`csp_for_frame`] over `router`. A host calls this on its final
/// router, after merging the widget's `/widget/*` routes beside the API
/// (a layer covers only the routes present when it is added).
pub fn with_frame_csp(router: Router, state: AppState) -> Router {
    router.layer(middleware::from_fn_with_state(state, csp_for_frame))
}

/// On responses to `/widget/frame*` requested with `?apiKey=pk_…`: sets the
/// `frame-ancestors` directive of `Content-Security-Policy` to the key's
/// tenant's allowed origins (`'none'` for a key that does not verify),
/// replacing any `frame-ancestors` the page set and keeping its other
/// directives. Other responses pass untouched.
pub async fn csp_for_frame(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .uri()
        .path()
        .starts_with("/widget/frame")
        .then(|| {
            Query::<HashMap<String, String>>::try_from_uri(request.uri())
                .ok()
                .and_then(|Query(q)| q.get("apiKey").cloned())
        })
        .flatten()
        .filter(|k| k.starts_with(PUBLISHABLE_KEY_PREFIX));
    let mut response = next.run(request).await;
    if let Some(key) = key {
        let tenant = match state.auth.verify(&state.repo, key.trim()).await {
            Ok(caller) if caller.is_publishable() => Some(caller.tenant),
            _ => None,
        };
        let directive = frame_ancestors_directive(tenant.as_deref());
        let policy = merge_frame_ancestors(
            response
                .headers()
                .get(header::CONTENT_SECURITY_POLICY)
                .and_then(|v| v.to_str().ok()),
            &directive,
        );
        let value = HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'"));
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `existing` without its `frame-ancestors` directive, then `directive`.
pub fn merge_frame_ancestors(existing: Option<&str>, directive: &str) -> String {
    let mut parts: Vec<&str> = existing
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| {
            !d.split_whitespace()
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("frame-ancestors"))
        })
        .collect();
    parts.push(directive);
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_policy_replaces_only_frame_ancestors() {
        assert_eq!(
            merge_frame_ancestors(
                Some("default-src 'none'; script-src 'self'; frame-ancestors *"),
                "frame-ancestors 'self' https://a.example"
            ),
            "default-src 'none'; script-src 'self'; frame-ancestors 'self' https://a.example"
        );
        assert_eq!(
            merge_frame_ancestors(None, "frame-ancestors 'none'"),
            "frame-ancestors 'none'"
        );
    }
}
