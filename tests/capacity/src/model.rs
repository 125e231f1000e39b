//! The arithmetic: DynamoDB units, Lambda time and requests per operation,
//! then rates, monthly costs and the limits at each scale.

use crate::inputs::Inputs;

/// Seconds in the month the costs are for (30 days).
pub const MONTH_SECONDS: f64 = 30.0 * 86_400.0;

/// Write units of one standard write of an item: one per started KB.
fn kb(bytes: f64) -> f64 {
    (bytes / 1024.0).ceil().max(1.0)
}

/// Read units of one strongly consistent read (every primary read here is):
/// one per started 4 KB.
fn rcu(bytes: f64) -> f64 {
    (bytes / 4096.0).ceil().max(1.0)
}

/// One API operation, its cost in units, and how often it happens per
/// visitor message.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: &'static str,
    pub per_message: f64,
    pub rcu: f64,
    /// Table write units (a transaction's items count twice).
    pub wcu: f64,
    /// Index write units: the session item moving in GSI1 (and GSI2).
    pub index_wcu: f64,
    pub lambda_ms: f64,
    pub memory_mb: f64,
    /// API Gateway requests, each one Lambda invocation.
    pub requests: f64,
    pub s3_puts: f64,
    pub s3_gets: f64,
}

/// Item sizes derived from the inputs.
struct Sizes {
    user_message: f64,
    reply: f64,
    session: f64,
    counter: f64,
    user_entry: f64,
}

fn sizes(i: &Inputs) -> Sizes {
    let chars = i.tokens.chars_per_token.value;
    let overhead = i.items.message_overhead_bytes.value;
    Sizes {
        user_message: overhead + i.tokens.user_message_tokens.value * chars,
        reply: overhead + i.tokens.output_tokens.value * chars,
        session: i.items.session_bytes.value,
        counter: i.items.counter_bytes.value,
        user_entry: i.items.user_entry_bytes.value,
    }
}

/// How long the provider streams one reply, in ms (the send's Lambda
/// waits for all of it).
pub fn provider_ms(i: &Inputs) -> f64 {
    let d = &i.durations;
    d.provider_first_token_ms.value
        + i.tokens.output_tokens.value / d.provider_tokens_per_second.value * 1000.0
}

fn send(i: &Inputs, s: &Sizes) -> Operation {
    let (u, rt, d) = (
        i.traffic.share_of_sessions_with_user.value,
        &i.round_trips,
        &i.durations,
    );
    // The session and its last 10 messages (5 exchanges), one Query.
    let read = rcu(s.session + 5.0 * (s.user_message + s.reply)) * rt.send_reads.value;
    let budget = rt.budget_items_in_exchange.value;
    let exchange = 2.0 * (kb(s.user_message) + kb(s.reply) + kb(s.session))
        + 2.0 * (1.0 + budget) * kb(s.counter)
        + 2.0 * u * kb(s.user_entry);
    // The limits' write: one counter on its own, several in a transaction.
    let items = rt.limit_counter_items_per_send.value;
    let counters = if items <= 1.0 {
        kb(i.items.rate_counter_bytes.value)
    } else {
        2.0 * items * kb(s.counter)
    };
    let trips = rt.send_reads.value + rt.send_writes.value;
    Operation {
        name: "send a message (and stream the reply)",
        per_message: 1.0,
        rcu: read,
        wcu: exchange + counters,
        // The session's activity key moves: delete + put in GSI1 (and GSI2).
        index_wcu: 2.0 * kb(s.session) * (1.0 + u),
        lambda_ms: d.own_cpu_send_ms.value
            + trips * d.dynamodb_round_trip_ms.value
            + provider_ms(i),
        memory_mb: d.memory_mb.value,
        requests: 1.0,
        s3_puts: 0.0,
        s3_gets: 0.0,
    }
}

fn light(i: &Inputs, name: &'static str, per_session: f64, rcu: f64, trips: f64) -> Operation {
    let d = &i.durations;
    Operation {
        name,
        per_message: per_session / i.traffic.messages_per_session.value,
        rcu,
        wcu: 0.0,
        index_wcu: 0.0,
        lambda_ms: d.own_cpu_other_ms.value + trips * d.dynamodb_round_trip_ms.value,
        memory_mb: d.memory_mb.value,
        requests: 1.0,
        s3_puts: 0.0,
        s3_gets: 0.0,
    }
}

/// Every operation of the widget's traffic, per visitor message.
pub fn operations(i: &Inputs) -> Vec<Operation> {
    let s = sizes(i);
    let (t, rt) = (&i.traffic, &i.round_trips);
    let u = t.share_of_sessions_with_user.value;
    let mut create = light(i, "create a session", 1.0, 0.0, rt.create_writes.value);
    create.wcu = 2.0 * (kb(s.session) + 2.0 * kb(s.counter) + 2.0 * u * kb(s.user_entry));
    create.index_wcu = kb(s.session) * (1.0 + u);
    let messages = 2.0 * t.messages_per_session.value;
    let history_bytes = s.session + messages / 2.0 * (s.user_message + s.reply);
    let history = light(
        i,
        "read history (widget reopened)",
        t.history_reads_per_session.value,
        rcu(history_bytes) * rt.history_reads.value,
        rt.history_reads.value,
    );
    let config = light(
        i,
        "bot config (warm key)",
        t.config_reads_per_session.value,
        0.0,
        0.0,
    );
    let upload = Operation {
        name: "upload a file (grant + complete)",
        per_message: t.uploads_per_1000_messages.value / 1000.0,
        rcu: rcu(s.session) * rt.upload_reads.value,
        wcu: 2.0
            * (kb(i.items.file_bytes.value) + kb(s.session) + kb(s.counter))
            * rt.upload_writes.value,
        index_wcu: kb(s.session) * (1.0 + u),
        lambda_ms: i.durations.upload_ms.value,
        memory_mb: i.durations.files_memory_mb.value,
        requests: 2.0,
        s3_puts: i.s3.puts_per_upload.value,
        s3_gets: i.s3.gets_per_upload.value,
    };
    vec![send(i, &s), create, history, config, upload]
}

