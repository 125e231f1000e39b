//! A tenant's conversations as its console sees them: a page of sessions,
//! newest activity first (GSI1, or GSI2 for one user), each row read from
//! the session item alone; and one session's whole transcript with the
//! feedback on each reply.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{Repository, attrs, from_item, int};
use crate::model::{Message, Session};
use crate::store::{Cursor, Item, Key, Query, SK, SortCondition, StoreError, keys};

/// A session with what its list row shows beside the `Session` fields.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub session: Session,
    /// The first user message, cut short.
    pub preview: Option<String>,
    pub feedback_up: i64,
    pub feedback_down: i64,
}

impl SessionRow {
    fn of_item(item: Item) -> Result<Self, StoreError> {
        let preview = item
            .get(attrs::PREVIEW)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (feedback_up, feedback_down) = (
            int(&item, attrs::FEEDBACK_UP),
            int(&item, attrs::FEEDBACK_DOWN),
        );
        Ok(Self {
            session: from_item(item)?,
            preview,
            feedback_up,
            feedback_down,
        })
    }
}

/// Which sessions a list page holds.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub user: Option<String>,
    /// Last activity at or after (epoch ms).
    pub from_ms: Option<i64>,
    /// Last activity at or before (epoch ms).
    pub to_ms: Option<i64>,
}

/// A page of sessions, newest activity first.
#[derive(Debug, Clone, Default)]
pub struct SessionPage {
    pub rows: Vec<SessionRow>,
    /// Where the next page starts (the last row's index sort key, with `.`
    /// for its `#` so it needs no escaping in a URL), when more may follow.
    pub next: Option<String>,
}

/// A reply's rating, as stored on the message.
#[derive(Debug, Clone, Deserialize)]
pub struct Feedback {
    #[serde(rename = "feedback_rating")]
    pub rating: String,
    #[serde(rename = "feedback_comment", default)]
    pub comment: Option<String>,
    #[serde(rename = "feedback_at", default)]
    pub at: Option<i64>,
}

/// A message of a transcript, with its feedback.
#[derive(Debug, Clone)]
pub struct TranscriptMessage {
    pub message: Message,
    pub feedback: Option<Feedback>,
}

/// A session and every message in it, oldest first.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub row: SessionRow,
    pub messages: Vec<TranscriptMessage>,
}

