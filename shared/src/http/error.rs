//! One error type for every endpoint: each variant is a status and a JSON body
//! `{"error": ..., "detail"?: ...}`. Causes of 5xx answers are logged, never
//! sent: clients see a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::blob::BlobError;
use crate::providers::ProviderError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing API key")]
    MissingApiKey,
    #[error("invalid API key")]
    InvalidApiKey,
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
    #[error("secret key required")]
    SecretKeyRequired,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("user signature required")]
    UserSignatureRequired,
    #[error("invalid user signature")]
    InvalidUserSignature,
    #[error("rate limit exceeded")]
    RateLimited(crate::ratelimit::RateLimit),
    #[error("user not found")]
    UserNotFound,
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("provider failed: {0}")]
    Provider(#[from] ProviderError),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    #[error("blob store failed: {0}")]
    Blob(#[from] BlobError),
    #[error("internal error: {0}")]
    Internal(String),
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

    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        use AppError::*;
        match self {
            MissingApiKey => (
                StatusCode::UNAUTHORIZED,
                "Authentication required",
                Some("Valid API key must be provided in X-API-Key header".into()),
            ),
            InvalidApiKey => (StatusCode::UNAUTHORIZED, "Invalid API key", None),
            BadRequest { error, detail } => (StatusCode::BAD_REQUEST, error, detail.clone()),
            InvalidSessionId => (StatusCode::BAD_REQUEST, "Invalid session ID", None),
            SessionNotFound => (StatusCode::NOT_FOUND, "Session not found", None),
            SessionExpired => (StatusCode::GONE, "Session expired", None),
            NoActiveFile => (
                StatusCode::NOT_FOUND,
                "No file uploaded",
                Some("This session has no active file".into()),
            ),
            FileTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "File too large",
                Some(format!("The maximum file size is {limit} bytes")),
            ),
            BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large",
                Some(format!("at most {limit} bytes")),
            ),
            UnsupportedFileType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported file type",
                Some("Only CSV and JSON files are accepted".into()),
            ),
            InvalidFileContent(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid file content",
                Some(detail.clone()),
            ),
            DirectUploadUnavailable => (
                StatusCode::NOT_IMPLEMENTED,
                "Direct uploads are not available",
                Some(
                    "This deployment stores files locally; use POST /api/chat/files/upload".into(),
                ),
            ),
            UploadNotFound => (
                StatusCode::NOT_FOUND,
                "Upload not found",
                Some("Request an upload URL first, and complete each upload once".into()),
            ),
            UploadNotReceived => (
                StatusCode::CONFLICT,
                "Upload not received",
                Some("PUT the file to the upload URL before completing it".into()),
            ),
            SecretKeyRequired => (
                StatusCode::FORBIDDEN,
                "Forbidden",
                Some("This endpoint needs a secret key (cb_...); publishable keys (pk_...) may only chat".into()),
            ),
            OriginNotAllowed => (
                StatusCode::FORBIDDEN,
                "Origin not allowed",
                Some("This site is not on the tenant's list of allowed origins".into()),
            ),
            UserSignatureRequired => (
                StatusCode::FORBIDDEN,
                "User signature required",
                Some("Send the user identifier's signature as userSignature or X-User-Signature".into()),
            ),
            InvalidUserSignature => (
                StatusCode::FORBIDDEN,
                "Invalid user signature",
                Some("The signature does not match the user identifier".into()),
            ),
            RateLimited(limit) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                Some(format!(
                    "At most {} messages per hour per API key; retry in {} seconds",
                    limit.limit, limit.retry_after_secs
                )),
            ),
            UserNotFound => (
                StatusCode::NOT_FOUND,
                "User not found",
                Some("Nothing is stored for this user identifier".into()),
            ),
            RouteNotFound => (StatusCode::NOT_FOUND, "Not found", None),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", None),
            Provider(ProviderError::Timeout) => (
                StatusCode::GATEWAY_TIMEOUT,
                "Failed to process message",
                Some("The AI provider did not answer in time".into()),
            ),
            Provider(_) => (StatusCode::BAD_GATEWAY, "Failed to process message", None),
            Store(StoreError::ConditionFailed | StoreError::TransactionCancelled { .. }) => (
                StatusCode::CONFLICT,
                "Conflict",
                Some("The data changed while this request ran; retry it".into()),
            ),
            Store(StoreError::Invalid(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                None,
            ),
            Store(StoreError::Unavailable(_) | StoreError::Locked(_))
            | Blob(BlobError::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage unavailable",
                Some("Please retry shortly".into()),
            ),
            Blob(BlobError::InvalidKey(_)) | Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                None,
            ),
        }
    }
}

impl AppError {
    /// The status and the JSON body clients see.
    pub fn status_and_body(&self) -> (StatusCode, Value) {
        let (status, error, detail) = self.parts();
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
