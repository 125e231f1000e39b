//! A visitor's rating of an assistant reply: kept on the message, counted on
//! the session and on the day of the reply, all in one atomic write guarded
//! by the rating it replaces, so a second rating moves every counter once.

use serde_json::Value;
use uuid::Uuid;

use super::analytics::{DayCounts, count_day};
use super::{MAX_RETRIES, Repository, attrs, backoff};
use crate::store::{Condition, Item, StoreError, Update, WriteOp, keys};

/// Thumbs up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "up" => Some(Rating::Up),
            "down" => Some(Rating::Down),
            _ => None,
        }
    }

    /// (up, down) deltas of this rating counted once.
    fn deltas(self) -> (i64, i64) {
        match self {
            Rating::Up => (1, 0),
            Rating::Down => (0, 1),
        }
    }
}

/// What rating a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateOutcome {
    Rated,
    MessageNotFound,
    /// The message is not an assistant reply.
    NotAReply,
}

/// A rating to store.
pub struct NewRating<'a> {
    pub tenant: Uuid,
    pub session: Uuid,
    pub message: Uuid,
    pub rating: Rating,
    pub comment: Option<&'a str>,
    pub at_ms: i64,
}

impl Repository {
    /// Rates a reply: one read of the message, then one transaction of the
    /// message (guarded by the rating read), the session's counts and the
    /// reply day's counts. A rating that changed in between is read again.
    pub async fn rate_message(&self, new: &NewRating<'_>) -> Result<RateOutcome, StoreError> {
        let key = keys::message(new.tenant, new.session, new.message);
        // Ratings of one reply racing each other each get a few more tries
        // than other writes: each retry reads the rating that won.
        for attempt in 0..2 * MAX_RETRIES {
            let Some(item) = self.table.get(&key).await? else {
                return Ok(RateOutcome::MessageNotFound);
            };
            if item.get(attrs::ROLE).and_then(Value::as_str) != Some("assistant") {
                return Ok(RateOutcome::NotAReply);
            }
            match self.table.transact(rating_writes(new, &item)).await {
                Ok(()) => return Ok(RateOutcome::Rated),
                // The session is gone (erased meanwhile).
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => {
                    return Ok(RateOutcome::MessageNotFound);
                }
                // Rated meanwhile, or a conflict: read the rating again.
                Err(StoreError::TransactionCancelled { .. }) => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::TransactionCancelled { failed: vec![] })
    }
}

/// The message's new rating (guarded by `current`'s), then the session's
/// and the reply day's counter moves: the new rating counted, the replaced
/// one uncounted.
fn rating_writes(new: &NewRating<'_>, current: &Item) -> Vec<WriteOp> {
    let previous = current
        .get(attrs::FEEDBACK_RATING)
        .and_then(Value::as_str)
        .and_then(Rating::parse);
    let guard = match previous {
        Some(p) => Condition::Equals(attrs::FEEDBACK_RATING.into(), p.as_str().into()),
        None => Condition::And(vec![
            Condition::Exists,
            Condition::AttributeNotExists(attrs::FEEDBACK_RATING.into()),
        ]),
    };
    let mut update = Update::new()
        .set(attrs::FEEDBACK_RATING, new.rating.as_str())
        .set(attrs::FEEDBACK_AT, new.at_ms);
    update = match new.comment {
        Some(c) => update.set(attrs::FEEDBACK_COMMENT, c),
        None => update.remove(attrs::FEEDBACK_COMMENT),
    };
    let (mut up, mut down) = new.rating.deltas();
    if let Some(p) = previous {
        let (pu, pd) = p.deltas();
        (up, down) = (up - pu, down - pd);
    }
    let key = keys::message(new.tenant, new.session, new.message);
    // The session check always runs, so index 1 is the session whatever
    // the deltas.
    let session = if (up, down) == (0, 0) {
        WriteOp::Check {
            key: keys::session(new.tenant, new.session),
            condition: Condition::Exists,
        }
    } else {
        WriteOp::update(
            keys::session(new.tenant, new.session),
            Update::new()
                .add(attrs::FEEDBACK_UP, up)
                .add(attrs::FEEDBACK_DOWN, down),
        )
        .when(Condition::Exists)
    };
    let mut ops = vec![WriteOp::update(key, update).when(guard), session];
    if (up, down) != (0, 0) {
        let replied_at = current
            .get(attrs::TIMESTAMP)
            .and_then(Value::as_i64)
            .unwrap_or(new.at_ms);
        let counts = DayCounts {
            feedback_up: up,
            feedback_down: down,
            ..DayCounts::default()
        };
        ops.push(count_day(new.tenant, new.session, replied_at, &counts));
    }
    ops
}