/// Monthly cost of each service, in USD.
#[derive(Debug, Clone, Default)]
pub struct Costs {
    pub dynamodb_writes: f64,
    pub dynamodb_reads: f64,
    pub dynamodb_storage: f64,
    pub lambda_requests: f64,
    pub lambda_duration: f64,
    pub api_gateway: f64,
    pub s3: f64,
    pub provider: f64,
}

impl Costs {
    pub fn aws(&self) -> f64 {
        self.dynamodb_writes
            + self.dynamodb_reads
            + self.dynamodb_storage
            + self.lambda_requests
            + self.lambda_duration
            + self.api_gateway
            + self.s3
    }
}

/// The traffic at one scale (average rates) and its monthly cost.
#[derive(Debug, Clone)]
pub struct Scale {
    pub messages_per_minute: f64,
    pub messages_per_second: f64,
    pub sessions_per_second: f64,
    pub visitors_per_month: f64,
    pub uploads_per_hour: f64,
    pub requests_per_second: f64,
    pub rcu_per_second: f64,
    pub wcu_per_second: f64,
    pub gb_seconds_per_second: f64,
    pub concurrency: f64,
    pub s3_requests_per_second: f64,
    pub table_gb: f64,
    pub index_gb: f64,
    pub upload_gb: f64,
    pub costs: Costs,
}

pub fn scale(i: &Inputs, messages_per_minute: f64) -> Scale {
    let mps = messages_per_minute / 60.0;
    let ops = operations(i);
    let sum = |f: &dyn Fn(&Operation) -> f64| ops.iter().map(|o| mps * o.per_message * f(o)).sum();
    let t = &i.traffic;
    let sessions = mps / t.messages_per_session.value;
    let s = sizes(i);
    // Stored until the retention TTL: steady state. DynamoDB adds 100 bytes per item.
    let keep = i.retention_days.value * 86_400.0 / 1e9;
    let u = t.share_of_sessions_with_user.value;
    let table_gb = keep
        * (mps * (s.user_message + s.reply + 200.0)
            + sessions * (s.session + 100.0 + 2.0 * u * (s.user_entry + 100.0)));
    let index_gb = keep * sessions * (s.session + 100.0) * (1.0 + u);
    let uploads = mps * t.uploads_per_1000_messages.value / 1000.0;
    let upload_gb = keep * uploads * i.items.upload_bytes.value;
    let mut scale = Scale {
        messages_per_minute,
        messages_per_second: mps,
        sessions_per_second: sessions,
        visitors_per_month: sessions * MONTH_SECONDS / t.sessions_per_visitor.value,
        uploads_per_hour: uploads * 3600.0,
        requests_per_second: sum(&|o| o.requests),
        rcu_per_second: sum(&|o| o.rcu),
        wcu_per_second: sum(&|o| o.wcu + o.index_wcu),
        // Lambda bills each invocation by the started millisecond.
        gb_seconds_per_second: sum(&|o| {
            o.requests * o.lambda_ms.ceil() / 1000.0 * o.memory_mb / 1024.0
        }),
        concurrency: sum(&|o| o.requests * o.lambda_ms / 1000.0),
        s3_requests_per_second: sum(&|o| o.s3_puts + o.s3_gets),
        table_gb,
        index_gb,
        upload_gb,
        costs: Costs::default(),
    };
    scale.costs = costs(i, &scale, &ops);
    scale
}

fn costs(i: &Inputs, s: &Scale, ops: &[Operation]) -> Costs {
    let p = &i.prices;
    let month = |per_second: f64| per_second * MONTH_SECONDS;
    let mps = s.messages_per_second;
    let puts: f64 = ops.iter().map(|o| mps * o.per_message * o.s3_puts).sum();
    let gets: f64 = ops.iter().map(|o| mps * o.per_message * o.s3_gets).sum();
    let tokens = i.tokens.provider_input_tokens.value * p.provider_input_per_million.value
        + i.tokens.output_tokens.value * p.provider_output_per_million.value;
    Costs {
        dynamodb_writes: month(s.wcu_per_second) * p.dynamodb_write_per_million.value / 1e6,
        dynamodb_reads: month(s.rcu_per_second) * p.dynamodb_read_per_million.value / 1e6,
        dynamodb_storage: (s.table_gb + s.index_gb) * p.dynamodb_storage_gb_month.value
            + s.table_gb * p.dynamodb_pitr_gb_month.value,
        lambda_requests: month(s.requests_per_second) * p.lambda_per_million_requests.value / 1e6,
        lambda_duration: month(s.gb_seconds_per_second) * p.lambda_gb_second.value,
        api_gateway: month(s.requests_per_second) * p.api_gateway_per_million.value / 1e6,
        s3: month(puts) * p.s3_put_per_thousand.value / 1e3
            + month(gets) * p.s3_get_per_thousand.value / 1e3
            + s.upload_gb * p.s3_storage_gb_month.value,
        provider: month(mps) * tokens / 1e6,
    }
}
