//! Secrets out of plaintext: tenants' identity secrets and provider keys
//! sealed on the tenant item (here under a local key file, as `chatctl
//! serve` does; on KMS in `secrets_cloud`), and a deployment provider key
//! kept elsewhere, read once and again after a 401.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use chat_shared::auth::{self, sign_identity};
use chat_shared::config::{ExposeSecret, ProviderHttpSettings, Secret, SecretRef};
use chat_shared::model::{IdentitySettings, KeyKind, TenantProvider};
use chat_shared::providers::Provider;
use chat_shared::providers::anthropic::AnthropicProvider;
use chat_shared::providers::http::HttpClient;
use chat_shared::secrets::{KeyFetcher, LocalKeyWrapper, ProviderKey, SecretsError, TenantSecrets};
use chat_shared::store::keys;
use serde_json::{Value, json};

use crate::fake::{FakeProvider, Script, claude_error, claude_message, openai_completion};
use crate::helpers::{Reply, START_MS, TestApp, config, spawn_app, spawn_app_with};

pub const IDENTITY: &str = "tenant-identity-secret-2f1c";
pub const PROVIDER_KEY: &str = "gsk-tenant-provider-key-9a7e";
const ALICE: &str = "alice@example.com";

/// `app` with tenants' secrets sealed and opened by `secrets`.
pub fn sealed_with(mut app: TestApp, secrets: Arc<TenantSecrets>) -> TestApp {
    app.state = app.state.clone().with_tenant_secrets(secrets);
    app.router = chat_shared::api::app(app.state.clone());
    app
}

fn local_secrets(dir: &Path) -> Arc<TenantSecrets> {
    let key = LocalKeyWrapper::open_or_create(&dir.join("tenant-secrets.key")).unwrap();
    Arc::new(TenantSecrets::new(Arc::new(key)))
}

/// The tenant item as the table holds it.
pub async fn raw_tenant(app: &TestApp, tenant: uuid::Uuid) -> String {
    let item = app
        .state
        .repo
        .table()
        .get(&keys::tenant(tenant))
        .await
        .unwrap()
        .expect("the tenant item");
    serde_json::to_string(&item).unwrap()
}

pub async fn signed_create(app: &TestApp, pk: &str, signature: &str) -> Reply {
    app.call_with(
        pk,
        Method::POST,
        "/api/chat/sessions/create",
        Some(json!({"config": {}, "user_identifier": ALICE, "userSignature": signature})),
        &[],
    )
    .await
}

/// The tenant's identity secret (required) and its own endpoint's key are
/// sealed on the item; a signed visitor is verified and the endpoint is
/// called with the right key.
pub async fn check_sealed_tenant_secrets(app: &TestApp, wrap: &str) {
    let fake = FakeProvider::start(vec![Script::json(
        200,
        openai_completion("from the tenant's endpoint", 3, 2),
    )])
    .await;
    let base_url = format!("{}/v1", fake.url);
    app.update_tenant(|t| {
        t.identity = Some(IdentitySettings {
            secret: Secret::new(IDENTITY).into(),
            required: true,
        });
        t.custom_provider = Some(TenantProvider {
            base_url,
            model: "tenant-model".into(),
            api_key: Some(Secret::new(PROVIDER_KEY).into()),
        });
    })
    .await;
    let raw = raw_tenant(app, app.tenant).await;
    assert!(
        !raw.contains(IDENTITY) && !raw.contains(PROVIDER_KEY),
        "{raw}"
    );
    assert!(raw.contains(&format!("\"wrap\":\"{wrap}\"")), "{raw}");

    let pk = app.publishable_key().await;
    let good = signed_create(app, &pk, &sign_identity(IDENTITY, ALICE)).await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.body);
    let forged = signed_create(app, &pk, &sign_identity("guessed", ALICE)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.body["error"], "Invalid user signature");
    // The signature in the header, on a session's history (the extractor).
    let id = good.body["sessionId"].as_str().unwrap();
    let history = app
        .call_with(
            &pk,
            Method::GET,
            &format!("/api/chat/messages/history/{id}"),
            None,
            &[("X-User-Signature", &sign_identity(IDENTITY, ALICE))],
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);

    let session = app
        .create_session(json!({"config": {"aiProvider": "custom"}}))
        .await;
    let reply = app.send_message(&session, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "from the tenant's endpoint");
    let sent = fake.received();
    assert_eq!(
        sent[0].headers["authorization"],
        format!("Bearer {PROVIDER_KEY}").as_str()
    );
}

