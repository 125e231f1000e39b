//! Writes the evaluation set's PDFs (run once, the files are committed):
//! `cargo run -p chat-knowledge --example eval_pdfs`.
//!
//! Each `eval/pdf-source/<name>.md` (`#`/`##` headings, blank-line
//! paragraphs) becomes `eval/docs/<name>.pdf`: Helvetica, headings set
//! larger than the text, as office tools export them, with a text layer.
//! `eval/no-text.pdf` is a page with only a drawing: a scan without OCR.

use std::path::Path;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, dictionary};

const PAGE_TOP: i64 = 780;
const PAGE_BOTTOM: i64 = 60;
const LEFT: i64 = 60;
const WRAP_CHARS: usize = 85;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let eval = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let mut sources: Vec<_> =
        std::fs::read_dir(eval.join("pdf-source"))?.collect::<Result<_, _>>()?;
    sources.sort_by_key(|entry| entry.path());
    for entry in sources {
        let path = entry.path();
        let text = std::fs::read_to_string(&path)?;
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("doc");
        let title = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("# ")
            .to_owned();
        let pages = layout(&text);
        std::fs::write(
            eval.join("docs").join(format!("{stem}.pdf")),
            pdf(&title, &pages)?,
        )?;
    }
    let drawing = vec![vec![
        Operation::new("re", vec![100.into(), 400.into(), 300.into(), 200.into()]),
        Operation::new("f", vec![]),
    ]];
    std::fs::write(eval.join("no-text.pdf"), pdf_from_operations("", drawing)?)?;
    Ok(())
}

/// Lines of (font size, text) placed on pages.
fn layout(text: &str) -> Vec<Vec<(i64, i64, String)>> {
    let mut pages = vec![Vec::new()];
    let mut y = PAGE_TOP;
    for block in text.split("\n\n") {
        let block = block.trim();
        let (size, body) = match block {
            b if b.starts_with("## ") => (14, &b[3..]),
            b if b.starts_with("# ") => (18, &b[2..]),
            b => (11, b),
        };
        for line in wrap(body) {
            if y < PAGE_BOTTOM {
                pages.push(Vec::new());
                y = PAGE_TOP;
            }
            if let Some(page) = pages.last_mut() {
                page.push((size, y, line));
            }
            y -= size * 14 / 10;
        }
        y -= 10;
    }
    pages
}

fn wrap(text: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + word.len() + 1 > WRAP_CHARS {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

fn pdf(title: &str, pages: &[Vec<(i64, i64, String)>]) -> Result<Vec<u8>, lopdf::Error> {
    let operations = pages
        .iter()
        .map(|lines| {
            lines
                .iter()
                .flat_map(|(size, y, text)| {
                    [
                        Operation::new("BT", vec![]),
                        Operation::new("Tf", vec!["F1".into(), (*size).into()]),
                        Operation::new("Td", vec![LEFT.into(), (*y).into()]),
                        Operation::new("Tj", vec![Object::string_literal(text.as_str())]),
                        Operation::new("ET", vec![]),
                    ]
                })
                .collect()
        })
        .collect();
    pdf_from_operations(title, operations)
}

fn pdf_from_operations(title: &str, pages: Vec<Vec<Operation>>) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids: Vec<Object> = Vec::new();
    for operations in pages {
        let content = Content { operations }.encode()?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let page_id: ObjectId = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    if !title.is_empty() {
        let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
        doc.trailer.set("Info", info_id);
    }
    doc.compress();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)?;
    Ok(bytes)
}
