//! The repository: every read and write the API makes, each in as few round
//! trips as the key design allows. Written once over the table port.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::keys;
use super::{
    Condition, Cursor, GSI1PK, GSI1SK, Item, Key, PK, Query, SK, SortCondition, StoreError, TTL,
    Table, Update, WriteOp,
};
use crate::model::{
    ActiveFile, ApiKeyRecord, FileRecord, Message, PendingUpload, Session, SessionConfig, Tenant,
};

/// Messages the context builder sees.
pub const CONTEXT_HISTORY: usize = 10;
/// How often a lost race on a conditional write is retried.
const MAX_RETRIES: usize = 5;

/// What a config merge did.
#[derive(Debug)]
pub enum MergeOutcome {
    Merged(Box<Session>),
    NotFound,
    /// The merged config would be larger than allowed; nothing was written.
    TooLarge,
}

/// A short, growing pause before retrying a write that lost a race.
async fn backoff(attempt: usize) {
    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt.min(5))).await;
}

/// Runs a write, retrying it while it conflicts with concurrent
/// transactions (cancelled with no failed condition): the writes it is used
/// for are unconditional adds or guarded puts that stay correct when rerun.
async fn retry_conflicts<F, Fut>(mut write: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut attempt = 0;
    loop {
        match write().await {
            Err(StoreError::TransactionCancelled { failed })
                if failed.is_empty() && attempt < MAX_RETRIES =>
            {
                attempt += 1;
                backoff(attempt).await;
            }
            other => return other,
        }
    }
}

/// Session counts kept at write time, never computed by scanning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantStats {
    pub total_sessions: i64,
    pub sessions_with_user: i64,
    pub sessions_without_user: i64,
}

/// One user's session count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStat {
    pub user_identifier: String,
    pub session_count: i64,
}

/// A page of history, newest first.
#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    /// The session, on a first page whose session exists.
    pub session: Option<Session>,
    pub messages: Vec<Message>,
    pub next: Option<Cursor>,
}

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

/// The attributes of a user's session-list entry.
fn user_session_entry(session: &Session, expires: i64) -> Update {
    Update::new()
        .set("session_id", session.session_id.to_string())
        .set_if_absent("created_at", session.created_at)
        .set(TTL, expires)
}

#[derive(Clone)]
pub struct Repository {
    table: Arc<dyn Table>,
}

fn to_item<T: Serialize>(key: &Key, value: &T) -> Result<Item, StoreError> {
    let Value::Object(map) = serde_json::to_value(value)
        .map_err(|e| StoreError::Invalid(format!("cannot encode item: {e}")))?
    else {
        return Err(StoreError::Invalid("item is not an object".into()));
    };
    let mut item: Item = map.into_iter().collect();
    item.insert(PK.into(), Value::String(key.pk.clone()));
    item.insert(SK.into(), Value::String(key.sk.clone()));
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(item.into_iter().collect()))
        .map_err(|e| StoreError::Unavailable(format!("stored item does not decode: {e}")))
}

fn int(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(Value::as_i64).unwrap_or(0)
}

fn encode<T: Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}

impl Repository {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    pub fn table(&self) -> &Arc<dyn Table> {
        &self.table
    }

    // ---- tenants and keys -------------------------------------------------

