//! `/api/chat/files/*`: upload, info, query, delete.

use std::time::Duration;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::Method;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

#[allow(unused_imports)]
use super::openapi::*;
use super::{Endpoint, ensure_live, load_session};
use crate::AppState;
use crate::auth::{Caller, WidgetCaller};
use crate::context::FILE_EXCERPT_CHARS;
use crate::files::{self, Analysis, FileKind};
use crate::http::{ApiJson, ApiPath, AppError, parse_session_id};
use crate::model::{ActiveFile, FileRecord, PendingUpload, Session};
use crate::store::StoreError;
use crate::store::keys;

/// Rows a query returns when the request names no limit, and at most.
pub const DEFAULT_QUERY_LIMIT: usize = 100;
pub const MAX_QUERY_LIMIT: usize = 1_000;
/// Room for the multipart framing and the other fields around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// Column names kept on the session and file items, and their length.
const MAX_STORED_COLUMNS: usize = 500;
const MAX_COLUMN_NAME_CHARS: usize = 100;
/// Longest file name kept.
const MAX_FILE_NAME_CHARS: usize = 255;

pub fn endpoints(state: &AppState) -> Vec<Endpoint> {
    let body_limit = state.config.max_upload_bytes + MULTIPART_OVERHEAD;
    vec![
        Endpoint::new(
            Method::POST,
            "/api/chat/files/upload",
            post(upload).layer(DefaultBodyLimit::max(body_limit)),
        ),
        Endpoint::new(Method::POST, "/api/chat/files/upload-url", post(upload_url)),
        Endpoint::new(Method::POST, "/api/chat/files/complete", post(complete)),
        Endpoint::new(Method::GET, "/api/chat/files/info/{session_id}", get(info)),
        Endpoint::new(
            Method::POST,
            "/api/chat/files/query/{session_id}",
            post(query),
        ),
        Endpoint::new(
            Method::DELETE,
            "/api/chat/files/{session_id}",
            delete(remove),
        ),
    ]
}

pub fn routes(state: AppState) -> Router {
    super::build(endpoints(&state), state)
}

/// The files group on its own, as its Lambda function serves it.
pub fn router(state: AppState) -> Router {
    crate::http::finish(routes(state))
}

struct Upload {
    session_id: Uuid,
    name: String,
    content_type: Option<String>,
    bytes: Bytes,
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: usize) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::FileTooLarge { limit }
    } else {
        AppError::bad_request_detail("Invalid multipart body", e.body_text())
    }
}

/// Reads the form: `sessionId` and `file`, in any order. The file is read in
/// chunks and refused as soon as it passes the size limit.
async fn read_upload(mut form: Multipart, limit: usize) -> Result<Upload, AppError> {
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
                session_id = Some(parse_session_id(&text)?);
            }
            Some("file") => {
                let name = clean_name(field.file_name().unwrap_or_default());
                let content_type = field.content_type().map(str::to_owned);
                let mut bytes = BytesMut::new();
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
    Ok(Upload {
        session_id,
        name,
        content_type,
        bytes,
    })
}

/// Parses and summarises off the async threads: a 10 MB file is real work.
async fn analyze(kind: FileKind, bytes: Bytes) -> Result<Analysis, AppError> {
    tokio::task::spawn_blocking(move || files::analyze(kind, &bytes, FILE_EXCERPT_CHARS))
        .await
        .map_err(|e| AppError::Internal(format!("file analysis task failed: {e}")))?
        .map_err(|e| AppError::InvalidFileContent(e.to_string()))
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
    form: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, AppError> {
    let limit = state.config.max_upload_bytes;
    let form = form.map_err(|e| {
        AppError::bad_request_detail(
            "Invalid multipart body",
            format!(
                "{}; send multipart/form-data with sessionId and file",
                e.body_text()
            ),
        )
    })?;
    let upload = read_upload(form, limit).await?;
    let kind = FileKind::detect(&upload.name, upload.content_type.as_deref())
        .ok_or(AppError::UnsupportedFileType)?;
    let session = load_session(&state, &caller, upload.session_id).await?;
    ensure_live(&state, &session)?;
    let file_id = state.ids.v7_at(state.now_ms());
    let analysis = analyze(kind, upload.bytes.clone()).await?;
    let blob_key = keys::file_blob(session.tenant_id, session.session_id, file_id);
    state
        .blobs
        .put(&blob_key, upload.bytes.clone(), canonical_type(kind))
        .await?;
    let stored = StoredFile {
        file_id,
        name: upload.name,
        kind,
        size: upload.bytes.len() as u64,
        analysis,
    };
    activate(&state, &caller, &session, stored, false).await
}

fn canonical_type(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Csv => "text/csv",
        FileKind::Json => "application/json",
    }
}

/// A file whose bytes are in the blob store and whose analysis is done.
struct StoredFile {
    file_id: Uuid,
    name: String,
    kind: FileKind,
    size: u64,
    analysis: Analysis,
}

