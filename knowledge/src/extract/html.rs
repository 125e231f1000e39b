//! HTML with scraper (html5ever): `<h1>`..`<h6>` open sections, block
//! elements end paragraphs, and page furniture (scripts, styles, navigation,
//! footers) is left out so it neither matches queries nor fills passages.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::{ExtractedDoc, SectionBuilder};

const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "footer", "head", "svg", "iframe", "form",
];

const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "section",
    "article",
    "main",
    "header",
    "aside",
    "tr",
    "table",
    "pre",
    "blockquote",
    "dd",
    "dt",
    "dl",
    "br",
    "hr",
    "figure",
    "figcaption",
    "details",
    "summary",
    "address",
];

pub(super) fn extract(text: &str) -> ExtractedDoc {
    let html = Html::parse_document(text);
    let mut builder = SectionBuilder::default();
    if let Some(title) = html.tree.root().descendants().find(|node| {
        node.value()
            .as_element()
            .is_some_and(|element| element.name() == "title")
    }) {
        let text: String = title
            .descendants()
            .filter_map(|node| node.value().as_text().map(|t| t.to_string()))
            .collect();
        builder.set_title(&text);
    }
    let mut skipping = 0usize;
    let mut heading: Option<(usize, String)> = None;
    for edge in html.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(element) if skipping > 0 || SKIPPED.contains(&element.name()) => {
                    skipping += 1;
                }
                Node::Element(element) => {
                    if let Some(level) = heading_level(element.name()) {
                        builder.end_paragraph();
                        heading = Some((level, String::new()));
                    } else if BLOCKS.contains(&element.name()) {
                        end_block(&mut builder, &mut heading);
                    } else if element.name() == "td" || element.name() == "th" {
                        builder.push_text(" ");
                    }
                }
                Node::Text(text) if skipping == 0 => match &mut heading {
                    Some((_, buffer)) => buffer.push_str(text),
                    None => builder.push_text(text),
                },
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(_) if skipping > 0 => skipping -= 1,
                Node::Element(element) => {
                    if heading_level(element.name()).is_some() {
                        if let Some((level, text)) = heading.take() {
                            builder.heading(level, &text);
                        }
                    } else if BLOCKS.contains(&element.name()) {
                        end_block(&mut builder, &mut heading);
                    }
                }
                _ => {}
            },
        }
    }
    builder.finish()
}

/// A block inside a heading (rare, but `<h2><div>..</div></h2>` exists)
/// stays part of the heading; elsewhere it ends the paragraph.
fn end_block(builder: &mut SectionBuilder, heading: &mut Option<(usize, String)>) {
    match heading {
        Some((_, buffer)) => buffer.push(' '),
        None => builder.end_paragraph(),
    }
}

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}
