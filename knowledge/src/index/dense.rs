//! The vector half: brute-force cosine over every stored vector. Vectors
//! are normalized and stored as bytes (one i8 per dimension, a scale per
//! vector): a quarter of the blob and of the memory read per query, with
//! ranking unchanged in practice (rounding moves a cosine by well under a
//! percent). At 20,000 passages of 256 dimensions a query reads 5 MB, about
//! a millisecond; an approximate index would buy nothing at this size.

use serde::{Deserialize, Serialize};

/// One document's vectors, one per chunk, back to back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Vectors {
    dimension: u32,
    /// Per vector: the value 127 stands for.
    scales: Vec<f32>,
    values: Vec<i8>,
}

impl Vectors {
    /// `vectors` all of `dimension` (checked by the caller).
    pub(super) fn quantize(dimension: usize, vectors: &[Vec<f32>]) -> Self {
        let mut scales = Vec::with_capacity(vectors.len());
        let mut values = Vec::with_capacity(vectors.len() * dimension);
        for vector in vectors {
            let unit = normalized(vector);
            let largest = unit.iter().fold(0.0f32, |max, x| max.max(x.abs()));
            let step = if largest > 0.0 { largest / 127.0 } else { 1.0 };
            scales.push(step);
            values.extend(
                unit.iter()
                    .map(|x| (x / step).round().clamp(-127.0, 127.0) as i8),
            );
        }
        Self {
            dimension: dimension as u32,
            scales,
            values,
        }
    }

    /// The cosine of each stored vector with `query` (normalized), in order.
    pub(super) fn similarities<'a>(&'a self, query: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
        let dimension = (self.dimension as usize).max(1);
        self.values
            .chunks_exact(dimension)
            .zip(&self.scales)
            .map(move |(vector, step)| dot(query, vector) * step)
    }
}

/// `vector` scaled to length 1 (a zero vector stays zero): cosine as a dot
/// product, whatever the provider returns.
pub(super) fn normalized(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter().map(|x| x / norm).collect()
    } else {
        vector.to_vec()
    }
}

/// In eight lanes of fixed-size chunks, so the compiler vectorizes it (a
/// plain `sum()` must keep the float order; indexing keeps bounds checks).
fn dot(a: &[f32], b: &[i8]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * f32::from(*y))
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * f32::from(y[lane]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Keeps the `limit` best (score, item) pairs seen, best first.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_cosines_stay_close_and_keep_the_order() {
        let a = vec![0.3, -0.2, 0.9, 0.1, 0.05, -0.4, 0.2, 0.0, 0.7];
        let b = vec![0.1, 0.4, -0.3, 0.2, 0.9, 0.0, -0.1, 0.3, 0.2];
        let stored = Vectors::quantize(9, &[a.clone(), b.clone(), vec![0.0; 9]]);
        let query = normalized(&a);
        let exact = |v: &[f32]| {
            normalized(v)
                .iter()
                .zip(&query)
                .map(|(x, y)| x * y)
                .sum::<f32>()
        };
        let got: Vec<f32> = stored.similarities(&query).collect();
        assert!((got[0] - 1.0).abs() < 0.01, "{got:?}");
        assert!((got[1] - exact(&b)).abs() < 0.01, "{got:?}");
        assert_eq!(got[2], 0.0);
        let mut top = TopK::new(2);
        for (i, score) in got.iter().enumerate() {
            top.push(*score, i);
        }
        assert_eq!(
            top.into_sorted()
                .iter()
                .map(|(_, i)| *i)
                .collect::<Vec<_>>(),
            [0, 2]
        );
    }
}
