//! API keys, callers, browser origins and signed identity.
//!
//! Two kinds of keys, each `prefix` + 192 random bits in hex, only their
//! SHA-256 stored:
//! - secret keys (`cb_…`) for the tenant's servers: every endpoint;
//! - publishable keys (`pk_…`), safe to embed in a web page: chatting only,
//!   on the sessions they created, from the tenant's allowed origins.
//!
//! [`Caller`] (the default extractor) admits secret keys only, so a new
//! endpoint is closed to publishable keys unless its handler asks for a
//! [`WidgetCaller`]. Verified keys are cached per process for
//! `API_KEY_CACHE_SECONDS`, so a warm function spends no table read on auth;
//! a revoked key (or a changed origin list) takes effect within that time.
//!
//! Nothing here knows HTTP responses: failures are [`AuthError`]s, which
//! `http::AppError` maps to status and body, and the extractors themselves
//! live in `http::caller`. So `http` depends on `auth`, never the reverse.

mod authenticator;
mod caller;
mod identity;
mod keys;
mod origins;

pub use authenticator::Authenticator;
pub use caller::{Caller, WidgetCaller};
pub use identity::{
    check_identity, new_identity_secret, open_identity_secret, sign_identity, verify_identity,
};
pub use keys::{create_tenant, hash_key, issue_key, issue_key_of_kind, new_key, new_secret_key};
pub use origins::{InvalidOrigin, normalize_origin, origin_allowed};

use crate::store::StoreError;

pub const API_KEY_HEADER: &str = "x-api-key";
/// Where a publishable-key request carries its visitor's identity signature.
pub const USER_SIGNATURE_HEADER: &str = "x-user-signature";
pub const SECRET_KEY_PREFIX: &str = "cb_";
pub const PUBLISHABLE_KEY_PREFIX: &str = "pk_";

/// Why a caller was refused. Each variant is one answer of the API
/// (`http::AppError` holds the status and body).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing API key")]
    MissingApiKey,
    #[error("invalid API key")]
    InvalidApiKey,
    #[error("secret key required")]
    SecretKeyRequired,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("user signature required")]
    UserSignatureRequired,
    #[error("invalid user signature")]
    InvalidUserSignature,
    /// A publishable key asked for a session it did not create: answered as
    /// if the session did not exist.
    #[error("session not found")]
    SessionNotFound,
    /// The key or tenant could not be read.
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
}
