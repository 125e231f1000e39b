//! Sessions: created with their counters in one write, read with their
//! recent messages in one query, their config merged without lost updates.

use serde_json::Value;
use uuid::Uuid;

use super::analytics::{DayCounts, count_day};
use super::{MAX_RETRIES, Repository, attrs, backoff, from_item, to_item};
use crate::model::{Message, Session, SessionConfig};
use crate::store::{
    Condition, GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Query, SK, SortCondition, StoreError, TTL,
    Update, WriteOp, keys,
};

/// Messages the context builder sees.
pub const CONTEXT_HISTORY: usize = 10;

/// What a config merge did.
#[derive(Debug)]
pub enum MergeOutcome {
    Merged(Box<Session>),
    NotFound,
    /// The merged config would be larger than allowed; nothing was written.
    TooLarge,
}

/// The attributes of a user's session-list entry.
pub(super) fn user_session_entry(session: &Session, expires: i64) -> Update {
    Update::new()
        .set(attrs::SESSION_ID, session.session_id.to_string())
        .set_if_absent(attrs::CREATED_AT, session.created_at)
        .set(TTL, expires)
}

/// Where the user's counters are in [`create_writes`].
const USER_COUNTERS_OP: usize = 3;

/// The session item as stored: the session, its retention TTL, its GSI1
/// keys and, for a session with a user, its GSI2 keys. What an import writes too (with `create_writes`' counters).
pub(super) fn session_item(session: &Session, expires: i64) -> Result<Item, StoreError> {
    let mut item = to_item(
        &keys::session(session.tenant_id, session.session_id),
        session,
    )?;
    item.insert(TTL.into(), expires.into());
    item.insert(GSI1PK.into(), keys::tenant_pk(session.tenant_id).into());
    let activity = keys::session_activity_gsi1sk(session.last_activity, session.session_id);
    if let Some(user) = &session.user_identifier {
        let gsi2pk = keys::user_activity_gsi2pk(session.tenant_id, user);
        item.insert(GSI2PK.into(), gsi2pk.into());
        item.insert(GSI2SK.into(), activity.clone().into());
    }
    item.insert(GSI1SK.into(), activity.into());
    Ok(item)
}

/// The writes creating a session: the session, the tenant's counters, the
/// day's, then for a session with a user the user's counters (guarded by
/// whether `new_user`) and the user's list entry.
fn create_writes(
    session: &Session,
    expires: i64,
    new_user: bool,
) -> Result<Vec<WriteOp>, StoreError> {
    let with_user = session.user_identifier.is_some();
    let day = DayCounts {
        sessions: 1,
        new_users: i64::from(with_user && new_user),
        ..DayCounts::default()
    };
    let mut ops = vec![
        WriteOp::put(session_item(session, expires)?).when(Condition::NotExists),
        WriteOp::update(
            keys::stats_shard(session.tenant_id, session.session_id),
            Update::new().add(attrs::TOTAL_SESSIONS, 1).add(
                if with_user {
                    attrs::SESSIONS_WITH_USER
                } else {
                    attrs::SESSIONS_WITHOUT_USER
                },
                1,
            ),
        ),
        count_day(
            session.tenant_id,
            session.session_id,
            session.created_at,
            &day,
        ),
    ];
    if let Some(user) = &session.user_identifier {
        ops.push(
            WriteOp::update(
                keys::user(session.tenant_id, user),
                Update::new()
                    .add(attrs::SESSION_COUNT, 1)
                    .set(attrs::USER_IDENTIFIER, user.clone())
                    .set_if_absent(attrs::FIRST_SEEN, session.created_at)
                    .set(attrs::LAST_SEEN, session.created_at)
                    .set(TTL, expires),
            )
            .when(if new_user {
                Condition::NotExists
            } else {
                Condition::Exists
            }),
        );
        ops.push(WriteOp::update(
            keys::user_session(session.tenant_id, user, session.session_id),
            user_session_entry(session, expires),
        ));
    }
    Ok(ops)
}

