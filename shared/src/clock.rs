//! Time and id sources, injected so expiry and ordering can be tested.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::{ContextV7, Timestamp, Uuid};

/// The current time, in epoch milliseconds.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to; for tests.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self(AtomicI64::new(start_ms))
    }

    pub fn advance_ms(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Version 7 UUIDs from the injected time: sortable by creation, and strictly
/// increasing within this process even for equal timestamps (the context
/// carries a counter), so two messages written in one millisecond keep their
/// order.
pub struct IdGenerator {
    context: Mutex<ContextV7>,
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self {
            context: Mutex::new(ContextV7::new()),
        }
    }
}

impl IdGenerator {
    pub fn v7_at(&self, epoch_ms: i64) -> Uuid {
        let ms = u64::try_from(epoch_ms).unwrap_or(0);
        let context = self
            .context
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Uuid::new_v7(Timestamp::from_unix(
            &*context,
            ms / 1000,
            ((ms % 1000) * 1_000_000) as u32,
        ))
    }
}

/// ISO 8601 in UTC with a `Z` suffix and whole seconds, as the reference
/// shows timestamps ("2025-10-08T12:00:00Z").
pub fn iso8601(epoch_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_the_reference_format() {
        assert_eq!(iso8601(1_759_924_800_000), "2025-10-08T12:00:00Z");
    }

    #[test]
    fn ids_from_one_millisecond_keep_their_order() {
        let ids = IdGenerator::default();
        let mut last = ids.v7_at(1_000);
        for _ in 0..1000 {
            let next = ids.v7_at(1_000);
            assert!(next > last);
            last = next;
        }
    }
}
