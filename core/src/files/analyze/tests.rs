//! Unit tests of the analysis: classification, summaries, excerpts, limits.

use std::collections::HashSet;
use std::hash::BuildHasher;

use super::analyze;
use super::classify::{Class, classify, trim_value};
use super::csv::line_at;
use super::stats::{Distinct, MAX_COLUMNS, SeededState, small_key};
use super::summary::SUMMARY_BUDGET;
use super::text::{cut_chars, fmt_num};
use crate::files::{Analysis, ColumnInfo, FileKind, ParseError};

fn csv(content: &str, limit: usize) -> Analysis {
    analyze(FileKind::Csv, content.as_bytes(), limit).expect("valid CSV")
}

fn json(content: &str, limit: usize) -> Analysis {
    analyze(FileKind::Json, content.as_bytes(), limit).expect("valid JSON")
}

#[test]
fn classification() {
    let cases: &[(&str, Class)] = &[
        ("0", Class::Int(0)),
        ("-17", Class::Int(-17)),
        ("+5", Class::Int(5)),
        ("007", Class::Int(7)),
        ("9223372036854775807", Class::Int(i64::MAX)),
        ("-9223372036854775808", Class::Int(i64::MIN)),
        ("9223372036854775808", Class::Num(9223372036854775808.0)),
        ("1.5", Class::Num(1.5)),
        ("-.5", Class::Num(-0.5)),
        ("5.", Class::Num(5.0)),
        ("1e3", Class::Num(1000.0)),
        ("2.5E-3", Class::Num(0.0025)),
        ("1e999", Class::Text),
        ("nan", Class::Text),
        ("NaN", Class::Text),
        ("inf", Class::Text),
        ("-infinity", Class::Text),
        ("-", Class::Text),
        (".", Class::Text),
        ("1,000", Class::Text),
        ("1.2.3", Class::Text),
        ("true", Class::Bool),
        ("FALSE", Class::Bool),
        ("Yes", Class::Bool),
        ("no", Class::Bool),
        ("nope", Class::Text),
        ("t", Class::Text),
        ("2024-01-31", Class::Date),
        ("2024-01-31T12:30", Class::Date),
        ("2024-01-31T12:30:45", Class::Date),
        ("2024-01-31 12:30:45.123", Class::Date),
        ("2024-01-31T12:30:45Z", Class::Date),
        ("2024-01-31T12:30:45.123456+02:00", Class::Date),
        ("2024-01-31T12:30:45-0500", Class::Date),
        ("2024-13-01", Class::Text),
        ("2024-01-32", Class::Text),
        ("2024-1-05", Class::Text),
        ("2024-01-31T", Class::Text),
        ("2024-01-31T25:00", Class::Text),
        ("2024-01-31x", Class::Text),
        ("2024/01/31", Class::Text),
        ("hello", Class::Text),
        ("äpfel", Class::Text),
    ];
    for (value, expected) in cases {
        assert_eq!(classify(value.as_bytes()), *expected, "{value:?}");
    }
}

#[test]
fn trimming() {
    assert_eq!(trim_value(b"  a b \t"), b"a b");
    assert_eq!(trim_value("\u{a0}x\u{3000}".as_bytes()), b"x");
    assert_eq!(trim_value("  ä ".as_bytes()), "ä".as_bytes());
    assert_eq!(trim_value(b"   "), b"");
}

#[test]
fn number_formatting() {
    assert_eq!(fmt_num(1.0), "1");
    assert_eq!(fmt_num(-0.0), "0");
    assert_eq!(fmt_num(50.5), "50.5");
    assert_eq!(fmt_num(10.0 / 3.0), "3.3333");
    assert_eq!(fmt_num(0.000123), "0.000123");
    assert_eq!(fmt_num(0.00001234), "1.234e-5");
    assert_eq!(fmt_num(1e20), "1e20");
    assert_eq!(fmt_num(-2.5e16), "-2.5e16");
}

