//! API keys, the caller extractors, browser origins and signed identity.
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::config::ExposeSecret;
use crate::http::AppError;
use crate::model::{ApiKeyRecord, KeyKind, Session, Tenant};
use crate::store::StoreError;
use crate::store::repo::Repository;

pub const API_KEY_HEADER: &str = "x-api-key";
/// Where a publishable-key request carries its visitor's identity signature.
pub const USER_SIGNATURE_HEADER: &str = "x-user-signature";
pub const SECRET_KEY_PREFIX: &str = "cb_";
pub const PUBLISHABLE_KEY_PREFIX: &str = "pk_";
const KEY_RANDOM_BYTES: usize = 24;
/// Keys longer than this are not ours; refused without hashing or a read.
const MAX_KEY_LEN: usize = 128;
/// Bound on cached keys, so a flood of distinct valid keys cannot grow memory.
const MAX_CACHED_KEYS: usize = 10_000;
/// Longest accepted identity signature (hex SHA-256 is 64 characters).
const MAX_SIGNATURE_LEN: usize = 128;

/// The authenticated caller: the tenant and the key it used.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Arc<Tenant>,
    pub key: Arc<ApiKeyRecord>,
    /// `X-User-Signature`, as sent (publishable-key requests).
    pub user_signature: Option<String>,
}

impl Caller {
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.tenant_id
    }

    pub fn is_publishable(&self) -> bool {
        self.key.kind == KeyKind::Publishable
    }

    /// The key to store on a session this caller creates: a publishable key
    /// may use only the sessions it created.
    pub fn session_owner(&self) -> Option<Uuid> {
        self.is_publishable().then_some(self.key.key_id)
    }

    /// Whether this caller may use the session: any session of the tenant
    /// with a secret key; with a publishable key only the sessions it
    /// created (others are 404, as if absent) and, when the session names a
    /// visitor, only with that visitor's signature where the tenant asks
    /// for one.
    pub fn authorize(&self, session: &Session) -> Result<(), AppError> {
        if !self.is_publishable() {
            return Ok(());
        }
        if session.created_by_key != Some(self.key.key_id) {
            return Err(AppError::SessionNotFound);
        }
        match &session.user_identifier {
            Some(user) => check_identity(&self.tenant, user, self.user_signature.as_deref()),
            None => Ok(()),
        }
    }
}

/// A caller with either kind of key, for the endpoints the widget uses.
/// Publishable keys are checked against the browser `Origin` here.
#[derive(Debug, Clone)]
pub struct WidgetCaller(pub Caller);

/// A new key of this kind, and the record to store for it.
pub fn new_key(
    kind: KeyKind,
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), getrandom::Error> {
    let mut random = [0u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut random)?;
    let prefix = kind.prefix();
    let key = format!("{prefix}{}", hex::encode(random));
    let record = ApiKeyRecord {
        key_id: Uuid::new_v4(),
        tenant_id: tenant,
        key_hash: hash_key(&key),
        prefix: key.chars().take(prefix.len() + 6).collect(),
        kind,
        created_at: now_ms,
        revoked: false,
    };
    Ok((key, record))
}

/// A new secret key, and the record to store for it.
pub fn new_secret_key(
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), getrandom::Error> {
    new_key(KeyKind::Secret, tenant, now_ms)
}

/// Hex SHA-256 of the key: what the table stores and looks up.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The kind a key's prefix announces, if it is one of ours.
fn kind_of(key: &str) -> Option<KeyKind> {
    if key.starts_with(SECRET_KEY_PREFIX) {
        Some(KeyKind::Secret)
    } else if key.starts_with(PUBLISHABLE_KEY_PREFIX) {
        Some(KeyKind::Publishable)
    } else {
        None
    }
}

// ---- signed identity --------------------------------------------------------

/// `HMAC-SHA256(secret, user_identifier)` in lowercase hex: what a tenant's
/// server computes and hands the widget as `userSignature`.
pub fn sign_identity(secret: &str, user_identifier: &str) -> String {
    hex::encode(
        identity_mac(secret, user_identifier)
            .finalize()
            .into_bytes(),
    )
}

fn identity_mac(secret: &str, user_identifier: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(user_identifier.as_bytes());
    mac
}

/// Whether `signature` (hex) signs `user_identifier`; constant-time.
pub fn verify_identity(secret: &str, user_identifier: &str, signature: &str) -> bool {
    let signature = signature.trim();
    if signature.len() > MAX_SIGNATURE_LEN {
        return false;
    }
    let Ok(bytes) = hex::decode(signature) else {
        return false;
    };
    identity_mac(secret, user_identifier)
        .verify_slice(&bytes)
        .is_ok()
}

