//! `/api/chat/files/*`: upload, direct upload, info, query, delete.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use http_body_util::Limited;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use super::openapi::Errors;
use crate::AppState;
use crate::auth::{Caller, WidgetCaller};
use crate::files::FileKind;
use crate::http::body_buffer::BodyBuffer;
use crate::http::extract::{SessionPath, body_session_id};
use crate::http::{ApiJson, AppError};
use crate::model::{FileRecord, SessionId};
use crate::service::files::{self as service, Upload, UploadGrant, Uploaded};
use crate::service::load_session;

/// Rows a query returns when the request names no limit, and at most.
pub const DEFAULT_QUERY_LIMIT: usize = 100;
pub const MAX_QUERY_LIMIT: usize = 1_000;
/// Room for the multipart framing and the other fields around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// Longest file name kept.
const MAX_FILE_NAME_CHARS: usize = 255;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // `upload` caps its body itself, by the configured file size.
        .routes(routes!(upload).layer(DefaultBodyLimit::disable()))
        .routes(routes!(upload_url))
        .routes(routes!(complete))
        .routes(routes!(info))
        .routes(routes!(query))
        .routes(routes!(remove))
}

/// The files group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> axum::Router {
    super::serve(routes(), state)
}

// The multipart form, for the document: the handler streams the form.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct UploadForm {
    #[schema(value_type = Uuid)]
    session_id: String,
    /// A CSV or JSON file, at most `FILE_UPLOAD_MAX_MEMORY_SIZE` bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: usize) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::FileTooLarge { limit }
    } else {
        AppError::bad_request_detail("Invalid multipart body", e.body_text())
    }
}

/// The request as a multipart form whose body may be at most the file
/// limit plus the framing.
async fn multipart_form(request: Request, limit: usize) -> Result<Multipart, AppError> {
    let request = request.map(|body| Body::new(Limited::new(body, limit + MULTIPART_OVERHEAD)));
    Multipart::from_request(request, &()).await.map_err(|e| {
        AppError::bad_request_detail(
            "Invalid multipart body",
            format!(
                "{}; send multipart/form-data with sessionId and file",
                e.body_text()
            ),
        )
    })
}

/// The buffer to reserve for the file: the request's announced length
/// (the file plus a little framing), at most the limit. Reserved once, the
/// buffer never grows by copying itself, so the file is in memory once
/// (not up to twice, while a doubling buffer copies); a large one is a map
/// of its own ([`BodyBuffer`]), given back to the system when dropped.
fn expected_file_size(request: &Request, limit: usize) -> usize {
    request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(0, |length| length.min(limit))
}