impl Repository {
    /// One page of the tenant's sessions (or one user's), newest activity
    /// first, within the activity range: one query of GSI1 (GSI2 for a
    /// user), never a scan; `after` is a page's `next`.
    pub async fn list_sessions(
        &self,
        tenant: Uuid,
        filter: &SessionFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<SessionPage, StoreError> {
        let query = match &filter.user {
            Some(user) => Query::partition(keys::user_activity_gsi2pk(tenant, user)).on_gsi2(),
            None => Query::partition(keys::tenant_pk(tenant)).on_gsi1(),
        };
        let partition = query.partition.clone();
        let query = query
            .sort(activity_between(filter.from_ms, filter.to_ms))
            .descending()
            .limit(limit)
            .start_after(after.and_then(|sk| session_cursor(tenant, partition, sk)));
        let page = self.table.query(&query).await?;
        Ok(SessionPage {
            next: page
                .last_key
                .and_then(|c| c.index_key)
                .map(|(_, isk)| isk.replacen('#', ".", 1)),
            rows: page
                .items
                .into_iter()
                .map(SessionRow::of_item)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The session and all its messages (with their feedback), one query per
    /// page of its partition; `None` when there is no such session.
    pub async fn transcript(
        &self,
        tenant: Uuid,
        session: Uuid,
    ) -> Result<Option<Transcript>, StoreError> {
        let query = Query::partition(keys::session_pk(tenant, session)).sort(
            SortCondition::Between(keys::MSG_PREFIX.into(), keys::SESSION_SK.into()),
        );
        let mut row = None;
        let mut messages = Vec::new();
        for item in self.query_all(query).await? {
            let sk = item.get(SK).and_then(Value::as_str).unwrap_or_default();
            if sk == keys::SESSION_SK {
                row = Some(SessionRow::of_item(item)?);
            } else {
                messages.push(transcript_message(item)?);
            }
        }
        Ok(row.map(|row| Transcript { row, messages }))
    }
}

/// Messages of an export page and where the next starts.
pub type MessagePage = (Vec<TranscriptMessage>, Option<Cursor>);

/// Sessions of an export page and where the next starts.
pub type RowPage = (Vec<SessionRow>, Option<Cursor>);

impl Repository {
    /// A page of the tenant's sessions, oldest activity first (an export
    /// reads them so: a session active meanwhile moves behind the cursor,
    /// so it may be read twice, never skipped).
    pub async fn sessions_oldest_first(
        &self,
        tenant: Uuid,
        (from_ms, to_ms): (Option<i64>, Option<i64>),
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<RowPage, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant))
            .on_gsi1()
            .sort(activity_between(from_ms, to_ms))
            .limit(limit)
            .start_after(after);
        let page = self.table.query(&query).await?;
        let rows = page
            .items
            .into_iter()
            .map(SessionRow::of_item)
            .collect::<Result<_, _>>()?;
        Ok((rows, page.last_key))
    }

    /// A page of a session's messages with their feedback, oldest first.
    pub async fn message_page(
        &self,
        tenant: Uuid,
        session: Uuid,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<MessagePage, StoreError> {
        let query = Query::partition(keys::session_pk(tenant, session))
            .sort(SortCondition::BeginsWith(keys::MSG_PREFIX.into()))
            .limit(limit)
            .start_after(after);
        let page = self.table.query(&query).await?;
        let messages = page
            .items
            .into_iter()
            .map(transcript_message)
            .collect::<Result<_, _>>()?;
        Ok((messages, page.last_key))
    }
}

/// Sessions last active from `from_ms` to `to_ms` (inclusive; open ends).
fn activity_between(from_ms: Option<i64>, to_ms: Option<i64>) -> SortCondition {
    let lower = keys::activity_bound(from_ms.unwrap_or(0));
    // `{to + 1}` alone sorts after every `{to}#{sid}` and before every
    // `{to + 1}#{sid}`: the range ends exactly at `to`.
    let upper = match to_ms {
        Some(to) => keys::activity_bound(to.saturating_add(1)),
        // After every 13-digit time and its `#`.
        None => "9999999999999~".to_owned(),
    };
    SortCondition::Between(lower, upper)
}

fn transcript_message(item: Item) -> Result<TranscriptMessage, StoreError> {
    let feedback = if item.contains_key(attrs::FEEDBACK_RATING) {
        Some(from_item::<Feedback>(item.clone())?)
    } else {
        None
    };
    Ok(TranscriptMessage {
        message: from_item(item)?,
        feedback,
    })
}

/// The store cursor after the session whose list cursor is `raw`
/// (`{activity:013}.{sid}`, its index sort key with `.` for `#`); `None`
/// for anything else. The primary key is
/// rebuilt from the caller's tenant, and the partition is the query's own,
/// so a cursor cannot lead outside the caller's sessions.
fn session_cursor(tenant: Uuid, partition: String, raw: &str) -> Option<Cursor> {
    let (at, sid) = raw.split_once('.')?;
    if at.len() != 13 || !at.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sid = Uuid::try_parse(sid).ok()?;
    Some(Cursor {
        key: Key::new(keys::session_pk(tenant, sid), keys::SESSION_SK),
        index_key: Some((partition, format!("{at}#{sid}"))),
    })
}

/// Whether `raw` is a cursor [`Repository::list_sessions`] accepts.
pub fn is_session_cursor(raw: &str) -> bool {
    session_cursor(Uuid::nil(), String::new(), raw).is_some()
}
