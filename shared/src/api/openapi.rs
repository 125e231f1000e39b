//! The OpenAPI 3.1 document of the whole API: what every group's
//! `OpenApiRouter` collects from its handlers' `#[utoipa::path]`
//! annotations and the body types they return, merged once
//! ([`document`]), and served at `/api/chat/openapi.json` without a key.
//!
//! What is served is that document written out (`openapi.json` beside this
//! file, [`SERVED`]), not computed where it is served: computing it builds
//! every group's router, which linked every handler of the API into the
//! sessions function that serves it (some 6 MB of its binary). A test
//! (`tests/api/openapi.rs`) fails when the file differs from the code's
//! document and rewrites it with `UPDATE_OPENAPI=1`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chat platform API",
        description = "Multi-tenant AI chat: sessions, messages, files, privacy. \
            Compatible with the Django chat app v2.1. Every operation but \
            `/health` and this document needs `X-API-Key`: a secret key \
            (`cb_...`) for servers, or a publishable key (`pk_...`) for the \
            widget, which may only create sessions, chat, read history, use \
            files and update the page keys of the config on its own sessions, \
            and read the bot and widget config and providers (403 elsewhere). \
            A browser request (`Origin`, else `Referer`) from a page outside \
            the tenant's allowed origins is 403 `Domain not whitelisted` \
            whatever the key.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody)),
    modifiers(&ApiKeyAuth),
    security(("apiKey" = [])),
    tags(
        (name = "sessions"), (name = "messages"), (name = "files"),
        (name = "privacy", description = "The reference's GDPR compliance: erase and export a user"),
        (name = "tenant", description = "The tenant's own settings and keys (secret keys only)"),
        (name = "clients", description = "The Django system's /api/clients/me endpoints, in its shapes"),
        (name = "meta"),
    )
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A secret key (cb_...) or a publishable key (pk_...)",
            ))),
        );
    }
}

/// Links from a created session to every operation on a session: clients
/// (and property-based testers) see where `sessionId` goes next.
struct SessionLinks;

impl Modify for SessionLinks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        let mut targets = Vec::new();
        for item in openapi.paths.paths.values() {
            for op in [&item.get, &item.post, &item.put, &item.delete]
                .into_iter()
                .flatten()
            {
                let takes_session =
                    op.parameters.iter().flatten().any(|p| {
                        p.name == "session_id" && matches!(p.parameter_in, ParameterIn::Path)
                    });
                if let (true, Some(id)) = (takes_session, &op.operation_id) {
                    targets.push(id.clone());
                }
            }
        }
        let Some(create) = openapi
            .paths
            .paths
            .get_mut("/api/chat/sessions/create")
            .and_then(|item| item.post.as_mut())
        else {
            return;
        };
        if let Some(RefOr::T(created)) = create.responses.responses.get_mut("201") {
            for id in targets {
                let link = utoipa::openapi::link::LinkBuilder::new()
                    .operation_id(id.clone())
                    .parameter("session_id", "$response.body#/sessionId")
                    .build();
                created.links.insert(id, RefOr::T(link));
            }
        }
    }
}

/// The document, as served: every group's operations, computed once.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let mut openapi = super::groups().into_openapi();
        // After the merge: the links point at every group's operations.
        SessionLinks.modify(&mut openapi);
        let mut doc = serde_json::to_value(openapi).unwrap_or_default();
        fix_link_field_names(&mut doc);
        doc
    });
    &DOCUMENT
}

/// utoipa 5 writes a Link Object's fields in snake case (`operation_id`);
/// OpenAPI names them in camel case (`operationId`).
fn fix_link_field_names(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|r| r.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(Value::as_object_mut) else {
            continue;
        };
        for link in links.values_mut().filter_map(Value::as_object_mut) {
            for (from, to) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(from) {
                    link.insert(to.into(), v);
                }
            }
        }
    }
}

/// The OpenAPI document of this API (no key needed).
#[utoipa::path(
    get,
    path = "/api/chat/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        SERVED,
    )
}

/// The document as served: [`document`] written out by the test that keeps
/// the two equal.
pub const SERVED: &str = include_str!("openapi.json");

/// Every error: `{"error", "detail"?}`; a 429 also says which `limit`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// On 429: `key`, `visitor`, `tenant`, `monthlyMessages` or `monthlyTokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub limit: Option<String>,
}

/// The error answers any operation may give, each with [`ErrorBody`].
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        [
            ("400", "Bad input (invalid session id, JSON, field)"),
            ("401", "No API key, or not a valid one"),
            (
                "403",
                "Not allowed for this key, origin (Domain not whitelisted) or visitor signature",
            ),
            (
                "404",
                "Unknown session (or another tenant's, or another key's), file, user or route",
            ),
            ("405", "Method not allowed"),
            ("409", "The data changed while the request ran; retry"),
            ("410", "Session expired"),
            ("413", "File too large"),
            ("415", "Not a CSV or JSON file"),
            ("422", "The file does not parse"),
            (
                "429",
                "Rate limit exceeded: `limit` names it (Retry-After, X-RateLimit-* headers)",
            ),
            ("501", "Direct uploads unavailable on this store"),
            ("502", "AI provider failed"),
            (
                "503",
                "Store unavailable, or the tenant's default provider is not offered here",
            ),
            ("504", "AI provider timed out"),
        ]
        .into_iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "ErrorBody",
                        ))))
                        .build(),
                )
                .build();
            (status.to_owned(), RefOr::T(response))
        })
        .collect()
    }
}
