//! The usual JSON upload, a top-level array of objects, analysed one row at
//! a time as the parser reads it: the rows are observed and dropped, so a
//! 10 MB file never becomes a tree of several times its size. Only the first
//! rows the excerpt may show are kept.
//!
//! The result is the tree path's (`json::analyze_tree`) to the byte: the
//! same columns in the same order, the same statistics and excerpt. Anything
//! else (another shape, an element that is not an object, a syntax error,
//! too many columns) returns `None`, and the caller takes the tree path,
//! which also words the errors.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::json::{object_analysis, object_excerpt};
use super::stats::{ColStats, MAX_COLUMNS, SeededState};
use crate::files::json::{Columns, JVal};
use crate::files::{Analysis, ParseError};

/// A JSON upload: an array of objects a row at a time as it is parsed;
/// any other shape (or an error, to report its position) through the tree
/// path (`json::analyze_tree`).
pub(super) fn analyze_json(
    content: &[u8],
    max_excerpt_chars: usize,
) -> Result<Analysis, ParseError> {
    match analyze_rows(crate::files::strip_bom(content), max_excerpt_chars) {
        Some(analysis) => Ok(analysis),
        None => super::json::analyze_tree(content, max_excerpt_chars),
    }
}

/// Analyses `data` (without its BOM) when it is an array of objects.
pub(super) fn analyze_rows(data: &[u8], max_excerpt_chars: usize) -> Option<Analysis> {
    if data.trim_ascii_start().first() != Some(&b'[') {
        return None;
    }
    let mut table = RowTable::new(max_excerpt_chars);
    let mut parser = serde_json::Deserializer::from_slice(data);
    (&mut table).deserialize(&mut parser).ok()?;
    parser.end().ok()?;
    Some(table.finish())
}

/// What is kept of the rows read so far.
struct RowTable {
    /// Column names in first-seen order, and where each is.
    names: Vec<String>,
    index: HashMap<String, usize>,
    stats: Vec<ColStats>,
    state: SeededState,
    rows: u64,
    /// The first rows, as long as the excerpt might still show them.
    kept: Vec<JVal>,
    /// Characters of the kept rows' values: a lower bound of their length
    /// in the excerpt, so once it passes the limit no later row can fit.
    kept_chars: usize,
    limit: usize,
}

/// Why the rows are not read this way: the caller takes the tree path.
#[derive(Debug)]
struct NotATable;

impl RowTable {
    fn new(limit: usize) -> Self {
        RowTable {
            names: Vec::new(),
            index: HashMap::new(),
            stats: Vec::new(),
            state: SeededState::default(),
            rows: 0,
            kept: Vec::new(),
            kept_chars: 0,
            limit,
        }
    }

    /// The column of `key`, added when new; as `json::Columns::index_of`.
    fn column(&mut self, key: &str, hint: usize) -> Result<usize, NotATable> {
        if self.names.get(hint).is_some_and(|n| n == key) {
            return Ok(hint);
        }
        if let Some(&i) = self.index.get(key) {
            return Ok(i);
        }
        let i = self.names.len();
        if i == MAX_COLUMNS {
            return Err(NotATable);
        }
        self.names.push(key.to_owned());
        self.index.insert(key.to_owned(), i);
        self.stats.push(ColStats::new(self.state.clone()));
        Ok(i)
    }

    fn push(&mut self, row: JVal) -> Result<(), NotATable> {
        let JVal::Obj(fields) = &row else {
            return Err(NotATable);
        };
        for (pos, (key, value)) in fields.iter().enumerate() {
            let i = self.column(key, pos)?;
            if let Some(col) = self.stats.get_mut(i) {
                col.observe_json(value);
            }
        }
        self.rows += 1;
        if self.kept_chars <= self.limit {
            self.kept_chars += fields
                .iter()
                .map(|(_, v)| v.text().chars().count())
                .sum::<usize>();
            self.kept.push(row);
        }
        Ok(())
    }

    fn finish(self) -> Analysis {
        let mut columns = Columns::new();
        for (i, name) in self.names.iter().enumerate() {
            columns.index_of(name, i);
        }
        let excerpt = object_excerpt(&self.kept, &columns, self.limit);
        object_analysis(self.rows, None, &columns, self.stats, excerpt)
    }
}

impl<'de> DeserializeSeed<'de> for &mut RowTable {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut RowTable {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<JVal>()? {
            self.push(row)
                .map_err(|NotATable| de::Error::custom("not a table of objects"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::analyze_rows;
    use crate::files::analyze::json::analyze_tree;

    /// Both paths give the same analysis, for excerpt limits that cut the
    /// rows anywhere (and the header itself).
    fn same(doc: &str) {
        for limit in [0, 5, 12, 40, 100, 2_000] {
            let rows = analyze_rows(doc.as_bytes(), limit).unwrap();
            assert_eq!(
                rows,
                analyze_tree(doc.as_bytes(), limit).unwrap(),
                "{doc} at {limit}"
            );
        }
    }

    #[test]
    fn rows_match_the_tree() {
        same("[]");
        same(r#"[{"a": 1, "b": "x"}, {"b": "y", "c": [1, 2]}, {"a": 2.5, "a": 3}]"#);
        same(r#"  [{"k": {"n": null}}, {"k": true, "z": "é, \"q\""}, {}]"#);
        let many: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    r#"{{"id": {i}, "name": "row {i}", "v{}": {}}}"#,
                    i % 7,
                    i * 3
                )
            })
            .collect();
        same(&format!("[{}]", many.join(",")));
    }

    #[test]
    fn other_shapes_take_the_tree_path() {
        for doc in [
            "",
            "  ",
            r#"{"rows": [{"a": 1}]}"#,
            r#"[{"a": 1}, 2]"#,
            r#"[1, 2]"#,
            r#"[{"a": 1}"#,
            r#"[{"a": 1}] x"#,
            "42",
        ] {
            assert!(analyze_rows(doc.as_bytes(), 100).is_none(), "{doc}");
        }
    }
}
