//! The table port: a narrow interface with DynamoDB's semantics.
//!
//! Items are maps of attribute names to JSON values, keyed by a partition key
//! (`PK`) and a sort key (`SK`). The repository above this port is written
//! once; every driver (`embedded` here, `dynamo` in the cloud) must keep the
//! same invariants, which the conformance suite checks.

pub mod dynamo;
#[cfg(feature = "embedded-store")]
pub mod embedded;
pub mod keys;
pub mod repo;

#[cfg(any(test, feature = "test-support"))]
pub mod conformance;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde_json::Value;

/// Attribute name of the partition key.
pub const PK: &str = "PK";
/// Attribute name of the sort key.
pub const SK: &str = "SK";
/// Attribute names of the first global secondary index.
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// Attribute names of the second global secondary index.
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// Attribute holding the expiry time in epoch seconds (DynamoDB TTL).
pub const TTL: &str = "ttl";
/// Most keys one `batch_delete` call sends in one request (DynamoDB's limit).
pub const BATCH_DELETE_CHUNK: usize = 25;
/// Most operations one `transact` call may carry (DynamoDB's limit).
pub const MAX_TRANSACT_ITEMS: usize = 100;

/// An item: attribute name -> value. `PK` and `SK` are string attributes.
pub type Item = BTreeMap<String, Value>;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key of an item, if it has string `PK` and `SK` attributes.
    pub fn of(item: &Item) -> Option<Self> {
        Some(Self::new(item.get(PK)?.as_str()?, item.get(SK)?.as_str()?))
    }
}

/// Which index a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// The table itself, by (`PK`, `SK`).
    Primary,
    /// GSI1, by (`GSI1PK`, `GSI1SK`); only items carrying both attributes appear.
    Gsi1,
    /// GSI2, by (`GSI2PK`, `GSI2SK`); only items carrying both attributes appear.
    Gsi2,
}

impl Index {
    /// The (partition, sort) key attributes of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Primary => (PK, SK),
            Index::Gsi1 => (GSI1PK, GSI1SK),
            Index::Gsi2 => (GSI2PK, GSI2SK),
        }
    }

    /// The secondary indexes, each with its key attributes.
    pub const SECONDARY: [Index; 2] = [Index::Gsi1, Index::Gsi2];
}

/// A condition on the sort key of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortCondition {
    /// Every item of the partition.
    All,
    /// `begins_with(SK, prefix)`.
    BeginsWith(String),
    /// `SK BETWEEN low AND high`, both inclusive.
    Between(String, String),
    /// `SK >= value`.
    GreaterOrEqual(String),
    /// `SK <= value`.
    LessOrEqual(String),
}

impl SortCondition {
    pub fn matches(&self, sk: &str) -> bool {
        match self {
            SortCondition::All => true,
            SortCondition::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortCondition::Between(lo, hi) => sk >= lo.as_str() && sk <= hi.as_str(),
            SortCondition::GreaterOrEqual(v) => sk >= v.as_str(),
            SortCondition::LessOrEqual(v) => sk <= v.as_str(),
        }
    }
}

/// A query of one partition, in sort-key order.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Index,
    /// The partition key value (of `PK`, or of the index's partition key).
    pub partition: String,
    pub sort: SortCondition,
    /// `true`: ascending sort key order; `false`: descending.
    pub forward: bool,
    /// At most this many items in the page (the driver may return fewer).
    pub limit: Option<usize>,
    /// Continue after this item: the `last_key` of the previous page.
    pub start_after: Option<Cursor>,
    /// Only these attributes of each item (those it has), like DynamoDB's
    /// `ProjectionExpression`; `None`: whole items. Pages and cursors are
    /// those of the whole items: projecting saves decoding and transfer, not
    /// pages.
    pub attributes: Option<&'static [&'static str]>,
}

impl Query {
    /// All items of a partition of the table, ascending.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: Index::Primary,
            partition: pk.into(),
            sort: SortCondition::All,
            forward: true,
            limit: None,
            start_after: None,
            attributes: None,
        }
    }

    /// Only `names` of each item (see `attributes`).
    pub fn project(mut self, names: &'static [&'static str]) -> Self {
        self.attributes = Some(names);
        self
    }

    pub fn on_gsi1(mut self) -> Self {
        self.index = Index::Gsi1;
        self
    }

    pub fn on_gsi2(mut self) -> Self {
        self.index = Index::Gsi2;
        self
    }

    pub fn sort(mut self, sort: SortCondition) -> Self {
        self.sort = sort;
        self
    }

    pub fn descending(mut self) -> Self {
        self.forward = false;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn start_after(mut self, cursor: Option<Cursor>) -> Self {
        self.start_after = cursor;
        self
    }
}

/// Where a query page ended: the primary key of its last item and, for an
/// index query, that item's index keys. Opaque to callers outside the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: Key,
    /// The index keys (e.g. `GSI1PK`, `GSI1SK`) of the last item, for
    /// queries of a secondary index.
    pub index_key: Option<(String, String)>,
}

