//! Analysis: per-column type inference and statistics, the summary paragraph
//! and the CSV excerpt for the AI prompt.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use csv::{ByteRecord, Reader, ReaderBuilder, StringRecord, Writer, WriterBuilder};

use super::json::{self, JVal, Table};
use super::{Analysis, ColumnInfo, FileKind, ParseError};

/// Distinct values are counted exactly up to this many.
const DISTINCT_CAP: usize = 1000;
/// Samples kept per column.
const SAMPLES: usize = 3;
/// Characters kept of a sample value (and of names in the summary).
const SAMPLE_CHARS: usize = 40;
/// Columns described in the summary at most.
const SUMMARY_COLUMNS: usize = 20;
/// Soft limit of the summary's length in characters.
const SUMMARY_BUDGET: usize = 1500;
/// Most columns a table may have. Per-column statistics cost a few hundred
/// bytes, and a 10 MB header of commas would otherwise mean millions of them.
pub(crate) const MAX_COLUMNS: usize = 10_000;

/// Parses and analyses the file.
pub fn analyze(
    kind: FileKind,
    content: &[u8],
    max_excerpt_chars: usize,
) -> Result<Analysis, ParseError> {
    match kind {
        FileKind::Csv => analyze_csv(content, max_excerpt_chars),
        FileKind::Json => analyze_json(content, max_excerpt_chars),
    }
}

// ---------------------------------------------------------------------------
// CSV

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
    let data = super::strip_bom(content);
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

