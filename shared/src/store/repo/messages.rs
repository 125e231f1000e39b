//! Messages: appended with the session's bump in one write, paged newest
//! first, cleared with the session's counter kept exact.

use serde_json::Value;
use uuid::Uuid;

use super::analytics::{DayCounts, count_day};
use super::sessions::user_session_entry;
use super::{MAX_RETRIES, Repository, attrs, backoff, from_item, retry_conflicts, to_item};
use crate::model::{Message, Role, Session};
use crate::store::{
    Condition, Cursor, GSI1SK, GSI2PK, GSI2SK, Key, MAX_TRANSACT_ITEMS, Query, SK, SortCondition,
    StoreError, TTL, Update, WriteOp, keys,
};

/// A page of history, newest first.
#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    /// The session, on a first page whose session exists.
    pub session: Option<Session>,
    pub messages: Vec<Message>,
    pub next: Option<Cursor>,
}

/// Characters of the first user message a session list shows.
pub const PREVIEW_CHARS: usize = 120;

/// The start of a message, cut at a character boundary, for session lists.
pub fn preview_of(content: &str) -> String {
    let mut chars = content.trim().chars();
    let mut preview: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        preview.push('…');
    }
    preview
}

/// What storing these messages adds to the day's counters: the messages,
/// a failed one's provider error, the reply's tokens.
pub(super) fn day_counts(messages: &[Message]) -> DayCounts {
    let mut counts = DayCounts {
        messages: messages.len() as i64,
        ..DayCounts::default()
    };
    for m in messages {
        let meta = |name: &str| m.metadata.get(name).and_then(Value::as_i64).unwrap_or(0);
        if m.metadata.get("status").and_then(Value::as_str) == Some("failed") {
            counts.provider_errors += 1;
        }
        counts.input_tokens += meta("inputTokens");
        counts.output_tokens += meta("outputTokens");
    }
    counts
}

impl Repository {
    /// Stores messages of one exchange and bumps the session (and its
    /// preview, the first user message) and the day's counters, atomically.
    /// The messages get the retention TTL `expires`; the session's (and its
    /// user list entry's) is moved to it.
    pub async fn append_messages(
        &self,
        session: &Session,
        messages: &[Message],
        now_ms: i64,
        expires: i64,
    ) -> Result<(), StoreError> {
        self.append_exchange(session, messages, now_ms, expires, None)
            .await
    }

    /// [`Repository::append_messages`], also merging `config` (the keys sent
    /// with the message) into the session's stored config in the same
    /// write, guarded by the config `session` holds, as `merge_config` is.
    pub async fn append_exchange(
        &self,
        session: &Session,
        messages: &[Message],
        now_ms: i64,
        expires: i64,
        config: Option<&crate::model::SessionConfig>,
    ) -> Result<(), StoreError> {
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let mut ops = Vec::with_capacity(messages.len() + 2);
        for message in messages {
            let key = keys::message(tenant, sid, message.message_id);
            let mut item = to_item(&key, message)?;
            item.insert(TTL.into(), expires.into());
            ops.push(WriteOp::put(item).when(Condition::NotExists));
        }
        let activity = keys::session_activity_gsi1sk(now_ms, sid);
        let mut bump = Update::new()
            .add(attrs::MESSAGE_COUNT, messages.len() as i64)
            .set(attrs::LAST_ACTIVITY, now_ms)
            .set(GSI1SK, activity.clone())
            .set(TTL, expires);
        if let Some(user) = &session.user_identifier {
            // The partition is set again so a session stored before GSI2
            // existed joins it at its next message.
            bump = bump
                .set(GSI2PK, keys::user_activity_gsi2pk(tenant, user))
                .set(GSI2SK, activity);
        }
        if let Some(first) = messages.iter().find(|m| m.role == Role::User) {
            bump = bump.set_if_absent(attrs::PREVIEW, preview_of(&first.content));
        }
        ops.push(WriteOp::update(keys::session(tenant, sid), bump).when(Condition::Exists));
        ops.push(count_day(tenant, sid, now_ms, &day_counts(messages)));
        ops.extend(super::budget::count_month(tenant, sid, now_ms, messages));
        if let Some(user) = &session.user_identifier {
            // Unconditional: the session's condition above already fails
            // the whole write when the session (and so its entry) was erased.
            ops.push(WriteOp::update(
                keys::user_session(tenant, user, sid),
                user_session_entry(session, expires),
            ));
        }
        if let Some(changes) = config.filter(|c| !c.is_empty()) {
            return self.transact_merging_config(session, ops, changes).await;
        }
        // A conflict with a concurrent transaction on the same session (no
        // condition failed) is retried: the writes are unconditional adds.
        retry_conflicts(|| self.table.transact(ops.clone())).await
    }

