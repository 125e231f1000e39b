//! Uploaded data files (CSV or JSON): validation, analysis, prompt excerpt and row search.
//!
//! A website visitor uploads a file (at most 10 MB) to a chat session. [`analyze`]
//! validates it and produces a deterministic statistical [`Analysis`]: per-column
//! types and statistics, a one-paragraph summary and a compact CSV excerpt for the
//! AI prompt. [`query`] later answers case-insensitive row searches over the same
//! bytes. [`json_rows_to_csv`] renders JSON rows as CSV text for prompts.
//!
//! CSV analysis streams over `csv::ByteRecord`s (one reused record, no per-row
//! allocation); JSON is parsed into an order-preserving tree so columns follow
//! the file's key order.

mod analyze;
mod json;
mod query;

use thiserror::Error;

pub use analyze::analyze;
pub use query::query;

/// The kinds of data file we accept; `"csv"` / `"json"` in JSON and in the
/// stored records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Csv,
    Json,
}

impl FileKind {
    /// "csv" / "json"
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::Json => "json",
        }
    }

    /// From the uploaded file name's extension (case-insensitive .csv / .json) first,
    /// else from the content type ("text/csv", "application/csv",
    /// "application/vnd.ms-excel" -> Csv; "application/json", "text/json", anything
    /// ending "+json" -> Json; parameters like "; charset=utf-8" ignored). None when
    /// neither says CSV or JSON.
    pub fn detect(file_name: &str, content_type: Option<&str>) -> Option<FileKind> {
        Self::from_file_name(file_name).or_else(|| content_type.and_then(Self::from_content_type))
    }

    fn from_file_name(file_name: &str) -> Option<FileKind> {
        let (_, ext) = file_name.trim().rsplit_once('.')?;
        if ext.eq_ignore_ascii_case("csv") {
            Some(FileKind::Csv)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(FileKind::Json)
        } else {
            None
        }
    }

    fn from_content_type(content_type: &str) -> Option<FileKind> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "text/csv"
            | "application/csv"
            | "application/vnd.ms-excel"
            | "text/x-csv"
            | "application/x-csv"
            | "text/comma-separated-values" => Some(FileKind::Csv),
            "application/json" | "text/json" => Some(FileKind::Json),
            other if other.ends_with("+json") => Some(FileKind::Json),
            _ => None,
        }
    }
}

/// Why a file's content was rejected. Displays as "line 3, column 5: <what>"
/// (", column N" omitted when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}{}: {message}", column_suffix(*.column))]
pub struct ParseError {
    /// 1-based line.
    pub line: u64,
    /// 1-based column (JSON: character column; CSV: field index) when known.
    pub column: Option<u64>,
    pub message: String,
}

fn column_suffix(column: Option<u64>) -> String {
    column.map(|c| format!(", column {c}")).unwrap_or_default()
}

impl ParseError {
    fn new(line: u64, column: Option<u64>, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    fn empty() -> Self {
        ParseError::new(1, None, "file is empty")
    }
}

/// Statistics of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// "integer", "number", "boolean", "date" (YYYY-MM-DD, optionally with a time
    /// part), "text", or "empty" (no non-empty value at all). A column whose
    /// non-empty values mix integer and number is "number"; any other mix is "text".
    pub kind: &'static str,
    /// Values that are not empty / not null.
    pub non_empty: u64,
    /// Distinct non-empty values, counted exactly up to 1000; beyond that 1000 is
    /// reported and `distinct_capped` is set.
    pub distinct: u64,
    pub distinct_capped: bool,
    /// Only for integer/number columns.
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Up to 3 first distinct non-empty values, each cut to 40 chars.
    pub sample: Vec<String>,
}

