//! The model's inputs, as `inputs.json` states them: every figure with
//! where it comes from (a test, a measurement, a price page, or "assumed").

use serde::Deserialize;

/// One stated figure and its source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub value: f64,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    pub scales_messages_per_minute: Vec<f64>,
    pub traffic: Traffic,
    pub tokens: Tokens,
    pub items: Items,
    pub round_trips: RoundTrips,
    pub durations: Durations,
    pub s3: S3,
    pub retention_days: Input,
    pub prices: Prices,
    pub limits: Limits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub messages_per_session: Input,
    pub sessions_per_visitor: Input,
    pub share_of_sessions_with_user: Input,
    pub history_reads_per_session: Input,
    pub config_reads_per_session: Input,
    pub uploads_per_1000_messages: Input,
    pub peak_to_average: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    pub user_message_tokens: Input,
    pub provider_input_tokens: Input,
    pub output_tokens: Input,
    pub chars_per_token: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Items {
    pub message_overhead_bytes: Input,
    pub session_bytes: Input,
    pub counter_bytes: Input,
    pub user_entry_bytes: Input,
    pub rate_counter_bytes: Input,
    pub file_bytes: Input,
    pub upload_bytes: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundTrips {
    pub send_reads: Input,
    pub send_writes: Input,
    pub create_writes: Input,
    pub history_reads: Input,
    pub upload_reads: Input,
    pub upload_writes: Input,
    pub limit_counter_items_per_send: Input,
    pub budget_items_in_exchange: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Durations {
    pub dynamodb_round_trip_ms: Input,
    pub own_cpu_send_ms: Input,
    pub own_cpu_other_ms: Input,
    pub provider_first_token_ms: Input,
    pub provider_tokens_per_second: Input,
    pub upload_ms: Input,
    pub memory_mb: Input,
    pub files_memory_mb: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3 {
    pub puts_per_upload: Input,
    pub gets_per_upload: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub region: String,
    pub as_of: String,
    pub dynamodb_write_per_million: Input,
    pub dynamodb_read_per_million: Input,
    pub dynamodb_storage_gb_month: Input,
    pub dynamodb_pitr_gb_month: Input,
    pub lambda_gb_second: Input,
    pub lambda_per_million_requests: Input,
    pub api_gateway_per_million: Input,
    pub s3_put_per_thousand: Input,
    pub s3_get_per_thousand: Input,
    pub s3_storage_gb_month: Input,
    pub provider_input_per_million: Input,
    pub provider_output_per_million: Input,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub counter_shards: Input,
    pub item_wcu_per_second: Input,
    pub table_wcu_per_second: Input,
    pub table_rcu_per_second: Input,
    pub lambda_concurrency: Input,
    pub api_stage_rps: Input,
    pub api_account_rps: Input,
    pub provider_rpm: Input,
    pub provider_input_tpm: Input,
    pub provider_output_tpm: Input,
}
