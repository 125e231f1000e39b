//! Sections to passages: split on headings and paragraphs, bounded in
//! tokens (the prompt's estimate, so the knowledge budget adds up), with an
//! overlap so a sentence cut at a boundary is whole in one of the two.

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

pub fn chunk(doc: &ExtractedDoc, opts: &ChunkOptions) -> Vec<Chunk> {
    let _ = (doc, opts);
    todo!()
}
