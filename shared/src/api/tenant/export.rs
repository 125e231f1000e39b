//! `GET /api/tenant/export?format=jsonl|csv`: every conversation, streamed
//! as it is read (constant memory, whatever the tenant's size).

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions::{SessionSummary, TranscriptEntry, activity_range};
use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::http::AppError;
use crate::model::SessionConfig;
use crate::service::ServiceResult;
use crate::service::export::{self, ExportPart};
use crate::store::repo::{SessionRow, TranscriptMessage};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_all))
}

#[derive(Deserialize)]
pub(crate) struct ExportParams {
    format: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Csv,
}

/// The CSV columns: one row per message (a session without messages gets
/// one row with the message columns empty).
const CSV_HEADER: [&str; 16] = [
    "session_id",
    "user_identifier",
    "session_created_at",
    "session_last_activity",
    "message_id",
    "role",
    "content",
    "timestamp",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "status",
    "feedback_rating",
    "feedback_comment",
];

/// A JSONL line's fields before its `messages`.
#[derive(Serialize)]
struct SessionHead {
    #[serde(flatten)]
    summary: SessionSummary,
    config: SessionConfig,
}

/// Turns export parts into bytes of one format.
struct Encoder {
    format: Format,
    /// The session being written, for CSV rows.
    session: Option<SessionRow>,
    /// Messages of the current session written so far.
    written: usize,
}

impl Encoder {
    fn start(&self) -> Vec<u8> {
        match self.format {
            Format::Jsonl => Vec::new(),
            Format::Csv => csv_rows(|w| w.write_record(CSV_HEADER)),
        }
    }

    fn encode(&mut self, part: ExportPart) -> Vec<u8> {
        match (self.format, part) {
            (Format::Jsonl, ExportPart::Session(row)) => {
                self.written = 0;
                let head = SessionHead {
                    summary: SessionSummary::from(row.as_ref()),
                    config: row.session.config.clone(),
                };
                // `{...}` without its `}`: the messages follow in the object.
                let mut line = serde_json::to_vec(&head).unwrap_or_default();
                line.pop();
                line.extend_from_slice(br#","messages":["#);
                line
            }
            (Format::Jsonl, ExportPart::Messages(messages)) => {
                let mut out = Vec::new();
                for m in messages {
                    if self.written > 0 {
                        out.push(b',');
                    }
                    self.written += 1;
                    let entry = TranscriptEntry::from(m);
                    out.extend(serde_json::to_vec(&entry).unwrap_or_default());
                }
                out
            }
            (Format::Jsonl, ExportPart::SessionEnd) => b"]}\n".to_vec(),
            (Format::Csv, ExportPart::Session(row)) => {
                self.written = 0;
                self.session = Some(*row);
                Vec::new()
            }
            (Format::Csv, ExportPart::Messages(messages)) => {
                self.written += messages.len();
                let session = self.session.as_ref();
                csv_rows(|w| {
                    for m in &messages {
                        w.write_record(csv_record(session, Some(m)))?;
                    }
                    Ok(())
                })
            }
            (Format::Csv, ExportPart::SessionEnd) => {
                let session = self.session.take();
                if self.written > 0 {
                    return Vec::new();
                }
                csv_rows(|w| w.write_record(csv_record(session.as_ref(), None)))
            }
        }
    }
}

/// Rows written by `write`, as bytes (the csv crate does the quoting).
fn csv_rows(write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory fails only on a bug; the row is then left out.
    if write(&mut writer).is_err() {
        return Vec::new();
    }
    writer.into_inner().unwrap_or_default()
}

fn csv_record(session: Option<&SessionRow>, message: Option<&TranscriptMessage>) -> Vec<String> {
    let s = session.map(|r| &r.session);
    let meta = |name: &str| match message.and_then(|m| m.message.metadata.get(name)) {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let feedback = message.and_then(|m| m.feedback.as_ref());
    vec![
        s.map(|s| s.session_id.to_string()).unwrap_or_default(),
        s.and_then(|s| s.user_identifier.clone())
            .unwrap_or_default(),
        s.map(|s| iso8601(s.created_at)).unwrap_or_default(),
        s.map(|s| iso8601(s.last_activity)).unwrap_or_default(),
        message
            .map(|m| m.message.message_id.to_string())
            .unwrap_or_default(),
        message
            .map(|m| m.message.role.as_str().to_owned())
            .unwrap_or_default(),
        message
            .map(|m| m.message.content.clone())
            .unwrap_or_default(),
        message
            .map(|m| iso8601(m.message.timestamp))
            .unwrap_or_default(),
        meta("provider"),
        meta("model"),
        meta("inputTokens"),
        meta("outputTokens"),
        meta("latencyMs"),
        meta("status"),
        feedback.map(|f| f.rating.clone()).unwrap_or_default(),
        feedback.and_then(|f| f.comment.clone()).unwrap_or_default(),
    ]
}

fn format_of(params: &ExportParams) -> Result<Format, AppError> {
    match params.format.as_deref() {
        None | Some("jsonl") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(AppError::bad_request_detail(
            "Invalid format",
            "format must be jsonl or csv",
        )),
    }
}

/// Every conversation of the tenant, oldest activity first, streamed as it
/// is read. JSONL: one line per session (its list fields, config and
/// `messages`, each as in a transcript). CSV: one row per message with its
/// session's columns. A session active during the export may appear twice
/// (the later copy is newer); one that fails mid-way ends the stream early
/// (the transfer is cut, never a silently short file). `from`/`to` export
/// the sessions last active in a range, to split a large export.
#[utoipa::path(
    get, path = "/api/tenant/export", tag = "tenant",
    params(
        ("format" = Option<String>, Query, description = "`jsonl` (default) or `csv`"),
        ("from" = Option<String>, Query, description = "Only sessions last active at or after: yyyy-mm-dd (UTC) or RFC 3339"),
        ("to" = Option<String>, Query, description = "Only sessions last active at or before: yyyy-mm-dd (that whole UTC day) or RFC 3339"),
    ),
    responses(
        (status = 200, description = "The export, streamed", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        )),
        Errors
    )
)]
pub(crate) async fn export_all(
    caller: Caller,
    State(state): State<AppState>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) =
        params.map_err(|e| AppError::bad_request_detail("Invalid query string", e.body_text()))?;
    let format = format_of(&params)?;
    let range = activity_range(params.from.as_deref(), params.to.as_deref())?;
    let encoder = Encoder {
        format,
        session: None,
        written: 0,
    };
    let head = Bytes::from(encoder.start());
    let parts = export::export(&state, caller.tenant_id(), range);
    let body = futures::stream::unfold((parts, encoder), |(mut parts, mut encoder)| async move {
        let part: ServiceResult<ExportPart> = parts.recv().await?;
        let chunk = match part {
            Ok(part) => Ok(Bytes::from(encoder.encode(part))),
            Err(e) => {
                AppError::from(e).log();
                Err(std::io::Error::other("export failed"))
            }
        };
        Some((chunk, (parts, encoder)))
    });
    let body = futures::stream::once(async move { Ok(head) }).chain(body);
    let (content_type, extension) = match format {
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let disposition = format!(
        "attachment; filename=\"conversations-{}.{extension}\"",
        crate::store::keys::date_of(state.now_ms())
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
