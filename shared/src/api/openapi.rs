//! The OpenAPI 3.1 document of the whole API, generated from the handlers'
//! `#[utoipa::path]` annotations and the schemas below (which describe the
//! JSON the handlers build), served at `/api/chat/openapi.json` without a
//! key. A test holds the document and the routers to the same operations.

use std::collections::BTreeMap;

use axum::Json;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};
use uuid::Uuid;

use super::{files, messages, sessions, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chat platform API",
        description = "Multi-tenant AI chat: sessions, messages, files, privacy. \
            Compatible with the Django chat app v2.1. Every operation needs \
            `X-API-Key`: a secret key (`cb_...`) for servers, or a publishable \
            key (`pk_...`) for the widget, which may only create sessions, chat, \
            read history and use files on its own sessions, and read the bot \
            config and providers (403 elsewhere).",
        license(name = "Apache-2.0")
    ),
    paths(
        sessions::create,
        sessions::details,
        sessions::update_config,
        sessions::stats_summary,
        sessions::stats_by_user,
        sessions::bot_config,
        messages::send,
        messages::stream,
        messages::providers,
        messages::history,
        messages::clear,
        files::upload,
        files::upload_url,
        files::complete,
        files::info,
        files::query,
        files::remove,
        users::erase,
        users::export,
        openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&ApiKeyAuth, &SessionLinks),
    security(("apiKey" = [])),
    tags(
        (name = "sessions"), (name = "messages"), (name = "files"),
        (name = "privacy", description = "The reference's GDPR compliance: erase and export a user"),
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

/// The document, as served.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    fix_link_field_names(&mut doc);
    doc
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
    Json(document())
}

/// Every error: `{"error", "detail"?}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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
                "Not allowed for this key, origin or visitor signature",
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
                "Rate limit exceeded (Retry-After, X-RateLimit-* headers)",
            ),
            ("501", "Direct uploads unavailable on this store"),
            ("502", "AI provider failed"),
            ("503", "Store unavailable"),
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

// ---- sessions ---------------------------------------------------------------

/// Free-form configuration (`aiProvider`, `model`, `botName`, page context...).
pub type Config = Map<String, Value>;

