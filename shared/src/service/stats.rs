//! Usage counts, from counters (never a scan).

use uuid::Uuid;

use super::ServiceResult;
use crate::AppState;
use crate::store::repo::{TenantStats, UserStat};

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
    let users = state.repo.user_stats(tenant).await?;
    Ok((stats, users))
}
