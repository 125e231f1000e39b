//! The embedded driver of the table port, on redb: one file, no server.
//!
//! It exists so that a self-hosted deployment and every test run get the very
//! semantics the cloud driver gets from DynamoDB, so the driver is strict
//! wherever DynamoDB is strict (empty key strings, mistyped index keys, item
//! size, overlapping update paths, empty or oversized transactions): a caller
//! bug then fails here, on a laptop, rather than only in the cloud.
//!
//! Layout, all in one redb database:
//! - `items`: (`PK`, `SK`) -> the item (postcard, see `codec`). redb orders `&str` by bytes,
//!   the same order DynamoDB gives string sort keys.
//! - `gsi1`: (`GSI1PK`, `GSI1SK`, `PK`, `SK`) -> (). The primary key in the
//!   index key keeps entries unique and gives ties a deterministic order.
//! - `gsi2`: the same for (`GSI2PK`, `GSI2SK`).
//! - `expiry`: (`ttl`, `PK`, `SK`) -> (), so the TTL sweeper reads only the
//!   expired entries instead of scanning the whole table.
//!
//! Every write updates the three tables in one redb write transaction, and
//! redb runs one write transaction at a time, so conditions evaluated inside
//! the transaction see exactly the state the write replaces.
//!
//! Modules: `tables` (the three tables and one item's entries in them),
//! `limits` (DynamoDB's rules), `writer` (the group-commit writer thread),
//! `query` (the query planner).

mod codec;
mod limits;
mod migrate;
mod query;
mod tables;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
mod versions;
mod writer;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable};

pub use limits::{MAX_ITEM_BYTES, MAX_PAGE_BYTES};
use limits::{check_key, prepare};
use query::Plan;
use tables::{EXPIRY, ExpiryKey, GSI1, GSI2, ITEMS, WriteTables, expiry, read_item};
use versions::Versions;
use writer::{Job, Outcome, Work, write_loop};

use super::{CountPage, Item, Key, MAX_TRANSACT_ITEMS, Page, Query, StoreError, Table, WriteOp};

/// Expired items deleted per write transaction by `purge_expired`, so a large
/// backlog does not hold the single writer for long.
const PURGE_BATCH: usize = 512;

/// The table port on a redb database.
///
/// Cloning is cheap and shares the database: redb allows one open handle per
/// file, so every user of the file must share this one.
#[derive(Clone, Debug)]
pub struct EmbeddedTable {
    db: Arc<Database>,
    /// Writes go to one writer thread, which commits every write that
    /// arrived meanwhile in one redb transaction: one fsync serves many
    /// concurrent requests (group commit).
    writer: std::sync::mpsc::Sender<Job>,
    /// The numbers of `Table::partition_version`.
    versions: Arc<Versions>,
}

/// Queries of at most this many items run on the calling task: reading them
/// costs less than a hop to a blocking thread and back. Larger ones (up to a
/// megabyte) run on the blocking pool.
const SMALL_QUERY: usize = 64;

