//! A session's file upload: its bytes (the original from the media root, or
//! rebuilt from what Django parsed), analysed by our own file code, and the
//! records an upload here would have made.

use std::path::Path;

use bytes::Bytes;
use chat_shared::context::FILE_EXCERPT_CHARS;
use chat_shared::files::{self, Analysis, FileKind};
use chat_shared::model::{ActiveFile, FileRecord};
use chat_shared::store::keys;
use serde_json::Value;
use uuid::Uuid;

use super::records::FileUpload;

/// As the upload service caps them: column names live on items.
const MAX_STORED_COLUMNS: usize = 500;
const MAX_COLUMN_NAME_CHARS: usize = 100;

/// An upload ready to store.
pub struct PreparedFile {
    pub bytes: Bytes,
    pub kind: FileKind,
    /// Rebuilt from `processed_data`, not the original bytes.
    pub rebuilt: bool,
    pub record: FileRecord,
    pub active: ActiveFile,
}

/// The upload's kind: from its name, else from Django's `file_type`.
fn kind(upload: &FileUpload) -> Option<FileKind> {
    FileKind::detect(&upload.original_name, None)
        .or_else(|| FileKind::detect(&format!("x.{}", upload.file_type), None))
}

/// The original bytes: `file_path`'s file name under `<media-root>/uploads/`.
fn original(upload: &FileUpload, media_root: Option<&Path>) -> Option<Vec<u8>> {
    let name = Path::new(&upload.file_path).file_name()?;
    std::fs::read(media_root?.join("uploads").join(name)).ok()
}

/// The file again from Django's parse of it: CSV from `headers` and `rows`,
/// JSON as the parsed document.
fn rebuild(kind: FileKind, data: &Value) -> Result<Vec<u8>, String> {
    match kind {
        FileKind::Json if !data.is_null() => {
            serde_json::to_vec_pretty(data).map_err(|e| e.to_string())
        }
        FileKind::Json => Err("no processed_data to rebuild it from".into()),
        FileKind::Csv => {
            let headers: Vec<&str> = data
                .get("headers")
                .and_then(Value::as_array)
                .ok_or("processed_data has no headers to rebuild it from")?
                .iter()
                .map(|h| h.as_str().unwrap_or_default())
                .collect();
            let rows = data.get("rows").and_then(Value::as_array);
            let mut out = csv::Writer::from_writer(Vec::new());
            out.write_record(&headers).map_err(|e| e.to_string())?;
            for row in rows.into_iter().flatten() {
                let cells = headers.iter().map(|h| match row.get(*h) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                });
                out.write_record(cells).map_err(|e| e.to_string())?;
            }
            out.into_inner().map_err(|e| e.to_string())
        }
    }
}

/// Reads (or rebuilds) and analyses the upload; `Err` says why it cannot be
/// imported.
pub fn prepare(
    upload: &FileUpload,
    tenant: Uuid,
    file_id: Uuid,
    media_root: Option<&Path>,
) -> Result<PreparedFile, String> {
    let kind = kind(upload).ok_or_else(|| {
        format!(
            "unsupported file type `{}` ({})",
            upload.file_type, upload.original_name
        )
    })?;
    let (bytes, rebuilt) = match original(upload, media_root) {
        Some(bytes) => (bytes, false),
        None => (rebuild(kind, &upload.processed_data)?, true),
    };
    let analysis = files::analyze(kind, &bytes, FILE_EXCERPT_CHARS)
        .map_err(|e| format!("the file does not analyse: {e}"))?;
    // A rebuilt file is the same data, maybe not the same bytes: the size
    // shown stays the original's.
    let size = if rebuilt && upload.file_size > 0 {
        upload.file_size
    } else {
        bytes.len() as u64
    };
    let (record, active) = records(upload, tenant, file_id, size, analysis);
    Ok(PreparedFile {
        bytes: Bytes::from(bytes),
        kind,
        rebuilt,
        record,
        active,
    })
}

/// The file's record and the session's copy of it, as the upload service
/// makes them, dated as Django dated the upload.
fn records(
    upload: &FileUpload,
    tenant: Uuid,
    file_id: Uuid,
    size: u64,
    analysis: Analysis,
) -> (FileRecord, ActiveFile) {
    let columns: Vec<String> = analysis
        .columns
        .iter()
        .take(MAX_STORED_COLUMNS)
        .map(|c| c.name.chars().take(MAX_COLUMN_NAME_CHARS).collect())
        .collect();
    let record = FileRecord {
        file_id,
        name: upload.original_name.clone(),
        file_type: analysis.kind.as_str().into(),
        size,
        blob_key: keys::file_blob(tenant, upload.session, file_id),
        summary: analysis.summary.clone(),
        columns: columns.clone(),
        rows: analysis.rows,
        uploaded_at: upload.uploaded_at,
        is_active: true,
    };
    let active = ActiveFile {
        file_id,
        name: record.name.clone(),
        file_type: record.file_type.clone(),
        size,
        summary: analysis.summary,
        columns,
        rows: analysis.rows,
        excerpt: analysis.excerpt,
        uploaded_at: upload.uploaded_at,
    };
    (record, active)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_a_csv_from_headers_and_rows() {
        let data = serde_json::json!({
            "headers": ["sku", "price"],
            "rows": [{"sku": "KE-0", "price": "19.99"}, {"sku": "a,b", "price": 3}],
            "totalRows": 2
        });
        let csv = rebuild(FileKind::Csv, &data).expect("rebuilt");
        assert_eq!(
            String::from_utf8(csv).expect("utf-8"),
            "sku,price\nKE-0,19.99\n\"a,b\",3\n"
        );
        assert!(rebuild(FileKind::Csv, &Value::Null).is_err());
    }
}
