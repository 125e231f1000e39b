//! Bytes of an uploaded document to a title and sections, each with the path
//! of headings above it: the headings are what make a passage findable and
//! citable, so every format keeps them.

mod html;
mod markdown;
mod pdf;
mod sections;
mod text;

use sections::SectionBuilder;

use serde::{Deserialize, Serialize};

/// The formats the knowledge base accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Markdown,
    Text,
    Html,
    Pdf,
}

/// A document as text: its title and its sections in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtractedDoc {
    pub title: String,
    pub sections: Vec<Section>,
    /// The page's address when the document came from a URL.
    pub url: Option<String>,
}

/// A run of text under one heading.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The headings above the text, outermost first; empty before the
    /// first heading.
    pub heading_path: Vec<String>,
    /// Paragraphs separated by a blank line.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Not a format the knowledge base reads (the API's 415).
    #[error("unsupported document type")]
    Unsupported,
    /// The document holds no text, e.g. a scanned PDF without a text layer
    /// (the API's 422).
    #[error("the document contains no extractable text")]
    NoText,
    /// The bytes are not a valid document of the kind (the API's 422).
    #[error("malformed document: {0}")]
    Malformed(String),
}

impl SourceKind {
    /// The kind from the upload's file name, its declared content type and
    /// its first bytes; `None` when nothing says it is a kind we read.
    /// Magic bytes win over names: a PDF is a PDF whatever it is called.
    pub fn detect(
        filename: Option<&str>,
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            return Some(Self::Pdf);
        }
        let extension = filename
            .and_then(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext.to_ascii_lowercase());
        let by_name = match extension.as_deref() {
            Some("md" | "markdown") => Some(Self::Markdown),
            Some("txt" | "text") => Some(Self::Text),
            Some("html" | "htm") => Some(Self::Html),
            Some("pdf") => Some(Self::Pdf),
            _ => None,
        };
        let mime = content_type.map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let by_type = match mime.as_deref() {
            Some("text/markdown" | "text/x-markdown") => Some(Self::Markdown),
            Some("text/plain") => Some(Self::Text),
            Some("text/html" | "application/xhtml+xml") => Some(Self::Html),
            Some("application/pdf") => Some(Self::Pdf),
            _ => None,
        };
        by_name.or(by_type)
    }
}

/// Extracts the title and sections of a document. `source` names it (file
/// name or URL): the title when the document has none of its own, and the
/// `url` when it is an http(s) address.
pub fn extract(bytes: &[u8], kind: SourceKind, source: &str) -> Result<ExtractedDoc, ExtractError> {
    let mut doc = match kind {
        SourceKind::Markdown => markdown::extract(utf8(bytes)?),
        SourceKind::Text => text::extract(utf8(bytes)?),
        SourceKind::Html => html::extract(utf8(bytes)?),
        SourceKind::Pdf => pdf::extract(bytes)?,
    };
    doc.sections
        .retain(|section| !section.text.trim().is_empty());
    if doc.sections.is_empty() {
        return Err(ExtractError::NoText);
    }
    if doc.title.trim().is_empty() {
        doc.title = title_from_source(source);
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        doc.url = Some(source.to_owned());
    }
    Ok(doc)
}

fn utf8(bytes: &[u8]) -> Result<&str, ExtractError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|error| ExtractError::Malformed(format!("not UTF-8 text: {error}")))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// "docs/returns-policy.md" -> "returns-policy"; a URL's last path segment.
fn title_from_source(source: &str) -> String {
    let trimmed = source.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    if stem.is_empty() {
        source.to_owned()
    } else {
        stem.to_owned()
    }
}

/// Collapses runs of whitespace inside a paragraph to one space.
pub(crate) fn normalize_space(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