#[test]
fn cut_chars_respects_char_boundaries() {
    assert_eq!(cut_chars("äöü€x", 3), "äöü");
    assert_eq!(cut_chars("abc", 10), "abc");
    assert_eq!(cut_chars("abc", 0), "");
    assert_eq!(cut_chars("🦀🦀", 1), "🦀");
}

#[test]
fn csv_summary_exact() {
    let content = "id,name,active,price,joined,note\n\
                   1,Alice,true,9.5,2024-01-05,\n\
                   2,Bob,false,10,2024-02-01,x\n\
                   3,Carol,yes,,2023-12-24,\n\
                   4,Alice,,12.25,2024-01-05T10:00:00,\n";
    let a = csv(content, 10_000);
    assert_eq!(a.kind, FileKind::Csv);
    assert_eq!(a.rows, 4);
    assert_eq!(
        a.summary,
        "CSV file with 4 rows and 6 columns. \
         id: integer, 1 to 4 (mean 2.5). \
         name: text, 3 distinct values (e.g. Alice, Bob, Carol). \
         active: boolean, 3 non-empty. \
         price: number, 9.5 to 12.25 (mean 10.5833), 3 non-empty. \
         joined: date, 2023-12-24 to 2024-02-01. \
         note: text, 1 distinct value (e.g. x), 1 non-empty."
    );
    let id = &a.columns[0];
    assert_eq!(
        *id,
        ColumnInfo {
            name: "id".into(),
            kind: "integer",
            non_empty: 4,
            distinct: 4,
            distinct_capped: false,
            min: Some(1.0),
            max: Some(4.0),
            mean: Some(2.5),
            sample: vec!["1".into(), "2".into(), "3".into()],
        }
    );
    let name = &a.columns[1];
    assert_eq!((name.kind, name.distinct, name.non_empty), ("text", 3, 4));
    assert_eq!(name.sample, ["Alice", "Bob", "Carol"]);
    assert_eq!((name.min, name.max, name.mean), (None, None, None));
    assert_eq!(a.columns[2].kind, "boolean");
    assert_eq!(a.columns[3].kind, "number");
    assert_eq!(a.columns[4].kind, "date");
    assert_eq!(a.columns[5].kind, "text");
    assert_eq!(a.excerpt, content.trim_end());
    assert_eq!(a.excerpt_rows, 4);
}

#[test]
fn brief_example_summary() {
    let mut content = String::from("id,name,active\n");
    let names = ["Alice", "Bob", "Carol"];
    for i in 1..=100 {
        let active = match i {
            7 | 9 => "",
            _ if i % 2 == 0 => "true",
            _ => "false",
        };
        let name = names
            .get(i - 1)
            .map_or(format!("User {i}"), |n| (*n).to_owned());
        content.push_str(&format!("{i},{name},{active}\n"));
    }
    let a = csv(&content, 200);
    assert_eq!(
        a.summary,
        "CSV file with 100 rows and 3 columns. id: integer, 1 to 100 (mean 50.5). \
         name: text, 100 distinct values (e.g. Alice, Bob, Carol). active: boolean, 98 non-empty."
    );
}

#[test]
fn mixed_kinds() {
    let a = csv("a,b,c,d,e\n1,1,1,x,\n2.5,true,2024-01-01,,\n", 1000);
    let kinds: Vec<_> = a.columns.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, ["number", "text", "text", "text", "empty"]);
    assert_eq!(a.columns[0].mean, Some(1.75));
    assert_eq!(a.columns[1].min, None);
    assert_eq!(a.columns[4].non_empty, 0);
    assert_eq!(a.columns[4].distinct, 0);
    assert!(a.summary.ends_with("e: empty."), "{}", a.summary);
}

