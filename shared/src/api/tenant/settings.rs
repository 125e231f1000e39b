//! `GET /api/tenant` and `PATCH /api/tenant/settings`: who the tenant is
//! and its settings, changed by a JSON merge patch (RFC 7396).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::config::ExposeSecret;
use crate::http::{ApiJson, AppError};
use crate::model::{Tenant, TenantSettings};
use crate::service::tenant::settings as service;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_tenant))
        .routes(routes!(patch_settings))
}

/// The tenant and its settings.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantBody {
    tenant_id: uuid::Uuid,
    name: String,
    email: String,
    created_at: String,
    /// `{bot: {name, poweredBy, color, msgBgColor, icon, welcomeMessage,
    /// starterPrompts, position, theme, language}, systemPrompt,
    /// defaultProvider, allowedOrigins, identity: {enabled, required},
    /// rateLimitPerHour, retentionDays, limits: {perVisitorPerHour,
    /// tenantPerHour}, budget: {monthlyMessages, monthlyTokens, softPercent,
    /// onExceeded: "reject"|"fallback", fallbackProvider, fallbackModel}}`;
    /// unset fields use the deployment's defaults (`limits`, `budget`: no
    /// ceiling, no caps).
    #[schema(value_type = Object)]
    settings: TenantSettings,
}

impl From<&Tenant> for TenantBody {
    fn from(t: &Tenant) -> Self {
        Self {
            tenant_id: t.tenant_id,
            name: t.name.clone(),
            email: t.email.clone(),
            created_at: iso8601(t.created_at),
            settings: t.settings(),
        }
    }
}

#[utoipa::path(
    get, path = "/api/tenant", tag = "tenant",
    responses((status = 200, description = "The tenant and its settings", body = TenantBody), Errors)
)]
pub(crate) async fn get_tenant(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<TenantBody>, AppError> {
    let tenant = service::get(&state, caller.tenant_id()).await?;
    Ok(Json(TenantBody::from(&tenant)))
}

/// The tenant after a change, and a new identity secret when one was made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsResponse {
    #[serde(flatten)]
    tenant: TenantBody,
    /// Shown once: the new identity secret (identity turned on, or
    /// `identity.rotateSecret: true`). Keep it on your server.
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_secret: Option<String>,
}

/// Changes settings by a JSON merge patch of the `settings` object: given
/// fields replace, `null` clears (back to the deployment's default), other
/// fields stay. A refused field changes nothing and answers 400 `{"error":
/// "Invalid settings", "field", "detail"}`. Concurrent patches are both
/// applied (the write is conditional on the version read, and retried).
#[utoipa::path(
    patch, path = "/api/tenant/settings", tag = "tenant",
    request_body(content = Object, description = "A JSON merge patch of `settings`",
        content_type = "application/json"),
    responses((status = 200, description = "The tenant after the change", body = SettingsResponse), Errors)
)]
pub(crate) async fn patch_settings(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<SettingsResponse>, AppError> {
    let change = service::patch(&state, caller.tenant_id(), &patch).await?;
    Ok(Json(SettingsResponse {
        tenant: TenantBody::from(&change.tenant),
        identity_secret: change.identity_secret.map(|s| s.expose_secret().to_owned()),
    }))
}
