//! `/api/tenant/knowledge`: the tenant's knowledge base. Add a document (a
//! file, a page's URL or a sitemap's), list, delete, and try a search.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use bytes::BytesMut;
use http_body_util::Limited;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::http::{ApiJson, AppError};
use crate::model::KnowledgeDocument;
use crate::service::knowledge::{self as service, AddDocument, KnowledgeError, MAX_DOCUMENT_BYTES};

/// Room for the multipart framing around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// A JSON `{"url"}` body at most.
const MAX_URL_BODY: usize = 16 * 1024;
/// Passages a search returns when `k` is not given.
const DEFAULT_K: usize = 5;
/// Longest query, in characters.
const MAX_QUERY_CHARS: usize = 1_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // `add_knowledge` caps its body itself.
        .routes(routes!(list_knowledge, add_knowledge).layer(DefaultBodyLimit::disable()))
        .routes(routes!(delete_knowledge))
        .routes(routes!(search_knowledge))
}

/// The knowledge base's refusals as answers.
pub fn answer(e: KnowledgeError) -> AppError {
    let (status, error) = match &e {
        KnowledgeError::Unsupported(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported document type",
        ),
        KnowledgeError::NoText(_) => (StatusCode::UNPROCESSABLE_ENTITY, "No text in document"),
        KnowledgeError::Malformed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Malformed document"),
        KnowledgeError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "Document too large"),
        KnowledgeError::Full(_) => (StatusCode::PAYLOAD_TOO_LARGE, "Knowledge base full"),
        KnowledgeError::BadUrl(_) => (StatusCode::UNPROCESSABLE_ENTITY, "URL not allowed"),
        KnowledgeError::FetchFailed(_) => (StatusCode::UNPROCESSABLE_ENTITY, "URL fetch failed"),
        KnowledgeError::NotFound => (StatusCode::NOT_FOUND, "Document not found"),
        KnowledgeError::Embeddings(_) => (StatusCode::BAD_GATEWAY, "Embeddings failed"),
        KnowledgeError::Index(_) => return AppError::Internal(e.to_string()),
    };
    let detail = match e {
        KnowledgeError::Unsupported(d)
        | KnowledgeError::NoText(d)
        | KnowledgeError::Malformed(d)
        | KnowledgeError::TooLarge(d)
        | KnowledgeError::Full(d)
        | KnowledgeError::BadUrl(d)
        | KnowledgeError::FetchFailed(d)
        | KnowledgeError::Embeddings(d)
        | KnowledgeError::Index(d) => d,
        KnowledgeError::NotFound => "no such document in this tenant's knowledge base".into(),
    };
    AppError::Answer {
        status,
        error,
        detail,
    }
}

/// A document of the knowledge base.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentBody {
    document_id: Uuid,
    title: String,
    /// The file name, or the URL it came from.
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// `markdown`, `text`, `html` or `pdf`.
    kind: String,
    size_bytes: u64,
    chunks: u32,
    /// `ready`: searchable, and used in conversations.
    status: String,
    created_at: String,
    updated_at: String,
}

impl From<&KnowledgeDocument> for DocumentBody {
    fn from(d: &KnowledgeDocument) -> Self {
        Self {
            document_id: d.document_id,
            title: d.title.clone(),
            source: d.source.clone(),
            url: d.url.clone(),
            kind: d.kind.clone(),
            size_bytes: d.size_bytes,
            chunks: d.chunks,
            status: d.status.clone(),
            created_at: iso8601(d.created_at),
            updated_at: iso8601(d.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DocumentList {
    documents: Vec<DocumentBody>,
}

/// The tenant's documents, oldest first.
#[utoipa::path(
    get, path = "/api/tenant/knowledge", tag = "knowledge",
    responses((status = 200, description = "The tenant's documents", body = DocumentList), Errors)
)]
pub(crate) async fn list_knowledge(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<DocumentList>, AppError> {
    let docs = service::list(&state, caller.tenant_id()).await?;
    Ok(Json(DocumentList {
        documents: docs.iter().map(DocumentBody::from).collect(),
    }))
}

// The two request shapes, for the document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AddFileForm {
    /// Markdown, plain text, HTML or PDF, at most 20 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUrlRequest {
    /// An http(s) page, or a `sitemap.xml` whose pages (same host, at most
    /// 50) are fetched.
    url: String,
}

/// What an add made: the document; for a sitemap, a summary (the first
/// page's id, the pages' chunks and bytes together) and every page in
/// `documents`.
#[derive(Serialize, ToSchema)]
pub struct Added {
    #[serde(flatten)]
    document: DocumentBody,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    documents: Vec<DocumentBody>,
}

impl Added {
    fn of(docs: &[KnowledgeDocument], sitemap: Option<&str>) -> Result<Self, AppError> {
        let first = docs
            .first()
            .ok_or_else(|| AppError::Internal("nothing added".into()))?;
        let mut document = DocumentBody::from(first);
        let Some(sitemap) = sitemap.filter(|_| docs.len() > 1 || first.url.as_deref() != sitemap)
        else {
            return Ok(Self {
                document,
                documents: Vec::new(),
            });
        };
        let host = url::Url::parse(sitemap)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        document.title = format!("{host} ({} pages)", docs.len());
        document.source = sitemap.to_owned();
        document.url = None;
        document.chunks = docs.iter().map(|d| d.chunks).sum();
        document.size_bytes = docs.iter().map(|d| d.size_bytes).sum();
        Ok(Self {
            document,
            documents: docs.iter().map(DocumentBody::from).collect(),
        })
    }
}

/// Adds a document: a multipart `file`, or JSON `{"url"}` (a sitemap's
/// pages become one document each). Searchable (`status: ready`) when the
/// answer comes. 413 over a size or the
/// tenant's limits, 415 for another format, 422 for a document without
/// text (a PDF of scans) or a URL that cannot be fetched.
#[utoipa::path(
    post, path = "/api/tenant/knowledge", tag = "knowledge",
    request_body(content(
        (AddFileForm = "multipart/form-data"),
        (AddUrlRequest = "application/json"),
    )),
    responses((status = 201, description = "The document, searchable", body = Added), Errors)
)]
pub(crate) async fn add_knowledge(
    caller: Caller,
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<Added>), AppError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut url = None;
    let input = if content_type.starts_with("multipart/form-data") {
        read_file(request).await?
    } else if content_type.starts_with("application/json") {
        let request = request.map(|body| Body::new(Limited::new(body, MAX_URL_BODY)));
        let ApiJson(body) = ApiJson::<AddUrlRequest>::from_request(request, &()).await?;
        url = Some(body.url.clone());
        AddDocument::Url(body.url)
    } else {
        return Err(answer(KnowledgeError::Unsupported(
            "send multipart/form-data with a `file`, or application/json with a `url`".into(),
        )));
    };
    let docs = service::add(&state, caller.tenant_id(), input).await?;
    Ok((StatusCode::CREATED, Json(Added::of(&docs, url.as_deref())?)))
}