#[test]
fn distinct_is_capped_at_1000() {
    let mut content = String::from("n,k\n");
    for i in 0..1500 {
        content.push_str(&format!("{i},{}\n", i % 1000));
    }
    let a = csv(&content, 100);
    assert_eq!(
        (a.columns[0].distinct, a.columns[0].distinct_capped),
        (1000, true)
    );
    assert_eq!(
        (a.columns[1].distinct, a.columns[1].distinct_capped),
        (1000, false)
    );
    assert_eq!(a.columns[0].sample, ["0", "1", "2"]);

    let mut content = String::from("t\n");
    for i in 0..1001 {
        content.push_str(&format!("v{i}\n"));
    }
    let a = csv(&content, 100);
    assert!(a.columns[0].distinct_capped);
    assert!(
        a.summary.contains("over 1000 distinct values"),
        "{}",
        a.summary
    );
}

#[test]
fn values_are_trimmed_and_samples_cut() {
    let long = "é".repeat(50);
    let a = csv(&format!("a,b\n  7 ,{long}\n 7,{long}\n"), 1000);
    assert_eq!(a.columns[0].kind, "integer");
    assert_eq!(a.columns[0].distinct, 1);
    assert_eq!(a.columns[1].sample, ["é".repeat(40)]);
    // The excerpt keeps the values as they are in the file.
    assert!(a.excerpt.contains("  7 ,"));
}

#[test]
fn header_names() {
    let a = csv("a,,a, \n1,2,3,4\n", 1000);
    let names: Vec<_> = a.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "column_2", "a", "column_4"]);
    assert_eq!(a.excerpt, "a,column_2,a,column_4\n1,2,3,4");

    let a = csv(",\n1,2\n", 1000);
    assert_eq!(a.columns[0].name, "column_1");
    assert_eq!(a.columns[1].name, "column_2");
}

#[test]
fn header_only_and_blank_lines() {
    let a = csv("a,b\n", 1000);
    assert_eq!(a.rows, 0);
    assert_eq!(a.excerpt, "a,b");
    assert_eq!(a.excerpt_rows, 0);
    assert_eq!(
        a.summary,
        "CSV file with 0 rows and 2 columns. a: empty. b: empty."
    );

    let a = csv("a,b\r\n1,2\r\n\r\n3,4\r\n\r\n", 1000);
    assert_eq!(a.rows, 2);
    assert_eq!(a.excerpt, "a,b\n1,2\n3,4");
}

#[test]
fn bom_is_skipped() {
    let a = analyze(FileKind::Csv, b"\xEF\xBB\xBFid,x\n1,2\n", 1000).expect("valid");
    assert_eq!(a.columns[0].name, "id");
    assert_eq!(a.excerpt, "id,x\n1,2");
    let a = analyze(FileKind::Json, b"\xEF\xBB\xBF[{\"id\": 1}]", 1000).expect("valid");
    assert_eq!(a.columns[0].name, "id");
}

#[test]
fn empty_files() {
    for kind in [FileKind::Csv, FileKind::Json] {
        for content in [
            &b""[..],
            b"   \n\t\r\n",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB\xBF \n",
        ] {
            let err = analyze(kind, content, 100).expect_err("empty");
            assert_eq!(err, ParseError::new(1, None, "file is empty"));
            assert_eq!(err.to_string(), "line 1: file is empty");
        }
    }
}

#[test]
fn bad_csv_row_line() {
    let err = analyze(FileKind::Csv, b"a,b,c\n1,2,3\n4,5\n6,7,8\n", 100).expect_err("bad row");
    assert_eq!(err, ParseError::new(3, None, "expected 3 fields, found 2"));
    assert_eq!(err.to_string(), "line 3: expected 3 fields, found 2");

    // A quoted field spanning lines: the bad record starts on line 4.
    let content = b"a,b\n\"x\ny\",1\n\n2,3,4\n";
    let err = analyze(FileKind::Csv, content, 100).expect_err("bad row");
    assert_eq!(err, ParseError::new(5, None, "expected 2 fields, found 3"));

    // "\r\n" line endings and blank lines are counted like "\n".
    let err = analyze(FileKind::Csv, b"a,b\r\n1,2\r\n3,4,5\r\n", 100).expect_err("bad row");
    assert_eq!(err.line, 3);
    let err = analyze(FileKind::Csv, b"a,b\r\n\r\n\r\n1\r\n", 100).expect_err("bad row");
    assert_eq!(err.line, 4);
    let err = analyze(FileKind::Csv, b"a,b\r1,2\r3\r", 100).expect_err("bad row");
    assert_eq!(err.line, 3);
    let err = analyze(FileKind::Csv, b"\n\na,b\n1,2,3", 100).expect_err("bad row");
    assert_eq!(err.line, 4);
}

