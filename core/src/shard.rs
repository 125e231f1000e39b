//! Which shard of a per-tenant counter a write goes to.
//!
//! A per-tenant item written on every message or session (the STATS totals,
//! the day counters of the analytics, the tenant-wide rate and budget
//! counters) is split into [`TENANT_COUNTER_SHARDS`] items whose keys end in
//! [`shard_suffix`]; a write picks one by a hash of something that varies
//! between the tenant's writers (the session or the visitor), and a read sums
//! them all (one Query on the key prefix, so O(shards), never a Scan). The
//! hash need not be stable across releases: reads sum every shard, so moving
//! a writer to another shard never loses a count.

use std::hash::BuildHasher;

/// Shards per tenant counter. DynamoDB serves about 1,000 writes per second
/// per partition key; 16 shards put a tenant's counters at ~16,000 writes
/// per second before any one item throttles (docs/SCALE.md).
pub const TENANT_COUNTER_SHARDS: u16 = 16;

/// The shard (`0..shards`) a writer keyed by `seed` uses.
pub fn shard_of(seed: &str, shards: u16) -> u16 {
    if shards <= 1 {
        return 0;
    }
    let hash = foldhash::fast::FixedState::with_seed(0x5a17_c0de).hash_one(seed);
    (hash % u64::from(shards)) as u16
}

/// The key suffix of shard `n`: `#S07`. Fixed width, so the shards of one
/// counter sort together and a `begins_with` on the counter's key finds them.
pub fn shard_suffix(n: u16) -> String {
    format!("#S{n:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_stay_in_range_and_spread() {
        let mut seen = [0u32; TENANT_COUNTER_SHARDS as usize];
        for i in 0..1600 {
            let s = shard_of(&format!("session-{i}"), TENANT_COUNTER_SHARDS);
            seen[usize::from(s)] += 1;
        }
        // Every shard gets a share; none takes more than twice its due.
        assert!(seen.iter().all(|&n| n > 0 && n < 200), "{seen:?}");
        assert_eq!(shard_of("anything", 1), 0);
        assert_eq!(shard_of("same", 16), shard_of("same", 16));
        assert_eq!(shard_suffix(7), "#S07");
    }
}
