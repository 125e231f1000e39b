//! Secrets on the AWS wire protocol: moto (the server `tests/run.sh`
//! starts for DynamoDB also serves KMS, Secrets Manager and SSM) at
//! `AWS_ENDPOINT_URL_KMS` / `_SECRETS_MANAGER` / `_SSM`, or else at the
//! DynamoDB endpoint it already has. Built with the `cloud` feature.

use std::sync::Arc;

use aws_sdk_secretsmanager::Client as SecretsClient;
use aws_sdk_ssm::Client as SsmClient;
use aws_sdk_ssm::types::ParameterType;
use chat_shared::config::{ExposeSecret, Secret, SecretRef};
use chat_shared::model::IdentitySettings;
use chat_shared::secrets::{AwsKeyStore, KmsKeyWrapper, ProviderKey, TenantSecrets};

use crate::helpers::spawn_app;
use crate::tenant_secrets::{
    IDENTITY, check_ciphertext_bound_to_its_tenant, check_plain_items_sealed_on_next_write,
    check_read_once_and_refreshed_after_401, check_sealed_tenant_secrets, sealed_with,
};

/// The SDK configuration for one service on the local server.
async fn sdk_for(service_variable: &str) -> aws_config::SdkConfig {
    let endpoint = std::env::var(service_variable)
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_DYNAMODB"))
        .expect(
            "a local AWS-compatible server (moto) at AWS_ENDPOINT_URL_*; tests/run.sh starts one",
        );
    chat_shared::state::aws_sdk_config()
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .build()
}

/// A name no other run uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// A new KMS key on the local server.
async fn kms_key() -> (aws_config::SdkConfig, String) {
    let sdk = sdk_for("AWS_ENDPOINT_URL_KMS").await;
    let key = aws_sdk_kms::Client::new(&sdk)
        .create_key()
        .description("chat tenant secrets (test)")
        .send()
        .await
        .expect("moto answers CreateKey");
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    (sdk, key_id)
}

/// What one process seals and opens with.
fn kms_process(sdk: &aws_config::SdkConfig, key_id: &str) -> Arc<TenantSecrets> {
    Arc::new(TenantSecrets::new(Arc::new(KmsKeyWrapper::new(
        sdk, key_id,
    ))))
}

async fn kms_secrets() -> Arc<TenantSecrets> {
    let (sdk, key_id) = kms_key().await;
    kms_process(&sdk, &key_id)
}

#[tokio::test]
async fn tenant_secrets_are_sealed_under_kms() {
    let app = sealed_with(spawn_app().await, kms_secrets().await);
    check_sealed_tenant_secrets(&app, "kms").await;
}

#[tokio::test]
async fn a_tenants_kms_ciphertext_does_not_open_as_another_tenants() {
    let app = sealed_with(spawn_app().await, kms_secrets().await);
    check_ciphertext_bound_to_its_tenant(&app).await;
}

#[tokio::test]
async fn a_process_that_did_not_seal_opens_with_kms_decrypt() {
    let (sdk, key_id) = kms_key().await;
    let app = sealed_with(spawn_app().await, kms_process(&sdk, &key_id));
    app.update_tenant(|t| {
        t.identity = Some(IdentitySettings {
            secret: Secret::new(IDENTITY).into(),
            required: false,
        })
    })
    .await;
    let stored = app
        .state
        .repo
        .get_tenant(app.tenant)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.identity.unwrap().secret;
    let another = kms_process(&sdk, &key_id);
    let opened = another.open(app.tenant, &sealed).await.unwrap();
    assert_eq!(opened.expose_secret(), IDENTITY);
    assert!(another.open(uuid::Uuid::now_v7(), &sealed).await.is_err());
}

#[tokio::test]
async fn plaintext_items_are_sealed_under_kms_on_their_next_write() {
    check_plain_items_sealed_on_next_write(spawn_app().await, kms_secrets().await).await;
}

#[tokio::test]
async fn a_provider_key_from_secrets_manager_is_refreshed_after_a_401() {
    let sdk = sdk_for("AWS_ENDPOINT_URL_SECRETS_MANAGER").await;
    let client = SecretsClient::new(&sdk);
    let name = unique("chat/anthropic-");
    client
        .create_secret()
        .name(&name)
        .secret_string("sk-ant-one\n")
        .send()
        .await
        .expect("moto answers CreateSecret");
    let store = Arc::new(AwsKeyStore::new(sdk));
    let key = ProviderKey::stored(SecretRef::SecretsManager(name.clone()), store);
    check_read_once_and_refreshed_after_401(key, || async move {
        client
            .put_secret_value()
            .secret_id(&name)
            .secret_string("sk-ant-two")
            .send()
            .await
            .expect("rotated");
    })
    .await;
}

#[tokio::test]
async fn a_provider_key_from_a_securestring_parameter_is_refreshed_after_a_401() {
    let sdk = sdk_for("AWS_ENDPOINT_URL_SSM").await;
    let client = SsmClient::new(&sdk);
    let name = format!("/{}", unique("chat/anthropic-"));
    let put = |value: &'static str, overwrite: bool| {
        client
            .put_parameter()
            .name(&name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(overwrite)
            .send()
    };
    put("sk-ant-one", false)
        .await
        .expect("moto answers PutParameter");
    let store = Arc::new(AwsKeyStore::new(sdk.clone()));
    let key = ProviderKey::stored(SecretRef::Parameter(name.clone()), store);
    // The value is stored encrypted: read without decryption it is not the key.
    let raw = client.get_parameter().name(&name).send().await.unwrap();
    assert_ne!(raw.parameter().unwrap().value(), Some("sk-ant-one"));
    check_read_once_and_refreshed_after_401(key, || async {
        put("sk-ant-two", true).await.expect("rotated");
    })
    .await;
}
