//! The key design: every item's PK/SK and index keys, built in one place from
//! typed ids. The tenant id is inside every session key, so another tenant's
//! session id is simply not found.
//!
//! The table of items, their keys and attributes is written once, in
//! docs/ARCHITECTURE.md ("Table design"); this module is its code.

use chat_core::shard::{TENANT_COUNTER_SHARDS, shard_of, shard_suffix};
use uuid::Uuid;

use super::Key;

pub const TENANT_SK: &str = "TENANT";
pub const STATS_SK: &str = "STATS";
pub const APIKEY_SK: &str = "APIKEY";
pub const SESSION_SK: &str = "SESSION";
pub const MSG_PREFIX: &str = "MSG#";
pub const FILE_PREFIX: &str = "FILE#";
pub const UPLOAD_PREFIX: &str = "UPLOAD#";
pub const USER_PREFIX: &str = "USER#";
pub const KEY_PREFIX: &str = "KEY#";
pub const RATE_SK: &str = "RATE";
pub const DAY_PREFIX: &str = "DAY#";
/// A knowledge-base document's metadata, in the tenant's partition.
pub const KNOWLEDGE_DOC_PREFIX: &str = "KDOC#";
/// GSI1 partition listing every tenant.
pub const TENANTS_GSI1PK: &str = "TENANTS";

pub fn tenant_pk(tenant: Uuid) -> String {
    format!("TENANT#{tenant}")
}

pub fn tenant(tenant: Uuid) -> Key {
    Key::new(tenant_pk(tenant), TENANT_SK)
}

/// The tenant's session totals as written before they were sharded: no
/// longer written, still summed by every reader (see [`stats_shard`]).
pub fn stats(tenant: Uuid) -> Key {
    Key::new(tenant_pk(tenant), STATS_SK)
}

/// The shard of the tenant's session totals a write for `session` goes to:
/// `STATS#S07`. One item per tenant would take a write per session and
/// throttle a busy tenant; readers sum `STATS` and every `STATS#S..` with
/// one query ([`stats_range`]).
pub fn stats_shard(tenant: Uuid, session: Uuid) -> Key {
    Key::new(
        tenant_pk(tenant),
        format!("{STATS_SK}{}", shard_suffix_of(session)),
    )
}

/// The sort-key range holding the unsharded `STATS` item and its shards.
pub fn stats_range() -> (String, String) {
    (STATS_SK.into(), format!("{STATS_SK}{SHARD_RANGE_END}"))
}

/// The tenant's counters of one UTC day (`yyyy-mm-dd`) as written before
/// they were sharded: no longer written, still summed by the analytics.
pub fn day(tenant: Uuid, date: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("{DAY_PREFIX}{date}"))
}

/// The shard of the tenant's counters of one UTC day a write for `session`
/// goes to: `DAY#2025-12-02#S07`. A day's shards sort right after its
/// unsharded item and before the next day, so a range of days stays one
/// query ([`day_range`]).
pub fn day_shard(tenant: Uuid, date: &str, session: Uuid) -> Key {
    Key::new(
        tenant_pk(tenant),
        format!("{DAY_PREFIX}{date}{}", shard_suffix_of(session)),
    )
}

/// The sort-key range of the days `first..=last`, shards included.
pub fn day_range(first: &str, last: &str) -> (String, String) {
    (
        format!("{DAY_PREFIX}{first}"),
        format!("{DAY_PREFIX}{last}{SHARD_RANGE_END}"),
    )
}

/// The date of a day counter's sort key, sharded or not.
pub fn date_of_day_sk(sk: &str) -> Option<&str> {
    let rest = sk.strip_prefix(DAY_PREFIX)?;
    Some(rest.split_once('#').map_or(rest, |(date, _)| date))
}

/// Sorts after every shard suffix (`#S00`..`#S15`) of a key.
const SHARD_RANGE_END: &str = "#S~";

fn shard_suffix_of(session: Uuid) -> String {
    shard_suffix(shard_of(&session.to_string(), TENANT_COUNTER_SHARDS))
}