#[tokio::test]
async fn tenant_secrets_are_sealed_at_rest_and_opened_where_used() {
    let app = spawn_app().await;
    let secrets = local_secrets(app._dir.path());
    let app = sealed_with(app, secrets);
    check_sealed_tenant_secrets(&app, "local").await;
}

/// An item written before a key was configured reads as it is; its next
/// write (any settings change) seals it.
pub async fn check_plain_items_sealed_on_next_write(plain: TestApp, secrets: Arc<TenantSecrets>) {
    plain
        .update_tenant(|t| {
            t.identity = Some(IdentitySettings {
                secret: Secret::new(IDENTITY).into(),
                required: true,
            })
        })
        .await;
    assert!(raw_tenant(&plain, plain.tenant).await.contains(IDENTITY));
    let app = sealed_with(plain, secrets);
    let pk = app.publishable_key().await;
    let signature = sign_identity(IDENTITY, ALICE);
    let read_plain = signed_create(&app, &pk, &signature).await;
    assert_eq!(
        read_plain.status,
        StatusCode::CREATED,
        "{}",
        read_plain.body
    );

    let patched = app
        .call(
            Method::PATCH,
            "/api/tenant/settings",
            Some(json!({"bot": {"name": "Sealed Bot"}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let raw = raw_tenant(&app, app.tenant).await;
    assert!(!raw.contains(IDENTITY), "{raw}");
    assert!(raw.contains("\"wrap\""), "{raw}");
    let read_sealed = signed_create(&app, &pk, &signature).await;
    assert_eq!(
        read_sealed.status,
        StatusCode::CREATED,
        "{}",
        read_sealed.body
    );
    let forged = signed_create(&app, &pk, &sign_identity("guessed", ALICE)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn plaintext_items_are_read_and_sealed_on_their_next_write() {
    let plain = spawn_app().await;
    let secrets = local_secrets(plain._dir.path());
    check_plain_items_sealed_on_next_write(plain, secrets).await;
}

/// A sealed secret copied onto another tenant's item does not open there.
pub async fn check_ciphertext_bound_to_its_tenant(app: &TestApp) {
    app.update_tenant(|t| {
        t.identity = Some(IdentitySettings {
            secret: Secret::new(IDENTITY).into(),
            required: true,
        })
    })
    .await;
    let repo = &app.state.repo;
    let stored = repo.get_tenant(app.tenant).await.unwrap().unwrap();
    let sealed = stored.identity.unwrap().secret;
    assert!(sealed.is_sealed());
    let secrets = repo.tenant_secrets();
    let opened = secrets.open(app.tenant, &sealed).await.unwrap();
    assert_eq!(opened.expose_secret(), IDENTITY);

    let other = auth::create_tenant(repo, "Other", "o@example.com", START_MS)
        .await
        .unwrap();
    assert!(matches!(
        secrets.open(other.tenant_id, &sealed).await,
        Err(SecretsError::Corrupt)
    ));
    // Copied onto the other tenant's item (as a raw write would), a
    // signature made with it is not accepted there.
    let mut item = app
        .state
        .repo
        .table()
        .get(&keys::tenant(other.tenant_id))
        .await
        .unwrap()
        .unwrap();
    let sealed_json = serde_json::to_value(&sealed).unwrap();
    item.insert(
        "identity".into(),
        json!({"secret": sealed_json, "required": true}),
    );
    app.state
        .repo
        .table()
        .write(chat_shared::store::WriteOp::put(item))
        .await
        .unwrap();
    let (pk, _) = auth::issue_key_of_kind(repo, other.tenant_id, KeyKind::Publishable, START_MS)
        .await
        .unwrap();
    let reply = signed_create(app, &pk, &sign_identity(IDENTITY, ALICE)).await;
    assert!(
        reply.status.is_server_error(),
        "{}: {}",
        reply.status,
        reply.body
    );
    assert!(!reply.body.to_string().contains(IDENTITY));
}

#[tokio::test]
async fn a_tenants_ciphertext_does_not_open_as_another_tenants() {
    let app = spawn_app().await;
    let secrets = local_secrets(app._dir.path());
    let app = sealed_with(app, secrets);
    check_ciphertext_bound_to_its_tenant(&app).await;
}

// ---- a deployment provider key kept elsewhere ---------------------------

/// Claude at `url` with `key`, no retries (a 401 is never retried anyway).
pub fn claude_with_key(url: &str, key: ProviderKey) -> Arc<dyn Provider> {
    let http = HttpClient::new(ProviderHttpSettings {
        max_retries: 0,
        ..ProviderHttpSettings::default()
    })
    .unwrap();
    Arc::new(AnthropicProvider::new(
        url,
        key,
        "claude-haiku-4-5".into(),
        http,
    ))
}

/// The key is read once; after it is rotated where it is kept and the
/// provider rejects the old one, the call is retried once with the new key.
pub async fn check_read_once_and_refreshed_after_401<F, Fut>(key: ProviderKey, rotate: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let fake = FakeProvider::start(vec![
        Script::json(200, claude_message("first", 5, 1)),
        Script::json(
            401,
            claude_error("authentication_error", "invalid x-api-key"),
        ),
        Script::json(200, claude_message("after rotation", 5, 2)),
    ])
    .await;
    let provider = claude_with_key(&fake.url, key);
    let app = spawn_app_with(config(&[("AI_PROVIDER", "claude")]), Some(vec![provider])).await;
    let id = app.create_session(json!({"config": {}})).await;
    let first = app.send_message(&id, "one").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    rotate().await;
    let second = app.send_message(&id, "two").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body["response"], "after rotation");
    let keys: Vec<Value> = fake
        .received()
        .iter()
        .map(|r| json!(r.headers["x-api-key"].to_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [
            json!("sk-ant-one"),
            json!("sk-ant-one"),
            json!("sk-ant-two")
        ]
    );
}

/// A store the test rotates, counting reads.
struct Rotating {
    value: Mutex<String>,
    reads: AtomicUsize,
}

#[async_trait]
impl KeyFetcher for Rotating {
    async fn fetch(&self, _: &SecretRef) -> Result<Secret, SecretsError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(Secret::new(self.value.lock().unwrap().clone()))
    }
}

#[tokio::test]
async fn a_provider_key_kept_elsewhere_is_read_once_and_again_after_a_401() {
    let store = Arc::new(Rotating {
        value: Mutex::new("sk-ant-one".into()),
        reads: AtomicUsize::new(0),
    });
    let key = ProviderKey::stored(
        SecretRef::SecretsManager("prod/anthropic".into()),
        store.clone(),
    );
    let rotating = store.clone();
    check_read_once_and_refreshed_after_401(key, || async move {
        *rotating.value.lock().unwrap() = "sk-ant-two".into();
    })
    .await;
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        2,
        "on first use, and after the 401"
    );
}

#[tokio::test]
async fn a_key_from_the_environment_is_not_retried_after_a_401() {
    let fake = FakeProvider::start(vec![
        Script::json(
            401,
            claude_error("authentication_error", "invalid x-api-key"),
        ),
        Script::json(200, claude_message("never", 1, 1)),
    ])
    .await;
    let provider = claude_with_key(&fake.url, ProviderKey::fixed(Secret::new("sk-env")));
    let app = spawn_app_with(config(&[("AI_PROVIDER", "claude")]), Some(vec![provider])).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(fake.received().len(), 1);
}
