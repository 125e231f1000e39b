//! Analysis: per-column type inference and statistics, the summary paragraph
//! and the CSV excerpt for the AI prompt.
//!
//! `csv` and `json` read a file into per-column statistics (`stats`, over the
//! value classes of `classify`) and an excerpt (`excerpt`); `summary` turns
//! the statistics into the columns and the paragraph of an [`Analysis`].

mod classify;
mod csv;
mod excerpt;
mod json;
mod json_rows;
mod stats;
mod summary;
#[cfg(test)]
mod tests;
mod text;

use super::{Analysis, FileKind, ParseError};

pub(crate) use self::csv::{csv_error, open_csv};
pub(crate) use excerpt::csv_writer;

/// Parses and analyses the file.
pub fn analyze(
    kind: FileKind,
    content: &[u8],
    max_excerpt_chars: usize,
) -> Result<Analysis, ParseError> {
    match kind {
        FileKind::Csv => self::csv::analyze_csv(content, max_excerpt_chars),
        FileKind::Json => json_rows::analyze_json(content, max_excerpt_chars),
    }
}
