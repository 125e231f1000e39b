//! Files: store an upload and make it the session's active file, grant and
//! complete direct uploads, query and retire the active file.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;

use super::{ServiceError, ServiceResult, ensure_live, load_session};
use crate::AppState;
use crate::auth::Caller;
use crate::blob::{BlobError, PresignedPut};
use crate::context::FILE_EXCERPT_CHARS;
use crate::files::{self, Analysis, FileKind, QueryResult};
use crate::model::{ActiveFile, FileRecord, PendingUpload, Session, SessionId};
use crate::store::StoreError;
use crate::store::keys;

/// Column names kept on the session and file items, and their length.
const MAX_STORED_COLUMNS: usize = 500;
const MAX_COLUMN_NAME_CHARS: usize = 100;

/// A file as it arrived in a request.
pub struct Upload {
    pub session_id: SessionId,
    pub name: String,
    pub kind: FileKind,
    pub bytes: Bytes,
}

/// The stored, active file an upload became.
pub struct Uploaded {
    pub session: Session,
    pub record: FileRecord,
}

/// Parses and summarises off the async threads: a 10 MB file is real work.
async fn analyze(kind: FileKind, bytes: Bytes) -> ServiceResult<Analysis> {
    tokio::task::spawn_blocking(move || files::analyze(kind, &bytes, FILE_EXCERPT_CHARS))
        .await
        .map_err(|e| ServiceError::Internal(format!("file analysis task failed: {e}")))?
        .map_err(|e| ServiceError::InvalidFileContent(e.to_string()))
}

pub fn canonical_type(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Csv => "text/csv",
        FileKind::Json => "application/json",
    }
}

/// Stores an uploaded file and makes it the session's active one.
pub async fn upload(state: &AppState, caller: &Caller, upload: Upload) -> ServiceResult<Uploaded> {
    let session = load_session(state, caller, upload.session_id).await?;
    ensure_live(state, &session)?;
    let file_id = state.ids.v7_at(state.now_ms());
    let blob_key = keys::file_blob(session.tenant_id, session.session_id, file_id);
    let size = upload.bytes.len() as u64;
    let analysis = analyze_and_store(state, &blob_key, upload.kind, upload.bytes).await?;
    let stored = StoredFile {
        file_id,
        name: upload.name,
        kind: upload.kind,
        size,
        analysis,
    };
    activate(state, caller, session, stored, false).await
}