/// The tenant's identity rule for a `user_identifier` named by a
/// publishable-key request: with an identity secret, a signature that is
/// given must be right; when the tenant requires it, it must be given.
pub fn check_identity(
    tenant: &Tenant,
    user_identifier: &str,
    signature: Option<&str>,
) -> Result<(), AppError> {
    let Some(identity) = &tenant.identity else {
        return Ok(());
    };
    match signature.map(str::trim).filter(|s| !s.is_empty()) {
        Some(sig) if verify_identity(identity.secret.expose_secret(), user_identifier, sig) => {
            Ok(())
        }
        Some(_) => Err(AppError::InvalidUserSignature),
        None if identity.required => Err(AppError::UserSignatureRequired),
        None => Ok(()),
    }
}

/// A new identity secret: 256 random bits in hex.
pub fn new_identity_secret() -> Result<String, getrandom::Error> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    Ok(hex::encode(random))
}

// ---- origins ------------------------------------------------------------------

/// An origin as tenants list it and browsers send it: `scheme://host[:port]`,
/// lowercased, no path. Anything else is refused, so a listed origin can be
/// placed in a header as it is.
pub fn normalize_origin(raw: &str) -> Result<String, String> {
    let lower = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| format!("`{raw}`: an origin starts with https:// or http://"))?;
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        && !host.starts_with(['.', '-']);
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(lower)
    } else {
        Err(format!(
            "`{raw}`: expected scheme://host[:port], e.g. https://shop.example"
        ))
    }
}

/// Whether a publishable-key request may come from this browser origin: one
/// the tenant lists, or the API's own (the widget's frame is served from it,
/// and `frame-ancestors` already limits who may embed the frame). Requests
/// without an `Origin` are not from a page and are let through: a
/// publishable key is public, the rate limit bounds what it can spend.
pub fn origin_allowed(tenant: &Tenant, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Ok(origin) = normalize_origin(origin) else {
        // `null` (sandboxed frames, files) and anything malformed.
        return false;
    };
    if tenant.allowed_origins.contains(&origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let authority = origin.split_once("://").map(|(_, a)| a);
    host.is_some() && authority == host.as_deref()
}

/// `Content-Security-Policy` for the widget's frame page: it may be framed
/// by the tenant's allowed origins (and pages of the API's own origin), by
/// nobody when there is no tenant.
pub fn frame_ancestors_header(tenant: Option<&Tenant>) -> HeaderValue {
    HeaderValue::from_str(&frame_ancestors_directive(tenant))
        .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'"))
}

/// The `frame-ancestors` directive alone.
pub fn frame_ancestors_directive(tenant: Option<&Tenant>) -> String {
    match tenant {
        Some(t) => {
            let mut directive = String::from("frame-ancestors 'self'");
            for origin in &t.allowed_origins {
                // Listed origins were normalized when set; re-check anyway,
                // a header must not carry what an origin cannot contain.
                if let Ok(o) = normalize_origin(origin) {
                    directive.push(' ');
                    directive.push_str(&o);
                }
            }
            directive
        }
        None => "frame-ancestors 'none'".into(),
    }
}

/// Verifies keys against the table, with a small time-bounded cache.
pub struct Authenticator {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Caller)>>,
}

impl Authenticator {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The caller for `key`: one key read and one tenant read on a cache miss.
    pub async fn verify(&self, repo: &Repository, key: &str) -> Result<Caller, AppError> {
        let Some(kind) = kind_of(key) else {
            return Err(AppError::InvalidApiKey);
        };
        if key.len() > MAX_KEY_LEN {
            return Err(AppError::InvalidApiKey);
        }
        let hash = hash_key(key);
        if let Some(caller) = self.cached(&hash) {
            return Ok(caller);
        }
        let record = repo
            .find_api_key(&hash)
            .await?
            .ok_or(AppError::InvalidApiKey)?;
        if record.revoked || record.kind != kind {
            return Err(AppError::InvalidApiKey);
        }
        let tenant = repo
            .get_tenant(record.tenant_id)
            .await?
            .ok_or(AppError::InvalidApiKey)?;
        let caller = Caller {
            tenant: Arc::new(tenant),
            key: Arc::new(record),
            user_signature: None,
        };
        self.remember(hash, caller.clone());
        Ok(caller)
    }

    fn cached(&self, hash: &str) -> Option<Caller> {
        if self.ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (at, caller) = cache.get(hash)?;
        (at.elapsed() < self.ttl).then(|| caller.clone())
    }

    fn remember(&self, hash: String, caller: Caller) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_KEYS {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
        }
        cache.insert(hash, (Instant::now(), caller));
    }
}

/// The key from `X-API-Key`, verified.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    let Some(value) = parts.headers.get(API_KEY_HEADER) else {
        return Err(AppError::MissingApiKey);
    };
    let key = value.to_str().map_err(|_| AppError::InvalidApiKey)?.trim();
    if key.is_empty() {
        return Err(AppError::MissingApiKey);
    }
    state.auth.verify(&state.repo, key).await
}

