//! Version numbers of the partitions a reader watches (`Table::
//! partition_version`): the writer thread renumbers a watched partition after
//! every commit that touched it and before answering its writers, so a reader
//! that sees an unchanged number has missed no completed write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers are unique across every table of the process: one read from one
/// table never equals one read from another (tests open many).
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Most partitions watched at once; past it every number is dropped and
/// handed out anew, which only costs readers a recomputation.
const MAX_WATCHED: usize = 4096;

fn next() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[derive(Debug, Default)]
pub(super) struct Versions {
    watched: Mutex<HashMap<String, u64>>,
}

impl Versions {
    fn watched(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        // The map holds plain numbers: a panic elsewhere cannot leave it torn.
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The partition's number, watching it from now on.
    pub(super) fn of(&self, pk: &str) -> u64 {
        let mut watched = self.watched();
        if let Some(version) = watched.get(pk) {
            return *version;
        }
        if watched.len() >= MAX_WATCHED {
            watched.clear();
        }
        let version = next();
        watched.insert(pk.to_owned(), version);
        version
    }

    /// Renumbers the watched partitions among `pks`, after their commit.
    pub(super) fn written<'k>(&self, pks: impl IntoIterator<Item = &'k str>) {
        let mut watched = self.watched();
        if watched.is_empty() {
            return;
        }
        for pk in pks {
            if let Some(version) = watched.get_mut(pk) {
                *version = next();
            }
        }
    }
}
