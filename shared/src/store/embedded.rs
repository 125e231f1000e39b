//! The embedded driver of the table port, on redb: one file, no server.
//!
//! It exists so that a self-hosted deployment and every test run get the very
//! semantics the cloud driver gets from DynamoDB, so the driver is strict
//! wherever DynamoDB is strict (empty key strings, mistyped index keys, item
//! size, overlapping update paths, empty or oversized transactions): a caller
//! bug then fails here, on a laptop, rather than only in the cloud.
//!
//! Layout, all in one redb database:
//! - `items`: (`PK`, `SK`) -> the item as JSON. redb orders `&str` by bytes,
//!   the same order DynamoDB gives string sort keys.
//! - `gsi1`: (`GSI1PK`, `GSI1SK`, `PK`, `SK`) -> (). The primary key in the
//!   index key keeps entries unique and gives ties a deterministic order.
//! - `expiry`: (`ttl`, `PK`, `SK`) -> (), so the TTL sweeper reads only the
//!   expired entries instead of scanning the whole table.
//!
//! Every write updates the three tables in one redb write transaction, and
//! redb runs one write transaction at a time, so conditions evaluated inside
//! the transaction see exactly the state the write replaces.

use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use serde_json::Value;

use super::{
    Condition, Cursor, GSI1PK, GSI1SK, Index, Item, Key, MAX_TRANSACT_ITEMS, PK, Page, Query, SK,
    SortCondition, StoreError, TTL, Table, Update, WriteOp,
};

/// Most bytes of stored items (their JSON) one query page carries, like
/// DynamoDB's 1 MB page, so callers that forget to paginate break in tests,
/// not in the cloud.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// DynamoDB's item size limit (400 KB), measured the way DynamoDB measures it.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Expired items deleted per write transaction by `purge_expired`, so a large
/// backlog does not hold the single writer for long.
const PURGE_BATCH: usize = 512;

type ItemKey = (&'static str, &'static str);
type IndexKey = (&'static str, &'static str, &'static str, &'static str);
type ExpiryKey = (i64, &'static str, &'static str);

const ITEMS: TableDefinition<ItemKey, &[u8]> = TableDefinition::new("items");
const GSI1: TableDefinition<IndexKey, ()> = TableDefinition::new("gsi1");
const EXPIRY: TableDefinition<ExpiryKey, ()> = TableDefinition::new("expiry");

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
}

/// Most writes committed together.
const MAX_GROUP: usize = 128;

/// Queries of at most this many items run on the calling task: reading them
/// costs less than a hop to a blocking thread and back. Larger ones (up to a
/// megabyte) run on the blocking pool.
const SMALL_QUERY: usize = 64;

/// Relaxed writes are committed without waiting for the disk and made
/// durable by the next durable commit, or by closing the database. With no
/// durable write in between, every this many relaxed commits is synced, so a
/// crash loses at most that many of them.
const MAX_UNSYNCED_COMMITS: u32 = 64;

/// A write waiting for the writer thread.
#[derive(Debug)]
struct Job {
    work: Work,
    /// Answered before it is durable (`Table::write_relaxed`).
    relaxed: bool,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, StoreError>>,
}

#[derive(Debug)]
enum Work {
    /// A single write or a transaction: all or nothing.
    Ops(Vec<Prepared>),
    /// Unconditional deletes.
    Delete(Vec<Key>),
}

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
        // create all three up front.
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(ITEMS).map_err(unavailable)?;
            txn.open_table(GSI1).map_err(unavailable)?;
            txn.open_table(EXPIRY).map_err(unavailable)?;
        }
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        let (writer, jobs) = std::sync::mpsc::channel();
        // The thread holds the database weakly: dropping the last table
        // closes the file at once (a reopen must not race the thread).
        let weak = Arc::downgrade(&db);
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || write_loop(&weak, &jobs))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        Ok(Self { db, writer })
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
                    (due.len(), deleted)
                };
                txn.commit().map_err(unavailable)?;
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

/// DynamoDB rejects empty strings as key values; so does this driver.
fn check_key(key: &Key) -> Result<(), StoreError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(invalid("PK and SK must be non-empty strings"));
    }
    Ok(())
}

