//! JSON uploads: a table of objects, a one-column table of values, or a
//! single document described field by field.

use std::borrow::Cow;

use super::excerpt::Excerpt;
use super::stats::{ColStats, MAX_COLUMNS, SAMPLE_CHARS, SeededState};
use super::summary::finish;
use super::text::{clean, cut_chars, plural};
use crate::files::json::{self, Columns, JVal, Table};
use crate::files::{Analysis, FileKind, ParseError};

/// Any JSON document, parsed whole into a tree first.
pub(super) fn analyze_tree(
    content: &[u8],
    max_excerpt_chars: usize,
) -> Result<Analysis, ParseError> {
    let doc = json::parse(content)?;
    let state = SeededState::default();
    match json::table_view(&doc) {
        Table::Objects { rows, source } => objects(rows, source, max_excerpt_chars, &state),
        Table::Values(items) => Ok(values(items, max_excerpt_chars, &state)),
        Table::Document(doc) => Ok(document(doc, max_excerpt_chars, &state)),
    }
}

/// Rows that are objects: the columns are the union of their keys.
fn objects(
    rows: &[JVal],
    source: Option<&str>,
    max_excerpt_chars: usize,
    state: &SeededState,
) -> Result<Analysis, ParseError> {
    let (columns, stats) = object_columns(rows, state)?;
    let excerpt = object_excerpt(rows, &columns, max_excerpt_chars);
    Ok(object_analysis(
        rows.len() as u64,
        source,
        &columns,
        stats,
        excerpt,
    ))
}

/// The analysis of a table of `n_rows` objects from its columns, their
/// statistics and the excerpt (text, rows).
pub(super) fn object_analysis(
    n_rows: u64,
    source: Option<&str>,
    columns: &Columns<'_>,
    stats: Vec<ColStats>,
    (excerpt, excerpt_rows): (String, u64),
) -> Analysis {
    let mut intro = format!(
        "JSON file with {} and {}",
        plural(n_rows, "row"),
        plural(columns.names.len() as u64, "column")
    );
    if let Some(key) = source {
        intro.push_str(&format!(
            " (from the \"{}\" array)",
            clean(cut_chars(key, SAMPLE_CHARS))
        ));
    }
    intro.push('.');
    let names = columns.names.iter().map(|n| (*n).to_owned()).collect();
    finish(
        FileKind::Json,
        n_rows,
        names,
        stats,
        intro,
        excerpt,
        excerpt_rows,
    )
}

/// The columns of a table of objects and their statistics.
fn object_columns<'a>(
    rows: &'a [JVal],
    state: &SeededState,
) -> Result<(Columns<'a>, Vec<ColStats>), ParseError> {
    let mut columns = json::Columns::new();
    let mut stats: Vec<ColStats> = Vec::new();
    for row in rows {
        let JVal::Obj(fields) = row else { continue };
        for (pos, (key, value)) in fields.iter().enumerate() {
            let i = columns.index_of(key, pos);
            if i == stats.len() {
                if i == MAX_COLUMNS {
                    return Err(ParseError::new(
                        1,
                        None,
                        format!("too many columns: more than {MAX_COLUMNS} distinct keys"),
                    ));
                }
                stats.push(ColStats::new(state.clone()));
            }
            if let Some(col) = stats.get_mut(i) {
                col.observe_json(value);
            }
        }
    }
    Ok((columns, stats))
}

/// The excerpt of a table of objects: a missing key is an empty cell.
pub(super) fn object_excerpt(
    rows: &[JVal],
    columns: &Columns<'_>,
    max_excerpt_chars: usize,
) -> (String, u64) {
    let mut excerpt = Excerpt::new(max_excerpt_chars);
    if columns.names.is_empty() {
        // Nothing to show: an empty record would be written as `""`.
        excerpt.close();
    }
    excerpt.push(columns.names.iter().map(|n| n.as_bytes()));
    let mut cells = Vec::with_capacity(columns.names.len());
    for row in rows {
        if !excerpt.accepting() {
            break;
        }
        let JVal::Obj(fields) = row else { continue };
        cells.clear();
        cells.resize(columns.names.len(), Cow::Borrowed(""));
        for (pos, (key, value)) in fields.iter().enumerate() {
            if let Some(cell) = columns.get(key, pos).and_then(|i| cells.get_mut(i)) {
                *cell = value.text();
            }
        }
        excerpt.push(cells.iter().map(|c| c.as_bytes()));
    }
    excerpt.finish()
}

/// A top-level array of anything but objects: one column "value".
fn values(items: &[JVal], max_excerpt_chars: usize, state: &SeededState) -> Analysis {
    let mut col = ColStats::new(state.clone());
    for item in items {
        col.observe_json(item);
    }
    let mut excerpt = Excerpt::new(max_excerpt_chars);
    excerpt.push([b"value".as_slice()]);
    for item in items {
        if !excerpt.accepting() {
            break;
        }
        excerpt.push([item.text().as_bytes()]);
    }
    let (excerpt, excerpt_rows) = excerpt.finish();
    let rows = items.len() as u64;
    let intro = format!("JSON file with {} and 1 column.", plural(rows, "row"));
    finish(
        FileKind::Json,
        rows,
        vec!["value".to_owned()],
        vec![col],
        intro,
        excerpt,
        excerpt_rows,
    )
}

/// Not a table: the document is the single row, its excerpt the compact JSON.
fn document(doc: &JVal, max_excerpt_chars: usize, state: &SeededState) -> Analysis {
    let (names, stats, intro) = match doc {
        JVal::Obj(fields) => {
            // Not a table: describe at most MAX_COLUMNS fields.
            let shown = fields.get(..MAX_COLUMNS).unwrap_or(fields);
            let names = shown.iter().map(|(k, _)| k.clone()).collect();
            let stats = shown
                .iter()
                .map(|(_, v)| {
                    let mut col = ColStats::new(state.clone());
                    col.observe_json(v);
                    col
                })
                .collect();
            let intro = format!(
                "JSON file with a single object of {} (not a table).",
                plural(fields.len() as u64, "field")
            );
            (names, stats, intro)
        }
        other => {
            let mut col = ColStats::new(state.clone());
            col.observe_json(other);
            let intro = "JSON file with a single value (not a table).".to_owned();
            (vec!["value".to_owned()], vec![col], intro)
        }
    };
    let excerpt = cut_chars(&doc.compact(), max_excerpt_chars).to_owned();
    finish(FileKind::Json, 1, names, stats, intro, excerpt, 0)
}
