//! Usage counts, from counters (never a scan).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use serde::Serialize;
use serde::ser::SerializeMap;
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
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

/// One reading of the tenant's users: each user's session count as the JSON
/// object of the by-user response (`{"user@example.com": 5, ...}`,
/// identifiers in order, shared by every request it answers), how many, and
/// the tenant's session totals read with them.
#[derive(Debug, Clone)]
pub struct UserCounts {
    pub stats: TenantStats,
    pub unique_users: usize,
    pub json: Bytes,
}

/// The users' counts of recently asked tenants, each with the store's
/// version of the tenant's partition when it was read. Stores that number
/// their partitions (the embedded store) answer repeated requests from here
/// until a write touches the partition (a session created or deleted, a
/// counter counted); the others (DynamoDB) read the users every time.
static BY_USER: LazyLock<Mutex<HashMap<Uuid, (u64, UserCounts)>>> = LazyLock::new(Mutex::default);
/// Most bytes of JSON kept in `BY_USER`; past it, it starts empty again.
const BY_USER_BYTES: usize = 8 << 20;

/// One reading of a tenant's users at a time. A request that finds no kept
/// answer waits its turn here; if the reading done while it waited began
/// after it arrived, that answer is as new as its own would be, and it takes
/// it instead of reading again. So a burst of requests after a write costs at
/// most two readings, not one per request (single flight).
#[derive(Default)]
struct Lane {
    /// The last reading's answer, and the ticket drawn when it began; kept
    /// only while requests wait for it.
    last: Option<(u64, UserCounts)>,
}

/// Tickets order arrivals and the starts of readings.
static TICKETS: AtomicU64 = AtomicU64::new(0);
static LANES: LazyLock<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Lane>>>>> =
    LazyLock::new(Mutex::default);
/// Most tenants with a lane; past it, the lanes start empty again (a lane
/// dropped while in use only lets one more reading run beside it).
const LANES_MAX: usize = 10_000;

fn lane(tenant: Uuid) -> Arc<tokio::sync::Mutex<Lane>> {
    let mut lanes = LANES.lock().unwrap_or_else(|e| e.into_inner());
    if lanes.len() >= LANES_MAX && !lanes.contains_key(&tenant) {
        lanes.clear();
    }
    lanes.entry(tenant).or_default().clone()
}

/// Whether requests other than the caller hold the lane (the map holds one
/// handle, the caller another).
fn others_wait(handle: &Arc<tokio::sync::Mutex<Lane>>) -> bool {
    Arc::strong_count(handle) > 2
}

/// The tenant's counters and each user's session count.
pub async fn by_user(state: &AppState, tenant: Uuid) -> ServiceResult<UserCounts> {
    if let Some(users) = kept(state, tenant) {
        return Ok(users);
    }
    let arrived = TICKETS.fetch_add(1, Ordering::SeqCst);
    let handle = lane(tenant);
    let mut lane = handle.lock().await;
    if let Some((began, users)) = &lane.last
        && *began > arrived
    {
        let users = users.clone();
        if !others_wait(&handle) {
            lane.last = None;
        }
        return Ok(users);
    }
    // A write may have been answered while this request waited: the kept
    // answer may be new again.
    if let Some(users) = kept(state, tenant) {
        if !others_wait(&handle) {
            lane.last = None;
        }
        return Ok(users);
    }
    let began = TICKETS.fetch_add(1, Ordering::SeqCst);
    // The version before the reading: a write during it moves the version
    // on, so the answer is never kept past a change it missed.
    let version = state.repo.users_version(tenant);
    let stats = state.repo.tenant_stats(tenant).await?;
    let users = in_identifier_order(state.repo.user_stats(tenant).await?);
    let json = serde_json::to_vec(&AsObject(&users))
        .map_err(|e| ServiceError::Internal(format!("cannot encode the users: {e}")))?;
    let counts = UserCounts {
        stats,
        unique_users: users.len(),
        json: json.into(),
    };
    // Kept only for requests waiting now; the last of them lets it go, so
    // lanes hold no answers between bursts.
    lane.last = others_wait(&handle).then(|| (began, counts.clone()));
    if let Some(version) = version {
        let mut cache = cached();
        let held: usize = cache.values().map(|(_, u)| u.json.len()).sum();
        if held + counts.json.len() > BY_USER_BYTES {
            cache.clear();
        }
        cache.insert(tenant, (version, counts.clone()));
    }
    Ok(counts)
}

/// The kept answer, if the store says the tenant's partition is unchanged
/// since it was read.
fn kept(state: &AppState, tenant: Uuid) -> Option<UserCounts> {
    let version = state.repo.users_version(tenant)?;
    let cache = cached();
    let (at, users) = cache.get(&tenant)?;
    (*at == version).then(|| users.clone())
}

fn cached() -> std::sync::MutexGuard<'static, HashMap<Uuid, (u64, UserCounts)>> {
    // Entries are whole values: a panic elsewhere cannot leave one torn.
    BY_USER.lock().unwrap_or_else(|e| e.into_inner())
}

/// The users as one JSON object, in their order.
struct AsObject<'a>(&'a [UserStat]);

impl Serialize for AsObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for user in self.0 {
            map.serialize_entry(&user.user_identifier, &user.session_count)?;
        }
        map.end()
    }
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
