//! Reading a `dumpdata` file: its top-level array, one record at a time.
//!
//! Not `serde_json`'s streaming deserializer: that stops at the first syntax
//! error, and a dump with one broken record must still import the others.
//! This scanner splits the array into its elements by bracket depth (strings
//! and escapes tracked), so memory holds one record at a time; each element
//! is then parsed on its own. After a broken element it resynchronises on
//! the next `{"model": "app.name", "pk"`: that byte sequence cannot occur
//! inside a valid JSON string (its quotes would be escaped), so it marks a
//! record's start. A record start met inside an element ends that element
//! as broken, so one missing quote or brace costs one record.

use std::io::{self, Read};

/// A record larger than this is reported as unreadable rather than held.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;
const BUFFER_BYTES: usize = 256 * 1024;
/// How far past a `{` a record start is looked for.
const LOOKAHEAD: usize = 256;

/// One element of the array, as read.
#[derive(Debug)]
pub struct Element {
    /// 1-based position in the array (broken elements count too).
    pub index: u64,
    /// Byte offset of its first byte in the file.
    pub offset: u64,
    pub body: Result<Vec<u8>, String>,
}

/// The elements of a JSON array read from `R`, in order.
pub struct ArrayReader<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    started: bool,
    done: bool,
    index: u64,
}

enum Step {
    Element(Element),
    End,
}