/// Analyses the bytes and stores them under `blob_key` at the same time:
/// both share the one buffer (no copy), and the blob's write and sync
/// overlap the parsing instead of following it. A file the analysis refuses
/// is removed again.
async fn analyze_and_store(
    state: &AppState,
    blob_key: &str,
    kind: FileKind,
    bytes: Bytes,
) -> ServiceResult<Analysis> {
    let (analysis, stored) = tokio::join!(
        analyze(kind, bytes.clone()),
        state.blobs.put(blob_key, bytes, canonical_type(kind)),
    );
    match (analysis, stored) {
        (Ok(analysis), Ok(())) => Ok(analysis),
        (Err(refused), Ok(())) => {
            remove_blob(state, blob_key).await;
            Err(refused)
        }
        // The file's own fault is the answer when both failed.
        (Err(refused), Err(_)) => Err(refused),
        (Ok(_), Err(e)) => Err(e.into()),
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

/// The file's record and the session's copy of it, as of `now`.
fn records(session: &Session, file: StoredFile, now: i64) -> (FileRecord, ActiveFile) {
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
        blob_key: keys::file_blob(session.tenant_id, session.session_id, file.file_id),
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
    (record, active)
}

/// Records the file and makes it the session's active one; when that fails
/// the bytes are removed again, so nothing is left half-written.
async fn activate(
    state: &AppState,
    caller: &Caller,
    session: Session,
    file: StoredFile,
    completes_upload: bool,
) -> ServiceResult<Uploaded> {
    let now = state.now_ms();
    let (record, active) = records(&session, file, now);
    if let Err(e) = state
        .repo
        .activate_file(
            &session,
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
            remove_blob(state, &record.blob_key).await;
        }
        return Err(e.into());
    }
    crate::observe::metrics::upload(session.tenant_id, record.size).emit();
    Ok(Uploaded { session, record })
}

async fn remove_blob(state: &AppState, blob_key: &str) {
    if let Err(cleanup) = state.blobs.delete(blob_key).await {
        tracing::warn!(%cleanup, blob_key, "could not remove an upload's bytes");
    }
}

/// A direct upload to ask for: the client's name, kind and announced size.
pub struct UploadGrant {
    pub session_id: SessionId,
    pub name: String,
    /// The content type the client announced.
    pub declared_type: Option<String>,
    pub size: u64,
}

pub struct GrantedUpload {
    pub session: Session,
    pub file_id: Uuid,
    pub presigned: PresignedPut,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// Grants a direct upload: a presigned `PUT` URL, and the pending upload
/// that [`complete`] turns into a file.
pub async fn grant_upload(
    state: &AppState,
    caller: &Caller,
    grant: UploadGrant,
) -> ServiceResult<GrantedUpload> {
    let limit = state.config.max_upload_bytes;
    if grant.size > limit as u64 {
        return Err(ServiceError::FileTooLarge { limit });
    }
    let kind = FileKind::detect(&grant.name, grant.declared_type.as_deref())
        .ok_or(ServiceError::UnsupportedFileType)?;
    let session = load_session(state, caller, grant.session_id).await?;
    ensure_live(state, &session)?;

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
        return Err(ServiceError::DirectUploadUnavailable);
    };
    let pending = PendingUpload {
        file_id,
        name: grant.name,
        file_type: kind.as_str().into(),
        content_type: content_type.into(),
        size: grant.size,
        created_at: now,
        ttl: now / 1000 + expires as i64 + 3600,
    };
    state.repo.put_pending_upload(&session, &pending).await?;
    Ok(GrantedUpload {
        session,
        file_id,
        presigned,
        expires_at: now + expires as i64 * 1000,
    })
}

/// Completes a direct upload: checks the stored object's real size and
/// content, then processes it exactly like a multipart upload.
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
    file_id: Uuid,
) -> ServiceResult<Uploaded> {
    let session = load_session(state, caller, session_id).await?;
    ensure_live(state, &session)?;
    let pending = state
        .repo
        .get_pending_upload(session.tenant_id, session.session_id, file_id)
        .await?
        .ok_or(ServiceError::UploadNotFound)?;
    let upload_key = keys::upload_blob(session.tenant_id, session.session_id, file_id);
    let kind = kind_of(&pending.file_type);
    let bytes = match received(state, &upload_key).await {
        Ok(bytes) => bytes,
        Err(e) => {
            if matches!(e, ServiceError::FileTooLarge { .. }) {
                remove_blob(state, &upload_key).await;
            }
            return Err(e);
        }
    };
    let analysis = match analyze(kind, bytes.clone()).await {
        Ok(a) => a,
        Err(e) => {
            remove_blob(state, &upload_key).await;
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
    let done = activate(state, caller, session, stored, true).await?;
    remove_blob(state, &upload_key).await;
    Ok(done)
}

/// The bytes PUT to the upload key, within the size limit.
async fn received(state: &AppState, upload_key: &str) -> ServiceResult<Bytes> {
    let info = state
        .blobs
        .head(upload_key)
        .await?
        .ok_or(ServiceError::UploadNotReceived)?;
    let limit = state.config.max_upload_bytes;
    if info.size > limit as u64 {
        return Err(ServiceError::FileTooLarge { limit });
    }
    let bytes = state
        .blobs
        .get(upload_key)
        .await?
        .ok_or(ServiceError::UploadNotReceived)?;
    // The object may have been replaced between the two reads.
    if bytes.len() > limit {
        return Err(ServiceError::FileTooLarge { limit });
    }
    Ok(bytes)
}

/// A stored `file_type` ("csv" / "json", as `FileKind` writes it).
fn kind_of(stored: &str) -> FileKind {
    serde_json::from_value(serde_json::Value::from(stored)).unwrap_or(FileKind::Csv)
}

/// Rows of the active file that match `needle`, at most `limit`.
pub async fn query(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
    needle: String,
    limit: usize,
) -> ServiceResult<QueryResult> {
    let session = load_session(state, caller, session_id).await?;
    let active = session
        .active_file
        .as_ref()
        .ok_or(ServiceError::NoActiveFile)?;
    let kind = kind_of(&active.file_type);
    let blob_key = keys::file_blob(session.tenant_id, session.session_id, active.file_id);
    let bytes = state.blobs.get(&blob_key).await?.ok_or_else(|| {
        BlobError::Unavailable(format!("blob {blob_key} of an active file is missing"))
    })?;
    tokio::task::spawn_blocking(move || files::query(kind, &bytes, &needle, limit))
        .await
        .map_err(|e| ServiceError::Internal(format!("file query task failed: {e}")))?
        .map_err(|e| ServiceError::InvalidFileContent(e.to_string()))
}

/// Retires the session's active file.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
) -> ServiceResult<Session> {
    let session = load_session(state, caller, session_id).await?;
    if !state.repo.deactivate_file(&session).await? {
        return Err(ServiceError::NoActiveFile);
    }
    Ok(session)
}
