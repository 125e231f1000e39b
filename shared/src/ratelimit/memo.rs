//! What one instance remembers between messages, so the steady state costs
//! one table write per message: previous windows' counts (final once a
//! window ends), the messages it admitted itself in this window (for the
//! `Remaining` header of a counter bumped inside a transaction, which
//! returns no count), and which tenant shards it found full (so a tenant at
//! its ceiling costs no round trip per refused message).
//!
//! All of it is per window (or month) and dropped when the window turns;
//! entries are bounded, dropped wholesale past [`MAX_ENTRIES`] (the next
//! message reads again: a cost, never a wrong count).

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

/// Most remembered counters per instance.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct Memo {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    window: i64,
    /// Counter name -> its count in the previous window.
    prev: HashMap<String, i64>,
    /// Counter name -> messages this instance admitted in this window.
    tally: HashMap<String, i64>,
    /// Tenant -> its ceiling shards' counts in the previous window.
    shards_prev: HashMap<Uuid, Vec<i64>>,
    /// Tenant -> per ceiling shard, until when (epoch ms) it is full.
    shards_full: HashMap<Uuid, Vec<i64>>,
    month: String,
    /// (Tenant, cap) -> the monthly message shards found full.
    month_full: HashMap<(Uuid, u64), Vec<bool>>,
}

impl Inner {
    /// Forgets what belongs to earlier windows or months.
    fn turn(&mut self, window: i64, month: &str) {
        if self.window != window {
            self.window = window;
            self.prev.clear();
            self.tally.clear();
            self.shards_prev.clear();
            self.shards_full.clear();
        }
        if self.month != month {
            month.clone_into(&mut self.month);
            self.month_full.clear();
        }
        if self.prev.len() + self.tally.len() > MAX_ENTRIES {
            self.prev.clear();
            self.tally.clear();
        }
    }
}

impl Memo {
    fn with<T>(&self, window: i64, month: &str, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic elsewhere cannot leave these maps half-updated in a way
        // that matters: every entry is a hint or a final count.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.turn(window, month);
        f(&mut inner)
    }

    pub fn prev(&self, window: i64, month: &str, counter: &str) -> Option<i64> {
        self.with(window, month, |i| i.prev.get(counter).copied())
    }

    pub fn set_prev(&self, window: i64, month: &str, counter: &str, count: i64) {
        self.with(window, month, |i| {
            i.prev.insert(counter.to_owned(), count);
        });
    }

    /// Counts one admitted message; the tally after it.
    pub fn bump_tally(&self, window: i64, month: &str, counter: &str) -> i64 {
        self.with(window, month, |i| {
            let n = i.tally.entry(counter.to_owned()).or_insert(0);
            *n += 1;
            *n
        })
    }

    /// The messages this instance admitted for the counter in this window.
    pub fn tally(&self, window: i64, month: &str, counter: &str) -> i64 {
        self.with(window, month, |i| i.tally.get(counter).copied().unwrap_or(0))
    }

    /// Raises the tally to a count read from the table.
    pub fn raise_tally(&self, window: i64, month: &str, counter: &str, count: i64) {
        self.with(window, month, |i| {
            let n = i.tally.entry(counter.to_owned()).or_insert(0);
            *n = (*n).max(count);
        });
    }

    pub fn shards_prev(&self, window: i64, month: &str, tenant: Uuid) -> Option<Vec<i64>> {
        self.with(window, month, |i| i.shards_prev.get(&tenant).cloned())
    }

    pub fn set_shards_prev(&self, window: i64, month: &str, tenant: Uuid, counts: Vec<i64>) {
        self.with(window, month, |i| {
            i.shards_prev.insert(tenant, counts);
        });
    }

    /// Until when (epoch ms) each ceiling shard is known full.
    pub fn shards_full(&self, window: i64, month: &str, tenant: Uuid, shards: usize) -> Vec<i64> {
        self.with(window, month, |i| {
            i.shards_full
                .get(&tenant)
                .cloned()
                .unwrap_or_else(|| vec![0; shards])
        })
    }

    pub fn set_shard_full(&self, window: i64, month: &str, tenant: Uuid, shard: usize, until: i64) {
        self.with(window, month, |i| {
            let full = i.shards_full.entry(tenant).or_default();
            if full.len() <= shard {
                full.resize(shard + 1, 0);
            }
            full[shard] = until;
        });
    }

    /// The monthly message shards known full for this cap.
    pub fn month_full(&self, window: i64, month: &str, key: (Uuid, u64), shards: usize) -> Vec<bool> {
        self.with(window, month, |i| {
            i.month_full
                .get(&key)
                .cloned()
                .unwrap_or_else(|| vec![false; shards])
        })
    }

    pub fn set_month_full(&self, window: i64, month: &str, key: (Uuid, u64), shard: usize) {
        self.with(window, month, |i| {
            let full = i.month_full.entry(key).or_default();
            if full.len() <= shard {
                full.resize(shard + 1, false);
            }
            full[shard] = true;
        });
    }
}
