//! Rate-limit counters: one per key and window.

use uuid::Uuid;

use super::{Repository, attrs, int};
use crate::store::{StoreError, TTL, Update, WriteOp, keys};

impl Repository {
    /// Adds one to the key's counter for `window` and returns the new
    /// count: one atomic `UpdateItem`. The item expires at `expires_epoch_secs`.
    pub async fn count_rate(
        &self,
        key_id: Uuid,
        window: i64,
        expires_epoch_secs: i64,
    ) -> Result<i64, StoreError> {
        // Relaxed: after a crash a key may send a few more messages in the
        // hour; waiting for the disk on every message is not worth that.
        let item = self
            .table
            .write_relaxed(WriteOp::update(
                keys::rate(key_id, window),
                Update::new()
                    .add(attrs::COUNT, 1)
                    .set_if_absent(TTL, expires_epoch_secs),
            ))
            .await?
            .ok_or_else(|| StoreError::Invalid("update returned no item".into()))?;
        Ok(int(&item, attrs::COUNT))
    }
}
