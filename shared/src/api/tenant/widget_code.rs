//! `GET /api/tenant/widget-code`: the `<script>` tag that embeds the
//! widget, with a publishable key (made when the tenant has none).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::http::AppError;
use crate::service::tenant::keys as service;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(widget_code))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetCode {
    /// `<script src="…/widget/chatbot.js?apiKey=pk_…" async></script>`
    html: String,
    /// The publishable key's prefix, to find it in the key list.
    api_key_prefix: String,
}

#[utoipa::path(
    get, path = "/api/tenant/widget-code", tag = "tenant",
    responses((status = 200, description = "The embed snippet", body = WidgetCode), Errors)
)]
pub(crate) async fn widget_code(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<WidgetCode>, AppError> {
    let (key, listing) = service::widget_key(&state, caller.tenant_id()).await?;
    Ok(Json(WidgetCode {
        html: service::widget_snippet(&public_base(&state, &headers), &key),
        api_key_prefix: listing.record.prefix,
    }))
}

/// Where the widget is served: `WIDGET_BASE_URL` (the widget's CDN in the
/// cloud), else the origin this request reached, as `chatctl serve` serves
/// `/widget/` beside the API.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    match &state.config.widget_base_url {
        Some(base) => base.clone(),
        None => request_origin(headers),
    }
}

/// `Host`, with `X-Forwarded-Proto`, else http for a loopback host and
/// https otherwise. A `Host` that is not a plain host name gives a relative
/// URL.
fn request_origin(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(host) = header("host").filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    }) else {
        return String::new();
    };
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    let scheme = match header("x-forwarded-proto") {
        Some("http") => "http",
        Some("https") => "https",
        _ if loopback => "http",
        _ => "https",
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(pairs: &[(&'static str, &'static str)]) -> String {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, v.parse().unwrap_or_else(|_| unreachable!()));
        }
        request_origin(&headers)
    }

    #[test]
    fn the_base_comes_from_host_and_forwarded_proto() {
        assert_eq!(
            base(&[("host", "api.example.com")]),
            "https://api.example.com"
        );
        assert_eq!(base(&[("host", "127.0.0.1:3000")]), "http://127.0.0.1:3000");
        assert_eq!(
            base(&[("host", "api.example.com"), ("x-forwarded-proto", "http")]),
            "http://api.example.com"
        );
        assert_eq!(base(&[("host", "a\"b")]), "");
        assert_eq!(base(&[]), "");
    }
}
