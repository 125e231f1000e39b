//! The tenant's monthly budget counters, sharded
//! (`BUDGET#{yyyy-mm}#S07` in the tenant's partition, `chat_core::shard`):
//! `admitted` (messages counted against `budget.monthlyMessages` when they
//! are let in, bumped by the limiter under each shard's quota), and what the
//! message-append write adds: `messages` (the visitors' messages stored),
//! `tokensIn`, `tokensOut` and their sum `tokens`, from the providers'
//! usage in the reply's metadata.

use chat_core::shard::{TENANT_COUNTER_SHARDS, shard_of};
use serde_json::Value;
use uuid::Uuid;

use super::Repository;
use crate::model::{Message, Role};
use crate::store::{StoreError, TTL, Update, WriteOp, keys};

pub const ADMITTED: &str = "admitted";
pub const MESSAGES: &str = "messages";
pub const TOKENS_IN: &str = "tokensIn";
pub const TOKENS_OUT: &str = "tokensOut";
pub const TOKENS: &str = "tokens";

/// How long a month's counters are kept: the analytics can look back a
/// year.
const KEEP_SECS: i64 = 400 * 86_400;

/// A month's budget counters, all shards summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthUsage {
    pub admitted: i64,
    pub messages: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub tokens: i64,
    /// Each shard's `admitted`.
    pub admitted_by_shard: Vec<i64>,
}

/// When a month's counter item expires.
pub fn month_expiry(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000) + KEEP_SECS
}

/// The append write's share: the stored visitors' messages and the reply's
/// tokens, added to the month's shard of the session. `None` when there is
/// nothing to add.
pub fn count_month(tenant: Uuid, session: Uuid, now_ms: i64, stored: &[Message]) -> Option<WriteOp> {
    let token = |m: &Message, name: &str| m.metadata.get(name).and_then(Value::as_i64).unwrap_or(0);
    let messages = stored.iter().filter(|m| m.role == Role::User).count() as i64;
    let tokens_in: i64 = stored.iter().map(|m| token(m, "inputTokens")).sum();
    let tokens_out: i64 = stored.iter().map(|m| token(m, "outputTokens")).sum();
    if messages == 0 && tokens_in == 0 && tokens_out == 0 {
        return None;
    }
    let shard = shard_of(&session.to_string(), TENANT_COUNTER_SHARDS);
    let key = keys::budget(tenant, &keys::month_of(now_ms), shard);
    let update = Update::new()
        .add(MESSAGES, messages)
        .add(TOKENS_IN, tokens_in)
        .add(TOKENS_OUT, tokens_out)
        .add(TOKENS, tokens_in + tokens_out)
        .set_if_absent(TTL, month_expiry(now_ms));
    Some(WriteOp::update(key, update))
}

impl Repository {
    /// The month's budget counters: one Query of its shards.
    pub async fn month_usage(&self, tenant: Uuid, month: &str) -> Result<MonthUsage, StoreError> {
        let shards = usize::from(TENANT_COUNTER_SHARDS);
        let attrs = [ADMITTED, MESSAGES, TOKENS_IN, TOKENS_OUT, TOKENS];
        let counts = self
            .shard_counts(tenant, keys::budget_shards(month), &attrs, shards)
            .await?;
        let sum = |i: usize| counts[i].iter().sum::<i64>();
        Ok(MonthUsage {
            admitted: sum(0),
            messages: sum(1),
            tokens_in: sum(2),
            tokens_out: sum(3),
            tokens: sum(4),
            admitted_by_shard: counts[0].clone(),
        })
    }
}
