//! Deterministic ids for what the dump numbers its own way: a re-run
//! addresses the very items the first run wrote, so it can tell what is
//! already there.
//!
//! UUID v7 like every id we make (time-ordered, so history pages sort as
//! they do for live messages): the record's timestamp in milliseconds, then
//! the Django pk (42 bits: creation order breaks same-millisecond ties as
//! Django's ordering does), then 32 bits of a hash of the owner and pk.

use sha2::{Digest, Sha256};
use uuid::Uuid;

const PK_BITS: u32 = 42;

/// A UUID v7 at `epoch_ms`, ordered by `pk` within the millisecond.
fn v7(epoch_ms: i64, pk: u64, owner: &[u8]) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(owner);
    hasher.update(pk.to_be_bytes());
    let digest = hasher.finalize();
    let hash = u128::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]));
    let ms = u128::from(u64::try_from(epoch_ms).unwrap_or(0) & 0xFFFF_FFFF_FFFF);
    let pk = u128::from(pk & ((1 << PK_BITS) - 1));
    let rand_a = pk >> 30;
    let rand_b = ((pk & ((1 << 30) - 1)) << 32) | hash;
    Uuid::from_u128((ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
}

/// A message of the session, by its Django pk.
pub fn message(session: Uuid, pk: i64, timestamp: i64) -> Uuid {
    v7(timestamp, pk.unsigned_abs(), session.as_bytes())
}

/// A file upload of the session, by its Django pk.
pub fn file(session: Uuid, pk: i64, uploaded_at: i64) -> Uuid {
    let mut owner = b"file:".to_vec();
    owner.extend_from_slice(session.as_bytes());
    v7(uploaded_at, pk.unsigned_abs(), &owner)
}

/// The key record of a client's API key, from the key's hash.
pub fn key(key_hash: &str, created_at: i64) -> Uuid {
    let mut owner = b"key:".to_vec();
    owner.extend_from_slice(key_hash.as_bytes());
    v7(created_at, 0, &owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_stable_and_ordered_by_time_then_pk() {
        let s = Uuid::from_u128(7);
        let a = message(s, 10, 1_000);
        assert_eq!(a, message(s, 10, 1_000));
        assert_eq!(a.get_version_num(), 7);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert!(message(s, 11, 1_000) > a, "same millisecond: pk order");
        assert!(message(s, 9, 1_001) > a, "time first");
        assert_ne!(message(Uuid::from_u128(8), 10, 1_000), a);
        assert_ne!(file(s, 10, 1_000), a);
        let (secs, _) = a.get_timestamp().expect("a v7 timestamp").to_unix();
        assert_eq!(secs, 1);
    }
}
