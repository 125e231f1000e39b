//! A tenant's API keys: listed, issued (shown once), revoked (never the
//! last active secret key), replaced (the Django regenerate-key), and the
//! publishable key of the embed snippet.

use uuid::Uuid;

use crate::AppState;
use crate::auth::new_key;
use crate::model::{ApiKeyRecord, KeyKind};
use crate::service::{ServiceError, ServiceResult};
use crate::store::StoreError;
use crate::store::repo::{KeyListing, Revocation};

/// Longest key label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;
/// The label of the publishable key the embed snippet creates.
pub const WIDGET_KEY_LABEL: &str = "Widget";

/// A key just issued: the key itself, shown once, and its listing.
#[derive(Debug)]
pub struct IssuedKey {
    pub key: String,
    pub listing: KeyListing,
}

/// A label as the tenant gave it: trimmed, at most [`MAX_LABEL_CHARS`],
/// no control characters; empty is none.
pub fn parse_label(raw: Option<&str>) -> ServiceResult<Option<String>> {
    let Some(label) = raw.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(ServiceError::Invalid {
            error: "Invalid label",
            detail: format!("at most {MAX_LABEL_CHARS} characters, no control characters"),
        });
    }
    Ok(Some(label.to_owned()))
}

/// The tenant's keys, newest first (one query).
pub async fn list(state: &AppState, tenant: Uuid) -> ServiceResult<Vec<KeyListing>> {
    let mut keys = state.repo.list_key_listings(tenant).await?;
    keys.sort_by(|a, b| {
        (b.record.created_at, b.record.key_id).cmp(&(a.record.created_at, a.record.key_id))
    });
    Ok(keys)
}

fn fresh_key(
    state: &AppState,
    tenant: Uuid,
    kind: KeyKind,
    label: Option<String>,
) -> ServiceResult<(String, KeyListing)> {
    let (key, record) = new_key(kind, tenant, state.now_ms())
        .map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    let publishable_key = (kind == KeyKind::Publishable).then(|| key.clone());
    let listing = KeyListing {
        label,
        publishable_key,
        ..KeyListing::of(record)
    };
    Ok((key, listing))
}

/// Issues a key of this kind (one transaction, conditional on the tenant).
pub async fn create(
    state: &AppState,
    tenant: Uuid,
    kind: KeyKind,
    label: Option<String>,
) -> ServiceResult<IssuedKey> {
    let (key, listing) = fresh_key(state, tenant, kind, label)?;
    state
        .repo
        .create_key_listing(&listing)
        .await
        .map_err(|e| match e {
            StoreError::TransactionCancelled { failed } if failed.contains(&2) => {
                ServiceError::TenantNotFound
            }
            other => other.into(),
        })?;
    Ok(IssuedKey { key, listing })
}

/// Revokes a key of the tenant; this process stops accepting it at once,
/// others within `API_KEY_CACHE_SECONDS`. Revoking a revoked key answers
/// it again.
pub async fn revoke(state: &AppState, tenant: Uuid, key_id: Uuid) -> ServiceResult<KeyListing> {
    match state.repo.revoke_api_key_guarded(tenant, key_id).await? {
        Revocation::Revoked(listing) => {
            state.auth.forget_key(&listing.record.key_hash);
            Ok(listing)
        }
        Revocation::NotFound => Err(ServiceError::KeyNotFound),
        Revocation::LastSecretKey => Err(ServiceError::LastSecretKey),
    }
}

/// The Django system's regenerate-key: a new key of the same kind replaces
/// the calling one, which stops working at once (here; elsewhere within
/// `API_KEY_CACHE_SECONDS`).
pub async fn regenerate(state: &AppState, old: &ApiKeyRecord) -> ServiceResult<IssuedKey> {
    let (key, listing) = fresh_key(
        state,
        old.tenant_id,
        old.kind,
        Some("Regenerated".to_owned()),
    )?;
    state.repo.replace_api_key(old, &listing).await?;
    state.auth.forget_key(&old.key_hash);
    Ok(IssuedKey { key, listing })
}

/// The publishable key for the embed snippet: the newest active one whose
/// key is kept, or a new one (labelled "Widget") when there is none.
pub async fn widget_key(state: &AppState, tenant: Uuid) -> ServiceResult<(String, KeyListing)> {
    let existing = list(state, tenant).await?.into_iter().find_map(|l| {
        let usable = !l.record.revoked && l.record.kind == KeyKind::Publishable;
        let key = l.publishable_key.clone().filter(|_| usable)?;
        Some((key, l))
    });
    if let Some(found) = existing {
        return Ok(found);
    }
    let issued = create(
        state,
        tenant,
        KeyKind::Publishable,
        Some(WIDGET_KEY_LABEL.to_owned()),
    )
    .await?;
    Ok((issued.key, issued.listing))
}

/// The `<script>` tag that embeds the widget from `base_url` (the API's
/// origin, where `/widget/chatbot.js` is served) with a publishable key.
pub fn widget_snippet(base_url: &str, key: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let src = format!("{base}/widget/chatbot.js?apiKey={}", urlencoding(key));
    format!("<script src=\"{}\" async></script>", html_attr(&src))
}

/// Keys are `pk_` + hex, but the snippet never trusts that.
fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_bounded_and_printable() {
        assert_eq!(
            parse_label(Some("  Shop  ")).ok(),
            Some(Some("Shop".into()))
        );
        assert_eq!(parse_label(Some("   ")).ok(), Some(None));
        assert_eq!(parse_label(None).ok(), Some(None));
        assert!(parse_label(Some(&"x".repeat(101))).is_err());
        assert!(parse_label(Some("a\u{7}b")).is_err());
    }

    #[test]
    fn the_snippet_escapes_what_it_embeds() {
        assert_eq!(
            widget_snippet("https://api.example.com/", "pk_abc"),
            "<script src=\"https://api.example.com/widget/chatbot.js?apiKey=pk_abc\" async></script>"
        );
        let hostile = widget_snippet("https://a\"><script>", "pk_\"x");
        assert!(!hostile.contains("\"><script>"), "{hostile}");
        assert!(hostile.contains("pk_%22x"));
    }
}