/// The CSV writer used for excerpts and [`super::json_rows_to_csv`].
pub(crate) fn csv_writer() -> Writer<Vec<u8>> {
    WriterBuilder::new().flexible(true).from_writer(Vec::new())
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
fn line_at(data: &[u8], offset: usize) -> u64 {
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

fn analyze_csv(content: &[u8], max_excerpt_chars: usize) -> Result<Analysis, ParseError> {
    let CsvInput {
        mut reader,
        names,
        data,
    } = open_csv(content)?;
    let state = SeededState::new();
    let mut stats: Vec<ColStats> = names.iter().map(|_| ColStats::new(state)).collect();
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

// ---------------------------------------------------------------------------
// JSON

fn analyze_json(content: &[u8], max_excerpt_chars: usize) -> Result<Analysis, ParseError> {
    let doc = json::parse(content)?;
    let state = SeededState::new();
    match json::table_view(&doc) {
        Table::Objects { rows, source } => {
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
                        stats.push(ColStats::new(state));
                    }
                    if let Some(col) = stats.get_mut(i) {
                        col.observe_json(value);
                    }
                }
            }
            let mut excerpt = Excerpt::new(max_excerpt_chars);
            if columns.names.is_empty() {
                // Nothing to show: an empty record would be written as `""`.
                excerpt.full = true;
            }
            excerpt.push(columns.names.iter().map(|n| n.as_bytes()));
            let mut cells = Vec::with_capacity(columns.names.len());
            for row in rows {
                if !excerpt.accepting() {
                    break;
                }
                let JVal::Obj(fields) = row else { continue };
                cells.clear();
                cells.resize(columns.names.len(), std::borrow::Cow::Borrowed(""));
                for (pos, (key, value)) in fields.iter().enumerate() {
                    if let Some(cell) = columns.get(key, pos).and_then(|i| cells.get_mut(i)) {
                        *cell = value.text();
                    }
                }
                excerpt.push(cells.iter().map(|c| c.as_bytes()));
            }
            let (excerpt, excerpt_rows) = excerpt.finish();
            let n_rows = rows.len() as u64;
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
            Ok(finish(
                FileKind::Json,
                n_rows,
                names,
                stats,
                intro,
                excerpt,
                excerpt_rows,
            ))
        }
        Table::Values(items) => {
            let mut col = ColStats::new(state);
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
            Ok(finish(
                FileKind::Json,
                rows,
                vec!["value".to_owned()],
                vec![col],
                intro,
                excerpt,
                excerpt_rows,
            ))
        }
        Table::Document(doc) => {
            let (names, stats, intro) = match doc {
                JVal::Obj(fields) => {
                    // Not a table: describe at most MAX_COLUMNS fields.
                    let shown = fields.get(..MAX_COLUMNS).unwrap_or(fields);
                    let names = shown.iter().map(|(k, _)| k.clone()).collect();
                    let stats = shown
                        .iter()
                        .map(|(_, v)| {
                            let mut col = ColStats::new(state);
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
                    let mut col = ColStats::new(state);
                    col.observe_json(other);
                    let intro = "JSON file with a single value (not a table).".to_owned();
                    (vec!["value".to_owned()], vec![col], intro)
                }
            };
            let excerpt = cut_chars(&doc.compact(), max_excerpt_chars).to_owned();
            Ok(finish(FileKind::Json, 1, names, stats, intro, excerpt, 0))
        }
    }
}

// ---------------------------------------------------------------------------
// Shared: columns and summary

fn finish(
    kind: FileKind,
    rows: u64,
    names: Vec<String>,
    stats: Vec<ColStats>,
    intro: String,
    excerpt: String,
    excerpt_rows: u64,
) -> Analysis {
    let mut columns = Vec::with_capacity(names.len());
    let mut date_ranges = Vec::with_capacity(names.len());
    for (name, col) in names.into_iter().zip(stats) {
        let (info, dates) = col.into_info(name);
        columns.push(info);
        date_ranges.push(dates);
    }
    let summary = summarize(intro, rows, &columns, &date_ranges);
    Analysis {
        kind,
        rows,
        columns,
        summary,
        excerpt,
        excerpt_rows,
    }
}

fn summarize(
    intro: String,
    rows: u64,
    columns: &[ColumnInfo],
    date_ranges: &[Option<(String, String)>],
) -> String {
    let mut summary = intro;
    let mut listed = 0usize;
    for (col, dates) in columns.iter().zip(date_ranges).take(SUMMARY_COLUMNS) {
        let text = describe(col, rows, dates.as_ref());
        // Leave room for the closing "And N more columns."
        if summary.chars().count() + 1 + text.chars().count() + 30 > SUMMARY_BUDGET {
            break;
        }
        summary.push(' ');
        summary.push_str(&text);
        listed += 1;
    }
    let more = columns.len() - listed;
    if more > 0 {
        let s = if more == 1 { "" } else { "s" };
        summary.push_str(&format!(" And {more} more column{s}."));
    }
    summary
}

fn describe(col: &ColumnInfo, rows: u64, dates: Option<&(String, String)>) -> String {
    let mut text = format!(
        "{}: {}",
        clean(cut_chars(&col.name, SAMPLE_CHARS)),
        col.kind
    );
    match col.kind {
        "integer" | "number" => {
            if let (Some(min), Some(max)) = (col.min, col.max) {
                text.push_str(&format!(", {} to {}", fmt_num(min), fmt_num(max)));
            }
            if let Some(mean) = col.mean {
                text.push_str(&format!(" (mean {})", fmt_num(mean)));
            }
        }
        "date" => {
            if let Some((min, max)) = dates {
                text.push_str(&format!(", {} to {}", clean(min), clean(max)));
            }
        }
        "text" => {
            let count = if col.distinct_capped {
                format!("over {DISTINCT_CAP} distinct values")
            } else {
                plural(col.distinct, "distinct value")
            };
            let samples: Vec<String> = col.sample.iter().map(|s| clean(s)).collect();
            text.push_str(&format!(", {count} (e.g. {})", samples.join(", ")));
        }
        _ => {}
    }
    if col.kind != "empty" && col.non_empty < rows {
        text.push_str(&format!(", {} non-empty", col.non_empty));
    }
    text.push('.');
    text
}

/// "1 row", "2 rows".
fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Control characters (newlines, tabs) become spaces so the summary stays one paragraph.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Formats a statistic: integers exactly, others with up to 4 decimals
/// (6 below 1, scientific notation when very large or very small).
fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if x == x.trunc() && a < 1e15 {
        return format!("{}", x as i64);
    }
    if !(1e-4..1e15).contains(&a) {
        let s = format!("{x:.4e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                format!("{mantissa}e{exp}")
            }
            None => s,
        };
    }
    let s = if a < 1.0 {
        format!("{x:.6}")
    } else {
        format!("{x:.4}")
    };
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The longest prefix of `s` with at most `max` characters.
pub(crate) fn cut_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Value classification

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Int(i64),
    Num(f64),
    Bool,
    Date,
    Text,
}

