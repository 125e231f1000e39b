//! Embeddings the index can take alongside BM25, and a local stand-in.

/// Text to a fixed-size vector. The HTTP client of an OpenAI-compatible
/// `/embeddings` endpoint lives with the callers (it does I/O); this trait
/// is what tests and the dummy provider use.
pub trait Embedder: Send + Sync {
    fn dimension(&self) -> usize;
    /// One vector of `dimension()` floats, L2-normalized.
    fn embed(&self, text: &str) -> Vec<f32>;
}

/// A deterministic embedding from hashed character trigrams and words: for
/// tests and the demo provider only. It is NOT semantic: two texts are near
/// when they share spellings, not meanings, so it adds little beyond BM25.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashEmbedder {
    dimension: usize,
}

impl HashEmbedder {
    pub const DEFAULT_DIMENSION: usize = 256;

    pub fn new(dimension: usize) -> Self {
        Self {
            dimension: dimension.max(1),
        }
    }
}

impl Default for HashEmbedder {
    fn default() -> Self {
        Self::new(Self::DEFAULT_DIMENSION)
    }
}

impl Embedder for HashEmbedder {
    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        let _ = text;
        todo!()
    }
}
