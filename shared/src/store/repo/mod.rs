//! The repository: every read and write the API makes, each in as few round
//! trips as the key design allows. Written once over the table port.
//!
//! One file per aggregate, each an `impl Repository` block: `tenants`,
//! `api_keys`, `sessions`, `messages`, `files`, `ratelimit`, `stats`,
//! `privacy`, `analytics` (daily counters), `feedback`, `tenant_sessions`
//! (the console's session list and transcripts), `knowledge` (the
//! knowledge base's document items and its commits); `import` holds what only
//! `chatctl import` writes. Keys come from `store::keys`, attribute names
//! from `attrs`.

mod analytics;
mod api_keys;
mod attrs;
pub mod budget;
mod feedback;
mod files;
mod import;
mod knowledge;
mod messages;
mod privacy;
pub mod ratelimit;
mod sessions;
mod stats;
mod tenant_sessions;
mod tenants;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use analytics::{DayCounts, DayTotals};
pub use api_keys::{KeyListing, Revocation};
pub use feedback::{NewRating, RateOutcome, Rating};
pub use import::Imported;
pub use knowledge::KnowledgeChange;
pub use messages::HistoryPage;
pub use privacy::SessionContents;
pub use sessions::{CONTEXT_HISTORY, MergeOutcome};
pub use stats::{TenantStats, UserStat};
pub use tenant_sessions::{
    Feedback, MessagePage, RowPage, SessionFilter, SessionPage, SessionRow, Transcript,
    TranscriptMessage, is_session_cursor,
};

use super::{Item, Key, PK, Query, SK, StoreError, Table};

/// How often a lost race on a conditional write is retried.
const MAX_RETRIES: usize = 5;

/// A short, growing pause before retrying a write that lost a race.
async fn backoff(attempt: usize) {
    tokio::time::sleep(std::time::Duration::from_millis(10 << attempt.min(5))).await;
}

/// Runs a write, retrying it while it conflicts with concurrent
/// transactions (cancelled with no failed condition): the writes it is used
/// for are unconditional adds or guarded puts that stay correct when rerun.
async fn retry_conflicts<F, Fut>(mut write: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut attempt = 0;
    loop {
        match write().await {
            Err(StoreError::TransactionCancelled { failed })
                if failed.is_empty() && attempt < MAX_RETRIES =>
            {
                attempt += 1;
                backoff(attempt).await;
            }
            other => return other,
        }
    }
}

#[derive(Clone)]
pub struct Repository {
    table: Arc<dyn Table>,
}

fn to_item<T: Serialize>(key: &Key, value: &T) -> Result<Item, StoreError> {
    let Value::Object(map) = serde_json::to_value(value)
        .map_err(|e| StoreError::Invalid(format!("cannot encode item: {e}")))?
    else {
        return Err(StoreError::Invalid("item is not an object".into()));
    };
    let mut item: Item = map.into_iter().collect();
    item.insert(PK.into(), Value::String(key.pk.clone()));
    item.insert(SK.into(), Value::String(key.sk.clone()));
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(item.into_iter().collect()))
        .map_err(|e| StoreError::Unavailable(format!("stored item does not decode: {e}")))
}

fn int(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(Value::as_i64).unwrap_or(0)
}

fn encode<T: Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}

impl Repository {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    pub fn table(&self) -> &Arc<dyn Table> {
        &self.table
    }

    /// Every page of a query.
    async fn query_all(&self, query: Query) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let page = self.table.query(&query.clone().start_after(after)).await?;
            items.extend(page.items);
            match page.last_key {
                Some(cursor) => after = Some(cursor),
                None => return Ok(items),
            }
        }
    }
}
