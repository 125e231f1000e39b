//! Reading what a tenant adds: a file's kind from its name, type and first
//! bytes; a page or a sitemap's pages fetched; each extracted and cut into
//! passages by the engine, with errors in the API's terms.

use std::time::Instant;

use bytes::Bytes;
use chat_knowledge::{Chunk, ChunkOptions, ExtractError, SourceKind};

use super::fetch::{Fetched, SITEMAP_DEADLINE, is_sitemap, sitemap_pages};
use super::{KnowledgeError, MAX_DOCUMENT_BYTES};
use crate::AppState;

/// A document read and cut into passages, not yet stored.
pub(super) struct Prepared {
    pub title: String,
    pub source: String,
    pub url: Option<String>,
    pub kind: SourceKind,
    pub size: u64,
    pub chunks: Vec<Chunk>,
    /// What the document blob keeps: the file or page as it came.
    pub original: Bytes,
    pub content_type: String,
}

pub(super) fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Markdown => "markdown",
        SourceKind::Text => "text",
        SourceKind::Html => "html",
        SourceKind::Pdf => "pdf",
    }
}

/// A file: its kind from its name, type and first bytes; read and cut.
pub(super) async fn prepare_file(
    name: String,
    content_type: Option<String>,
    bytes: Bytes,
) -> Result<Prepared, KnowledgeError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(KnowledgeError::TooLarge(format!(
            "a document may have at most {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    let kind = SourceKind::detect(Some(&name), content_type.as_deref(), &bytes)
        .ok_or_else(|| unsupported(&name, content_type.as_deref()))?;
    let source = name.clone();
    let read = bytes.clone();
    let (title, chunks) = tokio::task::spawn_blocking(move || read_document(&read, kind, &source))
        .await
        .map_err(|e| KnowledgeError::Index(e.to_string()))??;
    Ok(Prepared {
        title,
        url: None,
        kind,
        size: bytes.len() as u64,
        chunks,
        content_type: content_type.unwrap_or_else(|| mime(kind).into()),
        original: bytes,
        source: name,
    })
}

fn unsupported(name: &str, content_type: Option<&str>) -> KnowledgeError {
    KnowledgeError::Unsupported(format!(
        "`{name}` ({}) is not Markdown (.md), plain text (.txt), HTML (.html) or PDF (.pdf)",
        content_type.unwrap_or("no content type")
    ))
}

/// Extracts and chunks one document; errors in the API's terms.
fn read_document(
    bytes: &[u8],
    kind: SourceKind,
    source: &str,
) -> Result<(String, Vec<Chunk>), KnowledgeError> {
    let doc = chat_knowledge::extract(bytes, kind, source).map_err(|e| match e {
        ExtractError::Unsupported => unsupported(source, None),
        ExtractError::NoText if kind == SourceKind::Pdf => KnowledgeError::NoText(
            "the PDF has no extractable text (a scan or images only?); add a PDF with a text layer, or its text"
                .into(),
        ),
        ExtractError::NoText => {
            KnowledgeError::NoText(format!("`{source}` contains no text to search"))
        }
        ExtractError::Malformed(why) => KnowledgeError::Malformed(why),
    })?;
    let chunks = chat_knowledge::chunk(&doc, &ChunkOptions::default());
    if chunks.is_empty() {
        return Err(KnowledgeError::NoText(format!(
            "`{source}` contains no text to search"
        )));
    }
    Ok((doc.title, chunks))
}

/// One page, or a sitemap's pages (same host, one document each, so each
/// passage cites its own page).
pub(super) async fn prepare_url(
    state: &AppState,
    raw: &str,
) -> Result<Vec<Prepared>, KnowledgeError> {
    let fetcher = &state.knowledge.fetcher;
    let url = fetcher.check(raw)?;
    let deadline = Instant::now() + SITEMAP_DEADLINE;
    let first = fetcher.get(&url, deadline).await?;
    if !is_sitemap(&first) {
        return Ok(vec![prepare_page(first).await?]);
    }
    let mut pages = Vec::new();
    let mut size = 0usize;
    for page in sitemap_pages(&first)? {
        let read = match fetcher.get(&page, deadline).await {
            Ok(fetched) => prepare_page(fetched).await,
            Err(e) => Err(e),
        };
        match read {
            Ok(p) => {
                size += p.original.len();
                pages.push(p);
            }
            // One bad page does not lose the others.
            Err(e) => tracing::info!(page = %page, error = %e, "sitemap page skipped"),
        }
        if size > MAX_DOCUMENT_BYTES {
            return Err(KnowledgeError::TooLarge(format!(
                "the sitemap's pages pass {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
    }
    if pages.is_empty() {
        return Err(KnowledgeError::NoText(format!(
            "no page of the sitemap {url} could be read"
        )));
    }
    Ok(pages)
}

/// A fetched page: its kind from its type (HTML unless it says otherwise).
async fn prepare_page(fetched: Fetched) -> Result<Prepared, KnowledgeError> {
    let name = fetched
        .url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_owned();
    let kind = SourceKind::detect(Some(&name), fetched.content_type.as_deref(), &fetched.bytes)
        .or_else(|| fetched.content_type.is_none().then_some(SourceKind::Html))
        .ok_or_else(|| unsupported(fetched.url.as_str(), fetched.content_type.as_deref()))?;
    let source = fetched.url.to_string();
    let read = fetched.bytes.clone();
    let src = source.clone();
    let (title, chunks) = tokio::task::spawn_blocking(move || read_document(&read, kind, &src))
        .await
        .map_err(|e| KnowledgeError::Index(e.to_string()))??;
    Ok(Prepared {
        title,
        url: Some(source.clone()),
        kind,
        size: fetched.bytes.len() as u64,
        chunks,
        content_type: fetched.content_type.unwrap_or_else(|| mime(kind).into()),
        original: fetched.bytes,
        source,
    })
}

fn mime(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Markdown => "text/markdown",
        SourceKind::Text => "text/plain",
        SourceKind::Html => "text/html",
        SourceKind::Pdf => "application/pdf",
    }
}
