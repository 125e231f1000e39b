//! Markdown with pulldown-cmark: headings open sections, block elements
//! (paragraphs, list items, code blocks, table rows) become paragraphs.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::{ExtractedDoc, SectionBuilder};

pub(super) fn extract(text: &str) -> ExtractedDoc {
    let mut builder = SectionBuilder::default();
    let mut heading: Option<(usize, String)> = None;
    for event in Parser::new_ext(text, pulldown_cmark::Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                builder.end_paragraph();
                heading = Some((level as usize, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = heading.take() {
                    builder.heading(level, &text);
                }
            }
            Event::Text(piece) | Event::Code(piece) => match &mut heading {
                Some((_, text)) => text.push_str(&piece),
                None => builder.push_text(&piece),
            },
            Event::SoftBreak | Event::HardBreak => match &mut heading {
                Some((_, text)) => text.push(' '),
                None => builder.push_text(" "),
            },
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_),
            ) => builder.end_paragraph(),
            Event::End(TagEnd::TableCell) => builder.push_text(" | "),
            _ => {}
        }
    }
    builder.finish()
}
