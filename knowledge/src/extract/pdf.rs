//! PDF text with lopdf. A PDF has no headings, only text drawn at sizes, so
//! lines set larger than the body text (the size most characters use) are
//! taken as headings, one level per distinct larger size; a vertical gap
//! wider than a line ends a paragraph.

use std::collections::BTreeMap;

use lopdf::content::Operation;
use lopdf::{Document, Encoding, Object};

use super::{ExtractError, ExtractedDoc, SectionBuilder};

/// A line set this much larger than the body text is a heading.
const HEADING_RATIO: f32 = 1.15;
const HEADING_MAX_CHARS: usize = 150;

/// One line of text at one size, and whether a gap came before it.
struct Line {
    size: f32,
    text: String,
    gap_before: bool,
}

pub(super) fn extract(bytes: &[u8]) -> Result<ExtractedDoc, ExtractError> {
    let document = Document::load_mem(bytes)
        .map_err(|error| ExtractError::Malformed(format!("not a readable PDF: {error}")))?;
    let mut lines = Vec::new();
    for page_id in document.get_pages().into_values() {
        page_lines(&document, page_id, &mut lines)?;
    }
    lines.retain(|line| !line.text.trim().is_empty());
    if lines.is_empty() {
        return Err(ExtractError::NoText);
    }
    let mut builder = SectionBuilder::default();
    if let Some(title) = info_title(&document) {
        builder.set_title(&title);
    }
    build_sections(&lines, &mut builder);
    Ok(builder.finish())
}

fn build_sections(lines: &[Line], builder: &mut SectionBuilder) {
    let body = body_size(lines);
    let mut heading_sizes: Vec<f32> = lines
        .iter()
        .map(|line| line.size)
        .filter(|size| *size > body * HEADING_RATIO)
        .collect();
    heading_sizes.sort_by(|a, b| b.total_cmp(a));
    heading_sizes.dedup_by(|a, b| (*a - *b).abs() < 0.5);
    for line in lines {
        let level = heading_sizes
            .iter()
            .position(|size| (line.size - size).abs() < 0.5);
        match level {
            Some(level) if line.text.chars().count() <= HEADING_MAX_CHARS => {
                builder.heading(level + 1, &line.text);
            }
            _ => {
                if line.gap_before {
                    builder.end_paragraph();
                }
                builder.push_text(&line.text);
                builder.push_text(" ");
            }
        }
    }
}

/// The size most characters are set in.
fn body_size(lines: &[Line]) -> f32 {
    let mut chars_by_size: BTreeMap<i64, usize> = BTreeMap::new();
    for line in lines {
        *chars_by_size
            .entry((line.size * 10.0).round() as i64)
            .or_default() += line.text.len();
    }
    chars_by_size
        .into_iter()
        .max_by_key(|(_, chars)| *chars)
        .map_or(0.0, |(size, _)| size as f32 / 10.0)
}

/// Text state while walking a page's content stream.
#[derive(Default)]
struct Cursor {
    font: Vec<u8>,
    font_size: f32,
    scale: f32,
    y: f32,
    last_line_y: Option<f32>,
    text: String,
}

fn page_lines(
    document: &Document,
    page_id: lopdf::ObjectId,
    lines: &mut Vec<Line>,
) -> Result<(), ExtractError> {
    let malformed =
        |error: lopdf::Error| ExtractError::Malformed(format!("unreadable page: {error}"));
    let fonts = document.get_page_fonts(page_id).map_err(malformed)?;
    let encodings: BTreeMap<Vec<u8>, Encoding> = fonts
        .into_iter()
        .filter_map(|(name, font)| {
            font.get_font_encoding(document)
                .ok()
                .map(|encoding| (name, encoding))
        })
        .collect();
    let content = document
        .get_and_decode_page_content(page_id)
        .map_err(malformed)?;
    let mut cursor = Cursor {
        scale: 1.0,
        ..Cursor::default()
    };
    for operation in &content.operations {
        apply(operation, &encodings, &mut cursor, lines);
    }
    end_line(&mut cursor, lines);
    Ok(())
}

fn apply(
    operation: &Operation,
    encodings: &BTreeMap<Vec<u8>, Encoding>,
    cursor: &mut Cursor,
    lines: &mut Vec<Line>,
) {
    let number = |index: usize| {
        operation
            .operands
            .get(index)
            .and_then(|operand| operand.as_float().ok())
    };
    match operation.operator.as_str() {
        "BT" => {
            end_line(cursor, lines);
            // Each text object starts from the identity matrix.
            cursor.scale = 1.0;
            cursor.y = 0.0;
        }
        "Tf" => {
            let font = operation
                .operands
                .first()
                .and_then(|operand| operand.as_name().ok());
            let size = number(1).unwrap_or(0.0);
            if font.is_some_and(|font| font != cursor.font.as_slice()) || size != cursor.font_size {
                end_line(cursor, lines);
            }
            cursor.font = font.map(<[u8]>::to_vec).unwrap_or_default();
            cursor.font_size = size;
        }
        "Td" | "TD" => move_to(cursor, lines, cursor.y + number(1).unwrap_or(0.0)),
        "Tm" => {
            cursor.scale = number(3).unwrap_or(1.0).abs().max(f32::EPSILON);
            move_to(cursor, lines, number(5).unwrap_or(0.0));
        }
        "T*" | "'" | "\"" => {
            let leading = cursor.font_size * cursor.scale * 1.2;
            move_to(cursor, lines, cursor.y - leading);
        }
        _ => {}
    }
    if matches!(operation.operator.as_str(), "Tj" | "TJ" | "'" | "\"") {
        if let Some(encoding) = encodings.get(&cursor.font) {
            collect_text(&mut cursor.text, encoding, &operation.operands);
        }
    }
}

fn move_to(cursor: &mut Cursor, lines: &mut Vec<Line>, y: f32) {
    if (y - cursor.y).abs() > 0.01 {
        end_line(cursor, lines);
    }
    cursor.y = y;
}

fn end_line(cursor: &mut Cursor, lines: &mut Vec<Line>) {
    let text = super::normalize_space(&cursor.text);
    cursor.text.clear();
    if text.is_empty() {
        return;
    }
    let size = cursor.font_size * cursor.scale;
    let gap_before = cursor
        .last_line_y
        .is_some_and(|last| (last - cursor.y).abs() > size * 1.6);
    cursor.last_line_y = Some(cursor.y);
    lines.push(Line {
        size,
        text,
        gap_before,
    });
}

fn collect_text(text: &mut String, encoding: &Encoding, operands: &[Object]) {
    for operand in operands {
        match operand {
            Object::String(bytes, _) => {
                if let Ok(decoded) = Document::decode_text(encoding, bytes) {
                    text.push_str(&decoded);
                }
            }
            Object::Array(items) => collect_text(text, encoding, items),
            // A large negative kerning is a word space in justified text.
            Object::Integer(shift) if *shift < -200 => text.push(' '),
            Object::Real(shift) if *shift < -200.0 => text.push(' '),
            _ => {}
        }
    }
}

/// The Title of the document information dictionary, if any.
fn info_title(document: &Document) -> Option<String> {
    let info = document.trailer.get(b"Info").ok()?;
    let (_, info) = document.dereference(info).ok()?;
    let title = info.as_dict().ok()?.get(b"Title").ok()?;
    lopdf::decode_text_string(title).ok()
}
