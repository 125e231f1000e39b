//! Running statistics of a column: kinds seen, distinct values, samples,
//! numeric range and mean, date range.

use std::collections::HashSet;

use super::classify::{Class, K_BOOL, K_DATE, K_INT, K_NUM, K_TEXT, classify, trim_value};
use super::text::cut_chars;
use crate::files::ColumnInfo;
use crate::files::json::JVal;

/// Distinct values are counted exactly up to this many.
pub(super) const DISTINCT_CAP: usize = 1000;
/// Samples kept per column.
const SAMPLES: usize = 3;
/// Characters kept of a sample value (and of names in the summary).
pub(super) const SAMPLE_CHARS: usize = 40;
/// Most columns a table may have. Per-column statistics cost a few hundred
/// bytes, and a 10 MB header of commas would otherwise mean millions of them.
pub(super) const MAX_COLUMNS: usize = 10_000;

/// The hash of the distinct-value sets: foldhash, seeded per analysis (a
/// per-state seed and a per-process random one), so crafted collisions do
/// not carry over between uploads.
pub(super) type SeededState = foldhash::fast::RandomState;
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

/// Values of at most 15 bytes packed losslessly into a `u128` (bytes 0..8 in
/// the low half, bytes 8.. and the length in the high half), so the distinct
/// sets compare them without a `memcmp` call.
#[inline]
pub(super) fn small_key(v: &[u8]) -> Option<u128> {
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
pub(super) struct Distinct {
    short: HashSet<u128, SeededState>,
    long: HashSet<Box<[u8]>, SeededState>,
    /// The last short value looked up: runs of one value skip the hash set.
    last: Option<u128>,
    capped: bool,
}

impl Distinct {
    pub(super) fn new(state: SeededState) -> Self {
        Distinct {
            short: HashSet::with_hasher(state.clone()),
            long: HashSet::with_hasher(state),
            last: None,
            capped: false,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Records `v`; true when it was not seen before (and the cap not reached).
    #[inline]
    pub(super) fn insert(&mut self, v: &[u8]) -> bool {
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
            let state = self.short.hasher().clone();
            self.short = HashSet::with_hasher(state.clone());
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
pub(super) struct ColStats {
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
    pub(super) fn new(state: SeededState) -> Self {
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
    pub(super) fn observe(&mut self, raw: &[u8]) {
        let v = trim_value(raw);
        if v.is_empty() {
            return;
        }
        self.record(v, classify(v));
    }

    pub(super) fn observe_json(&mut self, value: &JVal) {
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
    pub(super) fn into_info(self, name: String) -> (ColumnInfo, Option<(String, String)>) {
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