    /// Runs an exchange's write with `changes` merged into the session's
    /// config. When the config changed since it was read (a config update
    /// or another send ran meanwhile), it is read again and merged again:
    /// no merge is lost, and the common case costs no extra round trip.
    async fn transact_merging_config(
        &self,
        session: &Session,
        ops: Vec<WriteOp>,
        changes: &crate::model::SessionConfig,
    ) -> Result<(), StoreError> {
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let session_key = keys::session(tenant, sid);
        let mut base = session.config.clone();
        for attempt in 0..MAX_RETRIES {
            let mut merged = base.clone();
            merged.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
            let mut guarded = ops.clone();
            let mut at = None;
            for (i, op) in guarded.iter_mut().enumerate() {
                if let WriteOp::Update {
                    key,
                    update,
                    condition,
                } = op
                    && *key == session_key
                {
                    update
                        .set
                        .push((attrs::CONFIG.into(), Value::Object(merged.clone())));
                    *condition = Some(Condition::And(vec![
                        Condition::Exists,
                        Condition::Equals(attrs::CONFIG.into(), Value::Object(base.clone())),
                    ]));
                    at = Some(i);
                }
            }
            match retry_conflicts(|| self.table.transact(guarded.clone())).await {
                Err(StoreError::TransactionCancelled { failed })
                    if at.is_some_and(|i| failed.contains(&i)) =>
                {
                    match self.get_session(tenant, sid).await? {
                        Some(current) if current.config != base => base = current.config,
                        // Gone: the write fails as it would have without a config.
                        _ => return Err(StoreError::TransactionCancelled { failed }),
                    }
                    backoff(attempt).await;
                }
                other => return other,
            }
        }
        Err(StoreError::TransactionCancelled { failed: vec![] })
    }

    /// One page of history, newest first; one read. Without `after` the
    /// page starts at the session item, so it also says whether the session
    /// exists and how many messages it has.
    pub async fn history_page(
        &self,
        tenant: Uuid,
        session: Uuid,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<HistoryPage, StoreError> {
        let first = after.is_none();
        let query = Query::partition(keys::session_pk(tenant, session))
            .sort(SortCondition::Between(
                keys::MSG_PREFIX.into(),
                keys::SESSION_SK.into(),
            ))
            .descending()
            .limit(if first { limit + 1 } else { limit })
            .start_after(after);
        let page = self.table.query(&query).await?;
        let mut items = page.items.into_iter().peekable();
        let mut session = None;
        if first {
            match items.peek() {
                Some(item) if item.get(SK).and_then(Value::as_str) == Some(keys::SESSION_SK) => {
                    session = items.next().map(from_item).transpose()?;
                }
                _ => return Ok(HistoryPage::default()),
            }
        }
        Ok(HistoryPage {
            session,
            messages: items.map(from_item).collect::<Result<_, _>>()?,
            next: page.last_key,
        })
    }

    /// Deletes every message of the session; returns how many. Each chunk
    /// of deletes carries its own counter decrement in one transaction, each
    /// delete guarded by the message still existing: a concurrent clear or a
    /// failure half-way never leaves `message_count` off.
    pub async fn clear_messages(&self, tenant: Uuid, session: Uuid) -> Result<i64, StoreError> {
        let query = Query::partition(keys::session_pk(tenant, session))
            .sort(SortCondition::BeginsWith(keys::MSG_PREFIX.into()));
        let mut cleared = 0;
        for attempt in 0..MAX_RETRIES {
            let keys: Vec<Key> = self
                .query_all(query.clone())
                .await?
                .iter()
                .filter_map(Key::of)
                .collect();
            let mut lost_race = false;
            for chunk in keys.chunks(MAX_TRANSACT_ITEMS - 1) {
                let mut ops: Vec<WriteOp> = chunk
                    .iter()
                    .map(|k| WriteOp::delete(k.clone()).when(Condition::Exists))
                    .collect();
                ops.push(
                    WriteOp::update(
                        keys::session(tenant, session),
                        Update::new().add(attrs::MESSAGE_COUNT, -(chunk.len() as i64)),
                    )
                    .when(Condition::Exists),
                );
                match self.table.transact(ops).await {
                    Ok(()) => cleared += chunk.len() as i64,
                    // Another clear took some of these: list what is left.
                    Err(StoreError::TransactionCancelled { .. }) => {
                        lost_race = true;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !lost_race {
                return Ok(cleared);
            }
            backoff(attempt).await;
        }
        Err(StoreError::TransactionCancelled { failed: vec![] })
    }
}
