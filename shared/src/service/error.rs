//! The one error every service returns: what went wrong in domain terms.
//! The HTTP layer maps it to a status and body (`api::error`).

use crate::auth::AuthError;
use crate::blob::BlobError;
use crate::providers::ProviderError;
use crate::ratelimit::{RateLimit, RateLimitError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("session not found")]
    SessionNotFound,
    #[error("session expired")]
    SessionExpired,
    #[error("no active file")]
    NoActiveFile,
    #[error("file too large")]
    FileTooLarge { limit: usize },
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
    #[error("user not found")]
    UserNotFound,
    #[error("message not found")]
    MessageNotFound,
    /// Feedback names a message that is not an assistant reply.
    #[error("not an assistant reply")]
    NotAReply,
    /// A config merge that would pass this many bytes of JSON.
    #[error("config too large")]
    ConfigTooLarge { limit: usize },
    /// A config key a publishable key may not change (named).
    #[error("config key not allowed: {0}")]
    ConfigKeyNotAllowed(String),
    /// Refused by auth: a key, origin or visitor signature.
    #[error(transparent)]
    Auth(AuthError),
    /// Over the key's hourly message limit.
    #[error("rate limit exceeded")]
    RateLimited(RateLimit),
    /// The tenant's default provider is not offered by this deployment.
    #[error("provider {provider} not available")]
    ProviderUnavailable {
        provider: String,
        available: Vec<String>,
    },
    #[error("provider failed: {0}")]
    Provider(#[from] ProviderError),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    #[error("blob store failed: {0}")]
    Blob(#[from] BlobError),
    #[error("internal error: {0}")]
    Internal(String),
    /// A tenant setting refused, naming its field.
    #[error("invalid settings: {0}")]
    InvalidSettings(crate::model::SettingsError),
    /// Bad input found by a service (the CLI and the API share the rule).
    #[error("{error}: {detail}")]
    Invalid { error: &'static str, detail: String },
    /// The caller's tenant is gone (its key no longer means anything).
    #[error("tenant not found")]
    TenantNotFound,
    /// No such key of the caller's tenant.
    #[error("key not found")]
    KeyNotFound,
    /// Revoking the key would leave the tenant without an active secret key.
    #[error("last secret key")]
    LastSecretKey,
    /// A knowledge-base request refused or failed.
    #[error(transparent)]
    Knowledge(#[from] crate::service::knowledge::KnowledgeError),
}

impl From<AuthError> for ServiceError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::SessionNotFound => ServiceError::SessionNotFound,
            AuthError::Store(e) => ServiceError::Store(e),
            other => ServiceError::Auth(other),
        }
    }
}

impl From<RateLimitError> for ServiceError {
    fn from(e: RateLimitError) -> Self {
        match e {
            RateLimitError::Exceeded(limit) => ServiceError::RateLimited(limit),
            RateLimitError::Store(e) => ServiceError::Store(e),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
