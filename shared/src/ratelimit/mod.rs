//! Message limits, counted in the table so they hold across every function
//! instance:
//!
//! - secret keys: messages per key per hour (`rateLimitPerHour`);
//! - publishable keys (the widget): messages per visitor per hour
//!   (`limits.perVisitorPerHour`, [`visitor`]) and, for all the tenant's
//!   visitors together, a ceiling (`limits.tenantPerHour`, sharded);
//! - every key: the tenant's monthly budget (`budget`, sharded).
//!
//! Hourly limits slide ([`window`]); every counter of one message is bumped
//! in one conditional write ([`admit`]): one round trip in the steady state.

mod admit;
mod memo;
pub mod visitor;
pub mod window;

pub use admit::{Admission, Subject, admit};
pub use memo::Memo;
pub use window::window_of;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use crate::store::StoreError;

pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub const RESET_HEADER: &str = "x-ratelimit-reset";
const WINDOW_SECS: i64 = window::WINDOW_MS / 1000;

/// Which limit a message met: the `limit` of a 429 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LimitKind {
    Key,
    Visitor,
    Tenant,
    MonthlyMessages,
    MonthlyTokens,
}

/// Where a caller stands against the limit that applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub kind: LimitKind,
    /// Messages allowed per window (or month).
    pub limit: u64,
    /// Messages still allowed now.
    pub remaining: u64,
    /// When the current window ends, epoch seconds.
    pub reset_epoch_secs: i64,
    /// Seconds until one more message fits (at least 1).
    pub retry_after_secs: i64,
}

impl RateLimit {
    /// A fixed window's state after its `count`-th message at `now_ms`.
    pub fn after(limit: u32, count: i64, now_ms: i64) -> Self {
        let now = now_ms.div_euclid(1000);
        let reset = (now.div_euclid(WINDOW_SECS) + 1) * WINDOW_SECS;
        let remaining = (i64::from(limit) - count.max(0)).clamp(0, i64::from(limit));
        Self {
            kind: LimitKind::Key,
            limit: u64::from(limit),
            remaining: remaining as u64,
            reset_epoch_secs: reset,
            retry_after_secs: (reset - now).max(1),
        }
    }

    /// A sliding hour's state: `remaining` messages fit now; a refused one
    /// fits again after `wait_ms`.
    pub fn sliding(kind: LimitKind, limit: i64, remaining: i64, wait_ms: i64, now_ms: i64) -> Self {
        let now = now_ms.div_euclid(1000);
        Self {
            kind,
            limit: limit.max(0) as u64,
            remaining: remaining.clamp(0, limit.max(0)) as u64,
            reset_epoch_secs: (now.div_euclid(WINDOW_SECS) + 1) * WINDOW_SECS,
            retry_after_secs: ((wait_ms + 999) / 1000).max(1),
        }
    }

    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch seconds).
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            (LIMIT_HEADER, self.limit as i64),
            (REMAINING_HEADER, self.remaining as i64),
            (RESET_HEADER, self.reset_epoch_secs),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }

    /// The `detail` of a 429 body.
    pub fn detail(&self) -> String {
        let (n, retry) = (self.limit, self.retry_after_secs);
        match self.kind {
            LimitKind::Key => {
                format!("At most {n} messages per hour per API key; retry in {retry} seconds")
            }
            LimitKind::Visitor => {
                format!("At most {n} messages per hour per visitor; retry in {retry} seconds")
            }
            LimitKind::Tenant => format!(
                "At most {n} messages per hour for this site's visitors; retry in {retry} seconds"
            ),
            LimitKind::MonthlyMessages => {
                format!("The monthly budget of {n} messages is used up; retry in {retry} seconds")
            }
            LimitKind::MonthlyTokens => {
                format!("The monthly budget of {n} tokens is used up; retry in {retry} seconds")
            }
        }
    }
}

/// Why a message was not counted: over a limit (answered `429` with the
/// limit's state), or the counters could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limit exceeded")]
    Exceeded(RateLimit),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_clock_hours() {
        // 2025-10-08T12:59:59.999Z and 13:00:00Z.
        let last = 1_759_928_399_999;
        assert_eq!(window_of(last) + 1, window_of(last + 1));
        let s = RateLimit::after(100, 1, last);
        assert_eq!(s.reset_epoch_secs, 1_759_928_400);
        assert_eq!(s.retry_after_secs, 1);
        assert_eq!(s.remaining, 99);
        let s = RateLimit::after(100, 101, last - 3_599_000);
        assert_eq!(s.remaining, 0);
        assert_eq!(s.retry_after_secs, 3600);
        let s = RateLimit::sliding(LimitKind::Visitor, 10, 12, 1, last);
        assert_eq!((s.remaining, s.retry_after_secs), (10, 1));
        assert!(s.detail().contains("per visitor"));
    }
}
