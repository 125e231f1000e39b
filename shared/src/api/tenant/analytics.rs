//! `GET /api/tenant/analytics?days=N`: the tenant's usage per UTC day.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::http::AppError;
use crate::service::analytics::{self, MAX_DAYS};
use crate::service::budget::{self, BudgetStatus};
use crate::store::repo::{DayCounts, DayTotals};

/// Days read when the caller names none.
const DEFAULT_DAYS: u32 = 30;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analytics))
}

#[derive(Deserialize)]
pub(crate) struct AnalyticsParams {
    days: Option<String>,
}

/// One day's (or the range's) counts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    sessions: i64,
    messages: i64,
    new_users: i64,
    uploads: i64,
    feedback_up: i64,
    feedback_down: i64,
    provider_errors: i64,
    input_tokens: i64,
    output_tokens: i64,
}

impl From<DayCounts> for Counts {
    fn from(c: DayCounts) -> Self {
        Self {
            sessions: c.sessions,
            messages: c.messages,
            new_users: c.new_users,
            uploads: c.uploads,
            feedback_up: c.feedback_up,
            feedback_down: c.feedback_down,
            provider_errors: c.provider_errors,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Day {
    /// `yyyy-mm-dd`, UTC
    date: String,
    #[serde(flatten)]
    counts: Counts,
}

impl From<DayTotals> for Day {
    fn from(d: DayTotals) -> Self {
        Self {
            date: d.date,
            counts: d.counts.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AnalyticsResponse {
    /// Every day of the range, oldest first, zeros included.
    days: Vec<Day>,
    totals: Counts,
    /// The month to date against the tenant's budget (`settings.budget`).
    budget: BudgetStatus,
}

fn days_of(params: &AnalyticsParams) -> Result<u32, AppError> {
    match params.days.as_deref() {
        None => Ok(DEFAULT_DAYS),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => Ok(n),
            _ => Err(AppError::bad_request_detail(
                "Invalid days",
                format!("days must be a whole number from 1 to {MAX_DAYS}"),
            )),
        },
    }
}

/// Sessions, messages, new users, uploads, feedback, provider errors and
/// tokens per UTC day, from counters written with each event: one query,
/// never a scan. Sessions count when created, messages when stored (a
/// failed exchange stores the user's message only), feedback on the day of
/// the rated reply.
#[utoipa::path(
    get, path = "/api/tenant/analytics", tag = "tenant",
    params(("days" = Option<u32>, Query, minimum = 1, maximum = 365, description = "Days up to today (UTC), default 30")),
    responses((status = 200, description = "Usage per day and in total", body = AnalyticsResponse), Errors)
)]
pub(crate) async fn analytics(
    caller: Caller,
    State(state): State<AppState>,
    params: Result<Query<AnalyticsParams>, QueryRejection>,
) -> Result<Json<AnalyticsResponse>, AppError> {
    let Query(params) =
        params.map_err(|e| AppError::bad_request_detail("Invalid query string", e.body_text()))?;
    let days = days_of(&params)?;
    let (usage, budget) = tokio::try_join!(
        analytics::usage(&state, &caller, days),
        budget::month_to_date(&state, &caller.tenant),
    )?;
    Ok(Json(AnalyticsResponse {
        days: usage.days.into_iter().map(Day::from).collect(),
        totals: usage.totals.into(),
        budget,
    }))
}