/// One page of a query.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Set when more items may follow; pass it as `start_after`.
    pub last_key: Option<Cursor>,
}

/// One page of a count-only query: how many items matched, without them.
#[derive(Debug, Clone, Default)]
pub struct CountPage {
    pub count: usize,
    /// Set when more items may follow; pass it as `start_after`.
    pub last_key: Option<Cursor>,
}

/// A condition a write requires of the item's current state.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The item exists (`attribute_exists(PK)`).
    Exists,
    /// The item does not exist (`attribute_not_exists(PK)`).
    NotExists,
    /// The attribute exists on the item.
    AttributeExists(String),
    /// The attribute is absent (or the item is).
    AttributeNotExists(String),
    /// The attribute equals the value.
    Equals(String, Value),
    /// The integer attribute, an absent one counting as 0, is below the
    /// bound: a counter's `ADD` that must stay under a limit.
    LessThan(String, i64),
    /// Every condition holds.
    And(Vec<Condition>),
}

impl Condition {
    /// Evaluates the condition against the current item (`None`: no item).
    pub fn holds(&self, current: Option<&Item>) -> bool {
        match self {
            Condition::Exists => current.is_some(),
            Condition::NotExists => current.is_none(),
            Condition::AttributeExists(name) => current.is_some_and(|i| i.contains_key(name)),
            Condition::AttributeNotExists(name) => !current.is_some_and(|i| i.contains_key(name)),
            Condition::Equals(name, value) => current.and_then(|i| i.get(name)) == Some(value),
            Condition::LessThan(name, bound) => match current.and_then(|i| i.get(name)) {
                None => 0 < *bound,
                Some(v) => v.as_i64().is_some_and(|n| n < *bound),
            },
            Condition::And(all) => all.iter().all(|c| c.holds(current)),
        }
    }
}

/// An update of one item, DynamoDB `UpdateItem` style. On a missing item it
/// creates one from the key and the actions, unless a condition forbids it.
/// It has at least one action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// `SET name = value`.
    pub set: Vec<(String, Value)>,
    /// `SET name = if_not_exists(name, value)`.
    pub set_if_absent: Vec<(String, Value)>,
    /// `ADD name delta` on a number (absent counts as 0).
    pub add: Vec<(String, i64)>,
    /// `REMOVE name`.
    pub remove: Vec<String>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.push((name.into(), value.into()));
        self
    }

    pub fn set_if_absent(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_if_absent.push((name.into(), value.into()));
        self
    }

    pub fn add(mut self, name: impl Into<String>, delta: i64) -> Self {
        self.add.push((name.into(), delta));
        self
    }

    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.remove.push(name.into());
        self
    }

    /// Applies the actions to `current` (or to a new item with `key`),
    /// returning the new item. Used by drivers that apply updates themselves.
    pub fn apply(&self, key: &Key, current: Option<Item>) -> Result<Item, StoreError> {
        let mut item = current.unwrap_or_else(|| {
            let mut fresh = Item::new();
            fresh.insert(PK.into(), Value::String(key.pk.clone()));
            fresh.insert(SK.into(), Value::String(key.sk.clone()));
            fresh
        });
        for (name, value) in &self.set {
            reject_key_attribute(name)?;
            item.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.set_if_absent {
            reject_key_attribute(name)?;
            item.entry(name.clone()).or_insert_with(|| value.clone());
        }
        for (name, delta) in &self.add {
            reject_key_attribute(name)?;
            let now = match item.get(name) {
                None => 0,
                Some(v) => v.as_i64().ok_or_else(|| {
                    StoreError::Invalid(format!("ADD on non-integer attribute {name}"))
                })?,
            };
            let next = now
                .checked_add(*delta)
                .ok_or_else(|| StoreError::Invalid(format!("ADD overflows attribute {name}")))?;
            item.insert(name.clone(), Value::from(next));
        }
        for name in &self.remove {
            reject_key_attribute(name)?;
            item.remove(name);
        }
        Ok(item)
    }
}

fn reject_key_attribute(name: &str) -> Result<(), StoreError> {
    if name == PK || name == SK {
        Err(StoreError::Invalid(format!(
            "cannot update key attribute {name}"
        )))
    } else {
        Ok(())
    }
}

/// One write; several go together in `Table::transact`.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Replace the whole item (it must carry `PK` and `SK`).
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Writes nothing; fails the transaction when the condition does not hold.
    Check { key: Key, condition: Condition },
}

impl WriteOp {
    pub fn put(item: Item) -> Self {
        WriteOp::Put {
            item,
            condition: None,
        }
    }

    pub fn update(key: Key, update: Update) -> Self {
        WriteOp::Update {
            key,
            update,
            condition: None,
        }
    }

    pub fn delete(key: Key) -> Self {
        WriteOp::Delete {
            key,
            condition: None,
        }
    }

