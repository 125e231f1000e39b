//! A tenant's usage by day, from the daily counters written with each event.

use chrono::{Days, NaiveDate};

use super::ServiceResult;
use crate::AppState;
use crate::auth::Caller;
use crate::store::keys;
use crate::store::repo::{DayCounts, DayTotals};

/// The longest range a caller may ask for, in days.
pub const MAX_DAYS: u32 = 365;

/// Every day of the range, oldest first, zeros included, and their sum.
pub struct Usage {
    pub days: Vec<DayTotals>,
    pub totals: DayCounts,
}

/// The last `days` UTC days up to today: one query of the counters.
pub async fn usage(state: &AppState, caller: &Caller, days: u32) -> ServiceResult<Usage> {
    let dates = last_days(state.now_ms(), days);
    let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
        return Ok(Usage {
            days: Vec::new(),
            totals: DayCounts::default(),
        });
    };
    let stored = state
        .repo
        .day_counters(caller.tenant_id(), first, last)
        .await?;
    let mut stored = stored.into_iter().peekable();
    let mut totals = DayCounts::default();
    let days = dates
        .into_iter()
        .map(|date| {
            let counts = match stored.peek() {
                Some(day) if day.date == date => stored.next().map(|d| d.counts),
                _ => None,
            }
            .unwrap_or_default();
            totals.add(&counts);
            DayTotals { date, counts }
        })
        .collect();
    Ok(Usage { days, totals })
}

/// The UTC dates (`yyyy-mm-dd`) of the `count` days ending today, oldest
/// first.
fn last_days(now_ms: i64, count: u32) -> Vec<String> {
    let Ok(today) = NaiveDate::parse_from_str(&keys::date_of(now_ms), "%Y-%m-%d") else {
        return Vec::new();
    };
    (0..count)
        .rev()
        .filter_map(|back| today.checked_sub_days(Days::new(u64::from(back))))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_end_today_and_cross_months() {
        // 2025-03-01T10:00:00Z
        let days = last_days(1_740_823_200_000, 3);
        assert_eq!(days, ["2025-02-27", "2025-02-28", "2025-03-01"]);
        assert_eq!(last_days(1_740_823_200_000, 365).len(), 365);
    }
}