const K_INT: u8 = 1;
const K_NUM: u8 = 2;
const K_BOOL: u8 = 4;
const K_DATE: u8 = 8;
const K_TEXT: u8 = 16;

/// The value with surrounding whitespace (ASCII fast path, Unicode otherwise) removed.
fn trim_value(v: &[u8]) -> &[u8] {
    let t = v.trim_ascii();
    match (t.first(), t.last()) {
        (Some(&first), Some(&last)) if first >= 0x80 || last >= 0x80 => {
            std::str::from_utf8(t).map_or(t, |s| s.trim().as_bytes())
        }
        _ => t,
    }
}

/// Classifies a trimmed, non-empty value.
fn classify(v: &[u8]) -> Class {
    match v.first() {
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
            if let Some(i) = parse_int(v) {
                Class::Int(i)
            } else if is_date(v) {
                Class::Date
            } else if let Some(f) = parse_float(v) {
                Class::Num(f)
            } else {
                Class::Text
            }
        }
        Some(b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'n' | b'N') if is_bool(v) => Class::Bool,
        _ => Class::Text,
    }
}

/// Optional sign and ASCII digits that fit an i64.
fn parse_int(v: &[u8]) -> Option<i64> {
    let (negative, digits) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, v),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if negative {
        0i64.checked_sub_unsigned(n)
    } else {
        i64::try_from(n).ok()
    }
}

/// A finite decimal number ("1.5", "-.5", "1e3"); never the words nan/inf.
fn parse_float(v: &[u8]) -> Option<f64> {
    let mut digit = false;
    for &b in v {
        match b {
            b'0'..=b'9' => digit = true,
            b'+' | b'-' | b'.' | b'e' | b'E' => {}
            _ => return None,
        }
    }
    if !digit {
        return None;
    }
    let f: f64 = std::str::from_utf8(v).ok()?.parse().ok()?;
    f.is_finite().then_some(f)
}

#[inline]
fn is_bool(v: &[u8]) -> bool {
    match v.len() {
        2 => v.eq_ignore_ascii_case(b"no"),
        3 => v.eq_ignore_ascii_case(b"yes"),
        4 => v.eq_ignore_ascii_case(b"true"),
        5 => v.eq_ignore_ascii_case(b"false"),
        _ => false,
    }
}

fn digits(v: &[u8]) -> Option<u32> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0')))
}

/// "YYYY-MM-DD", optionally followed by "T" or " " and "HH:MM[:SS[.fff]][Z|±HH[:]MM]".
fn is_date(v: &[u8]) -> bool {
    let (Some(date), rest) = (v.get(..10), v.get(10..).unwrap_or_default()) else {
        return false;
    };
    let ok_date = digits(&date[..4]).is_some()
        && date[4] == b'-'
        && date[7] == b'-'
        && digits(&date[5..7]).is_some_and(|m| (1..=12).contains(&m))
        && digits(&date[8..10]).is_some_and(|d| (1..=31).contains(&d));
    if !ok_date {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'T' | b't' | b' ', time)) => is_time(time),
        Some(_) => false,
    }
}

