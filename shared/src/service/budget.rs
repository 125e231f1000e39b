//! A tenant's budget this month: what its monthly counters hold against
//! its caps (the `budget` of `GET /api/tenant/analytics`).

use serde::Serialize;
use utoipa::ToSchema;

use super::ServiceResult;
use crate::AppState;
use crate::model::{OnExceeded, Tenant};
use crate::store::keys;

/// The month to date (UTC calendar month) against the tenant's caps.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetStatus {
    /// `yyyy-mm`, UTC.
    pub month: String,
    /// Visitors' messages stored this month.
    pub messages: i64,
    /// Messages counted against `monthlyMessages` (counted while a cap is set).
    pub admitted: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Input and output tokens together, as reported by the providers.
    pub tokens: i64,
    pub monthly_messages: Option<u64>,
    pub monthly_tokens: Option<u64>,
    pub soft_percent: u8,
    /// A cap's soft threshold is reached.
    pub soft_reached: bool,
    /// A cap is reached: messages are refused (or go to the fallback).
    pub hard_reached: bool,
    #[schema(value_type = String)]
    pub on_exceeded: OnExceeded,
}

/// One Query of the month's counter shards.
pub async fn month_to_date(state: &AppState, tenant: &Tenant) -> ServiceResult<BudgetStatus> {
    let month = keys::month_of(state.now_ms());
    let usage = state.repo.month_usage(tenant.tenant_id, &month).await?;
    let budget = &tenant.budget;
    let soft = budget.soft_percent();
    let msgs = usage.admitted.max(usage.messages);
    let over = |used: i64, cap: Option<u64>, percent: u64| {
        cap.is_some_and(|c| (used.max(0) as u128) * 100 >= u128::from(c) * u128::from(percent))
    };
    let messages_over = |p| over(msgs, budget.monthly_messages, p);
    let tokens_over = |p| over(usage.tokens, budget.monthly_tokens, p);
    Ok(BudgetStatus {
        month,
        messages: usage.messages,
        admitted: usage.admitted,
        input_tokens: usage.tokens_in,
        output_tokens: usage.tokens_out,
        tokens: usage.tokens,
        monthly_messages: budget.monthly_messages,
        monthly_tokens: budget.monthly_tokens,
        soft_percent: soft,
        soft_reached: messages_over(u64::from(soft)) || tokens_over(u64::from(soft)),
        hard_reached: over(usage.admitted, budget.monthly_messages, 100) || tokens_over(100),
        on_exceeded: budget.on_exceeded,
    })
}
