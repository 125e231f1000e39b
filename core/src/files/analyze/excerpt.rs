//! The CSV excerpt of a file for the AI prompt.

use csv::{Writer, WriterBuilder};

use super::text::cut_chars;

/// The CSV writer used for excerpts and [`crate::files::json_rows_to_csv`].
pub(crate) fn csv_writer() -> Writer<Vec<u8>> {
    WriterBuilder::new().flexible(true).from_writer(Vec::new())
}

/// Builds the CSV excerpt: the header and as many first rows as fit in the
/// character limit, cut only at row boundaries.
pub(super) struct Excerpt {
    writer: Writer<Vec<u8>>,
    limit: usize,
    /// Bytes of the writer's output that are kept (each line with its newline).
    kept_bytes: usize,
    /// Characters of the kept lines, without the last newline.
    kept_chars: usize,
    lines: u64,
    full: bool,
    /// Set when even the header did not fit: the header cut to the limit.
    cut_header: Option<String>,
}

impl Excerpt {
    pub(super) fn new(limit: usize) -> Self {
        Excerpt {
            writer: csv_writer(),
            limit,
            kept_bytes: 0,
            kept_chars: 0,
            lines: 0,
            full: false,
            cut_header: None,
        }
    }

    pub(super) fn accepting(&self) -> bool {
        !self.full
    }

    /// Takes no more records.
    pub(super) fn close(&mut self) {
        self.full = true;
    }

    /// Adds one record (the first one is the header) if it fits.
    pub(super) fn push<I, T>(&mut self, record: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        if self.full {
            return;
        }
        if self.writer.write_record(record).is_err() || self.writer.flush().is_err() {
            self.full = true;
            return;
        }
        let written = self.writer.get_ref();
        let new = written.get(self.kept_bytes..).unwrap_or_default();
        let line = new.strip_suffix(b"\n").unwrap_or(new);
        let line = String::from_utf8_lossy(line);
        let line_chars = if line.is_ascii() {
            line.len()
        } else {
            line.chars().count()
        };
        let total = if self.lines == 0 {
            line_chars
        } else {
            self.kept_chars + 1 + line_chars
        };
        if total <= self.limit {
            self.kept_bytes = written.len();
            self.kept_chars = total;
            self.lines += 1;
        } else {
            if self.lines == 0 {
                self.cut_header = Some(cut_chars(&line, self.limit).to_owned());
            }
            self.full = true;
        }
    }

    /// The excerpt text and the number of data rows in it.
    pub(super) fn finish(self) -> (String, u64) {
        if let Some(header) = self.cut_header {
            return (header, 0);
        }
        let mut bytes = self.writer.into_inner().unwrap_or_default();
        bytes.truncate(self.kept_bytes);
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let text = String::from_utf8(bytes).unwrap_or_default();
        (text, self.lines.saturating_sub(1))
    }
}
