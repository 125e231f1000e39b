//! CSV uploads: opening and validating them, locating errors by line and
//! field, and the analysis of their rows.

use csv::{ByteRecord, Reader, ReaderBuilder, StringRecord};

use super::excerpt::Excerpt;
use super::stats::{ColStats, MAX_COLUMNS, SeededState};
use super::summary::finish;
use super::text::plural;
use crate::files::{Analysis, FileKind, ParseError};

/// An open CSV upload: the reader positioned after the header.
pub(crate) struct CsvInput<'a> {
    pub(crate) reader: Reader<&'a [u8]>,
    /// Header names; empty ones are named "column_N" (1-based).
    pub(crate) names: Vec<String>,
    /// The content without its BOM (what error positions refer to).
    pub(crate) data: &'a [u8],
}

/// Validates the basics of a CSV upload (not empty, valid UTF-8) and reads its header.
pub(crate) fn open_csv(content: &[u8]) -> Result<CsvInput<'_>, ParseError> {
    let data = crate::files::strip_bom(content);
    if data.trim_ascii().is_empty() {
        return Err(ParseError::empty());
    }
    if let Err(e) = std::str::from_utf8(data) {
        return Err(locate_utf8_error(data, e.valid_up_to()));
    }
    let mut reader = csv_reader(data);
    let header = reader.byte_headers().map_err(|e| csv_error(e, data))?;
    if header.len() > MAX_COLUMNS {
        let start = data
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        return Err(too_many_columns(line_at(data, start), header.len()));
    }
    let names = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if name.trim_ascii().is_empty() {
                format!("column_{}", i + 1)
            } else {
                String::from_utf8_lossy(name).into_owned()
            }
        })
        .collect();
    Ok(CsvInput {
        reader,
        names,
        data,
    })
}

fn csv_reader(data: &[u8]) -> Reader<&[u8]> {
    ReaderBuilder::new()
        .flexible(false)
        .has_headers(true)
        .buffer_capacity(64 * 1024)
        .from_reader(data)
}

/// Finds the record and field of the first invalid UTF-8 (or an earlier CSV error).
fn locate_utf8_error(data: &[u8], valid_up_to: usize) -> ParseError {
    let mut reader = csv_reader(data);
    if let Err(e) = reader.headers() {
        return csv_error(e, data);
    }
    let mut record = StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return csv_error(e, data),
        }
    }
    ParseError::new(line_at(data, valid_up_to), None, "invalid UTF-8")
}

fn too_many_columns(line: u64, found: usize) -> ParseError {
    ParseError::new(
        line,
        None,
        format!("too many columns: {found} (at most {MAX_COLUMNS})"),
    )
}

/// The 1-based line of byte `offset`: "\n", "\r\n" and a lone "\r" end a line.
pub(super) fn line_at(data: &[u8], offset: usize) -> u64 {
    let end = offset.min(data.len());
    let mut lines = 1u64;
    for (i, &b) in data.iter().enumerate().take(end) {
        if b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n')) {
            lines += 1;
        }
    }
    lines
}

/// The line where the record reported at `pos` really starts. The csv crate's
/// `Position::line()` is taken where the previous record ended, so it lags
/// behind by the skipped blank lines and by one in files with "\r\n" endings.
fn record_line(data: &[u8], pos: &csv::Position) -> u64 {
    let from = usize::try_from(pos.byte())
        .unwrap_or(usize::MAX)
        .min(data.len());
    let skipped = data
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    line_at(data, from + skipped)
}

/// Maps a csv error to a [`ParseError`]; `data` is the parsed content.
pub(crate) fn csv_error(e: csv::Error, data: &[u8]) -> ParseError {
    let line = e.position().map_or(1, |p| record_line(data, p));
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ParseError::new(
            line,
            None,
            format!("expected {expected_len} fields, found {len}"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => {
            ParseError::new(line, Some(err.field() as u64 + 1), "invalid UTF-8")
        }
        _ => ParseError::new(line, None, e.to_string()),
    }
}

pub(super) fn analyze_csv(
    content: &[u8],
    max_excerpt_chars: usize,
) -> Result<Analysis, ParseError> {
    let CsvInput {
        mut reader,
        names,
        data,
    } = open_csv(content)?;
    let state = SeededState::default();
    let mut stats: Vec<ColStats> = names.iter().map(|_| ColStats::new(state.clone())).collect();
    let mut excerpt = Excerpt::new(max_excerpt_chars);
    excerpt.push(names.iter().map(String::as_bytes));

    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, data)),
        }
        rows += 1;
        for (field, col) in record.iter().zip(stats.iter_mut()) {
            col.observe(field);
        }
        if excerpt.accepting() {
            excerpt.push(&record);
        }
    }

    let (excerpt, excerpt_rows) = excerpt.finish();
    let intro = format!(
        "CSV file with {} and {}.",
        plural(rows, "row"),
        plural(names.len() as u64, "column")
    );
    Ok(finish(
        FileKind::Csv,
        rows,
        names,
        stats,
        intro,
        excerpt,
        excerpt_rows,
    ))
}
