//! Which provider a session's messages go to: the session's `aiProvider`,
//! else the tenant's `defaultProvider`, else the deployment's `AI_PROVIDER`.
//!
//! A session naming a provider this deployment lacks still gets the
//! deployment's default (`Providers::resolve`, as before). A tenant's
//! default is the tenant's own choice, so it is never swapped silently:
//! when this deployment does not offer it, creating a session that names
//! none, or sending to one, is refused with a clear error that says so.

use serde_json::Value;

use super::{ServiceError, ServiceResult};
use crate::AppState;
use crate::model::{SessionConfig, Tenant};

/// The provider a config names, if any (a string `aiProvider`).
fn named(config: &SessionConfig) -> Option<&str> {
    config
        .get("aiProvider")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The provider to ask for: the config's, else the tenant's default.
pub fn requested<'a>(tenant: &'a Tenant, config: &'a SessionConfig) -> Option<&'a str> {
    named(config).or(tenant.default_provider.as_deref())
}

/// When the config names no provider and the tenant's default is not
/// offered here: [`ServiceError::ProviderUnavailable`].
pub fn check(state: &AppState, tenant: &Tenant, config: &SessionConfig) -> ServiceResult<()> {
    let Some(wanted) = tenant.default_provider.as_deref() else {
        return Ok(());
    };
    if named(config).is_some() {
        return Ok(());
    }
    let (offered, _) = state.providers.available(tenant);
    if offered.iter().any(|(id, _)| *id == wanted) {
        return Ok(());
    }
    Err(ServiceError::ProviderUnavailable {
        provider: wanted.to_owned(),
        available: offered.iter().map(|(id, _)| (*id).to_owned()).collect(),
    })
}

/// The `aiProvider` a new session gets when its config names none: the
/// tenant's default (checked), else the deployment's.
pub fn for_new_session(state: &AppState, tenant: &Tenant) -> ServiceResult<String> {
    check(state, tenant, &SessionConfig::new())?;
    Ok(tenant
        .default_provider
        .clone()
        .unwrap_or_else(|| state.config.default_provider.clone()))
}