    /// Stores a new tenant (listed on GSI1 under `TENANTS`).
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut item = to_item(&keys::tenant(tenant.tenant_id), tenant)?;
        item.insert(GSI1PK.into(), keys::TENANTS_GSI1PK.into());
        item.insert(
            GSI1SK.into(),
            keys::tenant_gsi1sk(tenant.created_at, tenant.tenant_id).into(),
        );
        self.table
            .write(WriteOp::put(item).when(Condition::NotExists))
            .await?;
        Ok(())
    }

    /// Replaces an existing tenant's settings (bot overrides, own provider).
    pub async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut item = to_item(&keys::tenant(tenant.tenant_id), tenant)?;
        item.insert(GSI1PK.into(), keys::TENANTS_GSI1PK.into());
        item.insert(
            GSI1SK.into(),
            keys::tenant_gsi1sk(tenant.created_at, tenant.tenant_id).into(),
        );
        self.table
            .write(WriteOp::put(item).when(Condition::Exists))
            .await?;
        Ok(())
    }

    pub async fn get_tenant(&self, tenant: Uuid) -> Result<Option<Tenant>, StoreError> {
        self.table
            .get(&keys::tenant(tenant))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Every tenant, oldest first.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let query = Query::partition(keys::TENANTS_GSI1PK).on_gsi1();
        self.query_all(query)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Stores a key: the lookup item by hash and the tenant's listing item,
    /// together.
    pub async fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let lookup = to_item(&keys::api_key(&record.key_hash), record)?;
        let listing = to_item(
            &keys::tenant_key_listing(record.tenant_id, record.key_id),
            record,
        )?;
        self.table
            .transact(vec![
                WriteOp::put(lookup).when(Condition::NotExists),
                WriteOp::put(listing).when(Condition::NotExists),
                WriteOp::Check {
                    key: keys::tenant(record.tenant_id),
                    condition: Condition::Exists,
                },
            ])
            .await
    }

    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.table
            .get(&keys::api_key(key_hash))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn list_api_keys(&self, tenant: Uuid) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(keys::KEY_PREFIX.into()));
        self.query_all(query)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Marks a key revoked in both of its items. `false` when no such key.
    pub async fn revoke_api_key(&self, tenant: Uuid, key_id: Uuid) -> Result<bool, StoreError> {
        let listing_key = keys::tenant_key_listing(tenant, key_id);
        let Some(listing) = self.table.get(&listing_key).await? else {
            return Ok(false);
        };
        let record: ApiKeyRecord = from_item(listing)?;
        let revoke = Update::new().set("revoked", true);
        self.table
            .transact(vec![
                WriteOp::update(keys::api_key(&record.key_hash), revoke.clone())
                    .when(Condition::Exists),
                WriteOp::update(listing_key, revoke).when(Condition::Exists),
            ])
            .await?;
        Ok(true)
    }

    // ---- sessions --------------------------------------------------------

    /// One atomic write: the session, the tenant's counters and, for a
    /// session with a user, the user's counters and the entry listing the
    /// session under the user. `expires` (epoch seconds) is the retention
    /// TTL of the session and its list entry, and of the user's counters.
    pub async fn create_session(&self, session: &Session, expires: i64) -> Result<(), StoreError> {
        let mut item = to_item(
            &keys::session(session.tenant_id, session.session_id),
            session,
        )?;
        item.insert(TTL.into(), expires.into());
        item.insert(GSI1PK.into(), keys::tenant_pk(session.tenant_id).into());
        item.insert(
            GSI1SK.into(),
            keys::session_activity_gsi1sk(session.last_activity, session.session_id).into(),
        );
        let with_user = session.user_identifier.is_some();
        let mut ops = vec![
            WriteOp::put(item).when(Condition::NotExists),
            WriteOp::update(
                keys::stats(session.tenant_id),
                Update::new().add("total_sessions", 1).add(
                    if with_user {
                        "sessions_with_user"
                    } else {
                        "sessions_without_user"
                    },
                    1,
                ),
            ),
        ];
        if let Some(user) = &session.user_identifier {
            ops.push(WriteOp::update(
                keys::user(session.tenant_id, user),
                Update::new()
                    .add("session_count", 1)
                    .set("user_identifier", user.clone())
                    .set_if_absent("first_seen", session.created_at)
                    .set("last_seen", session.created_at)
                    .set(TTL, expires),
            ));
            ops.push(WriteOp::update(
                keys::user_session(session.tenant_id, user, session.session_id),
                user_session_entry(session, expires),
            ));
        }
        // Every create touches the tenant's STATS item: concurrent creates
        // conflict on DynamoDB and are retried (the session put is guarded).
        retry_conflicts(|| self.table.transact(ops.clone())).await
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
                Update::new().set("config", Value::Object(merged)),
            )
            .when(Condition::Equals("config".into(), old));
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

    /// Stores messages of one exchange and bumps the session, atomically.
    /// The messages get the retention TTL `expires`; the session's (and its
    /// user list entry's) is moved to it.
    pub async fn append_messages(
        &self,
        session: &Session,
        messages: &[Message],
        now_ms: i64,
        expires: i64,
    ) -> Result<(), StoreError> {
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let mut ops = Vec::with_capacity(messages.len() + 2);
        for message in messages {
            let key = keys::message(tenant, sid, message.message_id);
            let mut item = to_item(&key, message)?;
            item.insert(TTL.into(), expires.into());
            ops.push(WriteOp::put(item).when(Condition::NotExists));
        }
        ops.push(
            WriteOp::update(
                keys::session(tenant, sid),
                Update::new()
                    .add("message_count", messages.len() as i64)
                    .set("last_activity", now_ms)
                    .set(GSI1SK, keys::session_activity_gsi1sk(now_ms, sid))
                    .set(TTL, expires),
            )
            .when(Condition::Exists),
        );
        if let Some(user) = &session.user_identifier {
            // Unconditional: the session's condition above already fails
            // the whole write when the session (and so its entry) was erased.
            ops.push(WriteOp::update(
                keys::user_session(tenant, user, sid),
                user_session_entry(session, expires),
            ));
        }
        // A conflict with a concurrent transaction on the same session (no
        // condition failed) is retried: the writes are unconditional adds.
        retry_conflicts(|| self.table.transact(ops.clone())).await
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
            for chunk in keys.chunks(super::MAX_TRANSACT_ITEMS - 1) {
                let mut ops: Vec<WriteOp> = chunk
                    .iter()
                    .map(|k| WriteOp::delete(k.clone()).when(Condition::Exists))
                    .collect();
                ops.push(
                    WriteOp::update(
                        keys::session(tenant, session),
                        Update::new().add("message_count", -(chunk.len() as i64)),
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

    // ---- files -----------------------------------------------------------

    /// Stores the file record, makes it the session's active file and
    /// retires the previous one, atomically. Guarded by the active file the
    /// caller saw, so two racing uploads cannot both win.
    pub async fn activate_file(
        &self,
        session: &Session,
        record: &FileRecord,
        active: &ActiveFile,
        completes_upload: bool,
        expires: i64,
    ) -> Result<(), StoreError> {
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let previous = session.active_file.as_ref().map(|f| f.file_id);
        let guard = match previous {
            Some(id) => Condition::Equals("active_file_id".into(), Value::String(id.to_string())),
            None => Condition::And(vec![
                Condition::Exists,
                Condition::AttributeNotExists("active_file_id".into()),
            ]),
        };
        let mut file_item = to_item(&keys::file(tenant, sid, record.file_id), record)?;
        file_item.insert(TTL.into(), expires.into());
        let mut ops = vec![
            WriteOp::put(file_item).when(Condition::NotExists),
            WriteOp::update(
                keys::session(tenant, sid),
                Update::new()
                    .set("active_file", encode(active)?)
                    .set("active_file_id", active.file_id.to_string())
                    .set(TTL, expires),
            )
            .when(guard),
        ];
        if let Some(id) = previous {
            ops.push(
                WriteOp::update(
                    keys::file(tenant, sid, id),
                    Update::new().set("is_active", false),
                )
                .when(Condition::Exists),
            );
        }
        if completes_upload {
            // Completing twice fails here: the grant is consumed.
            ops.push(
                WriteOp::delete(keys::pending_upload(tenant, sid, record.file_id))
                    .when(Condition::Exists),
            );
        }
        self.table.transact(ops).await
    }

    /// Records a granted direct upload.
    pub async fn put_pending_upload(
        &self,
        session: &Session,
        upload: &PendingUpload,
    ) -> Result<(), StoreError> {
        let key = keys::pending_upload(session.tenant_id, session.session_id, upload.file_id);
        self.table
            .write(WriteOp::put(to_item(&key, upload)?).when(Condition::NotExists))
            .await?;
        Ok(())
    }

    pub async fn get_pending_upload(
        &self,
        tenant: Uuid,
        session: Uuid,
        file: Uuid,
    ) -> Result<Option<PendingUpload>, StoreError> {
        self.table
            .get(&keys::pending_upload(tenant, session, file))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Soft-deletes the active file: the record stays, marked inactive.
    pub async fn deactivate_file(&self, session: &Session) -> Result<bool, StoreError> {
        let Some(active) = &session.active_file else {
            return Ok(false);
        };
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let ops = vec![
            WriteOp::update(
                keys::session(tenant, sid),
                Update::new().remove("active_file").remove("active_file_id"),
            )
            .when(Condition::Equals(
                "active_file_id".into(),
                Value::String(active.file_id.to_string()),
            )),
            WriteOp::update(
                keys::file(tenant, sid, active.file_id),
                Update::new().set("is_active", false),
            )
            .when(Condition::Exists),
        ];
        match retry_conflicts(|| self.table.transact(ops.clone())).await {
            Ok(()) => Ok(true),
            // That file is no longer the active one (deleted or replaced).
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_file(
        &self,
        tenant: Uuid,
        session: Uuid,
        file: Uuid,
    ) -> Result<Option<FileRecord>, StoreError> {
        self.table
            .get(&keys::file(tenant, session, file))
            .await?
            .map(from_item)
            .transpose()
    }

    // ---- rate limits -----------------------------------------------------

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
                    .add("count", 1)
                    .set_if_absent(super::TTL, expires_epoch_secs),
            ))
            .await?
            .ok_or_else(|| StoreError::Invalid("update returned no item".into()))?;
        Ok(int(&item, "count"))
    }

    // ---- stats -----------------------------------------------------------

    pub async fn tenant_stats(&self, tenant: Uuid) -> Result<TenantStats, StoreError> {
        let item = self
            .table
            .get(&keys::stats(tenant))
            .await?
            .unwrap_or_default();
        Ok(TenantStats {
            total_sessions: int(&item, "total_sessions"),
            sessions_with_user: int(&item, "sessions_with_user"),
            sessions_without_user: int(&item, "sessions_without_user"),
        })
    }

    /// Sessions active at or after `since_ms`, from GSI1 (never a Scan).
    pub async fn count_active_since(&self, tenant: Uuid, since_ms: i64) -> Result<i64, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant)).on_gsi1().sort(
            SortCondition::GreaterOrEqual(keys::activity_bound(since_ms)),
        );
        let mut count = 0;
        let mut after = None;
        loop {
            let page = self.table.query(&query.clone().start_after(after)).await?;
            count += page.items.len() as i64;
            match page.last_key {
                Some(cursor) => after = Some(cursor),
                None => return Ok(count),
            }
        }
    }

    /// Every user of the tenant with their session count.
    pub async fn user_stats(&self, tenant: Uuid) -> Result<Vec<UserStat>, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(keys::USER_PREFIX.into()));
        Ok(self
            .query_all(query)
            .await?
            .into_iter()
            .filter_map(|item| {
                let user = item.get("user_identifier")?.as_str()?.to_owned();
                Some(UserStat {
                    session_count: int(&item, "session_count"),
                    user_identifier: user,
                })
            })
            .collect())
    }

    // ---- privacy -----------------------------------------------------------

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
    /// removed its blobs. Safe to repeat after a failure: the session item
    /// and the tenant counters go first, together (so the counters move
    /// exactly once); then every other item of the partition; the user's
    /// list entry last, so a retry still finds the session. Returns the
    /// items deleted besides the session.
    pub async fn erase_user_session(
        &self,
        tenant: Uuid,
        user_identifier: &str,
        session: Uuid,
    ) -> Result<usize, StoreError> {
        let counted = self
            .table
            .transact(vec![
                WriteOp::delete(keys::session(tenant, session)).when(Condition::Exists),
                WriteOp::update(
                    keys::stats(tenant),
                    Update::new()
                        .add("total_sessions", -1)
                        .add("sessions_with_user", -1),
                ),
            ])
            .await;
        match counted {
            Ok(()) => {}
            // Gone already (an earlier attempt, or expired): nothing to count.
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {}
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
        self.table
            .write(WriteOp::delete(keys::user_session(
                tenant,
                user_identifier,
                session,
            )))
            .await?;
        Ok(deleted)
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

    /// Every page of a query.
    async fn query_all(&self, query: Query) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let page = self.table.query(&query.clone().start_after(after)).await?;
            items.extend(page.items);
            match page.last_key {
                Some(cursor) => after = Some(cursor),
                None => return Ok(items),
            }
        }
    }
}