/// Checks an item about to be stored against DynamoDB's rules for this table.
fn check_item(item: &Item) -> Result<(), StoreError> {
    let key = Key::of(item).ok_or_else(|| invalid("item lacks string PK and SK"))?;
    check_key(&key)?;
    if item.keys().any(String::is_empty) {
        return Err(invalid("attribute names must be non-empty"));
    }
    for name in [GSI1PK, GSI1SK] {
        match item.get(name) {
            None => {}
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(invalid(format!("{name} must be a non-empty string"))),
        }
    }
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(invalid(format!(
            "item of {size} bytes exceeds the {MAX_ITEM_BYTES}-byte limit"
        )));
    }
    Ok(())
}

/// DynamoDB rejects an update expression naming one attribute twice; the
/// port also has no update without actions (not every DynamoDB
/// implementation handles a missing update expression).
fn check_update(update: &Update) -> Result<(), StoreError> {
    if update.set.is_empty()
        && update.set_if_absent.is_empty()
        && update.add.is_empty()
        && update.remove.is_empty()
    {
        return Err(invalid("an update needs at least one action"));
    }
    let names = update
        .set
        .iter()
        .map(|(n, _)| n)
        .chain(update.set_if_absent.iter().map(|(n, _)| n))
        .chain(update.add.iter().map(|(n, _)| n))
        .chain(update.remove.iter());
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(invalid("attribute names must be non-empty"));
        }
        if name == PK || name == SK {
            return Err(invalid(format!("cannot update key attribute {name}")));
        }
        if !seen.insert(name) {
            return Err(invalid(format!("update names attribute {name} twice")));
        }
    }
    Ok(())
}

/// The size DynamoDB bills and limits: attribute names plus values, numbers
/// at about one byte per two digits, containers with a few bytes overhead.
fn item_size(item: &Item) -> usize {
    fn value_size(value: &Value) -> usize {
        match value {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => {
                let digits = n.to_string().bytes().filter(u8::is_ascii_digit).count();
                digits.div_ceil(2) + 1
            }
            Value::String(s) => s.len(),
            Value::Array(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
            Value::Object(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| k.len() + value_size(v) + 1)
                    .sum::<usize>()
            }
        }
    }
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// The GSI1 keys of a stored item, when it is in the index.
fn gsi1_key(item: &Item) -> Option<(&str, &str)> {
    Some((item.get(GSI1PK)?.as_str()?, item.get(GSI1SK)?.as_str()?))
}

/// The expiry of an item, when it has one TTL can act on.
fn expiry(item: &Item) -> Option<i64> {
    item.get(TTL)?.as_i64()
}

fn decode(bytes: &[u8], key: &Key) -> Result<Item, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| {
        StoreError::Unavailable(format!("corrupt item {:?}/{:?}: {e}", key.pk, key.sk))
    })
}

fn read_item(
    items: &impl ReadableTable<ItemKey, &'static [u8]>,
    key: &Key,
) -> Result<Option<Item>, StoreError> {
    items
        .get((key.pk.as_str(), key.sk.as_str()))
        .map_err(unavailable)?
        .map(|bytes| decode(bytes.value(), key))
        .transpose()
}

/// The three tables inside one write transaction.
struct WriteTables<'t> {
    items: redb::Table<'t, ItemKey, &'static [u8]>,
    gsi1: redb::Table<'t, IndexKey, ()>,
    expiry: redb::Table<'t, ExpiryKey, ()>,
}

