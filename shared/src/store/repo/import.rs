//! Writes of an import from another system (`chatctl import django`): each
//! one idempotent, so a re-run or a resumed run writes only what is missing,
//! and each goes through the same builders as live traffic (`create_session`,
//! `append_messages`, `activate_file`), so counters and indexes come out as
//! if the conversations had happened here.

use std::collections::HashSet;

use serde_json::Value;
use uuid::Uuid;

use super::api_keys::{KeyListing, key_items};
use super::{Repository, attrs};
use crate::model::{ActiveFile, ApiKeyRecord, FileRecord, Message, Session, Tenant};
use crate::store::{Condition, Query, SK, SortCondition, StoreError, Update, WriteOp, keys};

/// The label of a key brought from another system, in the tenant's key list.
const IMPORTED_KEY_LABEL: &str = "Imported API key";

/// Whether an import write stored something or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    New,
    AlreadyThere,
}

/// A transaction whose condition failed on one of the operations `which`
/// picks (an item already there), whatever else failed with it.
fn failed_on(error: &StoreError, which: impl Fn(usize) -> bool) -> bool {
    matches!(error, StoreError::TransactionCancelled { failed }
        if failed.iter().any(|i| which(*i)))
}

impl Repository {
    /// The tenant with its one key (kept, by hash), together: both are there
    /// after this, or neither was written by it.
    pub async fn import_tenant(
        &self,
        tenant: &Tenant,
        key: &ApiKeyRecord,
    ) -> Result<Imported, StoreError> {
        let listing = KeyListing {
            label: Some(IMPORTED_KEY_LABEL.into()),
            ..KeyListing::of(key.clone())
        };
        let (lookup, listed) = key_items(&listing)?;
        let ops = vec![
            WriteOp::put(self.tenant_item(tenant).await?).when(Condition::NotExists),
            WriteOp::put(lookup).when(Condition::NotExists),
            WriteOp::put(listed).when(Condition::NotExists),
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok(Imported::New),
            Err(e) if failed_on(&e, |_| true) => Ok(Imported::AlreadyThere),
            Err(e) => Err(e),
        }
    }

    /// A session as `create_session` stores it (its counters and its user's
    /// with it), unless it is there already.
    pub async fn import_session(
        &self,
        session: &Session,
        expires: i64,
    ) -> Result<Imported, StoreError> {
        match self.create_session(session, expires).await {
            Ok(()) => Ok(Imported::New),
            Err(e) if failed_on(&e, |i| i == 0) => Ok(Imported::AlreadyThere),
            Err(e) => Err(e),
        }
    }

    /// A user's first and last session times, once all of the user's
    /// sessions are in: live sessions arrive in time order, imported ones
    /// in the dump's order.
    pub async fn import_user_span(
        &self,
        tenant: Uuid,
        user: &str,
        first_seen: i64,
        last_seen: i64,
    ) -> Result<(), StoreError> {
        let op = WriteOp::update(
            keys::user(tenant, user),
            Update::new()
                .set(attrs::FIRST_SEEN, first_seen)
                .set(attrs::LAST_SEEN, last_seen),
        )
        .when(Condition::Exists);
        self.table.write(op).await.map(|_| ())
    }

    /// Messages of one session (oldest first, distinct ids), appended as
    /// `append_messages` does, with the session's own `last_activity` kept.
    /// Those already stored are left alone; returns how many were new.
    /// Fails when the session is not stored.
    pub async fn import_messages(
        &self,
        session: &Session,
        messages: &[Message],
        expires: i64,
    ) -> Result<usize, StoreError> {
        if messages.is_empty() {
            return Ok(0);
        }
        let n = messages.len();
        let at = session.last_activity;
        match self.append_messages(session, messages, at, expires).await {
            Ok(()) => return Ok(n),
            Err(e) if failed_on(&e, |i| i < n) => {}
            Err(e) => return Err(e),
        }
        let stored = self
            .message_ids(session.tenant_id, session.session_id)
            .await?;
        let missing: Vec<Message> = messages
            .iter()
            .filter(|m| !stored.contains(&m.message_id))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.append_messages(session, &missing, at, expires).await?;
        }
        Ok(missing.len())
    }

    /// The ids of the session's stored messages.
    async fn message_ids(&self, tenant: Uuid, session: Uuid) -> Result<HashSet<Uuid>, StoreError> {
        let query = Query::partition(keys::session_pk(tenant, session))
            .sort(SortCondition::BeginsWith(keys::MSG_PREFIX.into()));
        Ok(self
            .query_all(query)
            .await?
            .iter()
            .filter_map(|item| item.get(SK).and_then(Value::as_str))
            .filter_map(|sk| sk.strip_prefix(keys::MSG_PREFIX))
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect())
    }

    /// The session's active file, as `activate_file` makes an upload one,
    /// unless that file is stored already. `session` is the stored session
    /// without an active file.
    pub async fn import_active_file(
        &self,
        session: &Session,
        record: &FileRecord,
        active: &ActiveFile,
        expires: i64,
    ) -> Result<Imported, StoreError> {
        let existing = self
            .get_file(session.tenant_id, session.session_id, record.file_id)
            .await?;
        if existing.is_some() {
            return Ok(Imported::AlreadyThere);
        }
        match self
            .activate_file(session, record, active, false, expires)
            .await
        {
            Ok(()) => Ok(Imported::New),
            // Stored meanwhile, or the session got another file since.
            Err(e) if failed_on(&e, |i| i <= 1) => Ok(Imported::AlreadyThere),
            Err(e) => Err(e),
        }
    }
}
