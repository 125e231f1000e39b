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
        let mut vector = vec![0.0f32; self.dimension];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_lowercase();
            self.add(&mut vector, word.as_bytes(), 1.0);
            // Trigrams of the padded word: "refund" and "refunds" share most.
            let padded: Vec<char> = format!(" {word} ").chars().collect();
            for gram in padded.windows(3) {
                let gram: String = gram.iter().collect();
                self.add(&mut vector, gram.as_bytes(), 0.5);
            }
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vector
    }
}

impl HashEmbedder {
    /// The feature's bucket and sign from FNV-1a: stable across platforms
    /// and releases (the std hasher is not), so stored vectors stay valid.
    fn add(&self, vector: &mut [f32], feature: &[u8], weight: f32) {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in feature {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let bucket = (hash % self.dimension as u64) as usize;
        let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
        vector[bucket] += sign * weight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_normalized_and_nearer_for_shared_spellings() {
        let embedder = HashEmbedder::default();
        let a = embedder.embed("How do I request a refund?");
        assert_eq!(a, embedder.embed("How do I request a refund?"));
        assert_eq!(a.len(), HashEmbedder::DEFAULT_DIMENSION);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        let near = embedder.embed("Requesting refunds");
        let far = embedder.embed("Shipping to Canada takes five days");
        assert!(dot(&a, &near) > dot(&a, &far));
        assert!(embedder.embed("").iter().all(|x| *x == 0.0));
    }
}
