//! API keys: a lookup item by hash and a listing item under the tenant,
//! always written together.

use uuid::Uuid;

use super::{Repository, attrs, from_item, to_item};
use crate::model::ApiKeyRecord;
use crate::store::{Condition, Query, SortCondition, StoreError, Update, WriteOp, keys};

/// The two puts storing a new key: its lookup item by hash and its listing
/// item under the tenant, each only if absent.
pub(super) fn key_puts(record: &ApiKeyRecord) -> Result<[WriteOp; 2], StoreError> {
    let lookup = to_item(&keys::api_key(&record.key_hash), record)?;
    let listing = to_item(
        &keys::tenant_key_listing(record.tenant_id, record.key_id),
        record,
    )?;
    Ok([
        WriteOp::put(lookup).when(Condition::NotExists),
        WriteOp::put(listing).when(Condition::NotExists),
    ])
}

impl Repository {
    /// Stores a key: the lookup item by hash and the tenant's listing item,
    /// together.
    pub async fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let [lookup, listing] = key_puts(record)?;
        self.table
            .transact(vec![
                lookup,
                listing,
                WriteOp::Check {
                    key: keys::tenant(record.tenant_id),
                    condition: Condition::Exists,
                },
            ])
            .await
    }

    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.table
            .get(&keys::api_key(key_hash))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn list_api_keys(&self, tenant: Uuid) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(keys::KEY_PREFIX.into()));
        self.query_all(query)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Marks a key revoked in both of its items. `false` when no such key.
    pub async fn revoke_api_key(&self, tenant: Uuid, key_id: Uuid) -> Result<bool, StoreError> {
        let listing_key = keys::tenant_key_listing(tenant, key_id);
        let Some(listing) = self.table.get(&listing_key).await? else {
            return Ok(false);
        };
        let record: ApiKeyRecord = from_item(listing)?;
        let revoke = Update::new().set(attrs::REVOKED, true);
        self.table
            .transact(vec![
                WriteOp::update(keys::api_key(&record.key_hash), revoke.clone())
                    .when(Condition::Exists),
                WriteOp::update(listing_key, revoke).when(Condition::Exists),
            ])
            .await?;
        Ok(true)
    }
}