#[test]
fn line_counting() {
    assert_eq!(line_at(b"a\nb\r\nc\rd", 0), 1);
    assert_eq!(line_at(b"a\nb\r\nc\rd", 2), 2);
    assert_eq!(line_at(b"a\nb\r\nc\rd", 4), 2);
    assert_eq!(line_at(b"a\nb\r\nc\rd", 5), 3);
    assert_eq!(line_at(b"a\nb\r\nc\rd", 100), 4);
}

#[test]
fn invalid_utf8_csv() {
    let err = analyze(FileKind::Csv, b"a,b\n1,2\n3,\xff\xfe\n", 100).expect_err("bad UTF-8");
    assert_eq!(err, ParseError::new(3, Some(2), "invalid UTF-8"));
    assert_eq!(err.to_string(), "line 3, column 2: invalid UTF-8");

    let err = analyze(FileKind::Csv, b"\xc3x,b\n1,2\n", 100).expect_err("bad UTF-8");
    assert_eq!(err, ParseError::new(1, Some(1), "invalid UTF-8"));

    // A row-length error before the bad bytes is reported first.
    let err = analyze(FileKind::Csv, b"a,b\n1\n3,\xff\n", 100).expect_err("bad");
    assert_eq!(err, ParseError::new(2, None, "expected 2 fields, found 1"));
}

#[test]
fn invalid_utf8_json() {
    let err = analyze(FileKind::Json, b"[\n\"ok\",\n\"\xff\"]", 100).expect_err("bad UTF-8");
    assert_eq!(err.line, 3);
    assert!(err.column.is_some());
}

#[test]
fn json_syntax_error() {
    let err = analyze(FileKind::Json, b"[{\"a\": 1},\n {\"a\": 2,}]", 100).expect_err("bad");
    assert_eq!((err.line, err.column), (2, Some(10)));
    assert_eq!(err.message, "trailing comma");
    assert_eq!(err.to_string(), "line 2, column 10: trailing comma");

    let err = analyze(FileKind::Json, b"{\"a\": 1} x", 100).expect_err("bad");
    assert_eq!((err.line, err.column), (1, Some(10)));
    assert_eq!(err.message, "trailing characters");

    let err = analyze(FileKind::Json, b"[1, 2", 100).expect_err("bad");
    assert_eq!(err.line, 1);
    assert!(err.message.contains("EOF"), "{}", err.message);
}