impl<'t> WriteTables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            items: txn.open_table(ITEMS).map_err(unavailable)?,
            gsi1: txn.open_table(GSI1).map_err(unavailable)?,
            expiry: txn.open_table(EXPIRY).map_err(unavailable)?,
        })
    }

    fn read(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        read_item(&self.items, key)
    }

    /// Stores `new` in place of `old`, moving its index entries.
    fn store(&mut self, key: &Key, old: Option<&Item>, new: &Item) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(new).map_err(|e| invalid(e.to_string()))?;
        self.items
            .insert((key.pk.as_str(), key.sk.as_str()), bytes.as_slice())
            .map_err(unavailable)?;
        if let Some(old) = old {
            self.unindex(key, old)?;
        }
        if let Some((gpk, gsk)) = gsi1_key(new) {
            self.gsi1
                .insert((gpk, gsk, key.pk.as_str(), key.sk.as_str()), ())
                .map_err(unavailable)?;
        }
        if let Some(at) = expiry(new) {
            self.expiry
                .insert((at, key.pk.as_str(), key.sk.as_str()), ())
                .map_err(unavailable)?;
        }
        Ok(())
    }

    fn remove(&mut self, key: &Key, old: &Item) -> Result<(), StoreError> {
        self.items
            .remove((key.pk.as_str(), key.sk.as_str()))
            .map_err(unavailable)?;
        self.unindex(key, old)
    }

    fn unindex(&mut self, key: &Key, old: &Item) -> Result<(), StoreError> {
        if let Some((gpk, gsk)) = gsi1_key(old) {
            self.gsi1
                .remove((gpk, gsk, key.pk.as_str(), key.sk.as_str()))
                .map_err(unavailable)?;
        }
        if let Some(at) = expiry(old) {
            self.expiry
                .remove((at, key.pk.as_str(), key.sk.as_str()))
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

/// A write op whose request-level rules have been checked.
#[derive(Debug)]
struct Prepared {
    key: Key,
    op: WriteOp,
}

/// Rejects malformed ops before any state is read, as DynamoDB validates a
/// request before evaluating its conditions.
fn prepare(ops: Vec<WriteOp>) -> Result<Vec<Prepared>, StoreError> {
    ops.into_iter()
        .map(|op| {
            let key = op.key()?;
            check_key(&key)?;
            match &op {
                WriteOp::Put { item, .. } => check_item(item)?,
                WriteOp::Update { update, .. } => check_update(update)?,
                WriteOp::Delete { .. } | WriteOp::Check { .. } => {}
            }
            Ok(Prepared { key, op })
        })
        .collect()
}

#[derive(Debug)]
enum Outcome {
    /// Committed; per op, the item after an update.
    Applied(Vec<Option<Item>>),
    /// Nothing written; the indexes of the ops whose conditions failed.
    Failed(Vec<usize>),
}

/// The writer thread: takes the next write, plus every write already
/// waiting (up to `MAX_GROUP`), and commits them in one transaction. Each
/// write is applied in arrival order against the state the earlier ones left,
/// exactly as if they ran one by one; a write whose conditions fail, or that
/// is invalid, writes nothing and does not affect the others. An I/O error
/// fails the whole group, which then wrote nothing.
///
/// Relaxed writes in a group are committed first, without a sync, and
/// answered at once; the durable ones follow in a synced commit, which makes
/// the relaxed ones durable too. Writes in one group are concurrent (a caller
/// waits for each of its writes), so committing them in two parts reorders
/// nothing a caller could observe.
fn write_loop(db: &std::sync::Weak<Database>, jobs: &std::sync::mpsc::Receiver<Job>) {
    let mut unsynced = 0u32;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let (relaxed, durable): (Vec<Job>, Vec<Job>) = group.into_iter().partition(|j| j.relaxed);
        if !relaxed.is_empty() {
            // Synced when no durable commit follows and too many are unsynced.
            let sync = durable.is_empty() && unsynced + 1 >= MAX_UNSYNCED_COMMITS;
            let durability = if sync {
                Durability::Immediate
            } else {
                Durability::None
            };
            match commit_and_answer(db, relaxed, durability) {
                true if sync => unsynced = 0,
                true => unsynced += 1,
                false => {}
            }
        }
        if !durable.is_empty() && commit_and_answer(db, durable, Durability::Immediate) {
            unsynced = 0;
        }
    }
}

/// Commits `group` and hands each job its outcome; true when committed. The
/// database is held only while committing: a caller answered may drop the
/// last table and reopen the file at once.
fn commit_and_answer(
    db: &std::sync::Weak<Database>,
    group: Vec<Job>,
    durability: Durability,
) -> bool {
    let outcomes = match db.upgrade() {
        Some(db) => commit_group(&db, &group, durability),
        None => Err(StoreError::Unavailable("the store is closed".into())),
    };
    let committed = outcomes.is_ok();
    answer(group, outcomes);
    committed
}

/// Hands each job its outcome, or the group's failure.
fn answer(group: Vec<Job>, outcomes: Result<Vec<Result<Outcome, StoreError>>, StoreError>) {
    match outcomes {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                // A caller that went away needs no answer.
                let _ = job.reply.send(outcome);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for job in group {
                let _ = job
                    .reply
                    .send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}

fn commit_group(
    db: &Database,
    group: &[Job],
    durability: Durability,
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    let mut txn = db.begin_write().map_err(unavailable)?;
    txn.set_durability(durability).map_err(unavailable)?;
    let mut outcomes = Vec::with_capacity(group.len());
    {
        let mut tables = WriteTables::open(&txn)?;
        for job in group {
            outcomes.push(match &job.work {
                Work::Ops(ops) => apply(&mut tables, ops)?,
                Work::Delete(keys) => {
                    for key in keys {
                        if let Some(old) = tables.read(key)? {
                            tables.remove(key, &old)?;
                        }
                    }
                    Ok(Outcome::Applied(Vec::new()))
                }
            });
        }
    }
    txn.commit().map_err(unavailable)?;
    Ok(outcomes)
}

/// One write inside a group. The inner result is the write's own outcome
/// (validated completely before anything is stored, so a rejected write
/// leaves no trace); the outer error is an I/O failure that fails the group.
fn apply(
    tables: &mut WriteTables<'_>,
    ops: &[Prepared],
) -> Result<Result<Outcome, StoreError>, StoreError> {
    let mut current = Vec::with_capacity(ops.len());
    let mut failed = Vec::new();
    for (index, prepared) in ops.iter().enumerate() {
        let item = tables.read(&prepared.key)?;
        if !prepared
            .op
            .condition()
            .is_none_or(|c: &Condition| c.holds(item.as_ref()))
        {
            failed.push(index);
        }
        current.push(item);
    }
    if !failed.is_empty() {
        return Ok(Ok(Outcome::Failed(failed)));
    }
    // Every new item first: an invalid update rejects the write whole.
    let mut updated = Vec::with_capacity(ops.len());
    for (prepared, old) in ops.iter().zip(&current) {
        updated.push(match &prepared.op {
            WriteOp::Update { update, .. } => {
                let new = match update.apply(&prepared.key, old.clone()) {
                    Ok(new) => new,
                    Err(e) => return Ok(Err(e)),
                };
                if let Err(e) = check_item(&new) {
                    return Ok(Err(e));
                }
                Some(new)
            }
            _ => None,
        });
    }
    let mut results = Vec::with_capacity(ops.len());
    for ((prepared, old), new) in ops.iter().zip(current).zip(updated) {
        let key = &prepared.key;
        results.push(match &prepared.op {
            WriteOp::Put { item, .. } => {
                tables.store(key, old.as_ref(), item)?;
                None
            }
            WriteOp::Update { .. } => {
                if let Some(new) = &new {
                    tables.store(key, old.as_ref(), new)?;
                }
                new
            }
            WriteOp::Delete { .. } => {
                if let Some(old) = &old {
                    tables.remove(key, old)?;
                }
                None
            }
            WriteOp::Check { .. } => None,
        });
    }
    Ok(Ok(Outcome::Applied(results)))
}

/// The upper end of a sort key range.
enum Upper {
    /// The end of the partition.
    Open,
    /// Up to and including this sort key value.
    AtMost(String),
    /// Below this sort key value (the successor of a prefix).
    Below(String),
}

/// A validated query: the partition, the sort key range and the paging.
struct Plan {
    index: Index,
    partition: String,
    lower: String,
    upper: Upper,
    forward: bool,
    limit: usize,
    after: Option<Cursor>,
}

impl Plan {
    /// Rejects what DynamoDB rejects before reading anything.
    fn new(query: &Query) -> Result<Self, StoreError> {
        if query.partition.is_empty() {
            return Err(invalid("the partition key must be a non-empty string"));
        }
        if query.limit == Some(0) {
            return Err(invalid("a query limit must be at least 1"));
        }
        let (lower, upper) = match &query.sort {
            SortCondition::All => (String::new(), Upper::Open),
            SortCondition::BeginsWith(prefix) => (
                prefix.clone(),
                prefix_successor(prefix).map_or(Upper::Open, Upper::Below),
            ),
            SortCondition::Between(low, high) => {
                if low > high {
                    return Err(invalid(
                        "BETWEEN needs its low bound at most its high bound",
                    ));
                }
                (low.clone(), Upper::AtMost(high.clone()))
            }
            SortCondition::GreaterOrEqual(value) => (value.clone(), Upper::Open),
            SortCondition::LessOrEqual(value) => (String::new(), Upper::AtMost(value.clone())),
        };
        if let Some(cursor) = &query.start_after {
            check_key(&cursor.key)?;
            let partition = match query.index {
                Index::Primary => Some(&cursor.key.pk),
                Index::Gsi1 => cursor.index_key.as_ref().map(|(gpk, _)| gpk),
            };
            if partition != Some(&query.partition) {
                return Err(invalid("the cursor does not belong to this query"));
            }
        }
        Ok(Self {
            index: query.index,
            partition: query.partition.clone(),
            lower,
            upper,
            forward: query.forward,
            limit: query.limit.unwrap_or(usize::MAX),
            after: query.start_after.clone(),
        })
    }

    fn run(&self, txn: &ReadTransaction) -> Result<Page, StoreError> {
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        match self.index {
            Index::Primary => self.run_primary(&items),
            Index::Gsi1 => {
                let gsi1 = txn.open_table(GSI1).map_err(unavailable)?;
                self.run_gsi1(&items, &gsi1)
            }
        }
    }

    fn run_primary(
        &self,
        items: &impl ReadableTable<ItemKey, &'static [u8]>,
    ) -> Result<Page, StoreError> {
        let pk = self.partition.as_str();
        let end = format!("{pk}\0");
        let mut lower: Bound<(&str, &str)> = Bound::Included((pk, self.lower.as_str()));
        let mut upper = match &self.upper {
            // The smallest key of the next possible partition.
            Upper::Open => Bound::Excluded((end.as_str(), "")),
            Upper::AtMost(sk) => Bound::Included((pk, sk.as_str())),
            Upper::Below(sk) => Bound::Excluded((pk, sk.as_str())),
        };
        if let Some(cursor) = &self.after {
            let at = Bound::Excluded((pk, cursor.key.sk.as_str()));
            if self.forward {
                lower = tighter_lower(lower, at);
            } else {
                upper = tighter_upper(upper, at);
            }
        }
        if is_empty(&lower, &upper) {
            return Ok(Page::default());
        }
        let range = items
            .range::<(&str, &str)>((lower, upper))
            .map_err(unavailable)?;
        let entries: Box<dyn Iterator<Item = _>> = if self.forward {
            Box::new(range)
        } else {
            Box::new(range.rev())
        };
        let mut pager = Pager::new(self.limit);
        for entry in entries {
            if pager.at_limit() {
                break;
            }
            let (k, v) = entry.map_err(unavailable)?;
            let (pk, sk) = k.value();
            let key = Key::new(pk, sk);
            let bytes = v.value();
            if !pager.fits(bytes.len()) {
                break;
            }
            let item = decode(bytes, &key)?;
            let cursor = Cursor {
                key,
                index_key: None,
            };
            pager.push(item, bytes.len(), cursor);
        }
        Ok(pager.finish())
    }

    fn run_gsi1(
        &self,
        items: &impl ReadableTable<ItemKey, &'static [u8]>,
        gsi1: &impl ReadableTable<IndexKey, ()>,
    ) -> Result<Page, StoreError> {
        let gpk = self.partition.as_str();
        let end = format!("{gpk}\0");
        let mut lower: Bound<(&str, &str, &str, &str)> =
            Bound::Included((gpk, self.lower.as_str(), "", ""));
        let at_most;
        let mut upper = match &self.upper {
            Upper::Open => Bound::Excluded((end.as_str(), "", "", "")),
            Upper::AtMost(gsk) => {
                // Every entry with this GSI1SK sorts before its successor.
                at_most = format!("{gsk}\0");
                Bound::Excluded((gpk, at_most.as_str(), "", ""))
            }
            Upper::Below(gsk) => Bound::Excluded((gpk, gsk.as_str(), "", "")),
        };
        if let Some(cursor) = &self.after {
            let gsk = cursor
                .index_key
                .as_ref()
                .map(|(_, gsk)| gsk.as_str())
                .ok_or_else(|| invalid("a GSI1 cursor needs its index key"))?;
            let at = Bound::Excluded((gpk, gsk, cursor.key.pk.as_str(), cursor.key.sk.as_str()));
            if self.forward {
                lower = tighter_lower(lower, at);
            } else {
                upper = tighter_upper(upper, at);
            }
        }
        if is_empty(&lower, &upper) {
            return Ok(Page::default());
        }
        let range = gsi1
            .range::<(&str, &str, &str, &str)>((lower, upper))
            .map_err(unavailable)?;
        let entries: Box<dyn Iterator<Item = _>> = if self.forward {
            Box::new(range)
        } else {
            Box::new(range.rev())
        };
        let mut pager = Pager::new(self.limit);
        for entry in entries {
            if pager.at_limit() {
                break;
            }
            let (k, _) = entry.map_err(unavailable)?;
            let (gpk, gsk, pk, sk) = k.value();
            let key = Key::new(pk, sk);
            let stored = items.get((pk, sk)).map_err(unavailable)?.ok_or_else(|| {
                StoreError::Unavailable(format!("GSI1 entry without item {pk:?}/{sk:?}"))
            })?;
            let bytes = stored.value();
            if !pager.fits(bytes.len()) {
                break;
            }
            let item = decode(bytes, &key)?;
            let cursor = Cursor {
                key,
                index_key: Some((gpk.to_owned(), gsk.to_owned())),
            };
            pager.push(item, bytes.len(), cursor);
        }
        Ok(pager.finish())
    }
}

/// Fills a page up to the limit and the byte cap.
struct Pager {
    limit: usize,
    items: Vec<Item>,
    bytes: usize,
    last: Option<Cursor>,
    more: bool,
}

impl Pager {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            items: Vec::new(),
            bytes: 0,
            last: None,
            more: false,
        }
    }

    /// Whether the page is full by count: then the page ends, and since an
    /// item was left, its last item becomes the cursor. Checked before the
    /// next item is read.
    fn at_limit(&mut self) -> bool {
        self.more = self.items.len() >= self.limit;
        self.more
    }

    /// Whether the next item, of `size` bytes, still fits under the byte cap;
    /// when it does not, the page ends the same way. The first item always
    /// fits, as an item is far below the cap.
    fn fits(&mut self, size: usize) -> bool {
        self.more = !self.items.is_empty() && self.bytes.saturating_add(size) > MAX_PAGE_BYTES;
        !self.more
    }

    fn push(&mut self, item: Item, size: usize, cursor: Cursor) {
        self.items.push(item);
        self.bytes = self.bytes.saturating_add(size);
        self.last = Some(cursor);
    }

    fn finish(self) -> Page {
        Page {
            items: self.items,
            last_key: if self.more { self.last } else { None },
        }
    }
}

/// The smallest string above every string starting with `prefix`, or `None`
/// when there is none (empty prefix, or only `char::MAX`). UTF-8 byte order
/// is code point order, so bumping the last bumpable char is enough.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn tighter_lower<T: Ord>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

fn tighter_upper<T: Ord>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// Whether no key lies between the bounds; checked before asking redb, which
/// need not accept inverted ranges.
fn is_empty<T: Ord>(lower: &Bound<T>, upper: &Bound<T>) -> bool {
    match (lower, upper) {
        (Bound::Included(x), Bound::Included(y)) => x > y,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            x >= y
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::store::conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conformance_suite() {
        conformance::run_all(|| async {
            Arc::new(EmbeddedTable::temporary().unwrap()) as Arc<dyn Table>
        })
        .await;
    }

    fn item(pk: &str, sk: &str, extra: &[(&str, Value)]) -> Item {
        let mut item = Item::new();
        item.insert(PK.into(), json!(pk));
        item.insert(SK.into(), json!(sk));
        for (name, value) in extra {
            item.insert((*name).into(), value.clone());
        }
        item
    }

    const TEST_CACHE: usize = 1 << 20;

    #[tokio::test]
    async fn data_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/table.redb");
        {
            let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
            assert!(matches!(
                EmbeddedTable::open(&path, TEST_CACHE),
                Err(StoreError::Locked(_))
            ));
            let gsi = [(GSI1PK, json!("G")), (GSI1SK, json!("1"))];
            table
                .write(WriteOp::put(item("A", "1", &gsi)))
                .await
                .unwrap();
            table
                .write(WriteOp::update(
                    Key::new("A", "2"),
                    Update::new().add("n", 5),
                ))
                .await
                .unwrap();
        }
        let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
        let got = table.get(&Key::new("A", "2")).await.unwrap().unwrap();
        assert_eq!(got.get("n"), Some(&json!(5)));
        let page = table.query(&Query::partition("G").on_gsi1()).await.unwrap();
        assert_eq!(
            page.items,
            vec![item(
                "A",
                "1",
                &[(GSI1PK, json!("G")), (GSI1SK, json!("1"))]
            )]
        );
    }

    #[tokio::test]
    async fn relaxed_writes_survive_a_clean_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.redb");
        {
            let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
            table
                .write(WriteOp::put(item("A", "durable", &[])))
                .await
                .unwrap();
            // More relaxed commits than are ever left unsynced, none after
            // them durable: the last ones exist only in memory until closed.
            for _ in 0..(MAX_UNSYNCED_COMMITS + 3) {
                table
                    .write_relaxed(WriteOp::update(
                        Key::new("A", "relaxed"),
                        Update::new().add("n", 1),
                    ))
                    .await
                    .unwrap();
            }
        }
        let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
        let got = table.get(&Key::new("A", "relaxed")).await.unwrap().unwrap();
        assert_eq!(got.get("n"), Some(&json!(MAX_UNSYNCED_COMMITS + 3)));
        assert!(
            table
                .get(&Key::new("A", "durable"))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn purge_expired_deletes_only_past_items_and_their_index_entries() {
        let table = EmbeddedTable::temporary().unwrap();
        let gsi = |sk: &str| vec![(GSI1PK, json!("G")), (GSI1SK, json!(sk))];
        for (sk, ttl) in [("a", 100), ("b", 199), ("c", 200), ("d", 300)] {
            let mut extra = gsi(sk);
            extra.push((TTL, json!(ttl)));
            table
                .write(WriteOp::put(item("P", sk, &extra)))
                .await
                .unwrap();
        }
        // A ttl that is not an integer is not a TTL, as in DynamoDB.
        let mut odd = gsi("e");
        odd.push((TTL, json!("100")));
        table
            .write(WriteOp::put(item("P", "e", &odd)))
            .await
            .unwrap();
        // Moving an item's ttl forward must move its expiry entry.
        table
            .write(WriteOp::update(
                Key::new("P", "a"),
                Update::new().set(TTL, 1000),
            ))
            .await
            .unwrap();

        // Expired but not yet purged items are still served, as in DynamoDB.
        assert!(table.get(&Key::new("P", "b")).await.unwrap().is_some());
        assert_eq!(table.purge_expired(200).await.unwrap(), 1);
        assert_eq!(table.purge_expired(200).await.unwrap(), 0);
        assert!(table.get(&Key::new("P", "b")).await.unwrap().is_none());
        let left: Vec<_> = table
            .query(&Query::partition("G").on_gsi1())
            .await
            .unwrap()
            .items
            .iter()
            .map(|i| i[SK].clone())
            .collect();
        assert_eq!(left, vec![json!("a"), json!("c"), json!("d"), json!("e")]);
        assert_eq!(table.purge_expired(i64::MAX).await.unwrap(), 3);
        let left = table.query(&Query::partition("P")).await.unwrap().items;
        assert_eq!(left.len(), 1);
        assert!(
            table
                .query(&Query::partition("G").on_gsi1())
                .await
                .unwrap()
                .items
                .len()
                == 1
        );
    }

    #[tokio::test]
    async fn purge_handles_more_than_one_batch() {
        let table = EmbeddedTable::temporary().unwrap();
        let n = PURGE_BATCH * 2 + 3;
        for chunk in (0..n).collect::<Vec<_>>().chunks(MAX_TRANSACT_ITEMS) {
            let ops = chunk
                .iter()
                .map(|i| WriteOp::put(item("P", &format!("{i:05}"), &[(TTL, json!(1))])))
                .collect();
            table.transact(ops).await.unwrap();
        }
        assert_eq!(table.purge_expired(2).await.unwrap(), n as u64);
        assert!(
            table
                .query(&Query::partition("P"))
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[tokio::test]
    async fn corrupt_stored_value_is_unavailable_not_a_panic() {
        let table = EmbeddedTable::temporary().unwrap();
        let txn = table.db.begin_write().unwrap();
        txn.open_table(ITEMS)
            .unwrap()
            .insert(("P", "S"), b"{not json".as_slice())
            .unwrap();
        txn.commit().unwrap();
        let key = Key::new("P", "S");
        assert!(matches!(
            table.get(&key).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            table.query(&Query::partition("P")).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            table
                .write(WriteOp::update(key, Update::new().add("n", 1)))
                .await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn prefix_successor_bounds_every_extension() {
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
    }

    #[test]
    fn item_size_counts_like_dynamodb() {
        let it = item(
            "P",
            "S",
            &[("body", json!("x".repeat(1000))), ("n", json!(12345))],
        );
        // "PK"+"P", "SK"+"S", "body"+1000, "n"+3 (5 digits -> 3 bytes + 1 -> 4)
        assert_eq!(item_size(&it), 3 + 3 + 4 + 1000 + 1 + 4);
    }
}
