//! The one place that turns a stream of headings and text into sections, so
//! every format nests headings the same way.

use super::{ExtractedDoc, Section, normalize_space};

#[derive(Default)]
pub(super) struct SectionBuilder {
    title: Option<String>,
    /// (level, text) of the headings above the current text.
    headings: Vec<(usize, String)>,
    paragraphs: Vec<String>,
    paragraph: String,
    sections: Vec<Section>,
}

impl SectionBuilder {
    /// A title from the document's metadata (HTML `<title>`, PDF Info),
    /// which wins over the first top-level heading.
    pub(super) fn set_title(&mut self, title: &str) {
        let title = normalize_space(title);
        if !title.is_empty() {
            self.title = Some(title);
        }
    }

    pub(super) fn heading(&mut self, level: usize, text: &str) {
        let text = normalize_space(text);
        if text.is_empty() {
            return;
        }
        self.end_section();
        if self.title.is_none() && level == 1 {
            self.title = Some(text.clone());
        }
        self.headings.retain(|(above, _)| *above < level);
        self.headings.push((level, text));
    }

    pub(super) fn push_text(&mut self, text: &str) {
        self.paragraph.push_str(text);
    }

    pub(super) fn end_paragraph(&mut self) {
        let paragraph = normalize_space(&self.paragraph);
        self.paragraph.clear();
        if !paragraph.is_empty() {
            self.paragraphs.push(paragraph);
        }
    }

    fn end_section(&mut self) {
        self.end_paragraph();
        if !self.paragraphs.is_empty() {
            self.sections.push(Section {
                heading_path: self.headings.iter().map(|(_, text)| text.clone()).collect(),
                text: self.paragraphs.join("\n\n"),
            });
            self.paragraphs.clear();
        }
    }

    pub(super) fn finish(mut self) -> ExtractedDoc {
        self.end_section();
        ExtractedDoc {
            title: self.title.unwrap_or_default(),
            sections: self.sections,
            url: None,
        }
    }
}
