//! One error type for every endpoint: each variant is a status and a JSON body
//! `{"error": ..., "detail"?: ...}`. Causes of 5xx answers are logged, never
//! sent: clients see a generic message.
//!
//! A leaf of the crate's HTTP side: it knows the error types of the modules
//! below it (auth, rate limit, store, blob, providers) and none of them
//! knows it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::AuthError;
use crate::blob::BlobError;
use crate::providers::ProviderError;
use crate::ratelimit::{RateLimit, RateLimitError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {error}")]
    BadRequest {
        error: &'static str,
        detail: Option<String>,
    },
    #[error("invalid session id")]
    InvalidSessionId,
    #[error("session not found")]
    SessionNotFound,
    #[error("session expired")]
    SessionExpired,
    #[error("no active file")]
    NoActiveFile,
    #[error("file too large")]
    FileTooLarge { limit: usize },
    #[error("request body too large")]
    BodyTooLarge { limit: usize },
    #[error("unsupported file type")]
    UnsupportedFileType,
    #[error("invalid file content: {0}")]
    InvalidFileContent(String),
    #[error("direct uploads unavailable")]
    DirectUploadUnavailable,
    #[error("upload not found")]
    UploadNotFound,
    #[error("upload not received")]
    UploadNotReceived,
    /// Refused for a reason the detail names (403 `Forbidden`).
    #[error("forbidden: {detail}")]
    Forbidden { detail: String },
    /// A caller refused: no key, a bad key, the wrong kind of key or origin,
    /// a missing or wrong visitor signature, another key's session.
    #[error(transparent)]
    Auth(AuthError),
    #[error("rate limit exceeded")]
    RateLimited(RateLimit),
    #[error("user not found")]
    UserNotFound,
    #[error("message not found")]
    MessageNotFound,
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A provider the tenant chose that this deployment does not offer
    /// (503, the detail names it and what is offered).
    #[error("provider not available: {detail}")]
    ProviderUnavailable { detail: String },
    #[error("provider failed: {0}")]
    Provider(#[from] ProviderError),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    #[error("blob store failed: {0}")]
    Blob(#[from] BlobError),
    #[error("internal error: {0}")]
    Internal(String),
    /// `{"error": "Invalid settings", "field", "detail"}`.
    #[error("invalid settings: {0}")]
    InvalidSettings(crate::model::SettingsError),
    #[error("key not found")]
    KeyNotFound,
    #[error("last secret key")]
    LastSecretKey,
    /// An answer whose status, `error` and `detail` the caller chose (the
    /// knowledge base's 413/415/422s).
    #[error("{error}: {detail}")]
    Answer {
        status: StatusCode,
        error: &'static str,
        detail: String,
    },
}

/// Session and store failures keep their own variants, so one answer has
/// one variant whichever module found it.
impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::SessionNotFound => AppError::SessionNotFound,
            AuthError::Store(e) => AppError::Store(e),
            other => AppError::Auth(other),
        }
    }
}

impl From<RateLimitError> for AppError {
    fn from(error: RateLimitError) -> Self {
        match error {
            RateLimitError::Exceeded(limit) => AppError::RateLimited(limit),
            RateLimitError::Store(e) => AppError::Store(e),
        }
    }
}

impl AppError {
    pub fn bad_request(error: &'static str) -> Self {
        AppError::BadRequest {
            error,
            detail: None,
        }
    }

