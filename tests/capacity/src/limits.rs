//! The limits a growing tenant (or the platform) meets, and the traffic at
//! which each is reached: every use grows linearly with the messages per
//! minute, checked at the peak (`peak_to_average` times the average).

use crate::inputs::Inputs;
use crate::model::{Operation, operations};

/// One limit and what one visitor message per second (average) uses of it
/// at the peak.
#[derive(Debug, Clone)]
pub struct Limit {
    pub name: &'static str,
    pub unit: &'static str,
    pub limit: f64,
    /// Use of the limit at 1 message per second on average, at the peak.
    pub per_message_per_second: f64,
    pub change: &'static str,
}

impl Limit {
    /// The average messages per minute at which the peak reaches the limit.
    pub fn reached_at(&self) -> f64 {
        self.limit / self.per_message_per_second * 60.0
    }

    /// The share of the limit used at the peak of `messages_per_minute`.
    pub fn use_at(&self, messages_per_minute: f64) -> f64 {
        messages_per_minute / 60.0 * self.per_message_per_second / self.limit
    }
}

fn kb(bytes: f64) -> f64 {
    (bytes / 1024.0).ceil().max(1.0)
}

/// Every limit, in the order they are reached.
pub fn limits(i: &Inputs) -> Vec<Limit> {
    let (t, l) = (&i.traffic, &i.limits);
    let peak = t.peak_to_average.value;
    let per_session = 1.0 / t.messages_per_session.value;
    let u = t.share_of_sessions_with_user.value;
    let uploads = t.uploads_per_1000_messages.value / 1000.0;
    // A transaction's write of a counter item: two units per KB.
    let counter = 2.0 * kb(i.items.counter_bytes.value);
    let day_writes = 1.0 + per_session + uploads;
    // The limits' items in the tenant's partition per message: the ceiling's
    // and the budget's shards (the visitor's counter has a key of its own),
    // and the budget shard moved again with the exchange.
    let rt = &i.round_trips;
    let limit_items =
        (rt.limit_counter_items_per_send.value - 1.0).max(0.0) + rt.budget_items_in_exchange.value;
    let session_kb = kb(i.items.session_bytes.value);
    let item = l.item_wcu_per_second.value;
    let mut all = vec![
        Limit {
            name: "one DAY counter item, unsharded (before issue 19)",
            unit: "WCU/s",
            limit: item,
            per_message_per_second: counter * day_writes * peak,
            change: "sharded now: each day's counters are TENANT_COUNTER_SHARDS items, the shard picked by the session (see the hottest shard's row)",
        },
        Limit {
            name: "the hottest DAY counter shard",
            unit: "WCU/s",
            limit: item,
            per_message_per_second: counter * day_writes * peak / l.counter_shards.value,
            change: "more shards (chat_core::shard::TENANT_COUNTER_SHARDS): reads stay one Query, a day's items grow with the shards",
        },
        Limit {
            name: "the tenant's item collection TENANT#t (counter, ceiling and budget shards, users), before DynamoDB splits it",
            unit: "WCU/s",
            limit: item,
            per_message_per_second: (counter * (day_writes + per_session + limit_items)
                + 2.0 * kb(i.items.user_entry_bytes.value) * u * per_session)
                * peak,
            change: "DynamoDB splits a hot item collection by sort key within minutes (split for heat), which the shards' distinct sort keys allow; for a sudden launch, give the counter shards partition keys of their own (TENANT#t#S07) and read them with one BatchGetItem",
        },
        Limit {
            name: "the tenant's partition of GSI1 (sessions by activity), not sharded",
            unit: "WCU/s",
            limit: item,
            per_message_per_second: (2.0 * session_kb + session_kb * (per_session + uploads))
                * peak,
            change: "every message moves its session in GSI1 (delete + put) in the one partition TENANT#t, under an ever-increasing sort key that split for heat cannot spread, and a throttled index slows the table's writes: shard GSI1PK by session (the console's list merges the shards' pages) or move a session's activity key at most once a minute",
        },
        Limit {
            name: "one publishable key's hourly counter, had it stayed per key (before issue 19)",
            unit: "WCU/s",
            limit: item,
            per_message_per_second: kb(i.items.rate_counter_bytes.value) * peak,
            change: "replaced: a widget send counts one item per visitor and hour, and the tenant ceiling's shards (see the budget shard row)",
        },
        Limit {
            name: "the hottest budget shard (month's messages and tokens)",
            unit: "WCU/s",
            limit: item,
            per_message_per_second: counter
                * rt.budget_items_in_exchange.value.max(1.0)
                * 2.0
                * peak
                / l.counter_shards.value,
            change: "more shards in the limits' module; the budget shard takes two writes per message (the admission and the exchange's tokens)",
        },
    ];
    all.extend(platform_limits(i, peak));
    all.sort_by(|a, b| a.reached_at().total_cmp(&b.reached_at()));
    all
}

