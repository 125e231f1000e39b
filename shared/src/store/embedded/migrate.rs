//! Brings a file written by an earlier version up to the current item
//! format when it is opened.
//!
//! Format 1 (no `meta` entry: every version before this one) stored items as
//! JSON; format 2 stores them as postcard (`codec`). The migration rewrites
//! every JSON item inside the write transaction that opens the store, and
//! records the new format in the same transaction: redb commits it whole or
//! not at all, so a process stopped half way (crash, kill, power loss) leaves
//! the file exactly as it was, still format 1, and the next open starts
//! again from the beginning. Index and expiry entries hold keys only and do
//! not change. A file of format 2 cannot be read by earlier versions.

use std::ops::Bound;

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::codec;
use super::tables::{ITEMS, META};
use super::unavailable;
use crate::store::StoreError;

/// The `meta` entry naming the format of the items.
const FORMAT_KEY: &str = "item_format";
/// The format this version writes.
pub(super) const CURRENT_FORMAT: u64 = 2;
/// Items re-encoded per step of the walk (the transaction is one).
const BATCH: usize = 1024;
/// A progress line every this many items, for a large store.
const PROGRESS_EVERY: u64 = 50_000;

/// Re-encodes every item of an earlier format in `txn` and records the
/// current format; returns how many items were rewritten.
pub(super) fn migrate(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    let format = meta
        .get(FORMAT_KEY)
        .map_err(unavailable)?
        .map(|v| v.value());
    match format {
        Some(CURRENT_FORMAT) => return Ok(0),
        Some(newer) if newer > CURRENT_FORMAT => {
            return Err(StoreError::Unavailable(format!(
                "the store's items are in format {newer}, written by a newer version \
                 (this one reads up to {CURRENT_FORMAT})"
            )));
        }
        _ => {}
    }
    let mut items = txn.open_table(ITEMS).map_err(unavailable)?;
    let total = items.len().map_err(unavailable)?;
    if total > 0 {
        tracing::info!(
            items = total,
            "converting the store's items to the binary format"
        );
    }
    let mut after: Option<(String, String)> = None;
    let (mut seen, mut rewritten) = (0u64, 0u64);
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let mut last = None;
        {
            let lower = match &after {
                Some((pk, sk)) => Bound::Excluded((pk.as_str(), sk.as_str())),
                None => Bound::Unbounded,
            };
            let range = items
                .range::<(&str, &str)>((lower, Bound::Unbounded))
                .map_err(unavailable)?;
            for entry in range.take(BATCH) {
                let (key, value) = entry.map_err(unavailable)?;
                let (pk, sk) = key.value();
                let bytes = value.value();
                if codec::is_legacy(bytes) {
                    let item = codec::decode(bytes).map_err(|e| {
                        StoreError::Unavailable(format!("corrupt item {pk:?}/{sk:?}: {e}"))
                    })?;
                    batch.push((pk.to_owned(), sk.to_owned(), codec::encode(&item)?));
                }
                last = Some((pk.to_owned(), sk.to_owned()));
                seen += 1;
                if seen % PROGRESS_EVERY == 0 {
                    tracing::info!(done = seen, items = total, "converting items");
                }
            }
        }
        for (pk, sk, bytes) in &batch {
            items
                .insert((pk.as_str(), sk.as_str()), bytes.as_slice())
                .map_err(unavailable)?;
        }
        rewritten += batch.len() as u64;
        match last {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    meta.insert(FORMAT_KEY, CURRENT_FORMAT)
        .map_err(unavailable)?;
    if total > 0 {
        tracing::info!(rewritten, "the store's items are in the binary format");
    }
    Ok(rewritten)
}

/// The item format recorded in the file (1 when none is: earlier versions).
#[cfg(test)]
pub(super) fn format_of(db: &redb::Database) -> u64 {
    use redb::ReadableDatabase;
    #[allow(clippy::unwrap_used)]
    let txn = db.begin_read().unwrap();
    txn.open_table(META)
        .ok()
        .and_then(|t| t.get(FORMAT_KEY).ok().flatten().map(|v| v.value()))
        .unwrap_or(1)
}
