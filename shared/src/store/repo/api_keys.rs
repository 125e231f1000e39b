//! API keys: a lookup item by hash and a listing item under the tenant,
//! always written together. The listing item is a [`KeyListing`]: the
//! record plus what only the tenant's key list shows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tenants::at_version;
use super::{Repository, attrs, from_item, int, retry_conflicts, to_item};
use crate::model::{ApiKeyRecord, KeyKind};
use crate::store::{Condition, Item, Query, SortCondition, StoreError, Update, WriteOp, keys};

/// A key as its tenant's list shows it (the `KEY#{key_id}` item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyListing {
    #[serde(flatten)]
    pub record: ApiKeyRecord,
    /// The tenant's own name for the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Epoch ms of a request made with the key, written at most once per
    /// key per hour per instance (`Authenticator`), so it is late by up to
    /// an hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// The key itself, for publishable keys only: they are public (every
    /// page embedding the widget carries one), and the embed snippet needs
    /// it again. Secret keys are never stored, only their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishable_key: Option<String>,
}

impl KeyListing {
    pub fn of(record: ApiKeyRecord) -> Self {
        Self {
            record,
            label: None,
            last_used_at: None,
            publishable_key: None,
        }
    }

    pub fn is_active_secret(&self) -> bool {
        !self.record.revoked && self.record.kind == KeyKind::Secret
    }
}

/// What revoking a key with [`Repository::revoke_api_key_guarded`] did.
#[derive(Debug)]
pub enum Revocation {
    /// Revoked now, or already revoked before.
    Revoked(KeyListing),
    NotFound,
    /// It is the tenant's last active secret key: nothing was written.
    LastSecretKey,
}

/// The lookup item (by hash) and the listing item of a key.
pub(super) fn key_items(listing: &KeyListing) -> Result<(Item, Item), StoreError> {
    let record = &listing.record;
    let lookup = to_item(&keys::api_key(&record.key_hash), record)?;
    let listed = to_item(
        &keys::tenant_key_listing(record.tenant_id, record.key_id),
        listing,
    )?;
    Ok((lookup, listed))
}

fn revoke_ops(record: &ApiKeyRecord) -> [WriteOp; 2] {
    let revoke = Update::new().set(attrs::REVOKED, true);
    [
        WriteOp::update(keys::api_key(&record.key_hash), revoke.clone()).when(Condition::Exists),
        WriteOp::update(
            keys::tenant_key_listing(record.tenant_id, record.key_id),
            revoke,
        )
        .when(Condition::Exists),
    ]
}

impl Repository {
    /// Stores a key: the lookup item by hash and the tenant's listing item,
    /// together.
    pub async fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.create_key_listing(&KeyListing::of(record.clone()))
            .await
    }

    /// Stores a key with its listing's label (and, for a publishable key,
    /// the key), in one transaction conditional on the tenant.
    pub async fn create_key_listing(&self, listing: &KeyListing) -> Result<(), StoreError> {
        let (lookup, listed) = key_items(listing)?;
        self.table
            .transact(vec![
                WriteOp::put(lookup).when(Condition::NotExists),
                WriteOp::put(listed).when(Condition::NotExists),
                WriteOp::Check {
                    key: keys::tenant(listing.record.tenant_id),
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
        Ok(self
            .list_key_listings(tenant)
            .await?
            .into_iter()
            .map(|l| l.record)
            .collect())
    }

    /// The tenant's keys as its list shows them: one query of its
    /// partition's `KEY#` items (a page per 1 MB, about 3,000 keys).
    pub async fn list_key_listings(&self, tenant: Uuid) -> Result<Vec<KeyListing>, StoreError> {
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
        self.table.transact(revoke_ops(&record).to_vec()).await?;
        Ok(true)
    }

    /// Revokes a key unless it is the tenant's last active secret key. One
    /// query reads the keys and the tenant item together (`KEY#…` through
    /// `TENANT` in the tenant's partition; only the session totals, `STATS`
    /// and its 16 shards, lie between); the
    /// revocation bumps the tenant's version conditionally, so two
    /// concurrent revocations cannot both pass the check: the loser reads
    /// again.
    pub async fn revoke_api_key_guarded(
        &self,
        tenant: Uuid,
        key_id: Uuid,
    ) -> Result<Revocation, StoreError> {
        let mut attempt = 0;
        loop {
            let query = Query::partition(keys::tenant_pk(tenant)).sort(SortCondition::Between(
                keys::KEY_PREFIX.into(),
                keys::TENANT_SK.into(),
            ));
            let mut listings = Vec::new();
            let mut version = None;
            for item in self.query_all(query).await? {
                match item.get(crate::store::SK).and_then(|v| v.as_str()) {
                    Some(keys::TENANT_SK) => version = Some(int(&item, attrs::VERSION)),
                    Some(sk) if sk.starts_with(keys::KEY_PREFIX) => {
                        listings.push(from_item::<KeyListing>(item)?)
                    }
                    _ => {}
                }
            }
            let (Some(version), Some(target)) = (
                version,
                listings.iter().find(|l| l.record.key_id == key_id).cloned(),
            ) else {
                return Ok(Revocation::NotFound);
            };
            if target.record.revoked {
                return Ok(Revocation::Revoked(target));
            }
            let others = listings
                .iter()
                .filter(|l| l.is_active_secret() && l.record.key_id != key_id)
                .count();
            if target.is_active_secret() && others == 0 {
                return Ok(Revocation::LastSecretKey);
            }
            let mut ops = revoke_ops(&target.record).to_vec();
            ops.push(
                WriteOp::update(keys::tenant(tenant), Update::new().add(attrs::VERSION, 1))
                    .when(at_version(version)),
            );
            match retry_conflicts(|| self.table.transact(ops.clone())).await {
                Ok(()) => {
                    let mut revoked = target;
                    revoked.record.revoked = true;
                    return Ok(Revocation::Revoked(revoked));
                }
                Err(StoreError::TransactionCancelled { .. })
                    if attempt < 5 * super::MAX_RETRIES =>
                {
                    attempt += 1;
                    super::backoff(attempt.min(4)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Replaces `old` by `new` at once: the new key's items written and
    /// the old key revoked in one transaction (the Django system's
    /// regenerate-key).
    pub async fn replace_api_key(
        &self,
        old: &ApiKeyRecord,
        new: &KeyListing,
    ) -> Result<(), StoreError> {
        let (lookup, listed) = key_items(new)?;
        let mut ops = vec![
            WriteOp::put(lookup).when(Condition::NotExists),
            WriteOp::put(listed).when(Condition::NotExists),
        ];
        ops.extend(revoke_ops(old));
        retry_conflicts(|| self.table.transact(ops.clone())).await
    }

    /// Records that a key was used (its listing's `last_used_at`).
    pub async fn touch_api_key(
        &self,
        tenant: Uuid,
        key_id: Uuid,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.table
            .write(
                WriteOp::update(
                    keys::tenant_key_listing(tenant, key_id),
                    Update::new().set(attrs::LAST_USED_AT, now_ms),
                )
                .when(Condition::Exists),
            )
            .await?;
        Ok(())
    }
}