#[derive(Serialize, ToSchema)]
pub struct CreateSessionRequest {
    /// Required; merged over the tenant's defaults.
    #[schema(value_type = Object)]
    pub config: Config,
    /// The visitor, when tracked (`userIdentifier` also accepted).
    #[schema(max_length = 255)]
    pub user_identifier: Option<String>,
    /// Hex `HMAC-SHA256(identity secret, user_identifier)` from the
    /// tenant's server (or the `X-User-Signature` header); needed with a
    /// publishable key where the tenant requires signed identity.
    #[serde(rename = "userSignature")]
    pub user_signature: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionResponse {
    pub session_id: Uuid,
    #[schema(value_type = Object)]
    pub config: Config,
    /// `created`
    pub status: String,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetails {
    pub session_id: Uuid,
    #[schema(value_type = Object)]
    pub config: Config,
    pub user_identifier: Option<String>,
    pub message_count: i64,
    pub has_file: bool,
    pub created_at: String,
    pub last_activity: String,
    pub is_expired: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigRequest {
    /// Keys merged into the session's config.
    #[schema(value_type = Object)]
    pub config: Config,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResponse {
    pub session_id: Uuid,
    #[schema(value_type = Object)]
    pub config: Config,
    /// `updated`
    pub status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsSummary {
    pub total_sessions: i64,
    pub recently_active: i64,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub total_sessions: i64,
    pub sessions_with_user: i64,
    pub sessions_without_user: i64,
    pub unique_users: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsByUser {
    /// Sessions per user identifier.
    pub user_stats: BTreeMap<String, i64>,
    pub summary: UserSummary,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotConfig {
    pub bot_name: String,
    pub powered_by: String,
    pub bot_color: String,
    pub bot_icon: Option<String>,
    pub bot_msg_bg_color: String,
}

// ---- messages -----------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    pub session_id: Uuid,
    /// At most 10,000 characters.
    #[schema(max_length = 10000)]
    pub message: String,
    /// Overrides of the session's config for this message only.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Config>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    pub response: String,
    pub session_id: Uuid,
    pub message_count: i64,
    pub provider: String,
    pub model: String,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEntry {
    pub id: String,
    pub default_model: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvidersResponse {
    pub providers: Vec<ProviderEntry>,
    pub default: Option<String>,
}

/// A message as the reference's `to_dict()`: `role`, `content`,
/// `timestamp` (epoch ms) and its metadata keys (`provider`, `model`,
/// `status`...) at the top level.
#[derive(Serialize, ToSchema)]
pub struct MessageDict {
    /// `user`, `assistant` or `system`
    pub role: String,
    pub content: String,
    pub timestamp: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResponse {
    pub session_id: Uuid,
    /// Oldest first.
    pub messages: Vec<MessageDict>,
    /// On a first page.
    pub message_count: Option<i64>,
    /// With `limit`: the cursor of the page before, or null.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClearResponse {
    pub session_id: Uuid,
    /// `cleared`
    pub status: String,
    pub messages_cleared: i64,
    pub timestamp: String,
}

// ---- files --------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadForm {
    pub session_id: Uuid,
    /// A CSV or JSON file, at most `FILE_UPLOAD_MAX_MEMORY_SIZE` bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileSummary {
    pub file_id: Uuid,
    pub name: String,
    /// `csv` or `json`
    #[serde(rename = "type")]
    pub file_type: String,
    pub size: u64,
    pub summary: String,
    pub rows: u64,
    pub columns: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadResponse {
    pub session_id: Uuid,
    pub file: FileSummary,
    /// `uploaded`
    pub status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlRequest {
    pub session_id: Uuid,
    pub name: String,
    /// Content type, e.g. `text/csv`.
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    pub size: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlResponse {
    pub session_id: Uuid,
    pub file_id: Uuid,
    pub upload_url: String,
    /// `PUT`
    pub method: String,
    /// Headers the `PUT` must carry.
    pub headers: BTreeMap<String, String>,
    pub expires_at: String,
    pub max_size: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompleteRequest {
    pub session_id: Uuid,
    pub file_id: Uuid,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInfoEntry {
    pub file_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub file_type: String,
    pub size: u64,
    pub summary: String,
    pub rows: u64,
    pub columns: Vec<String>,
    /// Epoch milliseconds.
    pub uploaded_at: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInfoResponse {
    pub has_file: bool,
    pub file: Option<FileInfoEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct QueryRequest {
    pub query: String,
    /// 1 to 1000; default 100.
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    /// Matching rows (CSV: column -> value; JSON: the records).
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
    pub count: u64,
    pub total_matches: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileDeleteResponse {
    /// `deleted`
    pub status: String,
    pub session_id: Uuid,
}

// ---- privacy ------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EraseResponse {
    pub user_identifier: String,
    /// `erased`
    pub status: String,
    pub sessions_erased: u64,
    pub messages_erased: u64,
    pub files_erased: u64,
    pub timestamp: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    pub session_count: i64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportFile {
    pub file_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub file_type: String,
    pub size: u64,
    pub summary: String,
    pub columns: Vec<String>,
    pub rows: u64,
    pub uploaded_at: String,
    pub is_active: bool,
    /// The file's text, unless the export's 4 MB budget was spent.
    pub content: Option<String>,
    pub content_omitted: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportSession {
    pub session_id: Uuid,
    #[schema(value_type = Object)]
    pub config: Config,
    pub created_at: String,
    pub last_activity: String,
    pub message_count: i64,
    pub messages: Vec<MessageDict>,
    pub files: Vec<ExportFile>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResponse {
    pub user_identifier: String,
    pub exported_at: String,
    pub summary: Option<ExportSummary>,
    pub sessions: Vec<ExportSession>,
}