    pub fn bad_request_detail(error: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            error,
            detail: Some(detail.into()),
        }
    }

    /// The status and the JSON body clients see.
    pub fn status_and_body(&self) -> (StatusCode, Value) {
        if let AppError::InvalidSettings(e) = self {
            let body = json!({"error": "Invalid settings", "field": e.field, "detail": e.detail});
            return (StatusCode::BAD_REQUEST, body);
        }
        let (status, error, detail) = self.parts();
        if let AppError::RateLimited(limit) = self {
            // Which limit was hit: the caller can tell a visitor's own
            // limit from the site's ceiling or its monthly budget.
            let body = json!({"error": error, "limit": limit.kind, "detail": detail});
            return (status, body);
        }
        let body = match detail {
            Some(detail) => json!({ "error": error, "detail": detail }),
            None => json!({ "error": error }),
        };
        (status, body)
    }

    /// Logs the cause of a 5xx answer (clients never see it).
    pub fn log(&self) {
        let status = self.parts().0;
        if status.is_server_error() {
            tracing::error!(cause = %self, status = status.as_u16(), "request failed");
        }
    }

    /// Status, `error` and `detail`: answers that carry data are built
    /// here, the fixed ones come from the table below.
    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        use AppError::*;
        let answer = match self {
            BadRequest { error, detail } => {
                return (StatusCode::BAD_REQUEST, error, detail.clone());
            }
            FileTooLarge { limit } => {
                let detail = format!("The maximum file size is {limit} bytes");
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "File too large",
                    Some(detail),
                );
            }
            BodyTooLarge { limit } => {
                let detail = format!("at most {limit} bytes");
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request body too large",
                    Some(detail),
                );
            }
            ProviderUnavailable { detail } => {
                let status = StatusCode::SERVICE_UNAVAILABLE;
                return (status, "Provider not available", Some(detail.clone()));
            }
            Answer {
                status,
                error,
                detail,
            } => return (*status, error, Some(detail.clone())),
            Forbidden { detail } => {
                return (StatusCode::FORBIDDEN, "Forbidden", Some(detail.clone()));
            }
            InvalidFileContent(detail) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return (status, "Invalid file content", Some(detail.clone()));
            }
            RateLimited(limit) => {
                let detail = limit.detail();
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Rate limit exceeded",
                    Some(detail),
                );
            }
            InvalidSessionId => INVALID_SESSION_ID,
            SessionNotFound => SESSION_NOT_FOUND,
            SessionExpired => SESSION_EXPIRED,
            NoActiveFile => NO_ACTIVE_FILE,
            UnsupportedFileType => UNSUPPORTED_FILE_TYPE,
            DirectUploadUnavailable => DIRECT_UPLOAD_UNAVAILABLE,
            UploadNotFound => UPLOAD_NOT_FOUND,
            UploadNotReceived => UPLOAD_NOT_RECEIVED,
            UserNotFound => USER_NOT_FOUND,
            MessageNotFound => MESSAGE_NOT_FOUND,
            RouteNotFound => ROUTE_NOT_FOUND,
            MethodNotAllowed => METHOD_NOT_ALLOWED,
            Store(e) => store_answer(e),
            Auth(e) => auth_answer(e),
            Provider(ProviderError::Timeout) => PROVIDER_TIMEOUT,
            Provider(_) => PROVIDER_FAILED,
            Blob(BlobError::Unavailable(_)) => STORAGE_UNAVAILABLE,
            Blob(BlobError::InvalidKey(_)) | Internal(_) => INTERNAL,
            InvalidSettings(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    "Invalid settings",
                    Some(e.to_string()),
                );
            }
            KeyNotFound => KEY_NOT_FOUND,
            LastSecretKey => LAST_SECRET_KEY,
        };
        (answer.status, answer.error, answer.detail.map(String::from))
    }
}

fn store_answer(error: &StoreError) -> Answer {
    match error {
        StoreError::ConditionFailed | StoreError::TransactionCancelled { .. } => CONFLICT,
        StoreError::Invalid(_) => INTERNAL,
        StoreError::Unavailable(_) | StoreError::Locked(_) => STORAGE_UNAVAILABLE,
    }
}