/// Records the file and makes it the session's active one; when that fails
/// the bytes are removed again, so nothing is left half-written.
async fn activate(
    state: &AppState,
    caller: &Caller,
    session: &Session,
    file: StoredFile,
    completes_upload: bool,
) -> Result<Json<Value>, AppError> {
    let now = state.now_ms();
    let blob_key = keys::file_blob(session.tenant_id, session.session_id, file.file_id);
    // Column names are data from the file: capped, since they live on items.
    let columns: Vec<String> = file
        .analysis
        .columns
        .iter()
        .take(MAX_STORED_COLUMNS)
        .map(|c| c.name.chars().take(MAX_COLUMN_NAME_CHARS).collect())
        .collect();
    let record = FileRecord {
        file_id: file.file_id,
        name: file.name,
        file_type: file.kind.as_str().into(),
        size: file.size,
        blob_key: blob_key.clone(),
        summary: file.analysis.summary.clone(),
        columns: columns.clone(),
        rows: file.analysis.rows,
        uploaded_at: now,
        is_active: true,
    };
    let active = ActiveFile {
        file_id: file.file_id,
        name: record.name.clone(),
        file_type: record.file_type.clone(),
        size: file.size,
        summary: file.analysis.summary,
        columns,
        rows: file.analysis.rows,
        excerpt: file.analysis.excerpt,
        uploaded_at: now,
    };
    if let Err(e) = state
        .repo
        .activate_file(
            session,
            &record,
            &active,
            completes_upload,
            state.expires_at(&caller.tenant, now),
        )
        .await
    {
        // Nothing half-written: the bytes go when the record surely was not
        // stored. Not when the store's answer is unknown (the write may have
        // landed), nor for a completion (a concurrent one may have won with
        // these very bytes); such leftovers are only unreferenced bytes.
        let surely_not_stored = !matches!(e, StoreError::Unavailable(_));
        if surely_not_stored && !completes_upload {
            remove_blob(state, &blob_key).await;
        }
        return Err(e.into());
    }
    Ok(Json(json!({
        "sessionId": session.session_id,
        "file": {
            "fileId": record.file_id,
            "name": record.name,
            "type": record.file_type,
            "size": record.size,
            "summary": record.summary,
            "rows": record.rows,
            "columns": record.columns,
        },
        "status": "uploaded",
    })))
}

async fn remove_blob(state: &AppState, blob_key: &str) {
    if let Err(cleanup) = state.blobs.delete(blob_key).await {
        tracing::warn!(%cleanup, blob_key, "could not remove an upload's bytes");
    }
}

#[derive(Deserialize)]
pub(crate) struct UploadUrlBody {
    #[serde(default, rename = "sessionId")]
    session_id: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default, rename = "type")]
    content_type: Option<Value>,
    #[serde(default)]
    size: Option<Value>,
}

fn body_session_id(raw: Option<Value>) -> Result<Uuid, AppError> {
    match raw {
        None | Some(Value::Null) => Err(AppError::bad_request("sessionId is required")),
        Some(Value::String(s)) => parse_session_id(&s),
        Some(_) => Err(AppError::InvalidSessionId),
    }
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
    ApiJson(body): ApiJson<UploadUrlBody>,
) -> Result<Json<Value>, AppError> {
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
    let limit = state.config.max_upload_bytes;
    if size > limit as u64 {
        return Err(AppError::FileTooLarge { limit });
    }
    let kind =
        FileKind::detect(&name, declared_type.as_deref()).ok_or(AppError::UnsupportedFileType)?;
    let session = load_session(&state, &caller, session_id).await?;
    ensure_live(&state, &session)?;

    let now = state.now_ms();
    let file_id = state.ids.v7_at(now);
    let blob_key = keys::upload_blob(session.tenant_id, session.session_id, file_id);
    let content_type = canonical_type(kind);
    let expires = state.config.upload_url_expires_secs;
    let Some(presigned) = state
        .blobs
        .presign_put(&blob_key, content_type, Duration::from_secs(expires))
        .await?
    else {
        return Err(AppError::DirectUploadUnavailable);
    };
    let pending = PendingUpload {
        file_id,
        name,
        file_type: kind.as_str().into(),
        content_type: content_type.into(),
        size,
        created_at: now,
        ttl: now / 1000 + expires as i64 + 3600,
    };
    state.repo.put_pending_upload(&session, &pending).await?;
    let headers: serde_json::Map<String, Value> = presigned
        .headers
        .into_iter()
        .map(|(k, v)| (k, Value::from(v)))
        .collect();
    Ok(Json(json!({
        "sessionId": session.session_id,
        "fileId": file_id,
        "uploadUrl": presigned.url,
        "method": "PUT",
        "headers": headers,
        "expiresAt": crate::clock::iso8601(now + expires as i64 * 1000),
        "maxSize": limit,
    })))
}