impl ColumnInfo {
    /// The column as a JSON object (for API responses and logs).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "kind": self.kind,
            "non_empty": self.non_empty,
            "distinct": self.distinct,
            "distinct_capped": self.distinct_capped,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "sample": self.sample,
        })
    }
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub kind: FileKind,
    /// Data rows (CSV: records after the header; JSON: rows of the tabular view,
    /// 1 for a non-tabular document).
    pub rows: u64,
    pub columns: Vec<ColumnInfo>,
    /// Deterministic one-paragraph summary (at most 20 columns described, about
    /// 1,500 chars at most).
    pub summary: String,
    /// The data for the AI prompt: CSV text (header + first rows) of at most
    /// `max_excerpt_chars` characters, cut at row boundaries; for non-tabular
    /// JSON the compact JSON text cut at a char boundary.
    pub excerpt: String,
    /// How many data rows the excerpt contains (0 for non-tabular JSON).
    pub excerpt_rows: u64,
}

/// The result of [`query`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub results: Vec<serde_json::Value>,
    pub total_matches: u64,
}

/// Renders rows of JSON objects as CSV text: header = union of the objects' keys in
/// first-seen order; strings raw, numbers and booleans as JSON text, null/missing as
/// empty, arrays/objects as compact JSON. No trailing newline. None when `rows` is
/// empty or any element is not an object.
pub fn json_rows_to_csv(rows: &[serde_json::Value]) -> Option<String> {
    json_rows_to_csv_within(rows, usize::MAX)
}

/// [`json_rows_to_csv`], stopping after the row that makes the text reach
/// `max_bytes`: the cost stays bounded by the budget, not by the rows times
/// the columns of whatever JSON a client sends. Columns past
/// `MAX_CSV_COLUMNS` are left out.
pub fn json_rows_to_csv_within(rows: &[serde_json::Value], max_bytes: usize) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let mut columns = json::Columns::new();
    for row in rows {
        for (pos, key) in row.as_object()?.keys().enumerate() {
            if columns.names.len() < MAX_CSV_COLUMNS || columns.get(key, pos).is_some() {
                columns.index_of(key, pos);
            }
        }
    }
    if columns.names.is_empty() {
        return Some(String::new());
    }
    let mut wtr = analyze::csv_writer();
    wtr.write_record(&columns.names).ok()?;
    let mut cells: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(columns.names.len());
    let mut written = 0usize;
    for row in rows {
        let object = row.as_object()?;
        cells.clear();
        cells.resize(columns.names.len(), std::borrow::Cow::Borrowed(""));
        for (pos, (key, value)) in object.iter().enumerate() {
            if let Some(cell) = columns.get(key, pos).and_then(|i| cells.get_mut(i)) {
                *cell = json::value_text(value);
            }
        }
        wtr.write_record(cells.iter().map(|c| c.as_bytes())).ok()?;
        // At least the cells and their separators (quoting only adds).
        written += cells.iter().map(|c| c.len() + 1).sum::<usize>();
        if written >= max_bytes {
            break;
        }
    }
    let mut bytes = wtr.into_inner().ok()?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    String::from_utf8(bytes).ok()
}

/// Most columns [`json_rows_to_csv_within`] renders.
pub const MAX_CSV_COLUMNS: usize = 200;

