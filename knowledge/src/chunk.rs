//! Sections to passages: split on headings and paragraphs, bounded in
//! tokens (the prompt's estimate, so the knowledge budget adds up), with an
//! overlap so a sentence cut at a boundary is whole in one of the two.

use chat_core::prompt::{CHARS_PER_TOKEN, estimate_token_count};

use crate::ExtractedDoc;

/// Passage sizes, in tokens as `chat_core::prompt::estimate_token_count`
/// counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    pub max_tokens: usize,
    /// Tokens of the previous passage of the same section repeated at the
    /// start of the next; smaller than `max_tokens`.
    pub overlap_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_tokens: 200,
            overlap_tokens: 30,
        }
    }
}

/// One passage: what the index stores and the prompt quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its position in the document (0, 1, ...): stable for the same
    /// document and options.
    pub chunk_id: u32,
    pub title: String,
    /// The heading path joined with " > "; empty before the first heading.
    pub heading: String,
    pub url: Option<String>,
    pub text: String,
}

/// The document's sections cut into passages; no passage is empty or over
/// `max_tokens`, and none spans two sections.
pub fn chunk(doc: &ExtractedDoc, opts: &ChunkOptions) -> Vec<Chunk> {
    let max = opts.max_tokens.max(1);
    let overlap = opts.overlap_tokens.min(max / 2);
    let mut chunks = Vec::new();
    for section in &doc.sections {
        let heading = section.heading_path.join(" > ");
        for text in pack_section(&section.text, max, overlap) {
            chunks.push(Chunk {
                chunk_id: chunks.len() as u32,
                title: doc.title.clone(),
                heading: heading.clone(),
                url: doc.url.clone(),
                text,
            });
        }
    }
    chunks
}

/// A section's paragraphs packed into passages of at most `max` tokens, each
/// after the first starting with the last `overlap` tokens of the one before.
fn pack_section(text: &str, max: usize, overlap: usize) -> Vec<String> {
    let pieces: Vec<String> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .flat_map(|paragraph| fit(paragraph, max))
        .collect();
    let mut passages: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let joined = if current.is_empty() {
            piece.clone()
        } else {
            format!("{current}\n\n{piece}")
        };
        if estimate_token_count(&joined) <= max {
            current = joined;
            continue;
        }
        passages.push(std::mem::take(&mut current));
        let room = max
            .saturating_sub(estimate_token_count(&piece) + 1)
            .min(overlap);
        let tail = tail_words(passages.last().map_or("", String::as_str), room);
        current = if tail.is_empty() {
            piece
        } else {
            format!("{tail} {piece}")
        };
    }
    if !current.is_empty() {
        passages.push(current);
    }
    passages
}

/// A paragraph cut to pieces of at most `max` tokens: at sentence ends, then
/// at spaces, then (a run without spaces) at characters.
fn fit(paragraph: &str, max: usize) -> Vec<String> {
    if estimate_token_count(paragraph) <= max {
        return vec![paragraph.to_owned()];
    }
    let sentences = split_sentences(paragraph);
    if sentences.len() > 1 {
        let fitted: Vec<String> = sentences
            .iter()
            .flat_map(|sentence| fit(sentence, max))
            .collect();
        return pack(fitted, " ", max);
    }
    let words: Vec<&str> = paragraph.split_whitespace().collect();
    if words.len() > 1 {
        let fitted: Vec<String> = words.iter().flat_map(|word| fit(word, max)).collect();
        return pack(fitted, " ", max);
    }
    let chars: Vec<char> = paragraph.chars().collect();
    chars
        .chunks(max * CHARS_PER_TOKEN)
        .map(|run| run.iter().collect())
        .collect()
}

/// Greedy packing of pieces that each fit into as few as fit.
fn pack(pieces: Vec<String>, joiner: &str, max: usize) -> Vec<String> {
    let mut packed: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let joined = if current.is_empty() {
            piece.clone()
        } else {
            format!("{current}{joiner}{piece}")
        };
        if estimate_token_count(&joined) <= max {
            current = joined;
        } else {
            packed.push(std::mem::replace(&mut current, piece));
        }
    }
    if !current.is_empty() {
        packed.push(current);
    }
    packed
}

fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, byte) in bytes.iter().enumerate() {
        let ends = matches!(byte, b'.' | b'!' | b'?')
            && bytes.get(i + 1).is_some_and(|next| *next == b' ');
        if ends {
            sentences.push(text[start..=i].trim());
            start = i + 1;
        }
    }
    sentences.push(text[start..].trim());
    sentences.retain(|sentence| !sentence.is_empty());
    sentences
}

/// The last words of `text` making at most `tokens` tokens.
fn tail_words(text: &str, tokens: usize) -> &str {
    let budget = tokens * CHARS_PER_TOKEN;
    if tokens == 0 {
        return "";
    }
    let total = text.chars().count();
    if total <= budget {
        return text;
    }
    let start = text
        .char_indices()
        .nth(total - budget)
        .map_or(0, |(index, _)| index);
    let rest = &text[start..];
    // Start on a word boundary: drop the partial first word.
    match rest.find(char::is_whitespace) {
        Some(space) => rest[space..].trim_start(),
        None => "",
    }
}
