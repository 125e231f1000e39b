//! Who may frame the widget's chat frame: its `Content-Security-Policy`.
//!
//! The frame page is served with [`FRAME_PAGE_POLICY`], which any site may
//! frame; a layer ([`with_frame_csp`]) then narrows `frame-ancestors` to the
//! allowed origins of the tenant whose key the page was asked with (a
//! publishable key always; a secret key when its tenant lists origins, as
//! allowed origins hold every kind of key). The whole policy is here, so it
//! is read in one place.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;

use crate::AppState;
use crate::auth::{PUBLISHABLE_KEY_PREFIX, SECRET_KEY_PREFIX};
use crate::model::Tenant;

/// The frame page's own policy: it runs only its own scripts and talks only
/// to its own origin, so even a rendering bug could not run injected
/// markup. `frame-ancestors *` stands only without a key that narrows it.
pub const FRAME_PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors *";

/// The paths the tenant's `frame-ancestors` is set on.
const FRAME_PATH_PREFIX: &str = "/widget/frame";

/// Layers [`csp_for_frame`] over `router`. A host calls this on its final
/// router, after merging the widget's `/widget/*` routes beside the API
/// (a layer covers only the routes present when it is added).
pub fn with_frame_csp(router: Router, state: AppState) -> Router {
    router.layer(middleware::from_fn_with_state(state, csp_for_frame))
}

/// On responses to `/widget/frame*` requested with `?apiKey=…`: sets the
/// `frame-ancestors` directive of `Content-Security-Policy` to the key's
/// tenant's allowed origins (`'none'` for a key that does not verify),
/// replacing any `frame-ancestors` the page set and keeping its other
/// directives. A secret key of a tenant without a list is unrestricted, so
/// its page's policy stands, as do other responses.
pub async fn csp_for_frame(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .uri()
        .path()
        .starts_with(FRAME_PATH_PREFIX)
        .then(|| {
            Query::<HashMap<String, String>>::try_from_uri(request.uri())
                .ok()
                .and_then(|Query(q)| q.get("apiKey").cloned())
        })
        .flatten()
        .filter(|k| k.starts_with(PUBLISHABLE_KEY_PREFIX) || k.starts_with(SECRET_KEY_PREFIX));
    let mut response = next.run(request).await;
    if let Some(key) = key {
        let tenant = match state.auth.verify(&state.repo, key.trim()).await {
            Ok(caller) if caller.is_publishable() => Some(caller.tenant),
            Ok(caller) if !caller.tenant.allowed_origins.is_empty() => Some(caller.tenant),
            Ok(_) => return response,
            Err(_) => None,
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

/// [`frame_ancestors_directive`] as a header value, for hosts that serve
/// the frame without [`with_frame_csp`].
pub fn frame_ancestors_header(tenant: Option<&Tenant>) -> HeaderValue {
    HeaderValue::from_str(&frame_ancestors_directive(tenant))
        .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'"))
}

/// The `frame-ancestors` directive for the frame: the tenant's allowed
/// origins and pages of the API's own origin; nobody when there is no
/// tenant.
pub fn frame_ancestors_directive(tenant: Option<&Tenant>) -> String {
    match tenant {
        Some(t) => {
            let mut directive = String::from("frame-ancestors 'self'");
            // A listed pattern's text is a CSP host source (parsing kept
            // it to letters, digits, `.`, `-`, `*.` and a port).
            for origin in &t.allowed_origins {
                directive.push(' ');
                directive.push_str(&origin.to_string());
            }
            directive
        }
        None => "frame-ancestors 'none'".into(),
    }
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
    use crate::model::OriginPattern;

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

    #[test]
    fn frame_ancestors_lists_the_tenant_origins() {
        let mut tenant = Tenant {
            allowed_origins: ["https://a.example", "*.b.example"]
                .map(|o| OriginPattern::parse(o).expect("a valid pattern"))
                .to_vec(),
            ..Tenant::default()
        };
        assert_eq!(
            frame_ancestors_header(Some(&tenant)),
            "frame-ancestors 'self' https://a.example *.b.example"
        );
        tenant.allowed_origins.clear();
        assert_eq!(
            frame_ancestors_header(Some(&tenant)),
            "frame-ancestors 'self'"
        );
        assert_eq!(frame_ancestors_header(None), "frame-ancestors 'none'");
    }

    #[test]
    fn the_page_policy_is_narrowed_not_replaced() {
        let policy = merge_frame_ancestors(Some(FRAME_PAGE_POLICY), "frame-ancestors 'none'");
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"));
        assert!(policy.ends_with("; form-action 'none'; frame-ancestors 'none'"));
        assert!(!policy.contains('*'));
    }
}