fn is_time(t: &[u8]) -> bool {
    let Some(hm) = t.get(..5) else { return false };
    if hm[2] != b':'
        || digits(&hm[..2]).is_none_or(|h| h > 24)
        || digits(&hm[3..5]).is_none_or(|m| m > 59)
    {
        return false;
    }
    let mut rest = &t[5..];
    // Seconds.
    if let Some((b':', tail)) = rest.split_first() {
        match tail.get(..2).and_then(digits) {
            Some(s) if s <= 60 => rest = &tail[2..],
            _ => return false,
        }
        // Fraction.
        if let Some((b'.' | b',', tail)) = rest.split_first() {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            rest = &tail[n..];
        }
    }
    // Time zone.
    match rest.split_first() {
        None => true,
        Some((b'Z' | b'z', tail)) => tail.is_empty(),
        Some((b'+' | b'-', tz)) => match tz.len() {
            2 => digits(tz).is_some(),
            4 => digits(tz).is_some(),
            5 => tz[2] == b':' && digits(&tz[..2]).is_some() && digits(&tz[3..]).is_some(),
            _ => false,
        },
        Some(_) => false,
    }
}

// ---------------------------------------------------------------------------
// Column statistics

/// A seeded, fast hash for the distinct-value sets (folded 64x64->128-bit
/// multiplies as in foldhash; both keys come from the standard library's
/// random state, so crafted collisions do not carry over between calls).
#[derive(Clone, Copy)]
struct SeededState {
    seed: u64,
    key: u64,
}

impl SeededState {
    fn new() -> Self {
        let random = RandomState::new();
        SeededState {
            seed: random.hash_one(0x5eed_u64),
            key: random.hash_one(0xfeed_u64) | 1,
        }
    }
}

impl BuildHasher for SeededState {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher {
            h: self.seed,
            key: self.key,
        }
    }
}

struct FoldHasher {
    h: u64,
    key: u64,
}

const MUL: u64 = 0x243f_6a88_85a3_08d3;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

#[inline]
fn read_u32(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        let mut h = self.h;
        if len <= 16 {
            // Overlapping reads cover short inputs without copying (the
            // length itself is mixed in by `write_usize`).
            let (a, b) = if len >= 8 {
                (read_u64(bytes, 0), read_u64(bytes, len - 8))
            } else if len >= 4 {
                (read_u32(bytes, 0), read_u32(bytes, len - 4))
            } else if let (Some(&first), Some(&mid), Some(&last)) =
                (bytes.first(), bytes.get(len / 2), bytes.last())
            {
                (u64::from(first), u64::from(mid) << 8 | u64::from(last))
            } else {
                (0, 0)
            };
            h = fold_mul(h ^ a, self.key ^ b);
        } else {
            let mut chunks = bytes.chunks_exact(16);
            for chunk in &mut chunks {
                h = fold_mul(h ^ read_u64(chunk, 0), self.key ^ read_u64(chunk, 8));
            }
            if !chunks.remainder().is_empty() {
                h = fold_mul(
                    h ^ read_u64(bytes, len - 16),
                    self.key ^ read_u64(bytes, len - 8),
                );
            }
        }
        self.h = h;
    }

    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.h = fold_mul(self.h ^ n as u64, self.key ^ (n >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.h ^= (n as u64).wrapping_mul(MUL);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.h
    }
}

/// Values of at most 15 bytes packed losslessly into a `u128` (bytes 0..8 in
/// the low half, bytes 8.. and the length in the high half), so the distinct
/// sets compare them without a `memcmp` call.
#[inline]
fn small_key(v: &[u8]) -> Option<u128> {
    let len = v.len();
    let (lo, hi) = match len {
        0 => (0, 0),
        1..=3 => match (v.first(), v.get(len / 2), v.last()) {
            (Some(&a), Some(&b), Some(&c)) => {
                (u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16, 0)
            }
            _ => (0, 0),
        },
        4..=8 => {
            let tail = read_u32(v, len - 4) >> (8 * (8 - len));
            (read_u32(v, 0) | tail << 32, 0)
        }
        9..=15 => (read_u64(v, 0), read_u64(v, len - 8) >> (8 * (16 - len))),
        _ => return None,
    };
    Some(u128::from(lo) | u128::from(hi | (len as u64) << 56) << 64)
}

/// Distinct non-empty values of a column, counted exactly up to [`DISTINCT_CAP`].
struct Distinct {
    short: HashSet<u128, SeededState>,
    long: HashSet<Box<[u8]>, SeededState>,
    /// The last short value looked up: runs of one value skip the hash set.
    last: Option<u128>,
    capped: bool,
}

