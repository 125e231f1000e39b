//! Reading and changing a tenant's settings: a JSON merge patch of the
//! `settings` object, or the Django system's shallow `config` merge. Both
//! validate through `model::settings` and write conditionally on the
//! version they read (`Repository::modify_tenant`), so concurrent changes
//! are never lost; the changed tenant replaces this process's cached copy.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::AppState;
use crate::auth::new_identity_secret;
use crate::config::Secret;
use crate::model::Tenant;
use crate::service::{ServiceError, ServiceResult};

/// A tenant after a settings change, and what to show once.
#[derive(Debug)]
pub struct SettingsChange {
    pub tenant: Tenant,
    /// A new identity secret (identity turned on, or rotated).
    pub identity_secret: Option<Secret>,
}

/// The tenant as stored now (one read; not the auth cache's copy).
pub async fn get(state: &AppState, tenant_id: Uuid) -> ServiceResult<Tenant> {
    state
        .repo
        .get_tenant(tenant_id)
        .await?
        .ok_or(ServiceError::TenantNotFound)
}

/// Applies an RFC 7396 merge patch of the settings: one read and one
/// conditional write (again on a lost race). A refused field changes
/// nothing.
pub async fn patch(
    state: &AppState,
    tenant_id: Uuid,
    patch: &Value,
) -> ServiceResult<SettingsChange> {
    let fresh =
        new_identity_secret().map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    let changed = state
        .repo
        .modify_tenant(tenant_id, |tenant| {
            let settings = tenant
                .settings()
                .patched(patch)
                .map_err(ServiceError::InvalidSettings)?;
            let applied = tenant.apply_settings(settings, || Secret::new(fresh.clone()));
            Ok::<_, ServiceError>(applied.new_identity_secret)
        })
        .await?;
    let (tenant, identity_secret) = changed.ok_or(ServiceError::TenantNotFound)?;
    state.auth.refresh_tenant(&tenant);
    Ok(SettingsChange {
        tenant,
        identity_secret,
    })
}

/// The Django system's `PUT /api/clients/me/config`: a shallow merge of
/// its config keys (`Tenant::merge_django_config`), same guarantees as
/// [`patch`].
pub async fn merge_django_config(
    state: &AppState,
    tenant_id: Uuid,
    config: &Map<String, Value>,
) -> ServiceResult<Tenant> {
    let changed = state
        .repo
        .modify_tenant(tenant_id, |tenant| {
            tenant
                .merge_django_config(config)
                .map_err(ServiceError::InvalidSettings)
        })
        .await?;
    let (tenant, ()) = changed.ok_or(ServiceError::TenantNotFound)?;
    state.auth.refresh_tenant(&tenant);
    Ok(tenant)
}

/// Any other change of the tenant item (`chatctl`'s provider endpoint),
/// with the same guarantees.
pub async fn modify(
    state: &AppState,
    tenant_id: Uuid,
    change: impl FnMut(&mut Tenant) -> ServiceResult<()>,
) -> ServiceResult<Tenant> {
    let (tenant, ()) = state
        .repo
        .modify_tenant(tenant_id, change)
        .await?
        .ok_or(ServiceError::TenantNotFound)?;
    state.auth.refresh_tenant(&tenant);
    Ok(tenant)
}