/// The UTC date (`yyyy-mm-dd`) of an instant: the day counters' key part,
/// which sorts by time.
pub fn date_of(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

pub fn user(tenant: Uuid, user_identifier: &str) -> Key {
    Key::new(tenant_pk(tenant), format!("{USER_PREFIX}{user_identifier}"))
}

pub fn tenant_key_listing(tenant: Uuid, key_id: Uuid) -> Key {
    Key::new(tenant_pk(tenant), format!("{KEY_PREFIX}{key_id}"))
}

pub fn api_key(key_hash: &str) -> Key {
    Key::new(format!("APIKEY#{key_hash}"), APIKEY_SK)
}

pub fn session_pk(tenant: Uuid, session: Uuid) -> String {
    format!("TENANT#{tenant}#SESSION#{session}")
}

pub fn session(tenant: Uuid, session: Uuid) -> Key {
    Key::new(session_pk(tenant, session), SESSION_SK)
}

pub fn message(tenant: Uuid, session: Uuid, message: Uuid) -> Key {
    Key::new(
        session_pk(tenant, session),
        format!("{MSG_PREFIX}{message}"),
    )
}

pub fn file(tenant: Uuid, session: Uuid, file: Uuid) -> Key {
    Key::new(session_pk(tenant, session), format!("{FILE_PREFIX}{file}"))
}

/// A granted direct upload, until it is completed.
pub fn pending_upload(tenant: Uuid, session: Uuid, file: Uuid) -> Key {
    Key::new(
        session_pk(tenant, session),
        format!("{UPLOAD_PREFIX}{file}"),
    )
}

pub const USER_SESSION_PREFIX: &str = "SESSION#";

/// The partition listing one user's sessions.
pub fn user_sessions_pk(tenant: Uuid, user_identifier: &str) -> String {
    format!("TENANT#{tenant}#USER#{user_identifier}")
}

/// One entry of a user's session list.
pub fn user_session(tenant: Uuid, user_identifier: &str, session: Uuid) -> Key {
    Key::new(
        user_sessions_pk(tenant, user_identifier),
        format!("{USER_SESSION_PREFIX}{session}"),
    )
}

/// A knowledge-base document's metadata item.
pub fn knowledge_document(tenant: Uuid, document: Uuid) -> Key {
    Key::new(
        tenant_pk(tenant),
        format!("{KNOWLEDGE_DOC_PREFIX}{document}"),
    )
}

/// Where a knowledge-base document's original bytes live.
pub fn knowledge_document_blob(tenant: Uuid, document: Uuid) -> String {
    format!("tenants/{tenant}/knowledge/documents/{document}")
}

/// Where one version of a tenant's knowledge index lives: a fresh key per
/// version (`change` is unique to the write), so two racing writers never
/// overwrite each other's blob and a reader never sees a half-written one.
pub fn knowledge_index_blob(tenant: Uuid, version: u64, change: Uuid) -> String {
    format!("tenants/{tenant}/knowledge/index/{version:012}-{change}")
}

/// A key's message counter for one rate-limit window.
pub fn rate(key_id: Uuid, window: i64) -> Key {
    Key::new(format!("RATE#{key_id}#{window}"), RATE_SK)
}

/// The tenant ceiling's shards (`CEIL#{window}#S07`) and the monthly
/// budget's (`BUDGET#{yyyy-mm}#S07`), in the tenant's partition.
pub const CEILING_PREFIX: &str = "CEIL#";
pub const BUDGET_PREFIX: &str = "BUDGET#";

/// A visitor's message counter for one window (`visitor` is a hash).
pub fn visitor_rate(tenant: Uuid, visitor: &str, window: i64) -> Key {
    Key::new(format!("RATE#V#{tenant}#{visitor}#{window}"), RATE_SK)
}

/// The sort-key prefix of every shard of the tenant ceiling's window.
pub fn ceiling_shards(window: i64) -> String {
    format!("{CEILING_PREFIX}{window}#S")
}

/// One shard of the tenant ceiling's counter for `window`.
pub fn ceiling(tenant: Uuid, window: i64, shard: u16) -> Key {
    Key::new(
        tenant_pk(tenant),
        format!(
            "{CEILING_PREFIX}{window}{}",
            chat_core::shard::shard_suffix(shard)
        ),
    )
}

/// The sort-key prefix of every shard of a month's budget counters.
pub fn budget_shards(month: &str) -> String {
    format!("{BUDGET_PREFIX}{month}#S")
}

/// One shard of the tenant's budget counters for `month` (`yyyy-mm`).
pub fn budget(tenant: Uuid, month: &str, shard: u16) -> Key {
    Key::new(
        tenant_pk(tenant),
        format!(
            "{BUDGET_PREFIX}{month}{}",
            chat_core::shard::shard_suffix(shard)
        ),
    )
}

/// The UTC month (`yyyy-mm`) of an instant.
pub fn month_of(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .format("%Y-%m")
        .to_string()
}

/// The shard number a sharded counter's sort key ends in (`#S07` -> 7).
pub fn shard_of_sort_key(sk: &str) -> Option<u16> {
    let (_, n) = sk.rsplit_once("#S")?;
    n.parse().ok()
}

/// GSI1 sort key of a session: sessions sort by last activity.
pub fn session_activity_gsi1sk(last_activity_ms: i64, session: Uuid) -> String {
    format!("{}#{session}", activity_bound(last_activity_ms))
}

/// GSI2 partition of a user's sessions (sorted by the same activity key
/// as GSI1): the tenant's session list filtered by user. The same string
/// as the user's session-list partition, in another index.
pub fn user_activity_gsi2pk(tenant: Uuid, user_identifier: &str) -> String {
    user_sessions_pk(tenant, user_identifier)
}

/// The GSI1 sort-key prefix for "active at or after this time".
pub fn activity_bound(epoch_ms: i64) -> String {
    format!("{:013}", epoch_ms.max(0))
}

pub fn tenant_gsi1sk(created_at_ms: i64, tenant: Uuid) -> String {
    format!("{:013}#{tenant}", created_at_ms.max(0))
}

/// Where a direct upload's bytes land (the presigned URL writes here); they
/// are copied to `file_blob` once checked, so the URL can never change an
/// active file.
pub fn upload_blob(tenant: Uuid, session: Uuid, file: Uuid) -> String {
    format!("tenants/{tenant}/sessions/{session}/uploads/{file}")
}

/// Where an uploaded file's bytes live in the blob store.
pub fn file_blob(tenant: Uuid, session: Uuid, file: Uuid) -> String {
    format!("tenants/{tenant}/sessions/{session}/files/{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_sorts_after_messages_and_files_before_them() {
        let t = Uuid::nil();
        let m = message(t, t, Uuid::max());
        let f = file(t, t, Uuid::max());
        let s = session(t, t);
        assert!(
            s.sk > m.sk,
            "one descending query reads the session, then its newest messages"
        );
        assert!(f.sk < m.sk);
    }

    #[test]
    fn day_keys_are_utc_dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_764_633_599_999), "2025-12-01");
        assert_eq!(date_of(1_764_633_600_000), "2025-12-02");
        assert_eq!(day(Uuid::nil(), "2025-12-02").sk, "DAY#2025-12-02");
    }

    #[test]
    fn counter_shards_sort_with_their_counter() {
        let (t, s) = (Uuid::nil(), Uuid::max());
        let shard = day_shard(t, "2025-12-02", s).sk;
        assert!(shard.starts_with("DAY#2025-12-02#S"), "{shard}");
        assert_eq!(date_of_day_sk(&shard), Some("2025-12-02"));
        assert_eq!(date_of_day_sk("DAY#2025-12-02"), Some("2025-12-02"));
        let (lo, hi) = day_range("2025-12-02", "2025-12-02");
        for sk in [day(t, "2025-12-02").sk, day_shard(t, "2025-12-02", s).sk] {
            assert!(lo <= sk && sk <= hi, "{sk} in {lo}..{hi}");
        }
        let last = format!("DAY#2025-12-02{}", shard_suffix(TENANT_COUNTER_SHARDS - 1));
        assert!(last <= hi && day(t, "2025-12-03").sk > hi);
        assert!(day(t, "2025-12-01").sk < lo);
        let (lo, hi) = stats_range();
        let shard = stats_shard(t, s).sk;
        assert!(lo <= shard && shard <= hi && shard.starts_with("STATS#S"));
        assert!(stats(t).sk == lo && TENANT_SK > hi.as_str());
    }

    #[test]
    fn activity_keys_sort_by_time() {
        let a = session_activity_gsi1sk(999, Uuid::max());
        let b = session_activity_gsi1sk(1_000, Uuid::nil());
        assert!(a < b);
        assert!(b >= activity_bound(1_000));
    }
}