/// What the operations use of `f` per message per second, at the peak.
type PerOperation<'a> = &'a dyn Fn(&Operation) -> f64;

fn platform_limits(i: &Inputs, peak: f64) -> Vec<Limit> {
    let ops = operations(i);
    let total =
        |f: PerOperation| -> f64 { ops.iter().map(|o| o.per_message * f(o)).sum::<f64>() * peak };
    let l = &i.limits;
    vec![
        Limit {
            name: "the table's on-demand write maximum",
            unit: "WCU/s",
            limit: l.table_wcu_per_second.value,
            per_message_per_second: total(&|o| o.wcu + o.index_wcu),
            change: "a quota: ask AWS to raise the table's maximum throughput",
        },
        Limit {
            name: "the table's on-demand read maximum",
            unit: "RCU/s",
            limit: l.table_rcu_per_second.value,
            per_message_per_second: total(&|o| o.rcu),
            change: "a quota: ask AWS to raise it",
        },
        Limit {
            name: "Lambda concurrent executions (account, region)",
            unit: "executions",
            limit: l.lambda_concurrency.value,
            per_message_per_second: total(&|o| o.requests * o.lambda_ms / 1000.0),
            change: "a quota increase; the send holds its instance for the whole reply stream, so this scales with the provider's speed; reserve concurrency for the sessions and tenant functions so a slow provider cannot starve them",
        },
        Limit {
            name: "API stage throttle (template ThrottlingRateLimit default)",
            unit: "requests/s",
            limit: l.api_stage_rps.value,
            per_message_per_second: total(&|o| o.requests),
            change: "raise the ThrottlingRateLimit and ThrottlingBurstLimit parameters: the per-visitor limits and tenant caps now bound what one site can send",
        },
        Limit {
            name: "API Gateway requests per second (account, region)",
            unit: "requests/s",
            limit: l.api_account_rps.value,
            per_message_per_second: total(&|o| o.requests),
            change: "a quota increase, or stacks in more regions",
        },
        Limit {
            name: "provider requests per minute",
            unit: "requests/min",
            limit: l.provider_rpm.value,
            per_message_per_second: 60.0 * peak,
            change: "a higher usage tier or an agreement with the provider; spread tenants over providers (Bedrock, issue 16); tenant budgets fall back to a cheaper model (issue 19 item 2)",
        },
        Limit {
            name: "provider input tokens per minute",
            unit: "tokens/min",
            limit: l.provider_input_tpm.value,
            per_message_per_second: 60.0 * i.tokens.provider_input_tokens.value * peak,
            change: "a higher provider tier; prompt caching of the system prompt and knowledge passages (cached input counts less against the limit); spread tenants over providers",
        },
        Limit {
            name: "provider output tokens per minute",
            unit: "tokens/min",
            limit: l.provider_output_tpm.value,
            per_message_per_second: 60.0 * i.tokens.output_tokens.value * peak,
            change: "a higher provider tier; a lower reply cap (maxTokens) per tenant; spread tenants over providers",
        },
    ]
}
