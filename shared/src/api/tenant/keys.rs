//! `/api/tenant/keys`: list, issue (the key shown once) and revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::api::openapi::Errors;
use crate::auth::Caller;
use crate::clock::iso8601;
use crate::http::{ApiJson, AppError};
use crate::model::KeyKind;
use crate::service::tenant::keys as service;
use crate::store::repo::KeyListing;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

/// A key as listed: never the key itself.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyBody {
    key_id: Uuid,
    #[schema(value_type = KeyKindName)]
    kind: KeyKind,
    /// The key's first characters, to recognise it.
    prefix: String,
    label: Option<String>,
    created_at: String,
    /// When the key was last used, to the hour.
    last_used_at: Option<String>,
    revoked: bool,
}

impl From<&KeyListing> for KeyBody {
    fn from(l: &KeyListing) -> Self {
        let r = &l.record;
        Self {
            key_id: r.key_id,
            kind: r.kind,
            prefix: r.prefix.clone(),
            label: l.label.clone(),
            created_at: iso8601(r.created_at),
            last_used_at: l.last_used_at.map(iso8601),
            revoked: r.revoked,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    keys: Vec<KeyBody>,
}

/// The tenant's keys, newest first, revoked ones included.
#[utoipa::path(
    get, path = "/api/tenant/keys", tag = "tenant",
    responses((status = 200, description = "The tenant's keys", body = KeyList), Errors)
)]
pub(crate) async fn list_keys(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<KeyList>, AppError> {
    let keys = service::list(&state, caller.tenant_id()).await?;
    Ok(Json(KeyList {
        keys: keys.iter().map(KeyBody::from).collect(),
    }))
}

/// What a key may do, as the document names it ([`KeyKind`]).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum KeyKindName {
    /// `cb_…`: for servers; every endpoint.
    Secret,
    /// `pk_…`: for the widget in web pages; chatting only.
    Publishable,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    #[schema(value_type = KeyKindName)]
    kind: KeyKind,
    /// Up to 100 characters.
    #[serde(default)]
    #[schema(max_length = 100)]
    label: Option<String>,
}

/// A key just issued.
#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    listing: KeyBody,
    /// The key: shown once, not stored (a secret key is kept only as its
    /// hash).
    key: String,
}

#[utoipa::path(
    post, path = "/api/tenant/keys", tag = "tenant",
    request_body = CreateKeyRequest,
    responses((status = 201, description = "The key, shown once", body = CreatedKey), Errors)
)]
pub(crate) async fn create_key(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKey>), AppError> {
    let label = service::parse_label(body.label.as_deref())?;
    let issued = service::create(&state, caller.tenant_id(), body.kind, label).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            listing: KeyBody::from(&issued.listing),
            key: issued.key,
        }),
    ))
}

/// `/{key_id}` in a path: malformed segments are our JSON 400s.
#[derive(Deserialize, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct KeyPath {
    key_id: String,
}

/// Revokes a key (at once on this instance, within
/// `API_KEY_CACHE_SECONDS` everywhere). 409 when it is the tenant's last
/// active secret key.
#[utoipa::path(
    delete, path = "/api/tenant/keys/{key_id}", tag = "tenant",
    params(("key_id" = Uuid, Path, description = "The key's id")),
    responses((status = 200, description = "The key, revoked", body = KeyBody), Errors)
)]
pub(crate) async fn revoke_key(
    caller: Caller,
    State(state): State<AppState>,
    path: KeyPath,
) -> Result<Json<KeyBody>, AppError> {
    let key_id =
        Uuid::parse_str(&path.key_id).map_err(|_| AppError::bad_request("Invalid key ID"))?;
    let revoked = service::revoke(&state, caller.tenant_id(), key_id).await?;
    Ok(Json(KeyBody::from(&revoked)))
}
