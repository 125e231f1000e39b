//! Tenants: created, replaced, read and listed (GSI1 `TENANTS`).

use uuid::Uuid;

use super::{Repository, from_item, to_item};
use crate::model::Tenant;
use crate::store::{Condition, GSI1PK, GSI1SK, Item, Query, StoreError, WriteOp, keys};

/// A tenant's item, listed on GSI1 under `TENANTS` by creation time.
pub(super) fn tenant_item(tenant: &Tenant) -> Result<Item, StoreError> {
    let mut item = to_item(&keys::tenant(tenant.tenant_id), tenant)?;
    item.insert(GSI1PK.into(), keys::TENANTS_GSI1PK.into());
    item.insert(
        GSI1SK.into(),
        keys::tenant_gsi1sk(tenant.created_at, tenant.tenant_id).into(),
    );
    Ok(item)
}

impl Repository {
    /// Stores a new tenant (listed on GSI1 under `TENANTS`).
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let item = tenant_item(tenant)?;
        self.table
            .write(WriteOp::put(item).when(Condition::NotExists))
            .await?;
        Ok(())
    }

    /// Replaces an existing tenant's settings (bot overrides, own provider).
    pub async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let item = tenant_item(tenant)?;
        self.table
            .write(WriteOp::put(item).when(Condition::Exists))
            .await?;
        Ok(())
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
