//! `/widget/*`: the embeddable chat widget (`widget/` at the repository
//! root), compiled into the binary so every host serves the same bytes from
//! any working directory: `chatctl serve`, a Lambda function, or a step that
//! uploads [`ASSETS`] to a CDN.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::frame_csp::FRAME_PAGE_POLICY;
use crate::http::{AppError, static_files};

/// One file of the widget.
pub struct Asset {
    /// Name under `/widget/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub cache_control: &'static str,
    pub body: &'static [u8],
}

/// Tenants embed `chatbot.js` by a fixed URL, so nothing is cached for long:
/// a fix reaches every site within minutes, and the ETag makes the check a
/// 304. The frame page is always revalidated.
const SHORT: &str = "public, max-age=300";

/// Everything under `/widget/`, matched by exact name (a name may hold
/// one `/`, never `..`: nothing else on disk is reachable).
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "chatbot.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/chatbot.js"),
    },
    Asset {
        name: "frame.html",
        content_type: "text/html; charset=utf-8",
        cache_control: "no-cache",
        body: include_bytes!("../../../widget/frame.html"),
    },
    Asset {
        name: "frame.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/frame.js"),
    },
    Asset {
        name: "frame.css",
        content_type: "text/css; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/frame.css"),
    },
    Asset {
        name: "frame-i18n.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/frame-i18n.js"),
    },
    // The contrast-safe colour maths; the console serves the same file as
    // its `colour.js`.
    Asset {
        name: "colour.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/colour.js"),
    },
    Asset {
        name: "frame-markdown.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/frame-markdown.js"),
    },
    // Loaded by the frame only, so the loader stays small: the Markdown
    // parser and the sanitiser, pinned npm releases copied byte for byte
    // (licences beside them in widget/vendor/; tests/browser checks them
    // against the packages in its package-lock.json).
    Asset {
        name: "vendor/marked.umd.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/vendor/marked.umd.js"),
    },
    Asset {
        name: "vendor/purify.min.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT,
        body: include_bytes!("../../../widget/vendor/purify.min.js"),
    },
];

/// The demo host page; `{{API_KEY}}` is filled in per request by [`demo_page`].
const DEMO_PAGE: &str = include_str!("../../../widget/demo.html");

static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| static_files::etag_of(a.body))
        .collect()
});

/// The widget's files under `/widget/`. No fallback: it is merged beside the
/// API routers, whose fallback answers unknown paths.
pub fn router() -> Router {
    Router::new().route("/widget/{*file}", get(asset))
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == file) else {
        return AppError::RouteNotFound.into_response();
    };
    let asset = &ASSETS[index];
    let mut response =
        static_files::respond(asset.body, asset.content_type, &ETAGS[index], &headers);
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(asset.cache_control),
    );
    // Public files: also loadable with `crossorigin` (subresource integrity).
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if asset.name == "frame.html" {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(FRAME_PAGE_POLICY),
        );
    }
    response
}

/// The demo host page embedding the widget with `api_key`. The key is
/// rendered per request (never stored in the repository) and escaped for a
/// URL query inside an HTML attribute.
pub fn demo_page(api_key: &str) -> String {
    DEMO_PAGE.replace("{{API_KEY}}", &query_escape(api_key))
}

/// Percent-encodes everything but unreserved characters, which leaves
/// nothing that HTML or a URL would read specially.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The demo page as a response: HTML, never cached (it carries a key).
pub fn demo_response(api_key: &str) -> Response {
    let mut response = demo_page(api_key).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    async fn get(path: &str, if_none_match: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
        static_files::get(router(), path, if_none_match).await
    }

    #[tokio::test]
    async fn every_file_is_served_with_its_type_and_cache_headers() {
        const JS: &str = "text/javascript; charset=utf-8";
        for (path, ty) in [
            ("/widget/chatbot.js", JS),
            ("/widget/frame.html", "text/html; charset=utf-8"),
            ("/widget/frame.js", JS),
            ("/widget/frame.css", "text/css; charset=utf-8"),
            ("/widget/frame-i18n.js", JS),
            ("/widget/frame-markdown.js", JS),
            ("/widget/vendor/marked.umd.js", JS),
            ("/widget/vendor/purify.min.js", JS),
        ] {
            let (status, headers, body) = get(path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[header::CONTENT_TYPE], ty, "{path}");
            assert!(headers.contains_key(header::CACHE_CONTROL), "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(!body.is_empty());
        }
        let (_, headers, _) = get("/widget/frame.html", None).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(csp.contains("script-src 'self'"), "{csp}");
    }

    #[tokio::test]
    async fn a_matching_etag_answers_304_without_a_body() {
        let (_, headers, body) = get("/widget/chatbot.js", None).await;
        let etag = headers[header::ETAG].to_str().expect("ascii").to_owned();
        assert!(String::from_utf8_lossy(&body).contains("chatbot_user_id"));
        let (status, headers, body) = get("/widget/chatbot.js", Some(&etag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(headers[header::ETAG].to_str().expect("ascii"), etag);
        let (status, _, _) = get("/widget/chatbot.js", Some("\"other\"")).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_files_are_404_and_paths_cannot_escape() {
        for path in [
            "/widget/nope.js",
            "/widget/..%2FCargo.toml",
            "/widget/",
            "/widget/vendor/../frame.js",
            "/widget/vendor/",
            "/widget/vendor/marked.LICENSE.md",
        ] {
            let (status, _, _) = get(path, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn the_demo_page_carries_the_key_escaped() {
        let page = demo_page("cb_abc123");
        assert!(
            page.contains("/widget/chatbot.js?apiKey=cb_abc123\""),
            "{page}"
        );
        assert!(!page.contains("{{API_KEY}}"));
        let hostile = demo_page("\"><script>alert(1)</script>&x=");
        assert!(!hostile.contains("<script>alert"));
        assert!(hostile.contains("%22%3E%3Cscript%3E"));
    }
}
