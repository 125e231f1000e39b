//! Usage counts, from counters (never a scan).

use uuid::Uuid;

use super::ServiceResult;
use crate::AppState;
pub use crate::store::repo::{TenantStats, UserStat};

/// Sessions in total, and those active within the session timeout.
pub async fn summary(state: &AppState, tenant: Uuid) -> ServiceResult<(TenantStats, i64)> {
    let now = state.now_ms();
    let stats = state.repo.tenant_stats(tenant).await?;
    let since = now - state.config.session_timeout_secs * 1000;
    let recently_active = state.repo.count_active_since(tenant, since).await?;
    Ok((stats, recently_active))
}

/// The tenant's counters and each user's session count.
pub async fn by_user(
    state: &AppState,
    tenant: Uuid,
) -> ServiceResult<(TenantStats, Vec<UserStat>)> {
    let stats = state.repo.tenant_stats(tenant).await?;
    let users = in_identifier_order(state.repo.user_stats(tenant).await?);
    Ok((stats, users))
}

/// The users strictly ordered by identifier, one entry each: what the store
/// returns already (the identifier is the sort key's suffix); should it ever
/// not, sorted here, the later entry of a duplicate winning as in a map.
fn in_identifier_order(users: Vec<UserStat>) -> Vec<UserStat> {
    if users
        .windows(2)
        .all(|w| w[0].user_identifier < w[1].user_identifier)
    {
        return users;
    }
    let map: std::collections::BTreeMap<String, i64> = users
        .into_iter()
        .map(|u| (u.user_identifier, u.session_count))
        .collect();
    map.into_iter()
        .map(|(user_identifier, session_count)| UserStat {
            user_identifier,
            session_count,
        })
        .collect()
}