impl<R: Read> ArrayReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buf: vec![0; BUFFER_BYTES],
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            started: false,
            done: false,
            index: 0,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes at least `n` bytes available from `pos` unless the input ends.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        while self.len - self.pos < n && !self.eof {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.len, 0);
                self.base += self.pos as u64;
                self.len -= self.pos;
                self.pos = 0;
            }
            let read = self.input.read(&mut self.buf[self.len..])?;
            if read == 0 {
                self.eof = true;
            }
            self.len += read;
        }
        Ok(self.len - self.pos)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok((self.fill(1)? > 0).then(|| self.buf[self.pos]))
    }

    fn skip_whitespace_and_commas(&mut self) -> io::Result<()> {
        while let Some(b) = self.peek()? {
            if !(b.is_ascii_whitespace() || b == b',') {
                break;
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// Whether a record starts at `pos`: `{"model": "app.name", "pk"`,
    /// with any whitespace between the tokens.
    fn at_record_start(&mut self) -> io::Result<bool> {
        let available = self.fill(LOOKAHEAD)?;
        Ok(is_record_start(&self.buf[self.pos..self.pos + available]))
    }

    /// Skips to the next record start, or to the end of the input.
    fn resync(&mut self) -> io::Result<()> {
        loop {
            if self.fill(1)? == 0 || self.at_record_start()? {
                return Ok(());
            }
            self.pos += 1;
        }
    }

    /// Reads one element starting at `{`; `Err` text when it is broken.
    fn element(&mut self) -> io::Result<Result<Vec<u8>, String>> {
        let mut body = Vec::with_capacity(512);
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        while let Some(b) = self.peek()? {
            if body.len() >= MAX_RECORD_BYTES {
                return Ok(Err(format!("record larger than {MAX_RECORD_BYTES} bytes")));
            }
            if in_string {
                if b == b'\n' {
                    // JSON strings hold no raw newline: a quote is missing.
                    return Ok(Err("unterminated string".into()));
                }
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if b == b'{' && !body.is_empty() && self.at_record_start()? {
                return Ok(Err("the record is cut short by the next one".into()));
            }
            body.push(b);
            self.pos += 1;
            if depth == 0 {
                return Ok(Ok(body));
            }
        }
        Ok(Err("the file ends inside this record".into()))
    }

    /// The reason, with where reading went on after it: what lies between
    /// is not imported, and the report says so.
    fn resumed(&mut self, reason: String) -> io::Result<String> {
        Ok(if self.peek()?.is_some() {
            format!("{reason} (reading resumed at byte {})", self.offset())
        } else {
            format!("{reason} (no record after it)")
        })
    }

    fn step(&mut self) -> io::Result<Step> {
        if !self.started {
            while self.peek()?.is_some_and(|b| b.is_ascii_whitespace()) {
                self.pos += 1;
            }
            if self.peek()? != Some(b'[') {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not a dumpdata file: it does not start with a JSON array",
                ));
            }
            self.pos += 1;
            self.started = true;
        }
        self.skip_whitespace_and_commas()?;
        let offset = self.offset();
        let body = match self.peek()? {
            None => Err("the file ends before the array's closing `]`".into()),
            Some(b']') => return Ok(Step::End),
            Some(b'{') => {
                let body = self.element()?;
                match body {
                    Ok(body) => Ok(body),
                    Err(reason) => {
                        self.resync()?;
                        Err(self.resumed(reason)?)
                    }
                }
            }
            Some(_) => {
                self.resync()?;
                Err(self.resumed("not a JSON object".into())?)
            }
        };
        if body.is_err() && self.peek()?.is_none() {
            self.done = true;
        }
        self.index += 1;
        Ok(Step::Element(Element {
            index: self.index,
            offset,
            body,
        }))
    }
}

/// `{"model": "app.name", "pk"` at the start of `window`.
fn is_record_start(window: &[u8]) -> bool {
    let mut rest = window;
    let ok = token(&mut rest, b"{")
        && token(&mut rest, b"\"model\"")
        && token(&mut rest, b":")
        && token(&mut rest, b"\"");
    if !ok {
        return false;
    }
    let name_len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.')))
        .unwrap_or(rest.len());
    let dotted = rest[..name_len].contains(&b'.');
    rest = &rest[name_len..];
    dotted && token(&mut rest, b"\"") && token(&mut rest, b",") && token(&mut rest, b"\"pk\"")
}

/// Skips whitespace, then `expected` if it comes next.
fn token(rest: &mut &[u8], expected: &[u8]) -> bool {
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    *rest = &rest[start..];
    let found = rest.starts_with(expected);
    if found {
        *rest = &rest[expected.len()..];
    }
    found
}

impl<R: Read> Iterator for ArrayReader<R> {
    type Item = io::Result<Element>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Step::Element(e)) => Some(Ok(e)),
            Ok(Step::End) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Result<String, String>> {
        ArrayReader::new(text.as_bytes())
            .map(|e| {
                e.expect("readable")
                    .body
                    .map(|b| String::from_utf8(b).expect("utf-8"))
            })
            .collect()
    }

    #[test]
    fn splits_an_array_into_its_records() {
        let got = read(
            r#"[{"model": "a.a", "pk": 1, "s": "}{[\"" }, {"model": "a.b", "pk": 2, "x": [1, {"model": "m"}]}]"#,
        );
        assert_eq!(
            got,
            vec![
                Ok(r#"{"model": "a.a", "pk": 1, "s": "}{[\"" }"#.to_owned()),
                Ok(r#"{"model": "a.b", "pk": 2, "x": [1, {"model": "m"}]}"#.to_owned()),
            ]
        );
    }

    #[test]
    fn a_missing_quote_costs_one_record() {
        let text = "[\n{\n \"model\": \"a.a\",\n \"pk\": 1,\n \"content\": \"no end\n},\n{\n \"model\": \"a.b\",\n \"pk\": 2\n}\n]";
        let got = read(text);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Err("unterminated string (reading resumed at byte 53)".into())
        );
        assert_eq!(got[1], Ok("{\n \"model\": \"a.b\",\n \"pk\": 2\n}".into()));
        // On one line too: the next record's start ends the broken one.
        let got = read(r#"[{"model": "a.a", "pk": 1, "c": "x}, {"model": "a.b", "pk": 2}]"#);
        assert_eq!(got.len(), 2);
        assert!(got[0].is_err());
        assert_eq!(got[1], Ok(r#"{"model": "a.b", "pk": 2}"#.into()));
    }

    #[test]
    fn a_missing_brace_costs_one_record() {
        let got = read(r#"[{"model": "a.a", "pk": 1, "f": {"x": 1}, {"model": "a.b", "pk": 2}]"#);
        assert_eq!(got.len(), 2);
        assert!(got[0].is_err());
        assert_eq!(got[1], Ok(r#"{"model": "a.b", "pk": 2}"#.into()));
    }

    #[test]
    fn junk_between_records_and_a_truncated_file_are_reported() {
        let got = read(
            r#"[{"model": "a.a", "pk": 1}, 42, {"model": "a.b", "pk": 2}, {"model": "a.c", "pk": 3, "x": ["#,
        );
        assert_eq!(got[0], Ok(r#"{"model": "a.a", "pk": 1}"#.into()));
        assert_eq!(
            got[1],
            Err("not a JSON object (reading resumed at byte 31)".into())
        );
        assert_eq!(got[2], Ok(r#"{"model": "a.b", "pk": 2}"#.into()));
        assert_eq!(
            got[3],
            Err("the file ends inside this record (no record after it)".into())
        );
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn refuses_a_file_that_is_not_an_array() {
        let mut reader = ArrayReader::new(&b"{\"model\": 1}"[..]);
        assert!(reader.next().expect("an item").is_err());
        assert!(reader.next().is_none());
    }

    #[test]
    fn records_across_buffer_boundaries() {
        let content = "é".repeat(BUFFER_BYTES);
        let text = format!(
            r#"[{{"model": "a.a", "pk": 1, "c": "{content}"}}, {{"model": "a.b", "pk": 2}}]"#
        );
        let got = read(&text);
        assert_eq!(got.len(), 2);
        assert!(got[0].as_ref().is_ok_and(|s| s.len() > 2 * BUFFER_BYTES));
    }
}
