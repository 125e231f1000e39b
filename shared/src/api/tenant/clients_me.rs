//! `/api/clients/me/*`: the Django system's self-service endpoints, with
//! its exact shapes (snake_case, DRF-style 400s), for tenants moving from
//! it. They read and write the same settings as `/api/tenant/*`, through
//! the Django config keys (`model::django`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::widget_code::public_base;
use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::http::{ApiJson, AppError};
use crate::service::ServiceError;
use crate::service::tenant::{keys, settings};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(client_config, update_client_config))
        .routes(routes!(regenerate_key))
        .routes(routes!(client_widget_code))
}

#[derive(Serialize, ToSchema)]
pub struct ClientConfig {
    client_id: uuid::Uuid,
    name: String,
    /// The Django config keys set (`bot_name`, `primary_color`,
    /// `bot_message_bg_color`, `bot_icon_url`, `powered_by_text`,
    /// `system_prompt`, `whitelisted_domains`, `widget_position`, `theme`),
    /// then any other key stored as it came.
    #[schema(value_type = Object)]
    config: Map<String, Value>,
    system_prompt: Option<String>,
}

#[utoipa::path(
    get, path = "/api/clients/me/config", tag = "clients",
    responses((status = 200, description = "The client's config (Django shape)", body = ClientConfig), Errors)
)]
pub(crate) async fn client_config(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<ClientConfig>, AppError> {
    let tenant = settings::get(&state, caller.tenant_id()).await?;
    Ok(Json(ClientConfig {
        client_id: tenant.tenant_id,
        name: tenant.name.clone(),
        config: tenant.django_config(),
        system_prompt: tenant.system_prompt.clone(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ConfigUpdate {
    /// Keys merged over the stored config (`null` clears one).
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    config: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ConfigUpdated {
    client_id: uuid::Uuid,
    #[schema(value_type = Object)]
    config: Map<String, Value>,
    /// `Configuration updated successfully`
    message: &'static str,
}

/// A 400 of `PUT /api/clients/me/config`: the Django system's `{"config":
/// [message]}` for a bad `config`, with our `error`/`field`/`detail` when a
/// setting is refused; `{error, detail}` for a body that is not JSON.
#[derive(Serialize, ToSchema)]
pub struct ConfigErrorBody {
    config: Option<Vec<String>>,
    error: Option<String>,
    field: Option<String>,
    detail: Option<String>,
}

/// [`Errors`] with this endpoint's own 400.
struct ConfigErrors;

impl IntoResponses for ConfigErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        let mut responses = Errors::responses();
        responses.remove("400");
        responses
    }
}

/// A DRF-style 400: `{"config": [message]}`, plus our `error`/`field`/
/// `detail` when a setting is refused.
fn config_error(message: String, extra: Option<(&str, &str)>) -> Response {
    let mut body = json!({"config": [message]});
    if let Some((field, detail)) = extra {
        body["error"] = "Invalid settings".into();
        body["field"] = field.into();
        body["detail"] = detail.into();
    }
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// Shallow-merges the given keys into the client's config (Django's
/// `PUT /api/clients/me/config`).
#[utoipa::path(
    put, path = "/api/clients/me/config", tag = "clients",
    request_body = ConfigUpdate,
    responses(
        (status = 200, description = "The merged config (Django shape)", body = ConfigUpdated),
        (status = 400, description = "`{\"config\": [\"Config must be a JSON object\"]}`, or a refused key", body = ConfigErrorBody),
        ConfigErrors
    )
)]
pub(crate) async fn update_client_config(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ConfigUpdate>,
) -> Result<Response, AppError> {
    let config = match body.config {
        Some(Value::Object(map)) => map,
        None => return Ok(config_error("This field is required.".into(), None)),
        Some(_) => return Ok(config_error("Config must be a JSON object".into(), None)),
    };
    match settings::merge_django_config(&state, caller.tenant_id(), &config).await {
        Ok(tenant) => Ok(Json(ConfigUpdated {
            client_id: tenant.tenant_id,
            config: tenant.django_config(),
            message: "Configuration updated successfully",
        })
        .into_response()),
        Err(ServiceError::InvalidSettings(e)) => Ok(config_error(
            format!("{}: {}", e.field, e.detail),
            Some((&e.field, &e.detail)),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct RegeneratedKey {
    /// The new key, shown once.
    api_key: String,
    message: &'static str,
}

/// Replaces the calling key by a new one; the calling key stops working
/// at once.
#[utoipa::path(
    post, path = "/api/clients/me/regenerate-key", tag = "clients",
    responses((status = 200, description = "The new key (Django shape)", body = RegeneratedKey), Errors)
)]
pub(crate) async fn regenerate_key(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<RegeneratedKey>, AppError> {
    let issued = keys::regenerate(&state, &caller.key).await?;
    Ok(Json(RegeneratedKey {
        api_key: issued.key,
        message: "API key regenerated successfully. The previous key no longer works.",
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ClientWidgetCode {
    html: String,
    instructions: String,
    /// The publishable key in the snippet (public by design).
    api_key: String,
}

#[utoipa::path(
    get, path = "/api/clients/me/widget-code", tag = "clients",
    responses((status = 200, description = "The embed snippet (Django shape)", body = ClientWidgetCode), Errors)
)]
pub(crate) async fn client_widget_code(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ClientWidgetCode>, AppError> {
    let (key, _) = keys::widget_key(&state, caller.tenant_id()).await?;
    Ok(Json(ClientWidgetCode {
        html: keys::widget_snippet(&public_base(&state, &headers), &key),
        instructions: "Paste this snippet just before the closing </body> tag of every page \
            that should show the chat widget. Add the sites' origins to the allowed origins \
            (whitelisted_domains) so the key works there."
            .to_owned(),
        api_key: key,
    }))
}
