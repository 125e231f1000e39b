//! Reading a provider key from Secrets Manager (`GetSecretValue`) or SSM
//! Parameter Store (`GetParameter` with decryption).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use super::SecretsError;
use crate::config::{Secret, SecretRef};

/// Where keys are read from; the AWS one in deployments, fakes in tests.
#[async_trait]
pub trait KeyFetcher: Send + Sync {
    async fn fetch(&self, what: &SecretRef) -> Result<Secret, SecretsError>;
}

/// Secrets Manager and Parameter Store clients, made on the first read: a
/// process whose keys are all in the environment never loads them, and a
/// function that never calls a provider never pays for them.
pub struct AwsKeyStore {
    sdk: Option<aws_config::SdkConfig>,
    clients: tokio::sync::OnceCell<Clients>,
}

struct Clients {
    secrets: aws_sdk_secretsmanager::Client,
    parameters: aws_sdk_ssm::Client,
}

impl AwsKeyStore {
    /// Clients on `sdk` (tests point it at a local server).
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Self {
            sdk: Some(sdk),
            clients: tokio::sync::OnceCell::new(),
        }
    }

    /// The process's store, on the standard AWS configuration (loaded on
    /// its first read).
    pub fn shared() -> Arc<dyn KeyFetcher> {
        static SHARED: OnceLock<Arc<AwsKeyStore>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                Arc::new(Self {
                    sdk: None,
                    clients: tokio::sync::OnceCell::new(),
                })
            })
            .clone()
    }

    async fn clients(&self) -> &Clients {
        self.clients
            .get_or_init(|| async {
                let sdk = match &self.sdk {
                    Some(sdk) => sdk.clone(),
                    None => crate::aws_sdk::sdk_config().await,
                };
                Clients {
                    secrets: aws_sdk_secretsmanager::Client::new(&sdk),
                    parameters: aws_sdk_ssm::Client::new(&sdk),
                }
            })
            .await
    }
}

#[async_trait]
impl KeyFetcher for AwsKeyStore {
    async fn fetch(&self, what: &SecretRef) -> Result<Secret, SecretsError> {
        let clients = self.clients().await;
        let failed = |name: String, reason: String| SecretsError::Fetch { what: name, reason };
        let value = match what {
            SecretRef::SecretsManager(id) => {
                let name = format!("secret {id}");
                let out = clients
                    .secrets
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            name.clone(),
                            aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
                        )
                    })?;
                out.secret_string()
                    .map(str::to_owned)
                    .ok_or(SecretsError::Empty(name))?
            }
            SecretRef::Parameter(parameter) => {
                let name = format!("parameter {parameter}");
                let out = clients
                    .parameters
                    .get_parameter()
                    .name(parameter)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            name.clone(),
                            aws_sdk_ssm::error::DisplayErrorContext(&e).to_string(),
                        )
                    })?;
                out.parameter()
                    .and_then(|p| p.value())
                    .map(str::to_owned)
                    .ok_or(SecretsError::Empty(name))?
            }
        };
        // A key pasted with its line break still works.
        let value = value.trim();
        if value.is_empty() {
            return Err(SecretsError::Empty(describe(what)));
        }
        Ok(Secret::new(value))
    }
}

fn describe(what: &SecretRef) -> String {
    match what {
        SecretRef::SecretsManager(id) => format!("secret {id}"),
        SecretRef::Parameter(name) => format!("parameter {name}"),
    }
}
