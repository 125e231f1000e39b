//! Usage statistics, from counters kept at write time and from GSI1, never
//! from a Scan.

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

    /// Sessions active at or after `since_ms`, from GSI1 (never a Scan).
    pub async fn count_active_since(&self, tenant: Uuid, since_ms: i64) -> Result<i64, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant)).on_gsi1().sort(
            SortCondition::GreaterOrEqual(keys::activity_bound(since_ms)),
        );
        let mut count = 0;
        let mut after = None;
        loop {
            let page = self.table.query(&query.clone().start_after(after)).await?;
            count += page.items.len() as i64;
            match page.last_key {
                Some(cursor) => after = Some(cursor),
                None => return Ok(count),
            }
        }
    }

    /// Every user of the tenant with their session count.
    pub async fn user_stats(&self, tenant: Uuid) -> Result<Vec<UserStat>, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(keys::USER_PREFIX.into()));
        Ok(self
            .query_all(query)
            .await?
            .into_iter()
            .filter_map(|item| {
                let user = item.get(attrs::USER_IDENTIFIER)?.as_str()?.to_owned();
                Some(UserStat {
                    session_count: int(&item, attrs::SESSION_COUNT),
                    user_identifier: user,
                })
            })
            .collect())
    }
}
