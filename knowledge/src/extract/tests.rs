use super::*;

fn eval_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eval")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn headings(doc: &ExtractedDoc) -> Vec<String> {
    doc.sections
        .iter()
        .map(|section| section.heading_path.join(" > "))
        .collect()
}

#[test]
fn markdown_keeps_nested_headings_and_paragraphs() {
    let text = "Intro line.\n\n# Returns\n\nSixty days.\n\n## Exceptions\n\n- Fuel\n- Gift cards\n\n### Ropes\n\nUnopened only.\n\n## How\n\nUse the `label`.\n";
    let doc = extract(text.as_bytes(), SourceKind::Markdown, "returns.md").expect("markdown");
    assert_eq!(doc.title, "Returns");
    assert_eq!(
        headings(&doc),
        [
            "",
            "Returns",
            "Returns > Exceptions",
            "Returns > Exceptions > Ropes",
            "Returns > How"
        ]
    );
    assert_eq!(doc.sections[2].text, "Fuel\n\nGift cards");
    assert_eq!(doc.sections[4].text, "Use the label.");
    assert_eq!(doc.url, None);
}

#[test]
fn html_keeps_headings_and_leaves_out_scripts_navigation_and_footers() {
    let html = r#"<html><head><title>Shipping</title><script>var secret = 1;</script></head><body>
        <nav><a href="/">Home menu</a></nav>
        <h1>Shipping <em>times</em></h1><p>Three to   five days.</p><div>Free over 75.</div>
        <h2>Express</h2><ul><li>Next day</li><li>12.95</li></ul>
        <footer>Copyright</footer></body></html>"#;
    let doc = extract(
        html.as_bytes(),
        SourceKind::Html,
        "https://help.example/shipping",
    )
    .expect("html");
    assert_eq!(doc.title, "Shipping");
    assert_eq!(
        headings(&doc),
        ["Shipping times", "Shipping times > Express"]
    );
    assert_eq!(doc.sections[0].text, "Three to five days.\n\nFree over 75.");
    assert_eq!(doc.sections[1].text, "Next day\n\n12.95");
    let all: String = doc
        .sections
        .iter()
        .map(|section| section.text.as_str())
        .collect();
    assert!(!all.contains("secret") && !all.contains("Home menu") && !all.contains("Copyright"));
    assert_eq!(doc.url.as_deref(), Some("https://help.example/shipping"));
}

#[test]
fn plain_text_takes_a_short_first_line_as_title() {
    let text = "Store hours\n\nMonday to Saturday\n9 to 8.\n\nSunday 11 to 5.";
    let doc = extract(text.as_bytes(), SourceKind::Text, "hours.txt").expect("text");
    assert_eq!(doc.title, "Store hours");
    assert_eq!(doc.sections.len(), 1);
    assert_eq!(
        doc.sections[0].text,
        "Monday to Saturday 9 to 8.\n\nSunday 11 to 5."
    );
    let untitled = extract(
        b"just one line of text that goes on",
        SourceKind::Text,
        "notes/untitled.txt",
    );
    assert_eq!(untitled.expect("text").title, "untitled");
}

#[test]
fn pdf_headings_come_from_larger_text() {
    let doc = extract(
        &eval_file("docs/terms-of-sale.pdf"),
        SourceKind::Pdf,
        "terms-of-sale.pdf",
    )
    .expect("pdf");
    assert_eq!(doc.title, "Terms of sale");
    assert_eq!(
        headings(&doc),
        [
            "Terms of sale > Contract formation",
            "Terms of sale > Right of withdrawal",
            "Terms of sale > Liability",
            "Terms of sale > Governing law"
        ]
    );
    assert!(
        doc.sections[1]
            .text
            .starts_with("Consumers have a statutory 14-day right of withdrawal")
    );
    assert!(
        doc.sections[1]
            .text
            .ends_with("extends this right and does not limit it.")
    );
}

#[test]
fn a_pdf_without_a_text_layer_is_no_text_and_garbage_is_malformed() {
    assert_eq!(
        extract(&eval_file("no-text.pdf"), SourceKind::Pdf, "scan.pdf"),
        Err(ExtractError::NoText)
    );
    let garbage = extract(b"%PDF-1.7 not really", SourceKind::Pdf, "x.pdf");
    assert!(
        matches!(garbage, Err(ExtractError::Malformed(_))),
        "{garbage:?}"
    );
    let latin1 = extract(b"caf\xe9", SourceKind::Text, "x.txt");
    assert!(
        matches!(latin1, Err(ExtractError::Malformed(_))),
        "{latin1:?}"
    );
    assert_eq!(
        extract(b"  \n\n ", SourceKind::Markdown, "x.md"),
        Err(ExtractError::NoText)
    );
    assert_eq!(
        extract(
            b"<html><script>x()</script></html>",
            SourceKind::Html,
            "x.html"
        ),
        Err(ExtractError::NoText)
    );
}

#[test]
fn detect_prefers_magic_bytes_then_the_name_then_the_content_type() {
    assert_eq!(
        SourceKind::detect(Some("notes.txt"), Some("text/plain"), b"%PDF-1.4"),
        Some(SourceKind::Pdf)
    );
    assert_eq!(
        SourceKind::detect(Some("Guide.MD"), None, b"# x"),
        Some(SourceKind::Markdown)
    );
    assert_eq!(
        SourceKind::detect(Some("page.htm"), None, b"<p>"),
        Some(SourceKind::Html)
    );
    assert_eq!(
        SourceKind::detect(None, Some("text/html; charset=utf-8"), b"<p>"),
        Some(SourceKind::Html)
    );
    assert_eq!(
        SourceKind::detect(Some("blob"), Some("text/markdown"), b"x"),
        Some(SourceKind::Markdown)
    );
    assert_eq!(
        SourceKind::detect(Some("photo.png"), Some("image/png"), b"\x89PNG"),
        None
    );
    assert_eq!(SourceKind::detect(None, None, b"hello"), None);
}
