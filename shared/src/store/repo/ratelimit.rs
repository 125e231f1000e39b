//! Rate-limit counters: one item per counter and window (a key's, a
//! visitor's), and the tenant ceiling's shards. Bumped by conditional
//! `ADD`s that keep each below its threshold (`ratelimit::window`).

use uuid::Uuid;

use super::{MAX_RETRIES, Repository, attrs, backoff, int};
use crate::store::{
    Condition, Key, Query, SK, SortCondition, StoreError, TTL, Update, WriteOp, keys,
};

/// The attribute of a window counter.
pub const COUNT: &str = attrs::COUNT;

/// Adds one to `attr` of the item at `key`, only while it is below
/// `bound` (no bound: always); the item expires at `expires`.
pub fn bounded_add(key: Key, attr: &str, bound: Option<i64>, expires: i64) -> WriteOp {
    let op = WriteOp::update(
        key,
        Update::new().add(attr, 1).set_if_absent(TTL, expires),
    );
    match bound {
        Some(b) => op.when(Condition::LessThan(attr.into(), b)),
        None => op,
    }
}

impl Repository {
    /// Adds one to the key's counter for `window` and returns the new
    /// count: one atomic `UpdateItem`. The item expires at `expires_epoch_secs`.
    pub async fn count_rate(
        &self,
        key_id: Uuid,
        window: i64,
        expires_epoch_secs: i64,
    ) -> Result<i64, StoreError> {
        let op = bounded_add(
            keys::rate(key_id, window),
            attrs::COUNT,
            None,
            expires_epoch_secs,
        );
        Ok(self.count_below(op).await?.unwrap_or(0))
    }

    /// A counter's count (0 when it has none): a previous window's.
    pub async fn rate_count(&self, key: &Key) -> Result<i64, StoreError> {
        Ok(self
            .table
            .get(key)
            .await?
            .map_or(0, |item| int(&item, attrs::COUNT)))
    }

    /// One [`bounded_add`] of `attrs::COUNT` on its own: the new count, or
    /// `None` when the bound refused it.
    pub async fn count_below(&self, op: WriteOp) -> Result<Option<i64>, StoreError> {
        // Relaxed: after a crash a counter may let a few more messages
        // through; waiting for the disk on every message is not worth that.
        match self.table.write_relaxed(op).await {
            Ok(Some(item)) => Ok(Some(int(&item, attrs::COUNT))),
            Ok(None) => Err(StoreError::Invalid("update returned no item".into())),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Several counters of one message in one transaction: `Ok(Ok(()))`
    /// when all were bumped, `Ok(Err(refused))` with the indexes whose
    /// bound refused (then none was). Conflicts with concurrent
    /// transactions on the same items are retried.
    pub async fn count_together(
        &self,
        ops: Vec<WriteOp>,
    ) -> Result<Result<(), Vec<usize>>, StoreError> {
        let mut attempt = 0;
        loop {
            match self.table.transact(ops.clone()).await {
                Ok(()) => return Ok(Ok(())),
                Err(StoreError::TransactionCancelled { failed }) if !failed.is_empty() => {
                    return Ok(Err(failed));
                }
                Err(StoreError::TransactionCancelled { .. }) if attempt < MAX_RETRIES => {
                    attempt += 1;
                    backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Each shard's `attr` of a sharded counter in the tenant's partition
    /// (sort keys `{prefix}NN`): one Query, `shards` entries.
    pub async fn shard_counts(
        &self,
        tenant: Uuid,
        prefix: String,
        attrs: &[&str],
        shards: usize,
    ) -> Result<Vec<Vec<i64>>, StoreError> {
        let mut counts = vec![vec![0; shards]; attrs.len()];
        let mut query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(prefix));
        loop {
            let page = self.table.query(&query).await?;
            for item in &page.items {
                let shard = item
                    .get(SK)
                    .and_then(|v| v.as_str())
                    .and_then(keys::shard_of_sort_key)
                    .map(usize::from)
                    .filter(|s| *s < shards);
                if let Some(s) = shard {
                    for (a, attr) in attrs.iter().enumerate() {
                        counts[a][s] += int(item, attr);
                    }
                }
            }
            match page.last_key {
                Some(cursor) => query = query.start_after(Some(cursor)),
                None => return Ok(counts),
            }
        }
    }
}