#[test]
fn excerpt_quoting() {
    let content = "name,comment\n\
                   \"Smith, John\",\"He said \"\"hi\"\"\"\n\
                   plain,\"two\nlines\"\n";
    let a = csv(content, 1000);
    assert_eq!(a.excerpt_rows, 2);
    assert_eq!(a.excerpt, content.trim_end());
    let mut rdr = csv::Reader::from_reader(a.excerpt.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().collect::<Result<_, _>>().expect("csv");
    assert_eq!(&rows[0][0], "Smith, John");
    assert_eq!(&rows[0][1], "He said \"hi\"");
    assert_eq!(&rows[1][1], "two\nlines");
}

#[test]
fn excerpt_limits_and_row_boundaries() {
    let mut content = String::from("id,word\n");
    for i in 0..200 {
        content.push_str(&format!("{i},wörd{i}\n"));
    }
    let full = csv(&content, usize::MAX).excerpt;
    assert_eq!(full, content.trim_end());
    let lines: Vec<&str> = full.split('\n').collect();
    for limit in 0..=400 {
        let a = csv(&content, limit);
        assert!(a.excerpt.chars().count() <= limit, "limit {limit}");
        // The excerpt is a prefix of whole lines, as long as possible.
        let n = a.excerpt_rows as usize;
        if limit >= 7 {
            assert_eq!(a.excerpt, lines[..=n].join("\n"), "limit {limit}");
            let next = lines[..=n + 1].join("\n");
            assert!(next.chars().count() > limit, "limit {limit}");
        } else {
            assert_eq!(n, 0);
            assert_eq!(a.excerpt, &"id,word"[..limit]);
        }
    }
    let a = csv(&content, 7);
    assert_eq!((a.excerpt.as_str(), a.excerpt_rows), ("id,word", 0));
    let a = csv(&content, 15);
    assert_eq!(
        (a.excerpt.as_str(), a.excerpt_rows),
        ("id,word\n0,wörd0", 1)
    );
    let a = csv(&content, 14);
    assert_eq!((a.excerpt.as_str(), a.excerpt_rows), ("id,word", 0));
}

#[test]
fn excerpt_multibyte_header_cut() {
    let a = csv("äää,€€€\n1,2\n", 5);
    assert_eq!(a.excerpt, "äää,€");
    assert_eq!(a.excerpt_rows, 0);
    let a = json(r#"{"name": "日本語のテキスト"}"#, 12);
    assert_eq!(a.excerpt, "{\"name\":\"日本語");
    assert_eq!(a.excerpt_rows, 0);
    // Rows with multibyte text are counted in characters, not bytes.
    let a = csv("k\n日本\n語\n", 6);
    assert_eq!((a.excerpt.as_str(), a.excerpt_rows), ("k\n日本\n語", 2));
}

#[test]
fn json_array_of_objects() {
    let a = json(
        r#"[{"id": 1, "name": "A", "tags": ["x"]},
            {"name": "B, Inc", "id": 2.5, "extra": null},
            {"id": 3, "active": true, "when": "2024-05-01"}]"#,
        1000,
    );
    assert_eq!(a.rows, 3);
    let names: Vec<_> = a.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "tags", "extra", "active", "when"]);
    let kinds: Vec<_> = a.columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        ["number", "text", "text", "empty", "boolean", "date"]
    );
    assert_eq!(a.columns[0].non_empty, 3);
    assert_eq!(a.columns[0].max, Some(3.0));
    assert_eq!(a.columns[2].sample, [r#"["x"]"#]);
    assert_eq!(
        a.excerpt,
        "id,name,tags,extra,active,when\n1,A,\"[\"\"x\"\"]\",,,\n2.5,\"B, Inc\",,,,\n3,,,,true,2024-05-01"
    );
    assert_eq!(a.excerpt_rows, 3);
    assert!(
        a.summary
            .starts_with("JSON file with 3 rows and 6 columns. id: number"),
        "{}",
        a.summary
    );
}

#[test]
fn json_strings_are_classified() {
    let a = json(
        r#"[{"n": "42", "b": "yes", "x": 18446744073709551615}]"#,
        1000,
    );
    let kinds: Vec<_> = a.columns.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, ["integer", "boolean", "number"]);
}

#[test]
fn json_object_with_arrays_uses_longest() {
    let a = json(
        r#"{"meta": {"page": 1}, "first": [{"a": 1}, {"a": 2}],
            "items": [{"b": 1}, {"b": 2}, {"b": 3}], "tie": [{"c": 1}, {"c": 2}, {"c": 3}],
            "nums": [1, 2, 3, 4, 5]}"#,
        1000,
    );
    assert_eq!(a.rows, 3);
    assert_eq!(a.columns.len(), 1);
    assert_eq!(a.columns[0].name, "b");
    assert_eq!(a.excerpt, "b\n1\n2\n3");
    assert_eq!(a.excerpt_rows, 3);
    assert_eq!(
        a.summary,
        "JSON file with 3 rows and 1 column (from the \"items\" array). b: integer, 1 to 3 (mean 2)."
    );
}

