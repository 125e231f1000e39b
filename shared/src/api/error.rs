//! Domain errors as HTTP answers. Here, not in `http`: `AppError` stays a
//! leaf that imports nothing that imports `http` back.

use crate::http::AppError;
use crate::model::UserIdentifierError;
use crate::service::ServiceError;

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as S;
        match e {
            S::SessionNotFound => AppError::SessionNotFound,
            S::SessionExpired => AppError::SessionExpired,
            S::NoActiveFile => AppError::NoActiveFile,
            S::FileTooLarge { limit } => AppError::FileTooLarge { limit },
            S::UnsupportedFileType => AppError::UnsupportedFileType,
            S::InvalidFileContent(detail) => AppError::InvalidFileContent(detail),
            S::DirectUploadUnavailable => AppError::DirectUploadUnavailable,
            S::UploadNotFound => AppError::UploadNotFound,
            S::UploadNotReceived => AppError::UploadNotReceived,
            S::UserNotFound => AppError::UserNotFound,
            S::MessageNotFound => AppError::MessageNotFound,
            S::NotAReply => AppError::bad_request_detail(
                "Not an assistant reply",
                "only the assistant's replies can be rated",
            ),
            S::ConfigTooLarge { limit } => AppError::bad_request_detail(
                "config too large",
                format!("the merged config would pass {limit} bytes of JSON"),
            ),
            S::ConfigKeyNotAllowed(key) => AppError::Forbidden {
                detail: format!(
                    "A publishable key may change only pageContext, pageData and jsonData, not `{key}`"
                ),
            },
            S::Auth(e) => AppError::from(e),
            S::RateLimited(limit) => AppError::RateLimited(limit),
            S::ProviderUnavailable {
                provider,
                available,
            } => AppError::ProviderUnavailable {
                detail: format!(
                    "The tenant's default provider `{provider}` is not enabled on this deployment \
                     (available: {}); change settings.defaultProvider or name aiProvider in the config",
                    available.join(", ")
                ),
            },
            S::Provider(e) => AppError::Provider(e),
            S::Store(e) => AppError::Store(e),
            S::Blob(e) => AppError::Blob(e),
            S::Internal(e) => AppError::Internal(e),
            S::InvalidSettings(e) => AppError::InvalidSettings(e),
            S::Invalid { error, detail } => AppError::bad_request_detail(error, detail),
            S::TenantNotFound => AppError::Auth(crate::auth::AuthError::InvalidApiKey),
            S::KeyNotFound => AppError::KeyNotFound,
            S::LastSecretKey => AppError::LastSecretKey,
            S::Knowledge(e) => crate::api::tenant::knowledge::answer(e),
        }
    }
}

impl From<UserIdentifierError> for AppError {
    fn from(e: UserIdentifierError) -> Self {
        match e {
            UserIdentifierError::Empty => AppError::bad_request("user_identifier is required"),
            UserIdentifierError::TooLong => AppError::bad_request_detail(
                "user_identifier too long",
                format!(
                    "at most {} characters",
                    crate::model::MAX_USER_IDENTIFIER_CHARS
                ),
            ),
        }
    }
}