impl EmbeddedTable {
    /// Opens the database file at `path`, creating it (and its parent
    /// directories) when missing. redb locks the file, so a second open of
    /// the same file fails with `Locked`: share one handle by cloning.
    /// redb keeps up to `cache_bytes` of pages in memory.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StoreError::Locked(path.display().to_string())
                }
                e => StoreError::Unavailable(format!("cannot open {}: {e}", path.display())),
            })?;
        Self::with_database(db)
    }

    /// A database in memory, gone when the last clone is dropped: for tests,
    /// which then need no temporary files.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = redb::Builder::new()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(unavailable)?;
        Self::with_database(db)
    }

    fn with_database(db: Database) -> Result<Self, StoreError> {
        // Read transactions cannot open a table that was never created, so
        // create them all up front.
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(ITEMS).map_err(unavailable)?;
            txn.open_table(GSI1).map_err(unavailable)?;
            txn.open_table(GSI2).map_err(unavailable)?;
            txn.open_table(EXPIRY).map_err(unavailable)?;
        }
        // A file of an earlier version is converted before anything reads
        // it, in this same transaction (see `migrate`).
        migrate::migrate(&txn)?;
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        let (writer, jobs) = std::sync::mpsc::channel();
        // The thread holds the database weakly: dropping the last table
        // closes the file at once (a reopen must not race the thread).
        let weak = Arc::downgrade(&db);
        let versions = Arc::new(Versions::default());
        let written = Arc::clone(&versions);
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || write_loop(&weak, &jobs, &written))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        Ok(Self {
            db,
            writer,
            versions,
        })
    }

    /// Hands a write to the writer thread and waits for its outcome.
    async fn submit(&self, work: Work, relaxed: bool) -> Result<Outcome, StoreError> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.writer
            .send(Job {
                work,
                relaxed,
                reply,
            })
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?
    }

    /// Deletes the items whose `ttl` (epoch seconds) is before `now_epoch_secs`
    /// and returns how many. DynamoDB deletes expired items lazily, so the
    /// port never promises their absence; this only keeps the file from
    /// growing without bound and is meant for a periodic sweeper.
    pub async fn purge_expired(&self, now_epoch_secs: i64) -> Result<u64, StoreError> {
        let versions = Arc::clone(&self.versions);
        self.blocking(move |db| {
            let mut purged = 0u64;
            loop {
                let txn = db.begin_write().map_err(unavailable)?;
                let (seen, deleted) = {
                    let mut tables = WriteTables::open(&txn)?;
                    let mut due = Vec::new();
                    for entry in tables
                        .expiry
                        .range::<ExpiryKey>(..(now_epoch_secs, "", ""))
                        .map_err(unavailable)?
                        .take(PURGE_BATCH)
                    {
                        let (key, _) = entry.map_err(unavailable)?;
                        let (at, pk, sk) = key.value();
                        due.push((at, Key::new(pk, sk)));
                    }
                    let mut deleted = 0u64;
                    for (at, key) in &due {
                        // Drop the entry itself first: should it not match
                        // the item any more, the next batch must not see it.
                        tables
                            .expiry
                            .remove((*at, key.pk.as_str(), key.sk.as_str()))
                            .map_err(unavailable)?;
                        if let Some(old) = tables.read(key)?
                            && expiry(&old).is_some_and(|t| t < now_epoch_secs)
                        {
                            tables.remove(key, &old)?;
                            deleted += 1;
                        }
                    }
                    (due, deleted)
                };
                txn.commit().map_err(unavailable)?;
                versions.written(seen.iter().map(|(_, key)| key.pk.as_str()));
                let seen = seen.len();
                purged += deleted;
                if seen < PURGE_BATCH {
                    return Ok(purged);
                }
            }
        })
        .await
    }

    async fn write_one(&self, op: WriteOp, relaxed: bool) -> Result<Option<Item>, StoreError> {
        if matches!(op, WriteOp::Check { .. }) {
            return Err(StoreError::Invalid(
                "a check writes nothing; it belongs in a transaction".into(),
            ));
        }
        let ops = prepare(vec![op])?;
        match self.submit(Work::Ops(ops), relaxed).await? {
            Outcome::Applied(mut results) => Ok(results.pop().flatten()),
            Outcome::Failed(_) => Err(StoreError::ConditionFailed),
        }
    }

    /// Runs synchronous redb work off the async runtime: redb blocks, and a
    /// commit waits for fsync.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        // One item: a few microseconds, less than handing it to a thread.
        let txn = self.db.begin_read().map_err(unavailable)?;
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        read_item(&items, key)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let plan = Plan::new(query)?;
        let run = move |db: &Database| plan.run(&db.begin_read().map_err(unavailable)?);
        if query.limit.is_some_and(|n| n <= SMALL_QUERY) {
            return run(&self.db);
        }
        self.blocking(run).await
    }

    async fn count(&self, query: &Query) -> Result<CountPage, StoreError> {
        let plan = Plan::new(query)?;
        let run = move |db: &Database| plan.count(&db.begin_read().map_err(unavailable)?);
        if query.limit.is_some_and(|n| n <= SMALL_QUERY) {
            return run(&self.db);
        }
        self.blocking(run).await
    }

    fn partition_version(&self, pk: &str) -> Option<u64> {
        Some(self.versions.of(pk))
    }

    async fn write(&self, op: WriteOp) -> Result<Option<Item>, StoreError> {
        self.write_one(op, false).await
    }

    async fn write_relaxed(&self, op: WriteOp) -> Result<Option<Item>, StoreError> {
        self.write_one(op, true).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Err(StoreError::Invalid(
                "a transaction needs an operation".into(),
            ));
        }
        if ops.len() > MAX_TRANSACT_ITEMS {
            return Err(StoreError::Invalid(format!(
                "a transaction carries at most {MAX_TRANSACT_ITEMS} operations, not {}",
                ops.len()
            )));
        }
        let ops = prepare(ops)?;
        let mut seen = HashSet::with_capacity(ops.len());
        if let Some(dup) = ops.iter().find(|op| !seen.insert(&op.key)) {
            return Err(StoreError::Invalid(format!(
                "a transaction touches {:?}/{:?} twice",
                dup.key.pk, dup.key.sk
            )));
        }
        match self.submit(Work::Ops(ops), false).await? {
            Outcome::Applied(_) => Ok(()),
            Outcome::Failed(failed) => Err(StoreError::TransactionCancelled { failed }),
        }
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        keys.iter().try_for_each(check_key)?;
        // One local transaction for all chunks: stronger than the port
        // promises, and one fsync instead of one per chunk.
        self.submit(Work::Delete(keys), false).await.map(|_| ())
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Invalid(message.into())
}
