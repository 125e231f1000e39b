//! Browser origins: the form tenants list them in and browsers send them,
//! and whether a publishable-key request may come from one.

use axum::http::{HeaderMap, header};
use url::{Host, Url};

use crate::model::Tenant;

/// A string that is not an origin; the message names it and the expected
/// form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOrigin {
    #[error("`{0}`: an origin starts with https:// or http://")]
    Scheme(String),
    #[error("`{0}`: expected scheme://host[:port], e.g. https://shop.example")]
    Shape(String),
}

/// An origin as tenants list it and browsers send it: `scheme://host[:port]`,
/// lowercased, no path, the scheme's default port left out (as a browser's
/// `Origin` header has it), a non-ASCII host in its ASCII (IDNA) form.
/// Anything else is refused, and hosts keep to letters, digits, `.` and
/// `-`, so a listed origin can be placed in a header as it is.
pub fn normalize_origin(raw: &str) -> Result<String, InvalidOrigin> {
    let trimmed = raw.trim().trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err(InvalidOrigin::Scheme(raw.to_owned()));
    }
    let shape = || InvalidOrigin::Shape(raw.to_owned());
    let url = Url::parse(trimmed).map_err(|_| shape())?;
    let origin_only = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    // The parser admits a few characters in a domain (`;`, `*`, `'`) that
    // would change a CSP directive; an origin needs none of them.
    let host_ok = match url.host() {
        Some(Host::Domain(domain)) => {
            domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                && !domain.starts_with(['.', '-'])
        }
        Some(Host::Ipv4(_)) => true,
        Some(Host::Ipv6(_)) | None => false,
    };
    if origin_only && host_ok {
        Ok(url.origin().ascii_serialization())
    } else {
        Err(shape())
    }
}

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
    if tenant.allowed_origins.contains(&origin) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_or_refused() {
        assert_eq!(
            normalize_origin("https://Shop.Example/").as_deref(),
            Ok("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for bad in [
            "shop.example",
            "https://shop.example/path",
            "https://",
            "https://a b",
            "https://x;script-src *",
            "https://x;y",
            "null",
            "https://x:99999999",
            "https://user@shop.example",
            "https://shop.example?q",
            "https://shop.example#f",
            "ftp://shop.example",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        // A browser's `Origin` never carries the scheme's default port.
        assert_eq!(
            normalize_origin("https://shop.example:443").as_deref(),
            Ok("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://shop.example:8443").as_deref(),
            Ok("http://shop.example:8443")
        );
        assert_eq!(
            normalize_origin("https://Bücher.example").as_deref(),
            Ok("https://xn--bcher-kva.example")
        );
    }

    #[test]
    fn refusals_say_what_an_origin_looks_like() {
        assert_eq!(
            normalize_origin("shop.example").map_err(|e| e.to_string()),
            Err("`shop.example`: an origin starts with https:// or http://".into())
        );
        assert_eq!(
            normalize_origin("https://shop.example/path").map_err(|e| e.to_string()),
            Err(
                "`https://shop.example/path`: expected scheme://host[:port], e.g. https://shop.example"
                    .into()
            )
        );
    }
}
