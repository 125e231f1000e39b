//! Whether a publishable-key request may come from a browser origin (the
//! origin and pattern forms are `chat_core::model::origin`).

use crate::model::Tenant;
pub use crate::model::{InvalidOrigin, normalize_origin};
use axum::http::{HeaderMap, header};

/// Whether a publishable-key request may come from this browser origin: one
/// the tenant lists, or the API's own (the widget's frame is served from it,
/// and `frame-ancestors` already limits who may embed the frame). Requests
/// without an `Origin` are not from a page and are let through: a
/// publishable key is public, the rate limit bounds what it can spend.
pub fn origin_allowed(tenant: &Tenant, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Ok(origin) = normalize_origin(origin) else {
        // `null` (sandboxed frames, files) and anything malformed.
        return false;
    };
    if tenant.origin_listed(&origin) {
        return true;
    }
    // The API's own origin: the `Host` this request came to, read as an
    // origin of the page's scheme (any scheme, as the frame may be served
    // behind a proxy that ends TLS).
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let scheme = origin.split_once("://").map_or("", |(scheme, _)| scheme);
    normalize_origin(&format!("{scheme}://{host}")).is_ok_and(|own| own == origin)
}