impl Repository {
    /// One atomic write: the session, the tenant's counters and the day's,
    /// and, for a session with a user, the user's counters and the entry
    /// listing the session under the user. `expires` (epoch seconds) is the
    /// retention TTL of the session and its list entry, and of the user's
    /// counters. Whether the user is new (the day's `new_users`) is decided
    /// by a condition on the user's counters: the write first takes the user
    /// for new, and a user seen before costs a second attempt.
    pub async fn create_session(&self, session: &Session, expires: i64) -> Result<(), StoreError> {
        let mut new_user = true;
        for attempt in 0..MAX_RETRIES {
            match self
                .table
                .transact(create_writes(session, expires, new_user)?)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::TransactionCancelled { failed })
                    if failed == [USER_COUNTERS_OP] =>
                {
                    new_user = !new_user;
                }
                // Creates landing on the same shard of the tenant's counters
                // conflict on DynamoDB and are retried (the session put is
                // guarded).
                Err(StoreError::TransactionCancelled { failed }) if failed.is_empty() => {
                    backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::TransactionCancelled { failed: vec![] })
    }

    pub async fn get_session(
        &self,
        tenant: Uuid,
        session: Uuid,
    ) -> Result<Option<Session>, StoreError> {
        self.table
            .get(&keys::session(tenant, session))
            .await?
            .map(from_item)
            .transpose()
    }

    /// The session and its last `CONTEXT_HISTORY` messages (oldest first) in
    /// one query: `SESSION` sorts right after the `MSG#` items.
    pub async fn session_with_recent_messages(
        &self,
        tenant: Uuid,
        session: Uuid,
    ) -> Result<Option<(Session, Vec<Message>)>, StoreError> {
        let query = Query::partition(keys::session_pk(tenant, session))
            .sort(SortCondition::Between(
                keys::MSG_PREFIX.into(),
                keys::SESSION_SK.into(),
            ))
            .descending()
            .limit(CONTEXT_HISTORY + 1);
        let mut items = self.table.query(&query).await?.items.into_iter();
        let Some(first) = items.next() else {
            return Ok(None);
        };
        if first.get(SK).and_then(Value::as_str) != Some(keys::SESSION_SK) {
            return Ok(None);
        }
        let session: Session = from_item(first)?;
        let mut messages = items.map(from_item).collect::<Result<Vec<Message>, _>>()?;
        messages.reverse();
        Ok(Some((session, messages)))
    }

    /// Merges `changes` into the stored config. Guarded by the config it read,
    /// so two concurrent merges never lose each other's keys; a merged config
    /// over `max_bytes` of JSON is not written.
    pub async fn merge_config(
        &self,
        tenant: Uuid,
        session: Uuid,
        changes: &SessionConfig,
        max_bytes: usize,
    ) -> Result<MergeOutcome, StoreError> {
        for attempt in 0..MAX_RETRIES {
            let Some(current) = self.get_session(tenant, session).await? else {
                return Ok(MergeOutcome::NotFound);
            };
            let old = Value::Object(current.config.clone());
            let mut merged = current.config.clone();
            for (k, v) in changes {
                merged.insert(k.clone(), v.clone());
            }
            if serde_json::to_vec(&merged).map_or(usize::MAX, |v| v.len()) > max_bytes {
                return Ok(MergeOutcome::TooLarge);
            }
            let op = WriteOp::update(
                keys::session(tenant, session),
                Update::new().set(attrs::CONFIG, Value::Object(merged)),
            )
            .when(Condition::Equals(attrs::CONFIG.into(), old));
            match self.table.write(op).await {
                Ok(Some(item)) => {
                    return from_item(item).map(|s| MergeOutcome::Merged(Box::new(s)));
                }
                Ok(None) => return Err(StoreError::Invalid("update returned no item".into())),
                Err(StoreError::ConditionFailed) => continue,
                // A conflict with a transaction on the session: read again.
                Err(StoreError::TransactionCancelled { failed }) if failed.is_empty() => {
                    backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::TransactionCancelled { failed: vec![] })
    }
}
