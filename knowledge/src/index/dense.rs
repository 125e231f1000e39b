//! The vector half: brute-force cosine over every stored vector. At 20,000
//! passages of 256 floats that is 5 million multiply-adds, about a
//! millisecond, so an approximate index would buy nothing at this size.

/// Cosine similarity of two L2-normalized vectors, in eight lanes so the
/// compiler vectorizes it (a plain `sum()` must keep the float order).
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.len().min(b.len()) / 8;
    for i in 0..chunks {
        for lane in 0..8 {
            lanes[lane] += a[i * 8 + lane] * b[i * 8 + lane];
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for i in chunks * 8..a.len().min(b.len()) {
        sum += a[i] * b[i];
    }
    sum
}

/// Keeps the `limit` best (score, item) pairs seen, best first at the end.
pub(super) struct TopK<T> {
    limit: usize,
    items: Vec<(f32, T)>,
}

impl<T: Copy> TopK<T> {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            items: Vec::with_capacity(limit.max(1) + 1),
        }
    }

    pub(super) fn push(&mut self, score: f32, item: T) {
        if self.items.len() == self.limit
            && self.items.last().is_some_and(|(worst, _)| score <= *worst)
        {
            return;
        }
        let at = self.items.partition_point(|(kept, _)| *kept >= score);
        self.items.insert(at, (score, item));
        self.items.truncate(self.limit);
    }

    pub(super) fn into_sorted(self) -> Vec<(f32, T)> {
        self.items
    }
}
