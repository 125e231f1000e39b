//! The one error every service returns: what went wrong in domain terms.
//! The HTTP layer maps it to a status and body (`api::error`).

use crate::blob::BlobError;
use crate::http::AppError;
use crate::providers::ProviderError;
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
    /// A config merge that would pass this many bytes of JSON.
    #[error("config too large")]
    ConfigTooLarge { limit: usize },
    /// Refused by auth or the rate limiter, which answer in HTTP terms
    /// today; kept whole so their bodies and headers stay as they are.
    #[error(transparent)]
    Refused(AppError),
    #[error("provider failed: {0}")]
    Provider(#[from] ProviderError),
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    #[error("blob store failed: {0}")]
    Blob(#[from] BlobError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AppError> for ServiceError {
    fn from(e: AppError) -> Self {
        ServiceError::Refused(e)
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
