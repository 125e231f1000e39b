//! Plain text: no headings to find, so one section; the first line, when
//! short, is taken as the title (how help-centre exports usually start).

use super::{ExtractedDoc, SectionBuilder};

const TITLE_MAX_CHARS: usize = 120;

pub(super) fn extract(text: &str) -> ExtractedDoc {
    let mut builder = SectionBuilder::default();
    let mut lines = text.lines().peekable();
    let first = lines.peek().map(|line| line.trim()).unwrap_or("");
    let second_blank = text
        .lines()
        .nth(1)
        .is_none_or(|line| line.trim().is_empty());
    if !first.is_empty() && first.chars().count() <= TITLE_MAX_CHARS && second_blank {
        builder.heading(1, first);
        lines.next();
    }
    for line in lines {
        if line.trim().is_empty() {
            builder.end_paragraph();
        } else {
            builder.push_text(line);
            builder.push_text(" ");
        }
    }
    builder.finish()
}
