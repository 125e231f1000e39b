//! Tenants: created, replaced, read and listed (GSI1 `TENANTS`).
//!
//! Every replacement is a read-modify-write conditional on the item's
//! `version`, which it bumps: two concurrent changes (an API patch and a
//! `chatctl` command, say) never lose each other's fields; the loser reads
//! again and reapplies its change.
//!
//! Every write seals the tenant's secrets (identity secret, own provider
//! key) that are still plain: new ones, and those of items written before
//! a key was configured, which read as they are (`crate::secrets`).

use uuid::Uuid;

use super::{MAX_RETRIES, Repository, attrs, backoff, from_item, int, to_item};
use crate::model::Tenant;
use crate::store::{Condition, GSI1PK, GSI1SK, Item, Query, StoreError, WriteOp, keys};

/// A tenant's item as given, listed on GSI1 under `TENANTS` by creation
/// time ([`Repository::tenant_item`] seals its secrets first).
fn plain_tenant_item(tenant: &Tenant) -> Result<Item, StoreError> {
    let mut item = to_item(&keys::tenant(tenant.tenant_id), tenant)?;
    item.insert(GSI1PK.into(), keys::TENANTS_GSI1PK.into());
    item.insert(
        GSI1SK.into(),
        keys::tenant_gsi1sk(tenant.created_at, tenant.tenant_id).into(),
    );
    Ok(item)
}

/// The condition that the tenant item is still at `version` (0: never
/// replaced since it was created).
pub(super) fn at_version(version: i64) -> Condition {
    if version == 0 {
        Condition::And(vec![
            Condition::Exists,
            Condition::AttributeNotExists(attrs::VERSION.into()),
        ])
    } else {
        Condition::Equals(attrs::VERSION.into(), version.into())
    }
}

/// A tenant as read, with the version a replacement must find.
pub(super) fn versioned(item: Item) -> Result<(Tenant, i64), StoreError> {
    let version = int(&item, attrs::VERSION);
    Ok((from_item(item)?, version))
}

impl Repository {
    /// `tenant` with its plain secrets sealed (when a key is configured).
    pub(super) async fn sealed(&self, tenant: &mut Tenant) -> Result<(), StoreError> {
        self.tenant_secrets
            .seal_tenant(tenant)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot seal the tenant's secrets: {e}")))
    }

    /// The item of `tenant`, its secrets sealed.
    pub(super) async fn tenant_item(&self, tenant: &Tenant) -> Result<Item, StoreError> {
        if !self.tenant_secrets.seals() {
            return plain_tenant_item(tenant);
        }
        let mut sealed = tenant.clone();
        self.sealed(&mut sealed).await?;
        plain_tenant_item(&sealed)
    }

    /// Stores a new tenant (listed on GSI1 under `TENANTS`).
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let item = self.tenant_item(tenant).await?;
        self.table
            .write(WriteOp::put(item).when(Condition::NotExists))
            .await?;
        Ok(())
    }

    /// Replaces an existing tenant with `tenant` as given (what `chatctl`'s
    /// older commands and tests do); `ConditionFailed` when there is none.
    pub async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.modify_tenant(tenant.tenant_id, |t| {
            *t = tenant.clone();
            Ok::<_, StoreError>(())
        })
        .await?
        .map(|_| ())
        .ok_or(StoreError::ConditionFailed)
    }

    /// Reads the tenant, applies `change` and writes it back if nobody
    /// changed it meanwhile; otherwise reads again and reapplies (so
    /// `change` may run more than once). `None` when there is no tenant;
    /// the change's own error stops it with nothing written. Costs one read
    /// and one conditional write when uncontended.
    pub async fn modify_tenant<R, E>(
        &self,
        tenant_id: Uuid,
        mut change: impl FnMut(&mut Tenant) -> Result<R, E>,
    ) -> Result<Option<(Tenant, R)>, E>
    where
        E: From<StoreError>,
    {
        let mut attempt = 0;
        loop {
            let Some(item) = self.table.get(&keys::tenant(tenant_id)).await? else {
                return Ok(None);
            };
            let (mut tenant, version) = versioned(item)?;
            let out = change(&mut tenant)?;
            // Returned as stored: a cache of it holds no plain secret.
            self.sealed(&mut tenant).await?;
            let mut item = plain_tenant_item(&tenant)?;
            item.insert(attrs::VERSION.into(), (version + 1).into());
            match self
                .table
                .write(WriteOp::put(item).when(at_version(version)))
                .await
            {
                Ok(_) => return Ok(Some((tenant, out))),
                // Each lost race means another writer won: with n writers
                // at once the last needs n attempts.
                Err(StoreError::ConditionFailed) if attempt < 5 * MAX_RETRIES => {
                    attempt += 1;
                    backoff(attempt.min(4)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub async fn get_tenant(&self, tenant: Uuid) -> Result<Option<Tenant>, StoreError> {
        self.table
            .get(&keys::tenant(tenant))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Every tenant, oldest first.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let query = Query::partition(keys::TENANTS_GSI1PK).on_gsi1();
        self.query_all(query)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}
