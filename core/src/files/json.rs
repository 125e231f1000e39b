//! An order-preserving JSON tree and the tabular view over it.
//!
//! `serde_json::Value` keeps object keys in a `BTreeMap` (sorted) unless the
//! `preserve_order` feature is on, but the columns of an uploaded file should
//! follow the file. [`JVal`] keeps the keys in file order (a repeated key keeps
//! its first position and its last value, like `serde_json` does).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

use super::ParseError;

/// Objects with more keys than this get a hash index for duplicate-key checks.
const LINEAR_KEY_LOOKUP: usize = 32;

/// A parsed JSON document whose objects keep their keys in file order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JVal {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

impl JVal {
    /// The value as a table cell / search text: strings raw, numbers and
    /// booleans as JSON text, null as empty, arrays and objects as compact JSON.
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            JVal::Null => Cow::Borrowed(""),
            JVal::Bool(true) => Cow::Borrowed("true"),
            JVal::Bool(false) => Cow::Borrowed("false"),
            JVal::Num(n) => Cow::Owned(n.to_string()),
            JVal::Str(s) => Cow::Borrowed(s),
            JVal::Arr(_) | JVal::Obj(_) => Cow::Owned(self.compact()),
        }
    }

    /// Compact JSON text, keys in file order.
    pub(crate) fn compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Converts into a `serde_json::Value` (key order then follows `serde_json::Map`).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            JVal::Null => Value::Null,
            JVal::Bool(b) => Value::Bool(*b),
            JVal::Num(n) => Value::Number(n.clone()),
            JVal::Str(s) => Value::String(s.clone()),
            JVal::Arr(items) => Value::Array(items.iter().map(JVal::to_value).collect()),
            JVal::Obj(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.clone(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, JVal::Obj(_))
    }
}

impl<'de> Deserialize<'de> for JVal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JValVisitor)
    }
}

struct JValVisitor;

