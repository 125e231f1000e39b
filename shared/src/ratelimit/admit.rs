//! Letting one message in: every counter it meets, bumped in one write.
//!
//! The counters: the caller's own (a secret key's, or a widget visitor's),
//! for widget traffic the tenant ceiling's shard, and with a monthly
//! message cap the month's budget shard. With one counter the write is an
//! `UpdateItem` that returns the count; with more, a transaction, which
//! either bumps all or, naming the refused ones, none.
//!
//! Round trips per message: one write in the steady state. Reads only where
//! this instance lacks a final count: a visitor's (or key's) previous
//! window once per window (a `GetItem`), the ceiling's previous window once
//! per tenant and window (one Query of its shards), both at once; with a
//! monthly token cap, one Query of the month's shards per message (tokens
//! are known only after replies, so the sum is read; it runs beside the
//! session read). Near a sharded cap a refused shard costs one more write
//! per shard tried; a shard found full is remembered, so a tenant at its
//! ceiling is refused without a round trip.
//!
//! Sharded caps are exact: shard `i` of a cap `C` over `N` shards takes at
//! most `C/N` (the remainder spread over the first shards), so the shards
//! together never exceed `C`; a writer whose shard is full tries the next.

use chat_core::shard::{TENANT_COUNTER_SHARDS, shard_of};
use uuid::Uuid;

use super::window::{self, WINDOW_MS};
use super::{LimitKind, RateLimit, RateLimitError};
use crate::AppState;
use crate::auth::Caller;
use crate::model::OnExceeded;
use crate::store::repo::budget::{ADMITTED, MonthUsage, month_expiry};
use crate::store::repo::ratelimit::{COUNT, bounded_add};
use crate::store::{Key, StoreError, WriteOp, keys};

/// Whose own counter a message bumps.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A secret key: per key (`rateLimitPerHour`).
    Key,
    /// A widget visitor (`ratelimit::visitor`'s name for it).
    Visitor(&'a str),
}

/// A message let in: the caller's standing, and whether the budget sends it
/// to the tenant's fallback provider.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    pub status: RateLimit,
    pub fallback: bool,
}

/// The instant a message is counted at.
struct At {
    now: i64,
    window: i64,
    elapsed: i64,
    month: String,
}

const SHARDS: usize = TENANT_COUNTER_SHARDS as usize;

/// A sharded cap's next shard to try: from the writer's own, onwards.
struct Shards {
    /// The writer's own shard.
    home: usize,
    order: Vec<usize>,
    next: usize,
    /// Each shard's bound on its count now.
    bounds: Vec<i64>,
}

impl Shards {
    fn new(seed: &str, bounds: Vec<i64>, usable: impl Fn(usize) -> bool) -> Self {
        let first = usize::from(shard_of(seed, TENANT_COUNTER_SHARDS));
        let order = (0..SHARDS)
            .map(|i| (first + i) % SHARDS)
            .filter(|&s| bounds[s] > 0 && usable(s))
            .collect();
        Self {
            home: first,
            order,
            next: 0,
            bounds,
        }
    }

    fn current(&self) -> Option<usize> {
        self.order.get(self.next).copied()
    }
}

/// Shard `i`'s share of a cap.
fn quota(cap: i64, shard: usize) -> i64 {
    let n = SHARDS as i64;
    cap / n + i64::from((shard as i64) < cap % n)
}

