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
    let mut scores: HashMap<T, (f32, usize)> = HashMap::new();
    let mut order = 0usize;
    for list in lists {
        for (rank, item) in list.iter().enumerate() {
            let vote = 1.0 / (k + rank as f32 + 1.0);
            let entry = scores.entry(*item).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += vote;
        }
    }
    let mut fused: Vec<(T, f32, usize)> = scores
        .into_iter()
        .map(|(item, (score, first))| (item, score, first))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused
        .into_iter()
        .map(|(item, score, _)| (item, score))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_high_in_both_lists_wins() {
        let bm25 = ["a", "b", "c"];
        let dense = ["b", "d", "a"];
        let fused = reciprocal_rank_fusion(&[&bm25, &dense], RRF_K);
        let order: Vec<&str> = fused.iter().map(|(item, _)| *item).collect();
        assert_eq!(order, ["b", "a", "d", "c"]);
        let b = 1.0 / 62.0 + 1.0 / 61.0;
        assert!((fused[0].1 - b).abs() < 1e-6);
    }

    #[test]
    fn ties_keep_first_appearance_and_one_list_keeps_its_order() {
        let only = [3, 1, 2];
        let fused = reciprocal_rank_fusion(&[&only], RRF_K);
        assert_eq!(
            fused.iter().map(|(item, _)| *item).collect::<Vec<_>>(),
            [3, 1, 2]
        );
        let tie = reciprocal_rank_fusion(&[&[1, 2][..], &[2, 1][..]], RRF_K);
        assert_eq!(
            tie.iter().map(|(item, _)| *item).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(reciprocal_rank_fusion::<u8>(&[], RRF_K).is_empty());
    }
}