impl<'de> Visitor<'de> for JValVisitor {
    type Value = JVal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JVal, E> {
        Ok(JVal::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JVal, E> {
        Ok(JVal::Num(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JVal, E> {
        Ok(JVal::Num(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JVal, E> {
        Ok(Number::from_f64(v).map_or(JVal::Null, JVal::Num))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JVal, E> {
        Ok(JVal::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<JVal, E> {
        Ok(JVal::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JVal, E> {
        Ok(JVal::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<JVal, E> {
        Ok(JVal::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<JVal, D::Error> {
        JVal::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<JVal>()? {
            items.push(item);
        }
        Ok(JVal::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JVal, A::Error> {
        let mut fields: Vec<(String, JVal)> = Vec::new();
        let mut index: Option<HashMap<String, usize>> = None;
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<JVal>()?;
            let existing = match &index {
                Some(index) => index.get(&key).copied(),
                None => fields.iter().position(|(k, _)| *k == key),
            };
            match existing.and_then(|i| fields.get_mut(i)) {
                Some(slot) => slot.1 = value,
                None => {
                    if let Some(index) = &mut index {
                        index.insert(key.clone(), fields.len());
                    }
                    fields.push((key, value));
                    if index.is_none() && fields.len() > LINEAR_KEY_LOOKUP {
                        index = Some(
                            fields
                                .iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.clone(), i))
                                .collect(),
                        );
                    }
                }
            }
        }
        Ok(JVal::Obj(fields))
    }
}

impl Serialize for JVal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JVal::Null => serializer.serialize_unit(),
            JVal::Bool(b) => serializer.serialize_bool(*b),
            JVal::Num(n) => n.serialize(serializer),
            JVal::Str(s) => serializer.serialize_str(s),
            JVal::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            JVal::Obj(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Parses a JSON upload (a UTF-8 BOM is skipped). Syntax errors carry
/// `serde_json`'s line and column.
pub(crate) fn parse(content: &[u8]) -> Result<JVal, ParseError> {
    let data = super::strip_bom(content);
    if data.trim_ascii().is_empty() {
        return Err(ParseError::empty());
    }
    serde_json::from_slice::<JVal>(data).map_err(|e| json_error(&e))
}

fn json_error(e: &serde_json::Error) -> ParseError {
    let (line, column) = (e.line(), e.column());
    let text = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    ParseError {
        line: line.max(1) as u64,
        column: (line > 0).then_some(column as u64),
        message,
    }
}

/// How a JSON document is seen as a table.
#[derive(Debug)]
pub(crate) enum Table<'a> {
    /// Rows are objects; `source` is the top-level key holding them, if any.
    Objects {
        rows: &'a [JVal],
        source: Option<&'a str>,
    },
    /// A top-level array that is not all objects: one column "value".
    Values(&'a [JVal]),
    /// Not a table: the whole document is the single row.
    Document(&'a JVal),
}

/// A top-level array of objects is the table; a top-level array of anything
/// else is a one-column "value" table; a top-level object's longest non-empty
/// array of objects (ties: the first in the file) is the table; anything else
/// is a single document.
pub(crate) fn table_view(doc: &JVal) -> Table<'_> {
    match doc {
        JVal::Arr(items) if items.iter().all(JVal::is_object) => Table::Objects {
            rows: items,
            source: None,
        },
        JVal::Arr(items) => Table::Values(items),
        JVal::Obj(fields) => {
            let mut best: Option<(&str, &[JVal])> = None;
            for (key, value) in fields {
                if let JVal::Arr(items) = value
                    && !items.is_empty()
                    && items.iter().all(JVal::is_object)
                    && best.is_none_or(|(_, b)| items.len() > b.len())
                {
                    best = Some((key, items));
                }
            }
            match best {
                Some((key, rows)) => Table::Objects {
                    rows,
                    source: Some(key),
                },
                None => Table::Document(doc),
            }
        }
        _ => Table::Document(doc),
    }
}

/// Column names of a table of objects: union of keys in first-seen order.
pub(crate) struct Columns<'a> {
    pub(crate) names: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Columns<'a> {
    pub(crate) fn new() -> Self {
        Columns {
            names: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The column of `key` (added when new). `hint` is the key's position in
    /// its row: rows usually share one key order, so that is checked first.
    pub(crate) fn index_of(&mut self, key: &'a str, hint: usize) -> usize {
        if self.names.get(hint).is_some_and(|n| *n == key) {
            return hint;
        }
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.names.len();
        self.names.push(key);
        self.index.insert(key, i);
        i
    }

    /// The column of `key`, if known.
    pub(crate) fn get(&self, key: &str, hint: usize) -> Option<usize> {
        if self.names.get(hint).is_some_and(|n| *n == key) {
            return Some(hint);
        }
        self.index.get(key).copied()
    }
}

/// Text of a `serde_json::Value` cell, rendered like [`JVal::text`].
pub(crate) fn value_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::String(s) => Cow::Borrowed(s),
        Value::Array(_) | Value::Object(_) => Cow::Owned(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> JVal {
        parse(s.as_bytes()).expect("valid JSON")
    }

    #[test]
    fn keeps_key_order_and_last_duplicate() {
        let doc = parse_str(r#"{"z": 1, "a": 2, "z": 3}"#);
        assert_eq!(doc.compact(), r#"{"z":3,"a":2}"#);
    }

    #[test]
    fn duplicate_keys_in_large_objects() {
        let mut s = String::from("{");
        for i in 0..40 {
            s.push_str(&format!("\"k{i}\": {i},"));
        }
        s.push_str("\"k3\": \"x\", \"k39\": null}");
        let JVal::Obj(fields) = parse_str(&s) else {
            panic!("object expected");
        };
        assert_eq!(fields.len(), 40);
        assert_eq!(fields[3], ("k3".to_owned(), JVal::Str("x".to_owned())));
        assert_eq!(fields[39], ("k39".to_owned(), JVal::Null));
    }

    #[test]
    fn numbers_roundtrip() {
        let doc = parse_str("[1, -2, 18446744073709551615, 1.5, 2e3]");
        assert_eq!(doc.compact(), "[1,-2,18446744073709551615,1.5,2000.0]");
    }

    #[test]
    fn text_rendering() {
        let doc = parse_str(r#"[null, true, 3, "x", [1, "a"], {"b": 1, "a": {}}]"#);
        let JVal::Arr(items) = &doc else {
            panic!("array expected");
        };
        let texts: Vec<_> = items.iter().map(|v| v.text().into_owned()).collect();
        assert_eq!(
            texts,
            ["", "true", "3", "x", r#"[1,"a"]"#, r#"{"b":1,"a":{}}"#]
        );
    }

    #[test]
    fn value_text_matches_jval_text() {
        let v: Value = serde_json::from_str(r#"[null, false, 2.5, "s", [1], {"a": null}]"#)
            .expect("valid JSON");
        let Value::Array(items) = &v else {
            panic!("array expected");
        };
        let texts: Vec<_> = items.iter().map(|v| value_text(v).into_owned()).collect();
        assert_eq!(texts, ["", "false", "2.5", "s", "[1]", r#"{"a":null}"#]);
    }

    #[test]
    fn table_view_choices() {
        let doc = parse_str(r#"[{"a": 1}, {"b": 2}]"#);
        assert!(
            matches!(table_view(&doc), Table::Objects { rows, source: None } if rows.len() == 2)
        );

        let doc = parse_str(r#"[1, {"b": 2}]"#);
        assert!(matches!(table_view(&doc), Table::Values(rows) if rows.len() == 2));

        let doc = parse_str(
            r#"{"meta": {"n": 1}, "a": [{"x": 1}], "b": [{"x": 1}, {"x": 2}], "c": [{"x": 1}, {"x": 2}], "d": [1, 2, 3]}"#,
        );
        assert!(
            matches!(table_view(&doc), Table::Objects { rows, source: Some("b") } if rows.len() == 2)
        );

        let doc = parse_str(r#"{"a": [], "b": [1, 2], "c": {"d": [{"x": 1}]}}"#);
        assert!(matches!(table_view(&doc), Table::Document(_)));

        let doc = parse_str("42");
        assert!(matches!(table_view(&doc), Table::Document(_)));
    }

    #[test]
    fn syntax_error_position() {
        let err = parse(b"{\n  \"a\": 1,\n  \"b\": xyz\n}").expect_err("invalid JSON");
        assert_eq!((err.line, err.column), (3, Some(8)));
        assert_eq!(err.message, "expected value");
        assert!(!err.message.contains("at line"), "{}", err.message);
        assert_eq!(err.to_string(), "line 3, column 8: expected value");
    }

    #[test]
    fn columns_union_in_first_seen_order() {
        let mut cols = Columns::new();
        assert_eq!(cols.index_of("a", 0), 0);
        assert_eq!(cols.index_of("b", 1), 1);
        assert_eq!(cols.index_of("b", 0), 1);
        assert_eq!(cols.index_of("c", 0), 2);
        assert_eq!(cols.get("c", 5), Some(2));
        assert_eq!(cols.get("zz", 0), None);
        assert_eq!(cols.names, ["a", "b", "c"]);
    }
}
