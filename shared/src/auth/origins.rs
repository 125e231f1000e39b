//! Whether a request may come from the page it says it comes from (the
//! origin and pattern forms are `chat_core::model::origin`).
//!
//! The page is the `Origin` header or, failing that, the origin of the
//! `Referer` (browsers leave `Origin` off same-origin `GET`s). Then, for
//! every kind of key:
//! - no page named: not a browser (server to server); the key alone decides;
//! - the API's own origin: the widget's frame (and any page the API serves),
//!   always admitted, as are the deployment's `TRUSTED_ORIGINS` (the same
//!   pages served from a CDN);
//! - a tenant with allowed origins: the page must match one of them;
//! - a tenant without: secret keys are unrestricted, publishable keys are
//!   admitted from the API's own origin only.

pub use crate::model::{InvalidOrigin, normalize_origin};
use crate::model::{KeyKind, Tenant};
use axum::http::{HeaderMap, header};

/// Where a request says it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPage {
    /// Neither `Origin` nor `Referer`: not from a web page.
    None,
    /// A normalized origin.
    Origin(String),
    /// A header that names no usable origin (`Origin: null` from sandboxed
    /// frames and files, malformed values): never on a list.
    Opaque,
}

/// The request's page: `Origin`, else the `Referer` reduced to its origin.
pub fn request_page(headers: &HeaderMap) -> RequestPage {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin
            .to_str()
            .ok()
            .and_then(|o| normalize_origin(o).ok())
            .map_or(RequestPage::Opaque, RequestPage::Origin);
    }
    let Some(referer) = headers.get(header::REFERER) else {
        return RequestPage::None;
    };
    referer
        .to_str()
        .ok()
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .and_then(|u| normalize_origin(&u.origin().ascii_serialization()).ok())
        .map_or(RequestPage::Opaque, RequestPage::Origin)
}

/// Whether a request with this kind of key may come from its page;
/// `trusted` are the deployment's own origins besides the API's.
pub fn origin_allowed(
    tenant: &Tenant,
    kind: KeyKind,
    headers: &HeaderMap,
    trusted: &[String],
) -> bool {
    let origin = match request_page(headers) {
        RequestPage::None => return true,
        RequestPage::Opaque => None,
        RequestPage::Origin(origin) => Some(origin),
    };
    if origin
        .as_deref()
        .is_some_and(|o| trusted.iter().any(|t| t == o) || is_own_origin(o, headers))
    {
        return true;
    }
    if tenant.allowed_origins.is_empty() {
        return kind == KeyKind::Secret;
    }
    origin.is_some_and(|o| tenant.origin_listed(&o))
}

/// The API's own origin: the `Host` this request came to, read as an
/// origin of the page's scheme (any scheme, as the frame may be served
/// behind a proxy that ends TLS).
fn is_own_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let scheme = origin.split_once("://").map_or("", |(scheme, _)| scheme);
    normalize_origin(&format!("{scheme}://{host}")).is_ok_and(|own| own == origin)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::OriginPattern;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    fn tenant(origins: &[&str]) -> Tenant {
        Tenant {
            allowed_origins: origins
                .iter()
                .map(|o| OriginPattern::parse(o).unwrap())
                .collect(),
            ..Tenant::default()
        }
    }

    #[test]
    fn the_page_is_the_origin_else_the_referers_origin() {
        let page = |pairs| request_page(&headers(pairs));
        assert_eq!(page(&[]), RequestPage::None);
        assert_eq!(
            page(&[("referer", "https://Shop.Example/cart?x=1#top")]),
            RequestPage::Origin("https://shop.example".into())
        );
        assert_eq!(
            page(&[
                ("origin", "https://a.example"),
                ("referer", "https://b.example/")
            ]),
            RequestPage::Origin("https://a.example".into())
        );
        assert_eq!(page(&[("origin", "null")]), RequestPage::Opaque);
        assert_eq!(page(&[("referer", "about:blank")]), RequestPage::Opaque);
    }

    #[test]
    fn every_key_kind_is_held_to_a_list() {
        use KeyKind::{Publishable, Secret};
        let listed = tenant(&["*.example.com"]);
        let unlisted = tenant(&[]);
        for (t, kind, pairs, ok) in [
            (
                &listed,
                Secret,
                vec![("origin", "https://a.example.com")],
                true,
            ),
            (
                &listed,
                Secret,
                vec![("origin", "https://evil-example.com")],
                false,
            ),
            (
                &listed,
                Publishable,
                vec![("referer", "https://b.example.com/p")],
                true,
            ),
            (
                &listed,
                Publishable,
                vec![("referer", "https://example.com/")],
                false,
            ),
            (&listed, Secret, vec![], true),
            (&listed, Publishable, vec![], true),
            (&listed, Secret, vec![("origin", "null")], false),
            (
                &unlisted,
                Secret,
                vec![("origin", "https://any.test")],
                true,
            ),
            (&unlisted, Secret, vec![("origin", "null")], true),
            (
                &unlisted,
                Publishable,
                vec![("origin", "https://any.test")],
                false,
            ),
            (
                &unlisted,
                Publishable,
                vec![("origin", "https://api.test"), ("host", "api.test")],
                true,
            ),
            (
                &listed,
                Secret,
                vec![
                    ("referer", "http://api.test:8080/widget/frame.html"),
                    ("host", "api.test:8080"),
                ],
                true,
            ),
        ] {
            assert_eq!(
                origin_allowed(t, kind, &headers(&pairs), &[]),
                ok,
                "{kind:?} {pairs:?}"
            );
        }
        let cdn = ["https://d1.cloudfront.net".to_owned()];
        let from_cdn = headers(&[("origin", "https://d1.cloudfront.net")]);
        assert!(origin_allowed(&listed, Secret, &from_cdn, &cdn));
        assert!(origin_allowed(&unlisted, Publishable, &from_cdn, &cdn));
        assert!(!origin_allowed(&unlisted, Publishable, &from_cdn, &[]));
    }
}
