//! Usage statistics, from counters kept at write time and from GSI1, never
//! from a Scan.

use serde_json::Value;
use uuid::Uuid;

use super::{Repository, attrs, int};
use crate::store::{Query, SortCondition, StoreError, keys};

/// Session counts kept at write time, never computed by scanning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantStats {
    pub total_sessions: i64,
    pub sessions_with_user: i64,
    pub sessions_without_user: i64,
}

/// One user's session count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStat {
    pub user_identifier: String,
    pub session_count: i64,
}

impl Repository {
    /// The tenant's session totals: the sum of the `STATS#S..` shards and of
    /// the unsharded `STATS` item written before the split, in one query.
    pub async fn tenant_stats(&self, tenant: Uuid) -> Result<TenantStats, StoreError> {
        let (low, high) = keys::stats_range();
        let query =
            Query::partition(keys::tenant_pk(tenant)).sort(SortCondition::Between(low, high));
        let mut stats = TenantStats::default();
        for item in self.query_all(query).await? {
            stats.total_sessions += int(&item, attrs::TOTAL_SESSIONS);
            stats.sessions_with_user += int(&item, attrs::SESSIONS_WITH_USER);
            stats.sessions_without_user += int(&item, attrs::SESSIONS_WITHOUT_USER);
        }
        Ok(stats)
    }

    /// Sessions active at or after `since_ms`, counted on GSI1 (never a
    /// Scan) without reading the sessions: DynamoDB's `Select=COUNT` (one
    /// request per 1 MB of session items), the embedded store's walk of
    /// the index keys alone.
    pub async fn count_active_since(&self, tenant: Uuid, since_ms: i64) -> Result<i64, StoreError> {
        let mut query = Query::partition(keys::tenant_pk(tenant)).on_gsi1().sort(
            SortCondition::GreaterOrEqual(keys::activity_bound(since_ms)),
        );
        let mut count = 0;
        loop {
            let page = self.table.count(&query).await?;
            count += page.count as i64;
            match page.last_key {
                Some(cursor) => query.start_after = Some(cursor),
                None => return Ok(count),
            }
        }
    }

    /// A number that changes whenever the tenant's partition (its users'
    /// counters among its items) is written, where the store has one
    /// (`Table::partition_version`).
    pub fn users_version(&self, tenant: Uuid) -> Option<u64> {
        self.table.partition_version(&keys::tenant_pk(tenant))
    }

    /// Every user of the tenant with their session count, in the order of
    /// their identifiers (bytewise, as the user items' sort keys order).
    ///
    /// One query of the tenant's user items, projected to the two attributes
    /// read: DynamoDB still reads whole items, one request per 1 MB of them
    /// (about 8,000 users of 130 bytes), and sends back only the projection;
    /// the embedded store pages the same way and decodes only those two
    /// attributes of each item.
    pub async fn user_stats(&self, tenant: Uuid) -> Result<Vec<UserStat>, StoreError> {
        const READ: &[&str] = &[attrs::USER_IDENTIFIER, attrs::SESSION_COUNT];
        let mut query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(keys::USER_PREFIX.into()))
            .project(READ);
        let mut users = Vec::new();
        loop {
            let page = self.table.query(&query).await?;
            users.extend(page.items.into_iter().filter_map(|mut item| {
                let Some(Value::String(user)) = item.remove(attrs::USER_IDENTIFIER) else {
                    return None;
                };
                Some(UserStat {
                    session_count: int(&item, attrs::SESSION_COUNT),
                    user_identifier: user,
                })
            }));
            match page.last_key {
                Some(cursor) => query.start_after = Some(cursor),
                None => return Ok(users),
            }
        }
    }
}
