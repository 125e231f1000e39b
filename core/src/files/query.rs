//! Case-insensitive row search over an uploaded file.

use csv::ByteRecord;
use serde_json::{Map, Value};

use super::analyze::{csv_error, open_csv};
use super::json::{self, JVal, Table};
use super::{FileKind, ParseError, QueryResult};

/// Case-insensitive substring search over the rows: a row matches when any of its
/// values (rendered as text) contains `needle` (trimmed; Unicode-aware lowercase on
/// both sides). Returns at most `limit` matching rows in file order (CSV: an object
/// header -> string value exactly as in the file, a repeated header name getting a
/// "_2", "_3"... suffix; JSON: the row itself, unchanged) and the total number of
/// matching rows. A needle that is empty after trimming matches nothing. For
/// non-tabular JSON the single row is the whole document (matched on its top-level
/// values).
pub fn query(
    kind: FileKind,
    content: &[u8],
    needle: &str,
    limit: usize,
) -> Result<QueryResult, ParseError> {
    let mut matcher = Matcher::new(needle);
    match kind {
        FileKind::Csv => query_csv(content, &mut matcher, limit),
        FileKind::Json => query_json(content, &mut matcher, limit),
    }
}

/// Lowercased substring matching with a reused buffer.
struct Matcher {
    needle: String,
    buf: String,
}

impl Matcher {
    fn new(needle: &str) -> Self {
        Matcher {
            needle: needle.trim().to_lowercase(),
            buf: String::new(),
        }
    }

    fn matches(&mut self, text: &str) -> bool {
        if self.needle.is_empty() {
            return false;
        }
        if text.is_ascii() {
            // ASCII lowercases to ASCII: it cannot contain a non-ASCII needle.
            if !self.needle.is_ascii() {
                return false;
            }
            self.buf.clear();
            self.buf.push_str(text);
            self.buf.make_ascii_lowercase();
        } else {
            self.buf = text.to_lowercase();
        }
        self.buf.contains(self.needle.as_str())
    }
}

fn query_csv(
    content: &[u8],
    matcher: &mut Matcher,
    limit: usize,
) -> Result<QueryResult, ParseError> {
    let input = open_csv(content)?;
    let data = input.data;
    let mut reader = input.reader;
    let keys = unique_keys(input.names);
    let mut record = ByteRecord::new();
    let mut results = Vec::new();
    let mut total_matches = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, data)),
        }
        // The whole file is valid UTF-8 (checked by `open_csv`), so lossy
        // conversion borrows and never replaces anything.
        let hit = record
            .iter()
            .any(|field| matcher.matches(&String::from_utf8_lossy(field)));
        if !hit {
            continue;
        }
        total_matches += 1;
        if results.len() < limit {
            let mut row = Map::new();
            for (key, field) in keys.iter().zip(record.iter()) {
                row.insert(
                    key.clone(),
                    Value::String(String::from_utf8_lossy(field).into_owned()),
                );
            }
            results.push(Value::Object(row));
        }
    }
    Ok(QueryResult {
        results,
        total_matches,
    })
}

/// Header names made unique for use as object keys ("a", "a" -> "a", "a_2").
/// Linear in the header: sets for lookups and a next-suffix counter per
/// name, so a hostile header of thousands of repeats stays cheap.
fn unique_keys(names: Vec<String>) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let original: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut seen: HashSet<String> = HashSet::with_capacity(names.len());
    let mut next_suffix: HashMap<&str, usize> = HashMap::new();
    let mut keys = Vec::with_capacity(names.len());
    for name in &names {
        let mut key = name.clone();
        if seen.contains(&key) {
            let n = next_suffix.entry(name.as_str()).or_insert(2);
            loop {
                key = format!("{name}_{n}");
                *n += 1;
                if !seen.contains(&key) && !original.contains(key.as_str()) {
                    break;
                }
            }
        }
        seen.insert(key.clone());
        keys.push(key);
    }
    keys
}