/// Counts one message for `subject` (and the tenant's shared counters).
/// Over a limit it is [`RateLimitError::Exceeded`]: nothing was counted.
pub async fn admit(
    state: &AppState,
    caller: &Caller,
    subject: Subject<'_>,
    seed: &str,
) -> Result<Admission, RateLimitError> {
    let now = state.now_ms();
    let at = At {
        now,
        window: window::window_of(now),
        elapsed: window::elapsed_in(now),
        month: keys::month_of(now),
    };
    let tenant = &caller.tenant;
    let key_limit = tenant
        .rate_limit_per_hour
        .filter(|n| *n > 0)
        .unwrap_or(state.config.rate_limit_per_hour);
    let (kind, limit) = match subject {
        Subject::Key => (LimitKind::Key, key_limit),
        Subject::Visitor(_) => (
            LimitKind::Visitor,
            tenant.limits.per_visitor_per_hour.unwrap_or(key_limit),
        ),
    };
    let counter = |w: i64| match subject {
        Subject::Key => keys::rate(caller.key.key_id, w),
        Subject::Visitor(v) => keys::visitor_rate(tenant.tenant_id, v, w),
    };
    let ceiling = match subject {
        Subject::Visitor(_) => tenant.limits.tenant_per_hour.map(i64::from),
        Subject::Key => None,
    };
    let (prev, ceiling_prev, usage) = tokio::try_join!(
        previous_count(state, &at, counter(at.window - 1)),
        ceiling_previous(state, &at, tenant.tenant_id, ceiling.is_some()),
        month_usage(state, &at, tenant.tenant_id, tenant.budget.monthly_tokens.is_some()),
    )?;
    let mut fallback = false;
    if let (Some(cap), Some(usage)) = (tenant.budget.monthly_tokens, &usage)
        && usage.tokens >= cap as i64
    {
        match tenant.budget.on_exceeded {
            OnExceeded::Reject => return Err(month_exceeded(LimitKind::MonthlyTokens, cap, &at)),
            OnExceeded::Fallback => fallback = true,
        }
    }
    let own = Own {
        kind,
        limit: i64::from(limit),
        prev,
        key: counter(at.window),
    };
    let mut plan = Plan::new(state, &at, caller, seed, ceiling.map(|c| (c, ceiling_prev)));
    plan.fallback = fallback;
    run(state, &at, own, plan, caller).await
}

/// The caller's own counter.
struct Own {
    kind: LimitKind,
    limit: i64,
    prev: i64,
    key: Key,
}

/// The tenant ceiling: its cap, shards and their previous window's counts.
struct Ceiling {
    cap: i64,
    shards: Shards,
    prev: Vec<i64>,
}

/// The tenant's shared counters this message must also fit in.
struct Plan {
    ceiling: Option<Ceiling>,
    month: Option<(u64, Shards)>,
    policy: OnExceeded,
    fallback: bool,
}

impl Plan {
    fn new(state: &AppState, at: &At, caller: &Caller, seed: &str, ceiling: Option<(i64, Vec<i64>)>) -> Self {
        let memo = &state.limits;
        let tenant = caller.tenant.tenant_id;
        let ceiling = ceiling.map(|(cap, prev)| {
            let bounds = (0..SHARDS)
                .map(|s| window::threshold(quota(cap, s), prev[s], at.elapsed))
                .collect();
            let full = memo.shards_full(at.window, &at.month, tenant, SHARDS);
            let shards = Shards::new(seed, bounds, |s| full.get(s).is_none_or(|u| *u <= at.now));
            Ceiling { cap, shards, prev }
        });
        let month = caller.tenant.budget.monthly_messages.map(|cap| {
            let bounds = (0..SHARDS).map(|s| quota(cap as i64, s)).collect();
            let full = memo.month_full(at.window, &at.month, (tenant, cap), SHARDS);
            (cap, Shards::new(seed, bounds, |s| !full.get(s).copied().unwrap_or(false)))
        });
        Self {
            ceiling,
            month,
            policy: caller.tenant.budget.on_exceeded,
            fallback: false,
        }
    }

    /// The ceiling shard to bump now; `Err` when every shard is full.
    fn ceiling_op(&self, at: &At, tenant: Uuid) -> Result<Option<(WriteOp, usize)>, RateLimitError> {
        let Some(c) = &self.ceiling else {
            return Ok(None);
        };
        let Some(s) = c.shards.current() else {
            return Err(refused_ceiling(at, c));
        };
        let key = keys::ceiling(tenant, at.window, s as u16);
        let expires = (at.window + 2) * (WINDOW_MS / 1000);
        Ok(Some((bounded_add(key, COUNT, Some(c.shards.bounds[s]), expires), s)))
    }