impl Distinct {
    fn new(state: SeededState) -> Self {
        Distinct {
            short: HashSet::with_hasher(state),
            long: HashSet::with_hasher(state),
            last: None,
            capped: false,
        }
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Records `v`; true when it was not seen before (and the cap not reached).
    #[inline]
    fn insert(&mut self, v: &[u8]) -> bool {
        if self.capped {
            return false;
        }
        let key = small_key(v);
        if key.is_some() && key == self.last {
            return false;
        }
        let known = match key {
            Some(k) => {
                self.last = key;
                self.short.contains(&k)
            }
            None => self.long.contains(v),
        };
        if known {
            return false;
        }
        if self.len() >= DISTINCT_CAP {
            self.capped = true;
            let state = *self.short.hasher();
            self.short = HashSet::with_hasher(state);
            self.long = HashSet::with_hasher(state);
            return false;
        }
        match key {
            Some(k) => self.short.insert(k),
            None => self.long.insert(v.into()),
        }
    }
}

/// Running statistics of one column.
struct ColStats {
    kinds: u8,
    non_empty: u64,
    distinct: Distinct,
    sample: Vec<String>,
    numbers: u64,
    int_sum: i128,
    float_sum: f64,
    min: f64,
    max: f64,
    date_min: Option<Vec<u8>>,
    date_max: Option<Vec<u8>>,
}

impl ColStats {
    fn new(state: SeededState) -> Self {
        ColStats {
            kinds: 0,
            non_empty: 0,
            distinct: Distinct::new(state),
            sample: Vec::new(),
            numbers: 0,
            int_sum: 0,
            float_sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            date_min: None,
            date_max: None,
        }
    }

    /// A raw CSV field (or JSON string).
    #[inline]
    fn observe(&mut self, raw: &[u8]) {
        let v = trim_value(raw);
        if v.is_empty() {
            return;
        }
        self.record(v, classify(v));
    }

    fn observe_json(&mut self, value: &JVal) {
        match value {
            JVal::Null => {}
            JVal::Bool(true) => self.record(b"true", Class::Bool),
            JVal::Bool(false) => self.record(b"false", Class::Bool),
            JVal::Num(n) => {
                let class = match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => Class::Int(i),
                    (None, Some(f)) if f.is_finite() => Class::Num(f),
                    _ => Class::Text,
                };
                self.record(n.to_string().as_bytes(), class);
            }
            JVal::Str(s) => self.observe(s.as_bytes()),
            JVal::Arr(_) | JVal::Obj(_) => self.record(value.compact().as_bytes(), Class::Text),
        }
    }

    fn record(&mut self, v: &[u8], class: Class) {
        self.non_empty += 1;
        match class {
            Class::Int(i) => {
                self.kinds |= K_INT;
                self.int_sum += i128::from(i);
                self.number(i as f64);
            }
            Class::Num(f) => {
                self.kinds |= K_NUM;
                self.float_sum += f;
                self.number(f);
            }
            Class::Bool => self.kinds |= K_BOOL,
            Class::Date => {
                self.kinds |= K_DATE;
                match &mut self.date_min {
                    Some(m) if v >= m.as_slice() => {}
                    Some(m) => {
                        m.clear();
                        m.extend_from_slice(v);
                    }
                    None => self.date_min = Some(v.to_vec()),
                }
                match &mut self.date_max {
                    Some(m) if v <= m.as_slice() => {}
                    Some(m) => {
                        m.clear();
                        m.extend_from_slice(v);
                    }
                    None => self.date_max = Some(v.to_vec()),
                }
            }
            Class::Text => self.kinds |= K_TEXT,
        }
        if self.distinct.insert(v) && self.sample.len() < SAMPLES {
            let text = String::from_utf8_lossy(v);
            self.sample.push(cut_chars(&text, SAMPLE_CHARS).to_owned());
        }
    }

    #[inline]
    fn number(&mut self, f: f64) {
        self.numbers += 1;
        self.min = self.min.min(f);
        self.max = self.max.max(f);
    }