fn query_json(
    content: &[u8],
    matcher: &mut Matcher,
    limit: usize,
) -> Result<QueryResult, ParseError> {
    let doc = json::parse(content)?;
    let rows: &[JVal] = match json::table_view(&doc) {
        Table::Objects { rows, .. } | Table::Values(rows) => rows,
        Table::Document(doc) => std::slice::from_ref(doc),
    };
    let mut results = Vec::new();
    let mut total_matches = 0u64;
    for row in rows {
        let hit = match row {
            JVal::Obj(fields) => fields.iter().any(|(_, v)| matcher.matches(&v.text())),
            other => matcher.matches(&other.text()),
        };
        if hit {
            total_matches += 1;
            if results.len() < limit {
                results.push(row.to_value());
            }
        }
    }
    Ok(QueryResult {
        results,
        total_matches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(kind: FileKind, content: &str, needle: &str, limit: usize) -> QueryResult {
        query(kind, content.as_bytes(), needle, limit).expect("valid file")
    }

    const FRUIT: &str = "id,fruit,note\n\
                         1,Äpfel,aus Südtirol\n\
                         2,Birnen,\n\
                         3,äpfel,\"grün, sauer\"\n\
                         4,Kirschen,mit ÄPFELN gemischt\n\
                         5,Pflaumen,x\n";

    #[test]
    fn csv_case_insensitive_unicode() {
        let r = q(FileKind::Csv, FRUIT, "ÄPFEL", 10);
        assert_eq!(r.total_matches, 3);
        assert_eq!(
            r.results,
            [
                json!({"id": "1", "fruit": "Äpfel", "note": "aus Südtirol"}),
                json!({"id": "3", "fruit": "äpfel", "note": "grün, sauer"}),
                json!({"id": "4", "fruit": "Kirschen", "note": "mit ÄPFELN gemischt"}),
            ]
        );
        let lower = q(FileKind::Csv, FRUIT, "äpfel", 10);
        assert_eq!(lower, r);
        assert_eq!(q(FileKind::Csv, FRUIT, "  Äpfel ", 10), r);
    }

    #[test]
    fn csv_limit_and_total() {
        let r = q(FileKind::Csv, FRUIT, "äpfel", 2);
        assert_eq!(r.total_matches, 3);
        assert_eq!(r.results.len(), 2);
        assert_eq!(r.results[1]["id"], "3");

        let r = q(FileKind::Csv, FRUIT, "äpfel", 0);
        assert_eq!((r.total_matches, r.results.len()), (3, 0));

        let r = q(FileKind::Csv, FRUIT, "banane", 10);
        assert_eq!((r.total_matches, r.results.len()), (0, 0));
    }

    #[test]
    fn csv_values_exactly_as_in_file() {
        let r = q(FileKind::Csv, "a,b\n  X  ,\"1,5\"\n", "x", 10);
        assert_eq!(r.results, [json!({"a": "  X  ", "b": "1,5"})]);
        // The header is not a row.
        let r = q(FileKind::Csv, "name\nvalue\n", "name", 10);
        assert_eq!(r.total_matches, 0);
    }

    #[test]
    fn blank_needle_matches_nothing() {
        for needle in ["", "   ", "\t\n"] {
            let r = q(FileKind::Csv, FRUIT, needle, 10);
            assert_eq!((r.total_matches, r.results.len()), (0, 0));
            let r = q(FileKind::Json, "[{\"a\": \" \"}]", needle, 10);
            assert_eq!((r.total_matches, r.results.len()), (0, 0));
        }
    }

    #[test]
    fn csv_duplicate_and_empty_headers() {
        let r = q(FileKind::Csv, "a,a,,a_2\n1,2,3,4\n", "1", 10);
        assert_eq!(
            r.results,
            [json!({"a": "1", "a_3": "2", "column_3": "3", "a_2": "4"})]
        );
    }

    #[test]
    fn csv_errors() {
        let err = query(FileKind::Csv, b"a,b\n1,2\n3\n", "1", 10).expect_err("bad row");
        assert_eq!(err, ParseError::new(3, None, "expected 2 fields, found 1"));
        let err = query(FileKind::Csv, b" \n", "1", 10).expect_err("empty");
        assert_eq!(err.message, "file is empty");
        let err = query(FileKind::Csv, b"a\n\xff\n", "1", 10).expect_err("bad UTF-8");
        assert_eq!(err, ParseError::new(2, Some(1), "invalid UTF-8"));
    }

    #[test]
    fn json_rows_unchanged() {
        let content = r#"[{"name": "Äpfel", "n": 1, "tags": ["rot"]},
                          {"name": "Birnen", "n": 2, "tags": ["grün", "ÄPFEL-ähnlich"]},
                          {"name": "Kiwi", "n": 12}]"#;
        let r = q(FileKind::Json, content, "äpfel", 10);
        assert_eq!(r.total_matches, 2);
        assert_eq!(
            r.results,
            [
                json!({"name": "Äpfel", "n": 1, "tags": ["rot"]}),
                json!({"name": "Birnen", "n": 2, "tags": ["grün", "ÄPFEL-ähnlich"]}),
            ]
        );
        // Numbers are matched as their JSON text.
        let r = q(FileKind::Json, content, "2", 10);
        assert_eq!(r.total_matches, 2);
        let r = q(FileKind::Json, content, "2", 1);
        assert_eq!((r.total_matches, r.results.len()), (2, 1));
    }

    #[test]
    fn json_object_with_array_rows() {
        let content =
            r#"{"source": "apples", "items": [{"k": "apple pie"}, {"k": "pear"}, {"k": "Apple"}]}"#;
        let r = q(FileKind::Json, content, "APPLE", 10);
        assert_eq!(r.total_matches, 2);
        assert_eq!(
            r.results,
            [json!({"k": "apple pie"}), json!({"k": "Apple"})]
        );
    }

    #[test]
    fn json_scalars_and_documents() {
        let r = q(FileKind::Json, r#"["Apple", 3, "pear", null]"#, "apple", 10);
        assert_eq!(
            (r.total_matches, r.results.clone()),
            (1, vec![json!("Apple")])
        );

        let doc = r#"{"title": "Quarterly Report", "pages": 12}"#;
        let r = q(FileKind::Json, doc, "report", 10);
        assert_eq!(r.total_matches, 1);
        assert_eq!(
            r.results,
            [json!({"title": "Quarterly Report", "pages": 12})]
        );
        let r = q(FileKind::Json, doc, "title", 10);
        assert_eq!(r.total_matches, 0);
        let r = q(FileKind::Json, "\"Hello\"", "hell", 10);
        assert_eq!(r.results, [json!("Hello")]);
    }

    #[test]
    fn json_errors() {
        let err = query(FileKind::Json, b"[1,\n 2", "1", 10).expect_err("bad");
        assert_eq!(err.line, 2);
        let err = query(FileKind::Json, b"", "1", 10).expect_err("empty");
        assert_eq!(err, ParseError::new(1, None, "file is empty"));
    }

    #[test]
    fn matcher_special_cases() {
        let mut m = Matcher::new("straße");
        assert!(m.matches("STRAßE"));
        assert!(m.matches("Hauptstraße 1"));
        // Kelvin sign lowercases to ASCII 'k'.
        let mut m = Matcher::new("\u{212A}iwi");
        assert!(m.matches("KIWI"));
        let mut m = Matcher::new("€");
        assert!(!m.matches("EUR"));
        assert!(m.matches("5 €"));
    }
}