    /// The same write, only if `condition` holds.
    pub fn when(mut self, new: Condition) -> Self {
        match &mut self {
            WriteOp::Put { condition, .. }
            | WriteOp::Update { condition, .. }
            | WriteOp::Delete { condition, .. } => *condition = Some(new),
            WriteOp::Check { condition, .. } => *condition = new,
        }
        self
    }

    /// The key of the item this operation touches.
    pub fn key(&self) -> Result<Key, StoreError> {
        match self {
            WriteOp::Put { item, .. } => Key::of(item)
                .ok_or_else(|| StoreError::Invalid("put item lacks string PK and SK".into())),
            WriteOp::Update { key, .. }
            | WriteOp::Delete { key, .. }
            | WriteOp::Check { key, .. } => Ok(key.clone()),
        }
    }

    pub fn condition(&self) -> Option<&Condition> {
        match self {
            WriteOp::Put { condition, .. }
            | WriteOp::Update { condition, .. }
            | WriteOp::Delete { condition, .. } => condition.as_ref(),
            WriteOp::Check { condition, .. } => Some(condition),
        }
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition of a single write did not hold.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled; `failed` lists the indexes of the
    /// operations whose conditions did not hold (empty: a conflict).
    #[error("transaction cancelled (operations {failed:?})")]
    TransactionCancelled { failed: Vec<usize> },
    /// The request itself is malformed (a bug in the caller).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The store failed (I/O, network, service error).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The embedded store's file is already open (another process, or
    /// another handle in this one): callers can say who holds it.
    #[error("store in use: {0} is already open")]
    Locked(String),
}

/// The table port.
#[async_trait]
pub trait Table: Send + Sync {
    /// `GetItem`, strongly consistent.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// One page of a `Query`.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// One page of a `Query` counted, not returned (DynamoDB's
    /// `Select=COUNT`): the same pages as `query`, or larger ones where a
    /// driver can count without reading items. By default, `query`'s page.
    async fn count(&self, query: &Query) -> Result<CountPage, StoreError> {
        let page = self.query(query).await?;
        Ok(CountPage {
            count: page.items.len(),
            last_key: page.last_key,
        })
    }

    /// A number that changes whenever an item of partition `pk` is written,
    /// from a driver that sees every write of its table (the embedded store,
    /// held by one process): a reader may keep what it computed from the
    /// partition while the number stays the same. `None` (the default, and
    /// DynamoDB, which many instances write): no such number, read again.
    fn partition_version(&self, _pk: &str) -> Option<u64> {
        None
    }

    /// One write on its own (`PutItem`, `UpdateItem`, `DeleteItem`). A failed
    /// condition is `StoreError::ConditionFailed`. An update returns the item
    /// as it is after the write; a put or delete returns `None`.
    async fn write(&self, op: WriteOp) -> Result<Option<Item>, StoreError>;

    /// `write`, for an item whose latest changes a crash may lose without
    /// harm (a counter that only enforces a limit): a driver may answer once
    /// every later read sees the write but before it is on disk. DynamoDB
    /// writes are always durable, so by default this is `write`.
    async fn write_relaxed(&self, op: WriteOp) -> Result<Option<Item>, StoreError> {
        self.write(op).await
    }

    /// All or nothing (`TransactWriteItems`): at most `MAX_TRANSACT_ITEMS`
    /// operations on distinct items. A failed condition cancels the whole
    /// transaction with `StoreError::TransactionCancelled`.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// Deletes the items unconditionally, in chunks of `BATCH_DELETE_CHUNK`
    /// (`BatchWriteItem`), retrying what the store left unprocessed. Not
    /// atomic across chunks; deleting a missing item is not an error.
    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), StoreError>;
}

/// Counts the requests a table receives: the round trips a cloud driver would
/// make. Wraps any driver; tests read the counters to hold the budgets.
pub struct CountingTable {
    inner: Arc<dyn Table>,
    reads: AtomicU64,
    writes: AtomicU64,
}

/// Requests counted by a `CountingTable` since its last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundTrips {
    pub reads: u64,
    pub writes: u64,
}

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// The counts so far, then zero.
    pub fn take(&self) -> RoundTrips {
        RoundTrips {
            reads: self.reads.swap(0, Ordering::SeqCst),
            writes: self.writes.swap(0, Ordering::SeqCst),
        }
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.query(query).await
    }

    async fn count(&self, query: &Query) -> Result<CountPage, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.count(query).await
    }

    // Not a request: nothing to count.
    fn partition_version(&self, pk: &str) -> Option<u64> {
        self.inner.partition_version(pk)
    }

    async fn write(&self, op: WriteOp) -> Result<Option<Item>, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.write(op).await
    }

    async fn write_relaxed(&self, op: WriteOp) -> Result<Option<Item>, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.write_relaxed(op).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.transact(ops).await
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        let chunks = keys.len().div_ceil(BATCH_DELETE_CHUNK) as u64;
        self.writes.fetch_add(chunks, Ordering::SeqCst);
        self.inner.batch_delete(keys).await
    }
}