    /// The month shard to bump now (unbounded once falling back); `Err`
    /// when every shard is full and the tenant rejects.
    fn month_op(&self, at: &At, tenant: Uuid) -> Result<Option<(WriteOp, usize)>, RateLimitError> {
        let Some((cap, shards)) = &self.month else {
            return Ok(None);
        };
        let (s, bound) = match shards.current() {
            Some(s) if !self.fallback => (s, Some(shards.bounds[s])),
            _ if self.fallback => (shards.home, None),
            _ => return Err(month_exceeded(LimitKind::MonthlyMessages, *cap, at)),
        };
        let key = keys::budget(tenant, &at.month, s as u16);
        Ok(Some((bounded_add(key, ADMITTED, bound, month_expiry(at.now)), s)))
    }

    /// After a refusal: the refused shards are full; the next ones are
    /// tried, and with the month's all full a falling-back tenant's
    /// messages go on, counted, to the fallback provider.
    fn step(&mut self, state: &AppState, at: &At, tenant: Uuid, refused: &[usize], ceiling_at: Option<(usize, usize)>, month_at: Option<(usize, usize)>) {
        if let (Some((i, s)), Some(c)) = (ceiling_at, &mut self.ceiling)
            && refused.contains(&i)
        {
            // Full until what the previous window carries falls by one.
            let q = quota(c.cap, s);
            let wait = window::wait_ms(q, c.prev[s], c.shards.bounds[s], at.elapsed);
            let until = (at.now + wait.max(1)).min((at.window + 1) * WINDOW_MS);
            state.limits.set_shard_full(at.window, &at.month, tenant, s, until);
            c.shards.next += 1;
        }
        if let (Some((i, s)), Some((cap, shards))) = (month_at, &mut self.month)
            && refused.contains(&i)
        {
            state.limits.set_month_full(at.window, &at.month, (tenant, *cap), s);
            shards.next += 1;
            if shards.current().is_none() && self.policy == OnExceeded::Fallback {
                self.fallback = true;
            }
        }
    }
}

/// The previous window's count of the caller's counter: remembered, else
/// read once (it is final).
async fn previous_count(state: &AppState, at: &At, key: Key) -> Result<i64, StoreError> {
    let name = format!("{}|{}", key.pk, key.sk);
    if let Some(n) = state.limits.prev(at.window, &at.month, &name) {
        return Ok(n);
    }
    let n = state.repo.rate_count(&key).await?;
    state.limits.set_prev(at.window, &at.month, &name, n);
    Ok(n)
}

/// The ceiling's previous window, per shard: remembered, else one Query.
async fn ceiling_previous(
    state: &AppState,
    at: &At,
    tenant: Uuid,
    wanted: bool,
) -> Result<Vec<i64>, StoreError> {
    if !wanted {
        return Ok(vec![0; SHARDS]);
    }
    if let Some(counts) = state.limits.shards_prev(at.window, &at.month, tenant) {
        return Ok(counts);
    }
    let prefix = keys::ceiling_shards(at.window - 1);
    let mut counts = state
        .repo
        .shard_counts(tenant, prefix, &[COUNT], SHARDS)
        .await?;
    let counts = counts.pop().unwrap_or_else(|| vec![0; SHARDS]);
    state
        .limits
        .set_shards_prev(at.window, &at.month, tenant, counts.clone());
    Ok(counts)
}

/// The month's budget counters, read when a token cap needs their sum.
async fn month_usage(
    state: &AppState,
    at: &At,
    tenant: Uuid,
    wanted: bool,
) -> Result<Option<MonthUsage>, StoreError> {
    if !wanted {
        return Ok(None);
    }
    Ok(Some(state.repo.month_usage(tenant, &at.month).await?))
}

