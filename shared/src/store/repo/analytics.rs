//! Daily counters of a tenant (`TENANT#{tid}` / `DAY#{yyyy-mm-dd}#S{nn}`):
//! each is moved with ADD inside the transaction that records the event (a
//! session created, an exchange stored, a file uploaded, a reply rated), so
//! they are exact without a round trip of their own. A day's counters are
//! split into `chat_core::shard::TENANT_COUNTER_SHARDS` items, the shard
//! picked by the session, so a busy tenant's writes spread over many items;
//! a range of days, every shard and the unsharded items written before the
//! split included, is still one query, summed per day on read.

use uuid::Uuid;

use super::{Repository, attrs, int};
use crate::store::{Item, Query, SK, SortCondition, StoreError, TTL, Update, WriteOp, keys};

/// How long a day's counters are kept after the day: the longest range the
/// analytics endpoint reads, and a little more.
const KEEP_DAYS: i64 = 400;

/// What happened on one day, as counter deltas (zero: untouched).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub sessions: i64,
    pub messages: i64,
    pub new_users: i64,
    pub uploads: i64,
    pub feedback_up: i64,
    pub feedback_down: i64,
    pub provider_errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

/// One day's counters as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    /// `yyyy-mm-dd`, UTC.
    pub date: String,
    pub counts: DayCounts,
}

impl DayCounts {
    fn fields(&self) -> [(&'static str, i64); 9] {
        [
            (attrs::SESSIONS, self.sessions),
            (attrs::MESSAGES, self.messages),
            (attrs::NEW_USERS, self.new_users),
            (attrs::UPLOADS, self.uploads),
            (attrs::FEEDBACK_UP, self.feedback_up),
            (attrs::FEEDBACK_DOWN, self.feedback_down),
            (attrs::PROVIDER_ERRORS, self.provider_errors),
            (attrs::INPUT_TOKENS, self.input_tokens),
            (attrs::OUTPUT_TOKENS, self.output_tokens),
        ]
    }

    fn of_item(item: &Item) -> Self {
        Self {
            sessions: int(item, attrs::SESSIONS),
            messages: int(item, attrs::MESSAGES),
            new_users: int(item, attrs::NEW_USERS),
            uploads: int(item, attrs::UPLOADS),
            feedback_up: int(item, attrs::FEEDBACK_UP),
            feedback_down: int(item, attrs::FEEDBACK_DOWN),
            provider_errors: int(item, attrs::PROVIDER_ERRORS),
            input_tokens: int(item, attrs::INPUT_TOKENS),
            output_tokens: int(item, attrs::OUTPUT_TOKENS),
        }
    }

    /// Sums `other` into these.
    pub fn add(&mut self, other: &DayCounts) {
        self.sessions += other.sessions;
        self.messages += other.messages;
        self.new_users += other.new_users;
        self.uploads += other.uploads;
        self.feedback_up += other.feedback_up;
        self.feedback_down += other.feedback_down;
        self.provider_errors += other.provider_errors;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }

    pub fn is_zero(&self) -> bool {
        self.fields().iter().all(|(_, n)| *n == 0)
    }
}

/// The write that adds `counts` to the tenant's counters of the UTC day of
/// `at_ms`, in the shard of `session`; part of the transaction recording the
/// event. Unconditional, so it never fails the transaction it rides in.
pub fn count_day(tenant: Uuid, session: Uuid, at_ms: i64, counts: &DayCounts) -> WriteOp {
    let date = keys::date_of(at_ms);
    let day_end_secs = at_ms.div_euclid(86_400_000) * 86_400 + 86_400;
    let mut update = Update::new()
        .set(attrs::DATE, date.clone())
        .set(TTL, day_end_secs + KEEP_DAYS * 86_400);
    for (name, delta) in counts.fields() {
        if delta != 0 {
            update = update.add(name, delta);
        }
    }
    WriteOp::update(keys::day_shard(tenant, &date, session), update)
}

impl Repository {
    /// The days from `first` to `last` (`yyyy-mm-dd`, inclusive) that have
    /// counters, oldest first, each the sum of its shards (and of its
    /// unsharded item, if written before the split): one query (a page of
    /// 1 MB holds a month of full days; a year of busy days takes two).
    pub async fn day_counters(
        &self,
        tenant: Uuid,
        first: &str,
        last: &str,
    ) -> Result<Vec<DayTotals>, StoreError> {
        let (low, high) = keys::day_range(first, last);
        let query =
            Query::partition(keys::tenant_pk(tenant)).sort(SortCondition::Between(low, high));
        let mut days: Vec<DayTotals> = Vec::new();
        for item in self.query_all(query).await? {
            let Some(date) = item
                .get(SK)
                .and_then(|sk| sk.as_str())
                .and_then(keys::date_of_day_sk)
            else {
                continue;
            };
            let counts = DayCounts::of_item(&item);
            // Items arrive in key order: a day's shards are adjacent.
            match days.last_mut() {
                Some(day) if day.date == date => day.counts.add(&counts),
                _ => days.push(DayTotals {
                    date: date.to_owned(),
                    counts,
                }),
            }
        }
        Ok(days)
    }
}