#[derive(Deserialize)]
pub(crate) struct CompleteBody {
    #[serde(default, rename = "sessionId")]
    session_id: Option<Value>,
    #[serde(default, rename = "fileId")]
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
    ApiJson(body): ApiJson<CompleteBody>,
) -> Result<Json<Value>, AppError> {
    let session_id = body_session_id(body.session_id)?;
    let file_id = match body.file_id {
        Some(Value::String(s)) => {
            Uuid::try_parse(s.trim()).map_err(|_| AppError::bad_request("Invalid fileId"))?
        }
        _ => return Err(AppError::bad_request("fileId is required")),
    };
    let session = load_session(&state, &caller, session_id).await?;
    ensure_live(&state, &session)?;
    let pending = state
        .repo
        .get_pending_upload(session.tenant_id, session.session_id, file_id)
        .await?
        .ok_or(AppError::UploadNotFound)?;
    let upload_key = keys::upload_blob(session.tenant_id, session.session_id, file_id);
    let info = state
        .blobs
        .head(&upload_key)
        .await?
        .ok_or(AppError::UploadNotReceived)?;
    let limit = state.config.max_upload_bytes;
    if info.size > limit as u64 {
        remove_blob(&state, &upload_key).await;
        return Err(AppError::FileTooLarge { limit });
    }
    let kind = if pending.file_type == "json" {
        FileKind::Json
    } else {
        FileKind::Csv
    };
    let bytes = state
        .blobs
        .get(&upload_key)
        .await?
        .ok_or(AppError::UploadNotReceived)?;
    // The object may have been replaced between the two reads.
    if bytes.len() > limit {
        remove_blob(&state, &upload_key).await;
        return Err(AppError::FileTooLarge { limit });
    }
    let analysis = match analyze(kind, bytes.clone()).await {
        Ok(a) => a,
        Err(e) => {
            remove_blob(&state, &upload_key).await;
            return Err(e);
        }
    };
    // The checked bytes become the file; later writes through the presigned
    // URL land on the upload key only.
    let file_key = keys::file_blob(session.tenant_id, session.session_id, file_id);
    state
        .blobs
        .put(&file_key, bytes.clone(), canonical_type(kind))
        .await?;
    let stored = StoredFile {
        file_id,
        name: pending.name,
        kind,
        size: bytes.len() as u64,
        analysis,
    };
    let done = activate(&state, &caller, &session, stored, true).await?;
    remove_blob(&state, &upload_key).await;
    Ok(done)
}

fn clean_name(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim();
    let name = if name.is_empty() { "upload" } else { name };
    name.chars().take(MAX_FILE_NAME_CHARS).collect()
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
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let session = load_session(&state, &caller, parse_session_id(&session_id)?).await?;
    let file = session.active_file.as_ref().map(|f| {
        json!({
            "fileId": f.file_id,
            "name": f.name,
            "type": f.file_type,
            "size": f.size,
            "summary": f.summary,
            "rows": f.rows,
            "columns": f.columns,
            "uploadedAt": f.uploaded_at,
        })
    });
    Ok(Json(json!({
        "hasFile": file.is_some(),
        "file": file,
    })))
}

#[derive(Deserialize)]
pub(crate) struct QueryBody {
    #[serde(default)]
    query: Option<Value>,
    #[serde(default)]
    limit: Option<Value>,
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
    ApiPath(session_id): ApiPath<String>,
    ApiJson(body): ApiJson<QueryBody>,
) -> Result<Json<Value>, AppError> {
    let session_id = parse_session_id(&session_id)?;
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
    let session = load_session(&state, &caller, session_id).await?;
    let active = session.active_file.as_ref().ok_or(AppError::NoActiveFile)?;
    let kind = match active.file_type.as_str() {
        "json" => FileKind::Json,
        _ => FileKind::Csv,
    };
    let blob_key = keys::file_blob(session.tenant_id, session.session_id, active.file_id);
    let bytes = state.blobs.get(&blob_key).await?.ok_or_else(|| {
        crate::blob::BlobError::Unavailable(format!("blob {blob_key} of an active file is missing"))
    })?;
    let found = tokio::task::spawn_blocking(move || files::query(kind, &bytes, &needle, limit))
        .await
        .map_err(|e| AppError::Internal(format!("file query task failed: {e}")))?
        .map_err(|e| AppError::InvalidFileContent(e.to_string()))?;
    Ok(Json(json!({
        "results": found.results,
        "count": found.results.len(),
        "totalMatches": found.total_matches,
    })))
}

#[utoipa::path(
    delete, path = "/api/chat/files/{session_id}", tag = "files",
    params(("session_id" = Uuid, Path, description = "Session UUID")),
    responses((status = 200, description = "Active file retired", body = FileDeleteResponse), Errors)
)]
pub(crate) async fn remove(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let session = load_session(&state, &caller, parse_session_id(&session_id)?).await?;
    if !state.repo.deactivate_file(&session).await? {
        return Err(AppError::NoActiveFile);
    }
    Ok(Json(json!({
        "status": "deleted",
        "sessionId": session.session_id,
    })))
}
