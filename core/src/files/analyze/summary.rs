//! The columns and the one-paragraph summary of an analysis, from the
//! per-column statistics.

use super::stats::{ColStats, DISTINCT_CAP, SAMPLE_CHARS};
use super::text::{clean, cut_chars, fmt_num, plural};
use crate::files::{Analysis, ColumnInfo, FileKind};

/// Columns described in the summary at most.
const SUMMARY_COLUMNS: usize = 20;
/// Soft limit of the summary's length in characters.
pub(super) const SUMMARY_BUDGET: usize = 1500;

pub(super) fn finish(
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