/// The form's `file`, refused as soon as it passes the document limit.
async fn read_file(request: Request) -> Result<AddDocument, AppError> {
    let limit = MAX_DOCUMENT_BYTES;
    let too_large = || {
        answer(KnowledgeError::TooLarge(format!(
            "a document may have at most {limit} bytes"
        )))
    };
    let request = request.map(|body| Body::new(Limited::new(body, limit + MULTIPART_OVERHEAD)));
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| AppError::bad_request_detail("Invalid multipart body", e.body_text()))?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::bad_request_detail("Invalid multipart body", e.body_text())
        }
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("document").to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(AddDocument::File {
            name,
            content_type,
            bytes: bytes.freeze(),
        });
    }
    Err(AppError::bad_request("file is required"))
}

/// `/{document_id}` in a path: malformed segments are our JSON 400s.
#[derive(Deserialize, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct DocumentPath {
    document_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    document_id: Uuid,
    deleted: bool,
}

/// Deletes a document: gone from searches and answers at once.
#[utoipa::path(
    delete, path = "/api/tenant/knowledge/{document_id}", tag = "knowledge",
    params(("document_id" = Uuid, Path, description = "The document's id")),
    responses((status = 200, description = "Deleted", body = Deleted), Errors)
)]
pub(crate) async fn delete_knowledge(
    caller: Caller,
    State(state): State<AppState>,
    path: DocumentPath,
) -> Result<Json<Deleted>, AppError> {
    let document_id = Uuid::parse_str(&path.document_id)
        .map_err(|_| AppError::bad_request("Invalid document ID"))?;
    service::delete(&state, caller.tenant_id(), document_id).await?;
    Ok(Json(Deleted {
        document_id,
        deleted: true,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    query: String,
    /// Passages wanted, 1 to 20 (default 5).
    #[serde(default)]
    k: Option<usize>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    document_id: Uuid,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    chunk_id: u32,
    text: String,
    /// Only the order is meaningful.
    score: f32,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    results: Vec<SearchResult>,
}

/// The passages a visitor's message like `query` would bring, best first
/// (whether or not knowledge is turned on in conversations).
#[utoipa::path(
    post, path = "/api/tenant/knowledge/search", tag = "knowledge",
    request_body = SearchRequest,
    responses((status = 200, description = "The best passages", body = SearchResults), Errors)
)]
pub(crate) async fn search_knowledge(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SearchRequest>,
) -> Result<Json<SearchResults>, AppError> {
    let query = body.query.trim();
    if query.is_empty() {
        return Err(AppError::bad_request("query is required"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::bad_request_detail(
            "query too long",
            format!("at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let k = body.k.unwrap_or(DEFAULT_K);
    if !(1..=service::MAX_SEARCH_K).contains(&k) {
        return Err(AppError::bad_request_detail(
            "Invalid k",
            format!("k is from 1 to {}", service::MAX_SEARCH_K),
        ));
    }
    let hits = service::search(&state, &caller.tenant, query, k).await?;
    Ok(Json(SearchResults {
        results: hits
            .into_iter()
            .map(|h| SearchResult {
                document_id: h.document_id,
                title: h.title,
                url: h.url,
                chunk_id: h.chunk_id,
                text: h.text,
                score: h.score,
            })
            .collect(),
    }))
}