/// The content without a leading UTF-8 byte order mark.
pub(crate) fn strip_bom(content: &[u8]) -> &[u8] {
    content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detect_table() {
        let cases: &[(&str, Option<&str>, Option<FileKind>)] = &[
            ("data.csv", None, Some(FileKind::Csv)),
            (
                "DATA.CSV",
                Some("application/octet-stream"),
                Some(FileKind::Csv),
            ),
            ("Report.Json", None, Some(FileKind::Json)),
            ("dir/sub/x.tar.json", Some("text/csv"), Some(FileKind::Json)),
            ("data.csv", Some("application/json"), Some(FileKind::Csv)),
            ("upload", Some("text/csv"), Some(FileKind::Csv)),
            (
                "upload",
                Some("text/csv; charset=utf-8"),
                Some(FileKind::Csv),
            ),
            ("upload", Some("Application/CSV"), Some(FileKind::Csv)),
            (
                "export.txt",
                Some("application/vnd.ms-excel"),
                Some(FileKind::Csv),
            ),
            ("upload", Some("application/json"), Some(FileKind::Json)),
            (
                "upload",
                Some(" text/json ;charset=UTF-8"),
                Some(FileKind::Json),
            ),
            ("upload", Some("application/ld+json"), Some(FileKind::Json)),
            (
                "upload",
                Some("application/vnd.api+json; ext=x"),
                Some(FileKind::Json),
            ),
            ("report.pdf", None, None),
            ("report.pdf", Some("application/pdf"), None),
            ("image.png", None, None),
            ("notes.txt", Some("application/octet-stream"), None),
            ("notes.txt", None, None),
            ("sheet.xlsx", Some("application/octet-stream"), None),
            ("sheet.xlsx", None, None),
            ("csv", None, None),
            ("", None, None),
            ("", Some(""), None),
            ("data.csv.pdf", None, None),
            ("jsonfile", Some("text/plain"), None),
        ];
        for (name, ct, expected) in cases {
            assert_eq!(FileKind::detect(name, *ct), *expected, "{name:?} {ct:?}");
        }
    }

    #[test]
    fn kind_as_str() {
        assert_eq!(FileKind::Csv.as_str(), "csv");
        assert_eq!(FileKind::Json.as_str(), "json");
    }

    #[test]
    fn parse_error_display() {
        assert_eq!(
            ParseError::new(3, Some(5), "bad").to_string(),
            "line 3, column 5: bad"
        );
        assert_eq!(
            ParseError::new(7, None, "worse").to_string(),
            "line 7: worse"
        );
        assert_eq!(ParseError::empty().to_string(), "line 1: file is empty");
    }

    #[test]
    fn json_rows_to_csv_campaigns() {
        let rows = [
            json!({"id": 1, "name": "Campaign A"}),
            json!({"id": 2, "name": "Campaign B"}),
        ];
        assert_eq!(
            json_rows_to_csv(&rows).as_deref(),
            Some("id,name\n1,Campaign A\n2,Campaign B")
        );
    }

    #[test]
    fn json_rows_to_csv_values_and_quoting() {
        let rows = [
            json!({"a": "x, y", "b": true, "c": null}),
            json!({"a": "say \"hi\"\nthere", "d": [1, {"k": "v"}], "e": 1.5}),
            json!({"b": {"n": 1}}),
        ];
        assert_eq!(
            json_rows_to_csv(&rows).as_deref(),
            Some(
                "a,b,c,d,e\n\"x, y\",true,,,\n\"say \"\"hi\"\"\nthere\",,,\"[1,{\"\"k\"\":\"\"v\"\"}]\",1.5\n,\"{\"\"n\"\":1}\",,,"
            )
        );
    }

    #[test]
    fn json_rows_to_csv_rejects() {
        assert_eq!(json_rows_to_csv(&[]), None);
        assert_eq!(json_rows_to_csv(&[json!({"a": 1}), json!(2)]), None);
        assert_eq!(json_rows_to_csv(&[json!([1])]), None);
        assert_eq!(json_rows_to_csv(&[json!({})]).as_deref(), Some(""));
    }

    #[test]
    fn bounded_csv_stops_at_the_budget_and_caps_columns() {
        let wide: serde_json::Map<String, serde_json::Value> =
            (0..5_000).map(|i| (format!("k{i}"), json!(0))).collect();
        let mut rows = vec![serde_json::Value::Object(wide)];
        rows.extend((0..100_000).map(|_| json!({})));
        let csv = json_rows_to_csv_within(&rows, 8_000).expect("rows are objects");
        let header = csv.lines().next().expect("a header");
        assert_eq!(header.split(',').count(), MAX_CSV_COLUMNS);
        assert!(
            csv.len() < 8_000 + 2 * MAX_CSV_COLUMNS * 4,
            "{} bytes",
            csv.len()
        );
    }

    #[test]
    fn column_info_to_json() {
        let col = ColumnInfo {
            name: "id".into(),
            kind: "integer",
            non_empty: 2,
            distinct: 2,
            distinct_capped: false,
            min: Some(1.0),
            max: Some(2.0),
            mean: Some(1.5),
            sample: vec!["1".into(), "2".into()],
        };
        assert_eq!(
            col.to_json(),
            json!({"name": "id", "kind": "integer", "non_empty": 2, "distinct": 2,
                   "distinct_capped": false, "min": 1.0, "max": 2.0, "mean": 1.5,
                   "sample": ["1", "2"]})
        );
    }
}