#[test]
fn json_array_of_scalars() {
    let a = json(r#"[1, 2, null, "x"]"#, 1000);
    assert_eq!(a.rows, 4);
    assert_eq!(a.columns.len(), 1);
    assert_eq!(a.columns[0].name, "value");
    assert_eq!(a.columns[0].kind, "text");
    assert_eq!(a.columns[0].non_empty, 3);
    // A single empty field is written as "" so the line is not blank.
    assert_eq!(a.excerpt, "value\n1\n2\n\"\"\nx");
    assert_eq!(a.excerpt_rows, 4);

    let a = json("[]", 1000);
    assert_eq!((a.rows, a.columns.len(), a.excerpt.as_str()), (0, 0, ""));
    assert_eq!(a.summary, "JSON file with 0 rows and 0 columns.");
}

#[test]
fn json_not_tabular() {
    let doc = r#"{"title": "Report", "count": 3, "nested": {"z": [1, 2]}, "empty": []}"#;
    let a = json(doc, 1000);
    assert_eq!(a.rows, 1);
    let names: Vec<_> = a.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["title", "count", "nested", "empty"]);
    assert_eq!(a.columns[1].kind, "integer");
    assert_eq!(
        a.excerpt,
        r#"{"title":"Report","count":3,"nested":{"z":[1,2]},"empty":[]}"#
    );
    assert_eq!(a.excerpt_rows, 0);
    assert!(
        a.summary
            .starts_with("JSON file with a single object of 4 fields (not a table). title: text"),
        "{}",
        a.summary
    );

    let a = json(doc, 10);
    assert_eq!(a.excerpt, r#"{"title":""#);

    let a = json("  \"hello\"  ", 1000);
    assert_eq!(a.rows, 1);
    assert_eq!(a.columns[0].name, "value");
    assert_eq!(a.excerpt, "\"hello\"");
    assert_eq!(
        a.summary,
        "JSON file with a single value (not a table). value: text, 1 distinct value (e.g. hello)."
    );
}

#[test]
fn summary_lists_at_most_20_columns() {
    let names: Vec<String> = (1..=30)
        .map(|i| format!("column_with_long_name_{i}"))
        .collect();
    let values: Vec<String> = (1..=30)
        .map(|i| format!("some fairly long text value number {i} here"))
        .collect();
    let content = format!("{}\n{}\n", names.join(","), values.join(","));
    let a = csv(&content, 1000);
    assert!(
        a.summary.chars().count() <= SUMMARY_BUDGET,
        "{}",
        a.summary.len()
    );
    assert!(a.summary.ends_with(" more columns."), "{}", a.summary);

    let names: Vec<String> = (1..=25).map(|i| format!("c{i}")).collect();
    let values: Vec<String> = (1..=25).map(|i| i.to_string()).collect();
    let content = format!("{}\n{}\n", names.join(","), values.join(","));
    let a = csv(&content, 1000);
    assert!(a.summary.contains("c20: integer"));
    assert!(!a.summary.contains("c21:"));
    assert!(a.summary.ends_with(" And 5 more columns."), "{}", a.summary);
}

#[test]
fn column_limit() {
    let header = vec!["c"; MAX_COLUMNS].join(",");
    let a = csv(&format!("{header}\n{}\n", header.replace('c', "1")), 100);
    assert_eq!(a.columns.len(), MAX_COLUMNS);
    assert!(
        a.summary.ends_with(" And 9980 more columns."),
        "{}",
        a.summary
    );

    let content = format!("\n\n{header},c\n");
    let err = analyze(FileKind::Csv, content.as_bytes(), 100).expect_err("too wide");
    assert_eq!(
        err,
        ParseError::new(3, None, "too many columns: 10001 (at most 10000)")
    );
    let err = super::super::query(FileKind::Csv, content.as_bytes(), "c", 1).expect_err("too wide");
    assert_eq!(err.line, 3);

    let rows: Vec<String> = (0..=MAX_COLUMNS)
        .map(|i| format!("{{\"k{i}\": 1}}"))
        .collect();
    let content = format!("[{}]", rows.join(","));
    let err = analyze(FileKind::Json, content.as_bytes(), 100).expect_err("too wide");
    assert_eq!(
        err,
        ParseError::new(1, None, "too many columns: more than 10000 distinct keys")
    );

    // A non-tabular object is described by its first MAX_COLUMNS fields.
    let fields: Vec<String> = (0..MAX_COLUMNS + 5)
        .map(|i| format!("\"k{i}\": {i}"))
        .collect();
    let a = json(&format!("{{{}}}", fields.join(",")), 50);
    assert_eq!(a.columns.len(), MAX_COLUMNS);
    assert!(
        a.summary
            .starts_with("JSON file with a single object of 10005 fields")
    );
    assert_eq!(a.excerpt.chars().count(), 50);
}

#[test]
fn summary_is_one_paragraph() {
    let a = csv("a\n\"x\ny\"\n", 1000);
    assert!(!a.summary.contains('\n'));
    assert_eq!(a.columns[0].sample, ["x\ny"]);
}

#[test]
fn hasher_spreads_values() {
    let state = SeededState::default();
    let a: &[u8] = b"ab";
    let b: &[u8] = b"ab\0";
    assert_ne!(state.hash_one(a), state.hash_one(b));
    assert_eq!(
        state.hash_one(a),
        state.hash_one(b"ab".to_vec().into_boxed_slice())
    );
    // Every length from 0 to 40 hashes, and distinct values rarely collide.
    let values: Vec<Vec<u8>> = (0..5000u32)
        .map(|i| {
            let len = (i % 41) as usize;
            let mut v = format!("{i:08}").repeat(6).into_bytes();
            v.truncate(len.max(8));
            v
        })
        .collect();
    let unique: HashSet<&Vec<u8>> = values.iter().collect();
    let hashes: HashSet<u64> = unique
        .iter()
        .map(|v| state.hash_one(v.as_slice()))
        .collect();
    assert_eq!(hashes.len(), unique.len());
    let mut set: HashSet<Box<[u8]>, SeededState> = HashSet::with_hasher(state);
    for v in &values {
        set.insert(v.clone().into_boxed_slice());
    }
    assert_eq!(set.len(), unique.len());
    assert!(values.iter().all(|v| set.contains(v.as_slice())));
}

#[test]
fn small_keys_are_lossless() {
    let mut values: Vec<Vec<u8>> = Vec::new();
    let alphabet = [b'a', b'c', 0u8, 0xff];
    // All strings up to length 4 over a small alphabet, plus longer ones
    // that differ only in length or in one byte.
    for len in 0..=4u32 {
        for n in 0..4usize.pow(len) {
            values.push((0..len).map(|i| alphabet[(n >> (2 * i)) % 4]).collect());
        }
    }
    for len in 5..=17usize {
        values.push(vec![b'c'; len]);
        values.push(vec![0; len]);
        let mut v = vec![b'c'; len];
        v[0] = b'A';
        values.push(v.clone());
        v[len - 1] = 0;
        values.push(v.clone());
        v[len / 2] = b'x';
        values.push(v);
    }
    let mut keys = HashSet::new();
    for v in &values {
        match small_key(v) {
            Some(k) => assert!(keys.insert(k), "collision for {v:?}"),
            None => assert!(v.len() > 15),
        }
    }
    assert_eq!(small_key(b"ab"), small_key(b"ab"));
    let mut distinct = Distinct::new(SeededState::default());
    for v in values.iter().chain(&values) {
        distinct.insert(v);
    }
    assert_eq!(distinct.len(), values.len());
}

/// Throughput of analysing a generated ~10 MB CSV (run with
/// `cargo test --release -- --ignored --nocapture`).
#[test]
#[ignore]
fn throughput_10mb_csv() {
    let mut content = String::with_capacity(11 << 20);
    content.push_str("id,name,email,amount,active,created,category,comment\n");
    let cities = [
        "Berlin", "München", "Zürich", "Wien", "Paris", "Lyon", "Rome",
    ];
    let mut i = 0u64;
    while content.len() < 10 << 20 {
        let city = cities[(i % 7) as usize];
        let comment = if i.is_multiple_of(10) {
            format!("\"Note, with \"\"quotes\"\" for {i}\"")
        } else {
            format!("plain comment {}", i % 50)
        };
        content.push_str(&format!(
            "{i},User {},user{i}@example.com,{}.{:02},{},2024-{:02}-{:02}T10:{:02}:00,{city},{comment}\n",
            i % 5000,
            (i * 37) % 10_000,
            i % 100,
            if i.is_multiple_of(3) { "true" } else { "false" },
            i % 12 + 1,
            i % 28 + 1,
            i % 60,
        ));
        i += 1;
    }
    let bytes = content.as_bytes();
    let mb = bytes.len() as f64 / 1e6;
    // Warm up once, then take the best of a few runs.
    let a = analyze(FileKind::Csv, bytes, 8000).expect("valid");
    assert_eq!(a.rows, i);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let a = analyze(FileKind::Csv, bytes, 8000).expect("valid");
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(a.rows, i);
    }
    println!(
        "analyze: {mb:.1} MB, {i} rows in {:.1} ms = {:.0} MB/s",
        best * 1e3,
        mb / best
    );
    let start = std::time::Instant::now();
    let q = super::super::query(FileKind::Csv, bytes, "zürich", 10).expect("valid");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "query: {} matches in {:.1} ms = {:.0} MB/s",
        q.total_matches,
        secs * 1e3,
        mb / secs
    );

    // Numeric-heavy: 12 short columns, mostly low-cardinality (hash lookups on every value).
    let mut content = String::with_capacity(11 << 20);
    content.push_str("a,b,c,d,e,f,g,h,i,j,k,l\n");
    let mut rows = 0u64;
    while content.len() < 10 << 20 {
        let n = rows;
        content.push_str(&format!(
            "{},{},{},{}.5,{},{},{},{},{},{},{},{}\n",
            n % 7,
            n % 100,
            n,
            n % 13,
            n.is_multiple_of(2),
            n % 3,
            (n * 7) % 1000,
            n % 5,
            -((n % 11) as i64),
            n % 17,
            n % 4,
            n % 9
        ));
        rows += 1;
    }
    let bytes = content.as_bytes();
    let mb = bytes.len() as f64 / 1e6;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let a = analyze(FileKind::Csv, bytes, 8000).expect("valid");
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(a.rows, rows);
    }
    println!(
        "analyze (numeric): {mb:.1} MB, {rows} rows in {:.1} ms = {:.0} MB/s",
        best * 1e3,
        mb / best
    );

    // JSON: the same numeric rows as an array of objects.
    let mut content = String::with_capacity(11 << 20);
    content.push('[');
    let mut rows = 0u64;
    while content.len() < 10 << 20 {
        if rows > 0 {
            content.push(',');
        }
        content.push_str(&format!(
            "{{\"id\":{rows},\"name\":\"User {}\",\"amount\":{}.5,\"active\":{},\"day\":\"2024-01-{:02}\"}}",
            rows % 5000,
            rows % 1000,
            rows.is_multiple_of(2),
            rows % 28 + 1
        ));
        rows += 1;
    }
    content.push(']');
    let bytes = content.as_bytes();
    let mb = bytes.len() as f64 / 1e6;
    let start = std::time::Instant::now();
    let a = analyze(FileKind::Json, bytes, 8000).expect("valid");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(a.rows, rows);
    println!(
        "analyze (JSON): {mb:.1} MB, {rows} rows in {:.1} ms = {:.0} MB/s",
        secs * 1e3,
        mb / secs
    );
}
