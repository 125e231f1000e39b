//! The caller extractors: `X-API-Key`, `Origin`/`Referer` (and, for the
//! widget, `X-User-Signature`) read from the request parts, so auth never consumes
//! the body. What a key may do is decided in `auth`; here it only meets
//! the request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppError;
use crate::AppState;
use crate::auth::{
    API_KEY_HEADER, AuthError, Caller, USER_SIGNATURE_HEADER, WidgetCaller, open_identity_secret,
    origin_allowed,
};

/// The key from `X-API-Key`, verified.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AuthError> {
    let Some(value) = parts.headers.get(API_KEY_HEADER) else {
        return Err(AuthError::MissingApiKey);
    };
    let key = value.to_str().map_err(|_| AuthError::InvalidApiKey)?.trim();
    if key.is_empty() {
        return Err(AuthError::MissingApiKey);
    }
    let caller = state
        .auth
        .verify_use(&state.repo, key, state.now_ms())
        .await?;
    crate::observe::record_tenant(&parts.extensions, caller.tenant_id());
    Ok(caller)
}

/// [`authenticate`], from a page the key's tenant allows (`Origin`, else
/// `Referer`; every kind of key, `auth::origins`).
async fn authenticate_from_page(parts: &Parts, state: &AppState) -> Result<Caller, AuthError> {
    let caller = authenticate(parts, state).await?;
    let trusted = &state.config.trusted_origins;
    if !origin_allowed(&caller.tenant, caller.key.kind, &parts.headers, trusted) {
        return Err(AuthError::OriginNotAllowed);
    }
    Ok(caller)
}

/// Secret keys only: every endpoint that does not ask for a [`WidgetCaller`].
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = authenticate_from_page(parts, state).await?;
        if caller.is_publishable() {
            return Err(AuthError::SecretKeyRequired.into());
        }
        Ok(caller)
    }
}

/// Either kind of key.
impl FromRequestParts<AppState> for WidgetCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let mut caller = authenticate_from_page(parts, state).await?;
        if caller.is_publishable() {
            caller.user_signature = parts
                .headers
                .get(USER_SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
            // Opened only when there is a signature to check.
            if caller.user_signature.is_some() {
                caller.identity_secret =
                    open_identity_secret(state.repo.tenant_secrets(), &caller.tenant).await?;
            }
        }
        Ok(WidgetCaller(caller))
    }
}
