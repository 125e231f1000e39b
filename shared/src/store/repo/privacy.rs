//! A user's data across sessions, for export and erase: the user's session
//! list, a session's whole partition, and an erase that is safe to repeat.

use serde_json::Value;
use uuid::Uuid;

use super::{Repository, attrs, from_item};
use crate::model::{FileRecord, Message, PendingUpload, Session};
use crate::store::{
    Condition, Item, Key, Query, SK, SortCondition, StoreError, Update, WriteOp, keys,
};

/// Everything in one session's partition.
#[derive(Debug, Clone, Default)]
pub struct SessionContents {
    pub session: Option<Session>,
    /// Oldest first.
    pub messages: Vec<Message>,
    pub files: Vec<FileRecord>,
    pub uploads: Vec<PendingUpload>,
    /// Items of no known kind (none today).
    pub other: Vec<Item>,
}

impl Repository {
    /// The ids of the user's sessions, from the user's session list (one
    /// query per page, never a scan).
    pub async fn user_session_ids(
        &self,
        tenant: Uuid,
        user_identifier: &str,
    ) -> Result<Vec<Uuid>, StoreError> {
        let query = Query::partition(keys::user_sessions_pk(tenant, user_identifier))
            .sort(SortCondition::BeginsWith(keys::USER_SESSION_PREFIX.into()));
        Ok(self
            .query_all(query)
            .await?
            .iter()
            .filter_map(|item| {
                let sk = item.get(SK)?.as_str()?;
                Uuid::try_parse(sk.strip_prefix(keys::USER_SESSION_PREFIX)?).ok()
            })
            .collect())
    }

    /// The user's counters item (`USER#`), if any.
    pub async fn user_stat_item(
        &self,
        tenant: Uuid,
        user_identifier: &str,
    ) -> Result<Option<Item>, StoreError> {
        self.table.get(&keys::user(tenant, user_identifier)).await
    }

    /// Everything stored in a session's partition: the session, its
    /// messages, files and pending uploads.
    pub async fn session_contents(
        &self,
        tenant: Uuid,
        session: Uuid,
    ) -> Result<SessionContents, StoreError> {
        let items = self
            .query_all(Query::partition(keys::session_pk(tenant, session)))
            .await?;
        let mut contents = SessionContents::default();
        for item in items {
            let sk = item.get(SK).and_then(Value::as_str).unwrap_or_default();
            if sk == keys::SESSION_SK {
                contents.session = Some(from_item(item)?);
            } else if sk.starts_with(keys::MSG_PREFIX) {
                contents.messages.push(from_item(item)?);
            } else if sk.starts_with(keys::FILE_PREFIX) {
                contents.files.push(from_item(item)?);
            } else if sk.starts_with(keys::UPLOAD_PREFIX) {
                contents.uploads.push(from_item(item)?);
            } else {
                contents.other.push(item);
            }
        }
        Ok(contents)
    }

    /// Erases one of the user's sessions from the table; the caller has
    /// removed its blobs. The user's counters are left to the caller (erase
    /// deletes them). See [`Repository::erase_session`].
    pub async fn erase_user_session(
        &self,
        tenant: Uuid,
        user_identifier: &str,
        session: Uuid,
    ) -> Result<usize, StoreError> {
        self.erase_session(tenant, session, Some(user_identifier), false)
            .await
    }

    /// Erases a session from the table; the caller has removed its blobs.
    /// Safe to repeat after a failure: the session item and the tenant
    /// counters (and, with `uncount_user`, the user's session count) go
    /// first, together, so the counters move exactly once; then every other
    /// item of the partition; the user's list entry last, so a retry still
    /// finds the session. Returns the items deleted besides the session.
    pub async fn erase_session(
        &self,
        tenant: Uuid,
        session: Uuid,
        user_identifier: Option<&str>,
        uncount_user: bool,
    ) -> Result<usize, StoreError> {
        let mut ops = vec![
            WriteOp::delete(keys::session(tenant, session)).when(Condition::Exists),
            WriteOp::update(
                keys::stats_shard(tenant, session),
                Update::new().add(attrs::TOTAL_SESSIONS, -1).add(
                    if user_identifier.is_some() {
                        attrs::SESSIONS_WITH_USER
                    } else {
                        attrs::SESSIONS_WITHOUT_USER
                    },
                    -1,
                ),
            ),
        ];
        if let Some(user) = user_identifier.filter(|_| uncount_user) {
            // The user's counters may have expired before the session did.
            ops.push(
                WriteOp::update(
                    keys::user(tenant, user),
                    Update::new().add(attrs::SESSION_COUNT, -1),
                )
                .when(Condition::Exists),
            );
        }
        match self.table.transact(ops.clone()).await {
            Ok(()) => {}
            // Gone already (an earlier attempt, or expired): nothing to count.
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {}
            Err(StoreError::TransactionCancelled { failed }) if failed == [2] => {
                ops.truncate(2);
                self.erase_counted(ops).await?;
            }
            Err(e) => return Err(e),
        }
        // Read after the session is gone: nothing can be added any more.
        let rest: Vec<Key> = self
            .query_all(Query::partition(keys::session_pk(tenant, session)))
            .await?
            .iter()
            .filter_map(Key::of)
            .collect();
        let deleted = rest.len();
        if !rest.is_empty() {
            self.table.batch_delete(rest).await?;
        }
        if let Some(user) = user_identifier {
            self.table
                .write(WriteOp::delete(keys::user_session(tenant, user, session)))
                .await?;
        }
        Ok(deleted)
    }

    /// The session's delete with the tenant's counters, once more (after
    /// the user's counters turned out to be gone).
    async fn erase_counted(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        match self.table.transact(ops).await {
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(()),
            other => other,
        }
    }

    /// Removes the user's counters item.
    pub async fn delete_user_stat(
        &self,
        tenant: Uuid,
        user_identifier: &str,
    ) -> Result<(), StoreError> {
        self.table
            .write(WriteOp::delete(keys::user(tenant, user_identifier)))
            .await?;
        Ok(())
    }
}
