//! Secrets kept out of environment variables and out of plaintext storage.
//!
//! - Deployment provider keys ([`ProviderKey`]): from the environment
//!   (local use), or from Secrets Manager / SSM Parameter Store as
//!   `config::SecretRef` names them ([`AwsKeyStore`]), read once per
//!   process on first use and read again after the provider answers 401.
//! - Tenants' secrets at rest ([`TenantSecrets`]): their own provider keys
//!   and identity secrets are sealed with AES-256-GCM under a data key per
//!   process (the tenant id as associated data), the data key wrapped by
//!   KMS (or a local key file) and stored beside each ciphertext, so any
//!   process with the key can open it; opened only where a request uses
//!   the secret.

mod envelope;
mod key_store;
mod provider_key;
mod tenant;
mod wrap;

pub use key_store::{AwsKeyStore, KeyFetcher};
pub use provider_key::ProviderKey;
pub use tenant::TenantSecrets;
pub use wrap::{KeyWrapper, KmsKeyWrapper, LocalKeyWrapper};

/// Why a secret could not be had. The message is for logs: it names what
/// was asked for and why it failed, never a secret's value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read {what}: {reason}")]
    Fetch { what: String, reason: String },
    #[error("{0} holds no string value")]
    Empty(String),
    #[error("the data key could not be made or unwrapped: {0}")]
    Key(String),
    #[error("a tenant secret is sealed with `{0}`, which this process has no key for")]
    NoKey(String),
    #[error("a sealed tenant secret does not open (another tenant's, or damaged)")]
    Corrupt,
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}
