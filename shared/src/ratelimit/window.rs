//! Sliding-window counting over two fixed windows (clock hours).
//!
//! A counter keeps one item per window. At `elapsed` ms into the current
//! window, the previous window still weighs `prev × (W − elapsed) / W`
//! (rounded up): the messages of the last hour are estimated as that plus
//! the current count, and a message is admitted while the estimate after it
//! stays within the limit. So the current window's count must stay below
//! [`threshold`], which one conditional `ADD` enforces; the previous
//! window's count is final once it ends and can be cached. A burst at the
//! top of an hour meets the whole previous hour's count, not a fresh limit.

/// A window's length.
pub const WINDOW_MS: i64 = 3_600_000;

/// The window (hour number since the epoch) `now_ms` falls in.
pub fn window_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(WINDOW_MS)
}

/// Milliseconds since the start of `now_ms`'s window.
pub fn elapsed_in(now_ms: i64) -> i64 {
    now_ms.rem_euclid(WINDOW_MS)
}

/// What the previous window's `prev` messages still count `elapsed` ms
/// into the current window, rounded up.
pub fn carried(prev: i64, elapsed: i64) -> i64 {
    let prev = i128::from(prev.max(0));
    let left = i128::from((WINDOW_MS - elapsed).clamp(0, WINDOW_MS));
    let w = i128::from(WINDOW_MS);
    ((prev * left + w - 1) / w) as i64
}

/// One more message fits while the current window's count is below this.
pub fn threshold(limit: i64, prev: i64, elapsed: i64) -> i64 {
    limit - carried(prev, elapsed)
}

/// Milliseconds from `elapsed` until one more message fits, with `cur`
/// messages in the current window and `prev` in the previous one (and no
/// other message meanwhile); 0 when one fits now.
pub fn wait_ms(limit: i64, prev: i64, cur: i64, elapsed: i64) -> i64 {
    // When the carried count has fallen to `room`: it is at most `room`
    // once prev × (W − e) ≤ room × W.
    let until = |prev: i64, room: i64| -> i64 {
        if prev <= 0 {
            return 0;
        }
        let w = i128::from(WINDOW_MS);
        let e = w - (i128::from(room) * w) / i128::from(prev);
        e.clamp(0, w) as i64
    };
    let room = limit - cur - 1;
    if room >= 0 {
        return (until(prev, room) - elapsed).max(0);
    }
    // Not in this window: in the next, this window's count is carried.
    (WINDOW_MS - elapsed) + until(cur, limit - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn the_previous_window_fades_over_the_hour() {
        assert_eq!(carried(100, 0), 100);
        assert_eq!(carried(100, 30 * MIN), 50);
        assert_eq!(carried(100, 30 * MIN + 1), 50, "rounded up");
        assert_eq!(carried(100, WINDOW_MS - 1), 1);
        assert_eq!(carried(0, 0), 0);
        // A full previous hour leaves nothing at the top of the next one.
        assert_eq!(threshold(100, 100, 0), 0);
        assert_eq!(threshold(100, 100, 30 * MIN), 50);
        assert_eq!(threshold(100, 0, 0), 100);
    }

    #[test]
    fn waits_end_when_one_more_fits() {
        // Full this window at 12:10: the next window carries all 100, so
        // one more fits 36 s into it.
        assert_eq!(wait_ms(100, 0, 100, 10 * MIN), 50 * MIN + 36_000);
        // Previous 100, 50 now at 12:30: full; one fits once carried ≤ 49.
        assert_eq!(wait_ms(100, 100, 50, 30 * MIN), 36_000);
        assert_eq!(wait_ms(100, 100, 49, 30 * MIN), 0);
        // A limit of one waits the whole next window out.
        assert_eq!(wait_ms(1, 0, 1, 0), 2 * WINDOW_MS);
        // Whatever the state, the wait is what `threshold` agrees with.
        for (limit, prev, cur, elapsed) in [(7, 9, 3, 1234), (10, 3, 10, 59 * MIN), (5, 5, 0, 0)] {
            let w = wait_ms(limit, prev, cur, elapsed);
            let at = elapsed + w;
            let fits = if at < WINDOW_MS {
                cur < threshold(limit, prev, at)
            } else {
                0 < threshold(limit, cur, at - WINDOW_MS)
            };
            assert!(fits, "{limit} {prev} {cur} {elapsed}: {w}");
        }
    }
}
