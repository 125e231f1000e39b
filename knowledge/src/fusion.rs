//! Reciprocal rank fusion (Cormack et al., 2009): each list votes
//! 1 / (k + rank) for its items, so lists of incomparable scores (BM25,
//! cosine) combine without calibration.

use std::collections::HashMap;
use std::hash::Hash;

/// The constant of the original paper; it damps the weight of the very top.
pub const RRF_K: f32 = 60.0;

/// Fuses ranked lists (best first) into one, best first, with the fused
/// score. Ties keep the order of first appearance.
pub fn reciprocal_rank_fusion<T: Copy + Eq + Hash>(lists: &[&[T]], k: f32) -> Vec<(T, f32)> {
    let _ = (lists, k, HashMap::<T, f32>::new());
    todo!()
}
