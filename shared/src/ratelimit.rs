//! Messages per API key per clock hour, counted in the table so the limit
//! holds across every function instance: one fixed-window counter item
//! `RATE#{key_id}#{hour}` per key and hour, bumped with an atomic `ADD` (one
//! `UpdateItem` that returns the new count) and dropped by TTL an hour after
//! its window ends.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::AppState;
use crate::auth::Caller;
use crate::store::StoreError;

pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub const RESET_HEADER: &str = "x-ratelimit-reset";
const WINDOW_SECS: i64 = 3600;

/// Where a key stands in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages allowed per window.
    pub limit: u32,
    /// Messages still allowed in this window.
    pub remaining: u32,
    /// When the window ends, epoch seconds.
    pub reset_epoch_secs: i64,
    /// Seconds until then (at least 1).
    pub retry_after_secs: i64,
}

impl RateLimit {
    /// The state after the window's `count`-th message at `now_ms`.
    pub fn after(limit: u32, count: i64, now_ms: i64) -> Self {
        let now = now_ms.div_euclid(1000);
        let reset = (now.div_euclid(WINDOW_SECS) + 1) * WINDOW_SECS;
        let remaining = (i64::from(limit) - count.max(0)).clamp(0, i64::from(limit));
        Self {
            limit,
            remaining: remaining as u32,
            reset_epoch_secs: reset,
            retry_after_secs: (reset - now).max(1),
        }
    }

    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch seconds).
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            (LIMIT_HEADER, i64::from(self.limit)),
            (REMAINING_HEADER, i64::from(self.remaining)),
            (RESET_HEADER, self.reset_epoch_secs),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
}

/// Why a message was not counted: over the limit (answered `429` with the
/// window's state), or the counter could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limit exceeded")]
    Exceeded(RateLimit),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
}

/// The window (hour number since the epoch) `now_ms` falls in.
pub fn window_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(WINDOW_SECS)
}

/// Counts one message for the caller's key: one atomic table write. Over
/// the limit it is [`RateLimitError::Exceeded`] (the message is not processed).
pub async fn count_message(state: &AppState, caller: &Caller) -> Result<RateLimit, RateLimitError> {
    let limit = caller
        .tenant
        .rate_limit_per_hour
        .filter(|n| *n > 0)
        .unwrap_or(state.config.rate_limit_per_hour);
    let now = state.now_ms();
    let window = window_of(now);
    let expires = (window + 2) * WINDOW_SECS;
    let count = state
        .repo
        .count_rate(caller.key.key_id, window, expires)
        .await?;
    let status = RateLimit::after(limit, count, now);
    if count > i64::from(limit) {
        return Err(RateLimitError::Exceeded(status));
    }
    Ok(status)
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
    }
}