/// Secret keys only: every endpoint that does not ask for a [`WidgetCaller`].
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = authenticate(parts, state).await?;
        if caller.is_publishable() {
            return Err(AppError::SecretKeyRequired);
        }
        Ok(caller)
    }
}

/// Either kind of key; a publishable one only from an allowed origin.
impl FromRequestParts<AppState> for WidgetCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let mut caller = authenticate(parts, state).await?;
        if caller.is_publishable() {
            if !origin_allowed(&caller.tenant, &parts.headers) {
                return Err(AppError::OriginNotAllowed);
            }
            caller.user_signature = parts
                .headers
                .get(USER_SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
        }
        Ok(WidgetCaller(caller))
    }
}

/// Creates a tenant; used by `chatctl` and by tests.
pub async fn create_tenant(
    repo: &Repository,
    name: &str,
    email: &str,
    now_ms: i64,
) -> Result<Tenant, StoreError> {
    let tenant = Tenant {
        tenant_id: Uuid::new_v4(),
        name: name.to_owned(),
        email: email.to_owned(),
        created_at: now_ms,
        bot: Default::default(),
        custom_provider: None,
        allowed_origins: Vec::new(),
        identity: None,
        rate_limit_per_hour: None,
        retention_days: None,
    };
    repo.create_tenant(&tenant).await?;
    Ok(tenant)
}

/// Issues and stores a new secret key for the tenant; returns the key, which
/// is shown once and never stored.
pub async fn issue_key(
    repo: &Repository,
    tenant: Uuid,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), StoreError> {
    issue_key_of_kind(repo, tenant, KeyKind::Secret, now_ms).await
}

/// Issues and stores a new key of this kind; the key is shown once.
pub async fn issue_key_of_kind(
    repo: &Repository,
    tenant: Uuid,
    kind: KeyKind,
    now_ms: i64,
) -> Result<(String, ApiKeyRecord), StoreError> {
    let (key, record) = new_key(kind, tenant, now_ms)
        .map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    repo.create_api_key(&record).await?;
    Ok((key, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_long_and_distinct() {
        let (a, record) = new_secret_key(Uuid::nil(), 0).expect("randomness");
        let (b, _) = new_secret_key(Uuid::nil(), 0).expect("randomness");
        assert!(a.starts_with("cb_"));
        assert_eq!(a.len(), 3 + 2 * KEY_RANDOM_BYTES);
        assert_ne!(a, b);
        assert_eq!(record.key_hash, hash_key(&a));
        assert!(!record.key_hash.contains(&a[3..]));
    }

    #[test]
    fn publishable_keys_have_their_own_prefix() {
        let (key, record) = new_key(KeyKind::Publishable, Uuid::nil(), 0).expect("randomness");
        assert!(key.starts_with("pk_"));
        assert_eq!(record.kind, KeyKind::Publishable);
        assert_eq!(kind_of(&key), Some(KeyKind::Publishable));
        assert_eq!(kind_of("sk_x"), None);
    }

    #[test]
    fn identity_signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign_identity("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = sign_identity("s3cret", "alice@example.com");
        assert!(verify_identity("s3cret", "alice@example.com", &sig));
        assert!(verify_identity(
            "s3cret",
            "alice@example.com",
            &sig.to_uppercase()
        ));
        assert!(!verify_identity("s3cret", "bob@example.com", &sig));
        assert!(!verify_identity("other", "alice@example.com", &sig));
        assert!(!verify_identity("s3cret", "alice@example.com", "zz"));
        assert!(!verify_identity("s3cret", "alice@example.com", &sig[..62]));
    }

    #[test]
    fn origins_are_normalized_or_refused() {
        assert_eq!(
            normalize_origin("https://Shop.Example/").as_deref(),
            Ok("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for bad in [
            "shop.example",
            "https://shop.example/path",
            "https://",
            "https://a b",
            "https://x;script-src *",
            "null",
            "https://x:99999999",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn frame_ancestors_lists_the_tenant_origins() {
        let mut tenant = Tenant {
            tenant_id: Uuid::nil(),
            name: "t".into(),
            email: "t@example.com".into(),
            created_at: 0,
            bot: Default::default(),
            custom_provider: None,
            allowed_origins: vec!["https://a.example".into(), "https://b.example".into()],
            identity: None,
            rate_limit_per_hour: None,
            retention_days: None,
        };
        assert_eq!(
            frame_ancestors_header(Some(&tenant)),
            "frame-ancestors 'self' https://a.example https://b.example"
        );
        tenant.allowed_origins.clear();
        assert_eq!(
            frame_ancestors_header(Some(&tenant)),
            "frame-ancestors 'self'"
        );
        assert_eq!(frame_ancestors_header(None), "frame-ancestors 'none'");
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