fn auth_answer(error: &AuthError) -> Answer {
    match error {
        AuthError::MissingApiKey => MISSING_API_KEY,
        AuthError::InvalidApiKey => INVALID_API_KEY,
        AuthError::SecretKeyRequired => SECRET_KEY_REQUIRED,
        AuthError::OriginNotAllowed => ORIGIN_NOT_ALLOWED,
        AuthError::UserSignatureRequired => USER_SIGNATURE_REQUIRED,
        AuthError::InvalidUserSignature => INVALID_USER_SIGNATURE,
        AuthError::SessionNotFound => SESSION_NOT_FOUND,
        AuthError::Store(e) => store_answer(e),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let (status, body) = self.status_and_body();
        let mut response = (status, Json(body)).into_response();
        if let AppError::RateLimited(limit) = &self {
            limit.apply_headers(response.headers_mut());
            if let Ok(v) = axum::http::HeaderValue::from_str(&limit.retry_after_secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

// ---- the answers with fixed bodies ------------------------------------------

/// A status with its fixed `error` and optional `detail`.
struct Answer {
    status: StatusCode,
    error: &'static str,
    detail: Option<&'static str>,
}

const fn answer(status: StatusCode, error: &'static str, detail: Option<&'static str>) -> Answer {
    Answer {
        status,
        error,
        detail,
    }
}

const MISSING_API_KEY: Answer = answer(
    StatusCode::UNAUTHORIZED,
    "Authentication required",
    Some("Valid API key must be provided in X-API-Key header"),
);
const INVALID_API_KEY: Answer = answer(StatusCode::UNAUTHORIZED, "Invalid API key", None);
const SECRET_KEY_REQUIRED: Answer = answer(
    StatusCode::FORBIDDEN,
    "Forbidden",
    Some("This endpoint needs a secret key (cb_...); publishable keys (pk_...) may only chat"),
);
const ORIGIN_NOT_ALLOWED: Answer = answer(
    StatusCode::FORBIDDEN,
    "Domain not whitelisted",
    Some("This site is not on the tenant's list of allowed origins"),
);
const USER_SIGNATURE_REQUIRED: Answer = answer(
    StatusCode::FORBIDDEN,
    "User signature required",
    Some("Send the user identifier's signature as userSignature or X-User-Signature"),
);
const INVALID_USER_SIGNATURE: Answer = answer(
    StatusCode::FORBIDDEN,
    "Invalid user signature",
    Some("The signature does not match the user identifier"),
);
const INVALID_SESSION_ID: Answer = answer(StatusCode::BAD_REQUEST, "Invalid session ID", None);
const SESSION_NOT_FOUND: Answer = answer(StatusCode::NOT_FOUND, "Session not found", None);
const SESSION_EXPIRED: Answer = answer(StatusCode::GONE, "Session expired", None);
const NO_ACTIVE_FILE: Answer = answer(
    StatusCode::NOT_FOUND,
    "No file uploaded",
    Some("This session has no active file"),
);
const UNSUPPORTED_FILE_TYPE: Answer = answer(
    StatusCode::UNSUPPORTED_MEDIA_TYPE,
    "Unsupported file type",
    Some("Only CSV and JSON files are accepted"),
);
const DIRECT_UPLOAD_UNAVAILABLE: Answer = answer(
    StatusCode::NOT_IMPLEMENTED,
    "Direct uploads are not available",
    Some("This deployment stores files locally; use POST /api/chat/files/upload"),
);
const UPLOAD_NOT_FOUND: Answer = answer(
    StatusCode::NOT_FOUND,
    "Upload not found",
    Some("Request an upload URL first, and complete each upload once"),
);
const UPLOAD_NOT_RECEIVED: Answer = answer(
    StatusCode::CONFLICT,
    "Upload not received",
    Some("PUT the file to the upload URL before completing it"),
);
const MESSAGE_NOT_FOUND: Answer = answer(StatusCode::NOT_FOUND, "Message not found", None);
const USER_NOT_FOUND: Answer = answer(
    StatusCode::NOT_FOUND,
    "User not found",
    Some("Nothing is stored for this user identifier"),
);
const KEY_NOT_FOUND: Answer = answer(StatusCode::NOT_FOUND, "Key not found", None);
const LAST_SECRET_KEY: Answer = answer(
    StatusCode::CONFLICT,
    "Last secret key",
    Some(
        "Create another secret key before revoking this one: the tenant would be left without one",
    ),
);
const ROUTE_NOT_FOUND: Answer = answer(StatusCode::NOT_FOUND, "Not found", None);
const METHOD_NOT_ALLOWED: Answer =
    answer(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", None);
const PROVIDER_TIMEOUT: Answer = answer(
    StatusCode::GATEWAY_TIMEOUT,
    "Failed to process message",
    Some("The AI provider did not answer in time"),
);
const PROVIDER_FAILED: Answer = answer(StatusCode::BAD_GATEWAY, "Failed to process message", None);
const CONFLICT: Answer = answer(
    StatusCode::CONFLICT,
    "Conflict",
    Some("The data changed while this request ran; retry it"),
);
const STORAGE_UNAVAILABLE: Answer = answer(
    StatusCode::SERVICE_UNAVAILABLE,
    "Storage unavailable",
    Some("Please retry shortly"),
);
const INTERNAL: Answer = answer(
    StatusCode::INTERNAL_SERVER_ERROR,
    "Internal server error",
    None,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_refusals_answer_as_before() {
        for (error, status, body) in [
            (
                AuthError::MissingApiKey,
                401,
                json!({"error": "Authentication required",
                       "detail": "Valid API key must be provided in X-API-Key header"}),
            ),
            (
                AuthError::InvalidApiKey,
                401,
                json!({"error": "Invalid API key"}),
            ),
            (
                AuthError::OriginNotAllowed,
                403,
                json!({"error": "Domain not whitelisted",
                       "detail": "This site is not on the tenant's list of allowed origins"}),
            ),
            (
                AuthError::SessionNotFound,
                404,
                json!({"error": "Session not found"}),
            ),
        ] {
            let (got_status, got_body) = AppError::from(error).status_and_body();
            assert_eq!((got_status.as_u16(), got_body), (status, body));
        }
    }

    #[test]
    fn store_failures_keep_one_variant_whoever_found_them() {
        let from_auth = AppError::from(AuthError::Store(StoreError::Unavailable("x".into())));
        assert!(matches!(from_auth, AppError::Store(_)));
        let from_limit = AppError::from(RateLimitError::Store(StoreError::ConditionFailed));
        assert!(matches!(from_limit, AppError::Store(_)));
        let limited = AppError::from(RateLimitError::Exceeded(RateLimit::after(5, 6, 0)));
        let (status, body) = limited.status_and_body();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            body["detail"],
            "At most 5 messages per hour per API key; retry in 3600 seconds"
        );
        assert_eq!(body["limit"], "key");
    }
}
