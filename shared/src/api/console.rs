//! `/console/*`: the tenant console (`console/` at the repository root), a
//! static web app over the tenant API, compiled into the binary like the
//! widget so every host serves the same bytes: `chatctl serve`, or a step
//! that uploads [`ASSETS`] to S3 behind CloudFront (docs/DEPLOY.md).
//!
//! Every response carries a strict `Content-Security-Policy`: the console
//! runs only its own scripts, talks only to its own origin and cannot be
//! framed, so a rendering bug could not turn a conversation's text into
//! script that reads the tenant's secret key.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::http::{AppError, static_files};

/// The console's own pages: nothing but its own files and its own API
/// origin, never framed.
pub const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The widget preview page: it hosts the real widget (whose loader styles
/// its shadow root through a constructed stylesheet, which needs no inline
/// style allowance), and only the console may frame it.
pub const PREVIEW_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// One file of the console.
pub struct Asset {
    /// Path under `/console/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../../console/", $name)),
        }
    };
}

/// Everything under `/console/`; `index.html` is also `/console/`.
pub const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("console.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("pages/overview.js", JS),
    asset!("pages/conversations.js", JS),
    asset!("pages/settings.js", JS),
    asset!("pages/preview.js", JS),
    asset!("pages/keys.js", JS),
    asset!("pages/knowledge.js", JS),
    asset!("preview.html", HTML),
    asset!("preview.css", CSS),
    asset!("preview-frame.js", JS),
    // The widget's colour maths (widget/colour.js), one file for both, so
    // the colour fields' contrast is what the widget will show.
    Asset {
        name: "colour.js",
        content_type: JS,
        body: include_bytes!("../../../widget/colour.js"),
    },
    asset!("vendor/uPlot.iife.min.js", JS),
    asset!("vendor/uPlot.min.css", CSS),
    asset!("vendor/uPlot.LICENSE", "text/plain; charset=utf-8"),
];

static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| static_files::etag_of(a.body))
        .collect()
});

/// The console under `/console/`. No fallback: it is merged beside the API
/// routers, whose fallback answers unknown paths.
pub fn router() -> Router {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route(
            "/console/",
            get(|headers: HeaderMap| async move { serve("index.html", &headers) }),
        )
        .route(
            "/console/{*file}",
            get(|Path(file): Path<String>, headers: HeaderMap| async move { serve(&file, &headers) }),
        )
}

/// The policy a file is served with (also what a CDN deployment sets).
pub fn policy_for(name: &str) -> &'static str {
    if name == "preview.html" {
        PREVIEW_POLICY
    } else {
        CONSOLE_POLICY
    }
}

fn serve(file: &str, headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == file) else {
        return AppError::RouteNotFound.into_response();
    };
    let asset = &ASSETS[index];
    let mut response =
        static_files::respond(asset.body, asset.content_type, &ETAGS[index], headers);
    let h = response.headers_mut();
    // File names carry no version, so the browser revalidates every file;
    // the ETag makes that a 304.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy_for(asset.name)),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
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
    async fn the_index_and_every_file_are_served_with_type_and_policy() {
        let (status, headers, body) = get("/console/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], HTML);
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONSOLE_POLICY);
        assert!(String::from_utf8_lossy(&body).contains("<meta name=\"api-base\""));
        for asset in ASSETS {
            let (status, headers, body) = get(&format!("/console/{}", asset.name), None).await;
            assert_eq!(status, StatusCode::OK, "{}", asset.name);
            assert_eq!(headers[header::CONTENT_TYPE], asset.content_type);
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(!body.is_empty(), "{}", asset.name);
        }
        let (_, headers, _) = get("/console/preview.html", None).await;
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], PREVIEW_POLICY);
    }

    #[tokio::test]
    async fn the_policy_allows_no_inline_script_and_no_other_host() {
        for policy in [CONSOLE_POLICY, PREVIEW_POLICY] {
            let script = policy
                .split(';')
                .find(|d| d.trim().starts_with("script-src"))
                .expect("script-src");
            assert_eq!(script.trim(), "script-src 'self'");
            assert!(!policy.contains("unsafe-inline"), "{policy}");
            assert!(
                !policy.contains("https:") && !policy.contains('*'),
                "{policy}"
            );
        }
        assert!(CONSOLE_POLICY.ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn the_colour_maths_is_the_widgets_own_file() {
        let console = ASSETS
            .iter()
            .find(|a| a.name == "colour.js")
            .expect("colour.js");
        let widget = crate::api::widget::ASSETS
            .iter()
            .find(|a| a.name == "colour.js")
            .expect("widget colour.js");
        assert_eq!(console.body, widget.body);
    }

    #[tokio::test]
    async fn a_matching_etag_answers_304_and_bare_console_redirects() {
        let (_, headers, _) = get("/console/app.js", None).await;
        let etag = headers[header::ETAG].to_str().expect("ascii").to_owned();
        let (status, _, body) = get("/console/app.js", Some(&etag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        let (status, headers, _) = get("/console", None).await;
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(headers[header::LOCATION], "/console/");
    }

    #[tokio::test]
    async fn unknown_files_are_404_and_paths_cannot_escape() {
        for path in [
            "/console/nope.js",
            "/console/../Cargo.toml",
            "/console/..%2FCargo.toml",
            "/console/pages/",
        ] {
            let (status, _, _) = get(path, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// A file added to `console/` but not to [`ASSETS`] would be missing
    /// from every deployment.
    #[test]
    fn every_file_of_the_console_directory_is_an_asset() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../console");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("console/ is readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let name = path.strip_prefix(&root).expect("inside").to_string_lossy();
                    files.push(name.replace('\\', "/"));
                }
            }
        }
        for file in &files {
            assert!(
                ASSETS.iter().any(|a| a.name == file),
                "console/{file} is not in ASSETS"
            );
        }
        // Plus colour.js, which is widget/colour.js.
        assert_eq!(files.len() + 1, ASSETS.len());
    }
}