    fn kind(&self) -> &'static str {
        match self.kinds {
            0 => "empty",
            K_INT => "integer",
            K_NUM | 3 => "number",
            K_BOOL => "boolean",
            K_DATE => "date",
            _ => "text",
        }
    }

    /// The column's info, plus its (min, max) when it is a date column.
    fn into_info(self, name: String) -> (ColumnInfo, Option<(String, String)>) {
        let kind = self.kind();
        let numeric = matches!(kind, "integer" | "number") && self.numbers > 0;
        let mean = if numeric {
            let n = self.numbers as f64;
            let mean = self.int_sum as f64 / n + self.float_sum / n;
            mean.is_finite().then_some(mean)
        } else {
            None
        };
        let dates = match (kind, self.date_min, self.date_max) {
            ("date", Some(min), Some(max)) => Some((
                cut_chars(&String::from_utf8_lossy(&min), SAMPLE_CHARS).to_owned(),
                cut_chars(&String::from_utf8_lossy(&max), SAMPLE_CHARS).to_owned(),
            )),
            _ => None,
        };
        let capped = self.distinct.capped;
        let distinct = if capped {
            DISTINCT_CAP as u64
        } else {
            self.distinct.len() as u64
        };
        let info = ColumnInfo {
            name,
            kind,
            non_empty: self.non_empty,
            distinct,
            distinct_capped: capped,
            min: numeric.then_some(self.min),
            max: numeric.then_some(self.max),
            mean,
            sample: self.sample,
        };
        (info, dates)
    }
}

// ---------------------------------------------------------------------------
// Excerpt

/// Builds the CSV excerpt: the header and as many first rows as fit in the
/// character limit, cut only at row boundaries.
struct Excerpt {
    writer: Writer<Vec<u8>>,
    limit: usize,
    /// Bytes of the writer's output that are kept (each line with its newline).
    kept_bytes: usize,
    /// Characters of the kept lines, without the last newline.
    kept_chars: usize,
    lines: u64,
    full: bool,
    /// Set when even the header did not fit: the header cut to the limit.
    cut_header: Option<String>,
}

impl Excerpt {
    fn new(limit: usize) -> Self {
        Excerpt {
            writer: csv_writer(),
            limit,
            kept_bytes: 0,
            kept_chars: 0,
            lines: 0,
            full: false,
            cut_header: None,
        }
    }

    fn accepting(&self) -> bool {
        !self.full
    }

    /// Adds one record (the first one is the header) if it fits.
    fn push<I, T>(&mut self, record: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        if self.full {
            return;
        }
        if self.writer.write_record(record).is_err() || self.writer.flush().is_err() {
            self.full = true;
            return;
        }
        let written = self.writer.get_ref();
        let new = written.get(self.kept_bytes..).unwrap_or_default();
        let line = new.strip_suffix(b"\n").unwrap_or(new);
        let line = String::from_utf8_lossy(line);
        let line_chars = if line.is_ascii() {
            line.len()
        } else {
            line.chars().count()
        };
        let total = if self.lines == 0 {
            line_chars
        } else {
            self.kept_chars + 1 + line_chars
        };
        if total <= self.limit {
            self.kept_bytes = written.len();
            self.kept_chars = total;
            self.lines += 1;
        } else {
            if self.lines == 0 {
                self.cut_header = Some(cut_chars(&line, self.limit).to_owned());
            }
            self.full = true;
        }
    }

    /// The excerpt text and the number of data rows in it.
    fn finish(self) -> (String, u64) {
        if let Some(header) = self.cut_header {
            return (header, 0);
        }
        let mut bytes = self.writer.into_inner().unwrap_or_default();
        bytes.truncate(self.kept_bytes);
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let text = String::from_utf8(bytes).unwrap_or_default();
        (text, self.lines.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            a.summary.starts_with(
                "JSON file with a single object of 4 fields (not a table). title: text"
            ),
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
        let err =
            super::super::query(FileKind::Csv, content.as_bytes(), "c", 1).expect_err("too wide");
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
        let state = SeededState::new();
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
        let mut distinct = Distinct::new(SeededState::new());
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
}
