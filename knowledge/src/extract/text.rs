//! Plain text: no headings to find, so one section; a short first line
//! followed by a blank one is taken as the title (how help-centre exports
//! usually start).

use super::{ExtractedDoc, SectionBuilder};

const TITLE_MAX_CHARS: usize = 120;

pub(super) fn extract(text: &str) -> ExtractedDoc {
    let mut builder = SectionBuilder::default();
    let mut lines = text.lines().peekable();
    let first = lines.peek().map(|line| line.trim()).unwrap_or("");
    let second_blank = text
        .lines()
        .nth(1)
        .is_some_and(|line| line.trim().is_empty());
    let more = text.lines().skip(1).any(|line| !line.trim().is_empty());
    if !first.is_empty() && first.chars().count() <= TITLE_MAX_CHARS && second_blank && more {
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