/// A monthly cap reached: until the month turns.
fn month_exceeded(kind: LimitKind, cap: u64, at: &At) -> RateLimitError {
    use chrono::{Datelike, TimeZone, Utc};
    let now = Utc.timestamp_millis_opt(at.now).single().unwrap_or_default();
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let next = Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .map_or(at.now + WINDOW_MS, |t| t.timestamp_millis());
    let mut status = RateLimit::sliding(kind, cap as i64, 0, next - at.now, at.now);
    status.limit = cap;
    RateLimitError::Exceeded(status)
}

/// The bounded write (or transaction) of one message's counters, moving to
/// the next shard of a shared counter its own refused. Each pass is one
/// write; at most one pass per shard of each shared counter.
async fn run(state: &AppState, at: &At, own: Own, mut plan: Plan, caller: &Caller) -> Result<Admission, RateLimitError> {
    let tenant = caller.tenant.tenant_id;
    let bound = window::threshold(own.limit, own.prev, at.elapsed);
    let expires = (at.window + 2) * (WINDOW_MS / 1000);
    let name = format!("{}|{}", own.key.pk, own.key.sk);
    if bound <= 0 {
        return Err(refused_own(state, at, &own, bound, &name));
    }
    // Each pass but the last marks at least one shard full.
    for _ in 0..=2 * SHARDS {
        let mut ops = vec![bounded_add(own.key.clone(), COUNT, Some(bound), expires)];
        let mut place = |op: Option<(WriteOp, usize)>| {
            op.map(|(op, s)| {
                ops.push(op);
                (ops.len() - 1, s)
            })
        };
        let ceiling_at = place(plan.ceiling_op(at, tenant)?);
        let month_at = place(plan.month_op(at, tenant)?);
        let refused = if ops.len() == 1 {
            match state.repo.count_below(ops.remove(0)).await? {
                Some(count) => {
                    state.limits.raise_tally(at.window, &at.month, &name, count);
                    return Ok(admitted(&own, at, bound - count, plan.fallback));
                }
                None => vec![0],
            }
        } else {
            match state.repo.count_together(ops).await? {
                Ok(()) => {
                    let tally = state.limits.bump_tally(at.window, &at.month, &name);
                    return Ok(admitted(&own, at, bound - tally, plan.fallback));
                }
                Err(refused) => refused,
            }
        };
        if refused.contains(&0) {
            return Err(refused_own(state, at, &own, bound, &name));
        }
        plan.step(state, at, tenant, &refused, ceiling_at, month_at);
    }
    Err(StoreError::Invalid("the limiter's shards did not settle".into()).into())
}

fn admitted(own: &Own, at: &At, remaining: i64, fallback: bool) -> Admission {
    Admission {
        status: RateLimit::sliding(own.kind, own.limit, remaining, 0, at.now),
        fallback,
    }
}

/// The caller's own limit reached: its count is at least `bound`.
fn refused_own(state: &AppState, at: &At, own: &Own, bound: i64, name: &str) -> RateLimitError {
    let known = state.limits.tally(at.window, &at.month, name);
    let cur = bound.max(known).max(0);
    let wait = window::wait_ms(own.limit, own.prev, cur, at.elapsed);
    RateLimitError::Exceeded(RateLimit::sliding(own.kind, own.limit, 0, wait, at.now))
}

/// Every ceiling shard full: until the first is expected to have room.
fn refused_ceiling(at: &At, c: &Ceiling) -> RateLimitError {
    let wait = (0..SHARDS)
        .filter(|&s| quota(c.cap, s) > 0)
        .map(|s| window::wait_ms(quota(c.cap, s), c.prev[s], c.shards.bounds[s].max(0), at.elapsed))
        .min()
        .unwrap_or(WINDOW_MS);
    RateLimitError::Exceeded(RateLimit::sliding(LimitKind::Tenant, c.cap, 0, wait, at.now))
}