/// Reads the form: `sessionId` and `file`, in any order. The file is read in
/// chunks into a buffer of `expected` bytes, and refused as soon as it
/// passes the size limit.
async fn read_upload(
    mut form: Multipart,
    limit: usize,
    expected: usize,
) -> Result<Upload, AppError> {
    let mut session_id = None;
    let mut file = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        match field.name() {
            Some("sessionId" | "session_id") => {
                let text = field.text().await.map_err(|e| multipart_error(e, limit))?;
                session_id = Some(SessionId::parse(&text)?);
            }
            Some("file") => {
                let name = clean_name(field.file_name().unwrap_or_default());
                let content_type = field.content_type().map(str::to_owned);
                let mut bytes = BodyBuffer::with_capacity(expected);
                while let Some(chunk) =
                    field.chunk().await.map_err(|e| multipart_error(e, limit))?
                {
                    if bytes.len() + chunk.len() > limit {
                        return Err(AppError::FileTooLarge { limit });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, content_type, bytes.freeze()));
            }
            _ => {}
        }
    }
    let session_id = session_id.ok_or_else(|| AppError::bad_request("sessionId is required"))?;
    let (name, content_type, bytes) =
        file.ok_or_else(|| AppError::bad_request("file is required"))?;
    let kind =
        FileKind::detect(&name, content_type.as_deref()).ok_or(AppError::UnsupportedFileType)?;
    Ok(Upload {
        session_id,
        name,
        kind,
        bytes,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileSummary {
    file_id: Uuid,
    name: String,
    /// `csv` or `json`
    #[serde(rename = "type")]
    file_type: String,
    size: u64,
    summary: String,
    rows: u64,
    columns: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadResponse {
    #[schema(value_type = Uuid)]
    session_id: SessionId,
    file: FileSummary,
    /// `uploaded`
    status: &'static str,
}

impl From<Uploaded> for UploadResponse {
    fn from(done: Uploaded) -> Self {
        let FileRecord {
            file_id,
            name,
            file_type,
            size,
            summary,
            rows,
            columns,
            ..
        } = done.record;
        Self {
            session_id: done.session.session_id.into(),
            file: FileSummary {
                file_id,
                name,
                file_type,
                size,
                summary,
                rows,
                columns,
            },
            status: "uploaded",
        }
    }
}

#[utoipa::path(
    post, path = "/api/chat/files/upload", tag = "files",
    params(("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "File stored and active", body = UploadResponse), Errors)
)]
pub(crate) async fn upload(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<UploadResponse>, AppError> {
    let limit = state.config.max_upload_bytes;
    let expected = expected_file_size(&request, limit);
    let form = multipart_form(request, limit).await?;
    let upload = read_upload(form, limit, expected).await?;
    let done = service::upload(&state, &caller, upload).await?;
    Ok(Json(done.into()))
}

// Fields are matched by hand: a wrong type answers its own 400.
#[derive(Deserialize, ToSchema)]
pub struct UploadUrlRequest {
    #[serde(default, rename = "sessionId")]
    #[schema(value_type = Uuid, required = true)]
    session_id: Option<Value>,
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    name: Option<Value>,
    /// Content type, e.g. `text/csv`.
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<String>)]
    content_type: Option<Value>,
    #[serde(default)]
    #[schema(value_type = u64, required = true)]
    size: Option<Value>,
}

fn upload_grant(body: UploadUrlRequest) -> Result<UploadGrant, AppError> {
    let session_id = body_session_id(body.session_id)?;
    let name = match body.name {
        Some(Value::String(s)) if !s.trim().is_empty() => clean_name(&s),
        _ => return Err(AppError::bad_request("name is required")),
    };
    let declared_type = match body.content_type {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(AppError::bad_request("type must be a string")),
    };
    let size = match body.size.as_ref().map(Value::as_u64) {
        Some(Some(n)) if n > 0 => n,
        _ => {
            return Err(AppError::bad_request(
                "size must be a positive whole number",
            ));
        }
    };
    Ok(UploadGrant {
        session_id,
        name,
        declared_type,
        size,
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlResponse {
    #[schema(value_type = Uuid)]
    session_id: SessionId,
    file_id: Uuid,
    upload_url: String,
    /// `PUT`
    method: &'static str,
    /// Headers the `PUT` must carry.
    headers: BTreeMap<String, String>,
    expires_at: String,
    #[schema(value_type = u64)]
    max_size: usize,
}

/// Grants a direct upload: a presigned `PUT` URL for a file up to the size
/// limit, for files larger than an API request may carry.
#[utoipa::path(
    post, path = "/api/chat/files/upload-url", tag = "files",
    request_body = UploadUrlRequest,
    responses((status = 200, description = "Presigned PUT URL", body = UploadUrlResponse), Errors)
)]
pub(crate) async fn upload_url(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UploadUrlRequest>,
) -> Result<Json<UploadUrlResponse>, AppError> {
    let grant = upload_grant(body)?;
    let granted = service::grant_upload(&state, &caller, grant).await?;
    Ok(Json(UploadUrlResponse {
        session_id: granted.session.session_id.into(),
        file_id: granted.file_id,
        upload_url: granted.presigned.url,
        method: "PUT",
        headers: granted.presigned.headers.into_iter().collect(),
        expires_at: crate::clock::iso8601(granted.expires_at),
        max_size: state.config.max_upload_bytes,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[serde(default, rename = "sessionId")]
    #[schema(value_type = Uuid, required = true)]
    session_id: Option<Value>,
    #[serde(default, rename = "fileId")]
    #[schema(value_type = Uuid, required = true)]
    file_id: Option<Value>,
}

/// Completes a direct upload: checks the stored object's real size and
/// content, then processes it exactly like a multipart upload.
#[utoipa::path(
    post, path = "/api/chat/files/complete", tag = "files",
    request_body = CompleteRequest,
    responses((status = 200, description = "File processed and active", body = UploadResponse), Errors)
)]
pub(crate) async fn complete(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CompleteRequest>,
) -> Result<Json<UploadResponse>, AppError> {
    let session_id = body_session_id(body.session_id)?;
    let file_id = match body.file_id {
        Some(Value::String(s)) => {
            Uuid::try_parse(s.trim()).map_err(|_| AppError::bad_request("Invalid fileId"))?
        }
        _ => return Err(AppError::bad_request("fileId is required")),
    };
    let done = service::complete(&state, &caller, session_id, file_id).await?;
    Ok(Json(done.into()))
}

fn clean_name(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim();
    let name = if name.is_empty() { "upload" } else { name };
    name.chars().take(MAX_FILE_NAME_CHARS).collect()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInfoEntry {
    file_id: Uuid,
    name: String,
    #[serde(rename = "type")]
    file_type: String,
    size: u64,
    summary: String,
    rows: u64,
    columns: Vec<String>,
    /// Epoch milliseconds.
    uploaded_at: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInfoResponse {
    has_file: bool,
    file: Option<FileInfoEntry>,
}

#[utoipa::path(
    get, path = "/api/chat/files/info/{session_id}", tag = "files",
    params(
        ("session_id" = Uuid, Path, description = "Session UUID"),
        ("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)"),
    ),
    responses((status = 200, description = "The active file", body = FileInfoResponse), Errors)
)]
pub(crate) async fn info(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    path: SessionPath,
) -> Result<Json<FileInfoResponse>, AppError> {
    let session = load_session(&state, &caller, path.session_id).await?;
    let file = session.active_file.map(|f| FileInfoEntry {
        file_id: f.file_id,
        name: f.name,
        file_type: f.file_type,
        size: f.size,
        summary: f.summary,
        rows: f.rows,
        columns: f.columns,
        uploaded_at: f.uploaded_at,
    });
    Ok(Json(FileInfoResponse {
        has_file: file.is_some(),
        file,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct QueryRequest {
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    query: Option<Value>,
    /// 1 to 1000; default 100.
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 1000)]
    limit: Option<Value>,
}

/// The needle and the row limit of a query.
fn query_terms(body: QueryRequest) -> Result<(String, usize), AppError> {
    let needle = match body.query {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(AppError::bad_request("query is required"));
        }
        Some(_) => return Err(AppError::bad_request("query must be a string")),
    };
    let limit = match body.limit {
        None | Some(Value::Null) => DEFAULT_QUERY_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_QUERY_LIMIT as u64).contains(&n) => n as usize,
            _ => {
                return Err(AppError::bad_request_detail(
                    "Invalid limit",
                    format!("limit must be a whole number from 1 to {MAX_QUERY_LIMIT}"),
                ));
            }
        },
    };
    Ok((needle, limit))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    /// Matching rows (CSV: column -> value; JSON: the records).
    #[schema(value_type = Vec<Object>)]
    results: Vec<Value>,
    #[schema(value_type = u64)]
    count: usize,
    total_matches: u64,
}

#[utoipa::path(
    post, path = "/api/chat/files/query/{session_id}", tag = "files",
    params(
        ("session_id" = Uuid, Path, description = "Session UUID"),
        ("X-User-Signature" = Option<String>, Header, description = "The visitor's identity signature (publishable keys)"),
    ),
    request_body = QueryRequest,
    responses((status = 200, description = "Matching rows", body = QueryResponse), Errors)
)]
pub(crate) async fn query(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
    path: SessionPath,
    ApiJson(body): ApiJson<QueryRequest>,
) -> Result<Json<QueryResponse>, AppError> {
    let (needle, limit) = query_terms(body)?;
    let found = service::query(&state, &caller, path.session_id, needle, limit).await?;
    Ok(Json(QueryResponse {
        count: found.results.len(),
        results: found.results,
        total_matches: found.total_matches,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileDeleteResponse {
    /// `deleted`
    status: &'static str,
    #[schema(value_type = Uuid)]
    session_id: SessionId,
}

#[utoipa::path(
    delete, path = "/api/chat/files/{session_id}", tag = "files",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Active file retired", body = FileDeleteResponse), Errors)
)]
pub(crate) async fn remove(
    caller: Caller,
    State(state): State<AppState>,
    path: SessionPath,
) -> Result<Json<FileDeleteResponse>, AppError> {
    let session = service::remove(&state, &caller, path.session_id).await?;
    Ok(Json(FileDeleteResponse {
        status: "deleted",
        session_id: session.session_id.into(),
    }))
}
