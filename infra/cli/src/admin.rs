//! Tenant and key administration on the store the settings select. Every
//! change of a tenant's settings goes through the tenant API's service
//! (`apply`), so the CLI validates and writes as the API does.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chat_shared::AppState;
use chat_shared::auth;
use chat_shared::blob::s3::S3BlobStore;
use chat_shared::clock::iso8601;
use chat_shared::config::ExposeSecret;
use chat_shared::config::{self, Config, Secret, StoreKind};
use chat_shared::model::{OriginPattern, TenantProvider};
use chat_shared::service::ServiceError;
use chat_shared::service::tenant::settings::{self, SettingsChange};
use chat_shared::store::StoreError;
use chat_shared::store::dynamo::DynamoTable;
use serde_json::{Value, json};
use uuid::Uuid;

/// The settings from the environment, with the command line's data directory.
fn config(data_dir: &Path) -> Result<Config> {
    let mut config = Config::from_env().context("invalid settings")?;
    config.data_dir = data_dir.to_path_buf();
    Ok(config)
}

/// A service error as the CLI says it.
pub fn explain(e: ServiceError, tenant: Uuid) -> anyhow::Error {
    match e {
        ServiceError::TenantNotFound => anyhow!("no tenant {tenant}"),
        ServiceError::InvalidSettings(e) => anyhow!("invalid setting {}: {}", e.field, e.detail),
        ServiceError::KeyNotFound => anyhow!("tenant {tenant} has no such key"),
        ServiceError::LastSecretKey => anyhow!(
            "that is the tenant's last active secret key: create another before revoking it"
        ),
        other => anyhow!(other),
    }
}

/// Applies a merge patch through the API's service.
pub async fn apply(state: &AppState, tenant: Uuid, patch: &Value) -> Result<SettingsChange> {
    settings::patch(state, tenant, patch)
        .await
        .map_err(|e| explain(e, tenant))
}

/// Prints a new identity secret, once; the last line of the output.
pub fn print_identity_secret(change: &SettingsChange) {
    if let Some(secret) = &change.identity_secret {
        println!("identity secret (shown once; keep it on your server, never in a page):");
        println!("{}", secret.expose_secret());
    }
}

/// The state for an admin command.
pub async fn open(data_dir: &Path) -> Result<AppState> {
    AppState::from_config(config(data_dir)?)
        .await
        .with_context(|| format!("data directory {}", data_dir.display()))
}

/// What to do about an error, when the user can do something: the embedded
/// store held by a running server.
pub fn hint(error: &anyhow::Error, data_dir: &Path) -> Option<String> {
    let locked = error
        .chain()
        .any(|cause| matches!(cause.downcast_ref(), Some(StoreError::Locked(_))));
    locked.then(|| {
        format!(
            "The data directory {} is in use (is `chatctl serve` running on it?). Stop it, run this command, then start it again.",
            data_dir.display()
        )
    })
}

/// Creates what the selected store needs; safe to run again.
pub async fn init(data_dir: &Path) -> Result<()> {
    let config = config(data_dir)?;
    match config.store {
        StoreKind::Embedded => {
            open(data_dir).await?;
            println!("embedded store ready in {}", data_dir.display());
        }
        StoreKind::DynamoDb => {
            let sdk = chat_shared::state::aws_sdk_config().await;
            let table = DynamoTable::new(&sdk, &config.table_name);
            let created = table
                .create_if_missing()
                .await
                .with_context(|| format!("cannot create the table {}", config.table_name))?;
            println!(
                "table {}: {}",
                config.table_name,
                if created { "created" } else { "exists" }
            );
            let bucket = S3BlobStore::new(&sdk, &config.bucket_name, config.s3_path_style);
            let created = bucket
                .create_if_missing()
                .await
                .with_context(|| format!("cannot create the bucket {}", config.bucket_name))?;
            println!(
                "bucket {}: {}",
                config.bucket_name,
                if created { "created" } else { "exists" }
            );
        }
    }
    Ok(())
}

pub async fn create_tenant(data_dir: &Path, name: &str, email: &str) -> Result<()> {
    let (name, email) = (name.trim(), email.trim());
    if name.is_empty() || email.is_empty() || !email.contains('@') {
        bail!("a tenant needs a --name and an --email address");
    }
    let state = open(data_dir).await?;
    let now = state.now_ms();
    let tenant = auth::create_tenant(&state.repo, name, email, now)
        .await
        .context("cannot create the tenant")?;
    let (key, record) = auth::issue_key(&state.repo, tenant.tenant_id, now)
        .await
        .with_context(|| format!("cannot issue a key for tenant {}", tenant.tenant_id))?;
    println!("tenant: {}", tenant.tenant_id);
    println!("name: {}", tenant.name);
    println!("key id: {}", record.key_id);
    println!("secret key (shown once, store it safely):");
    println!("{key}");
    Ok(())
}

/// Sets (or, without an endpoint, removes) a tenant's own provider endpoint.
pub async fn set_provider(
    data_dir: &Path,
    tenant_id: Uuid,
    endpoint: Option<(String, String)>,
    api_key_env: Option<&str>,
) -> Result<()> {
    let provider = match endpoint {
        None => None,
        Some((base_url, model)) => {
            let base_url = config::parse_url("--base-url", &base_url)?;
            let model = model.trim().to_owned();
            if model.is_empty() {
                bail!("--model must not be empty");
            }
            let api_key = match api_key_env {
                None => None,
                Some(var) => match std::env::var(var) {
                    Ok(v) if !v.trim().is_empty() => Some(Secret::new(v.trim()).into()),
                    _ => bail!("the environment variable {var} is not set"),
                },
            };
            Some(TenantProvider {
                base_url,
                model,
                api_key,
            })
        }
    };
    let state = open(data_dir).await?;
    let tenant = settings::modify(&state, tenant_id, |t| {
        t.custom_provider = provider.clone();
        Ok(())
    })
    .await
    .map_err(|e| match e {
        ServiceError::TenantNotFound => anyhow!("no tenant {tenant_id}"),
        other => anyhow!(other).context(format!("cannot save tenant {tenant_id}")),
    })?;
    match &tenant.custom_provider {
        Some(p) => println!(
            "tenant {tenant_id}: custom provider {} model {} ({})",
            p.base_url,
            p.model,
            if p.api_key.is_some() {
                "with key"
            } else {
                "no key"
            }
        ),
        None => println!("tenant {tenant_id}: custom provider removed"),
    }
    Ok(())
}

pub async fn list_tenants(data_dir: &Path) -> Result<()> {
    let state = open(data_dir).await?;
    let tenants = state
        .repo
        .list_tenants()
        .await
        .context("cannot list the tenants")?;
    if tenants.is_empty() {
        println!("no tenants");
    }
    for t in tenants {
        println!(
            "{}\t{}\t{}\t{}",
            t.tenant_id,
            t.name,
            t.email,
            iso8601(t.created_at)
        );
    }
    Ok(())
}

/// Replaces the tenant's allowed origins.
pub async fn set_origins(data_dir: &Path, tenant_id: Uuid, origins: &[String]) -> Result<()> {
    let mut list = Vec::with_capacity(origins.len());
    for raw in origins {
        let origin = OriginPattern::parse(raw).map_err(anyhow::Error::msg)?;
        if !list.contains(&origin) {
            list.push(origin);
        }
    }
    let state = open(data_dir).await?;
    let patch = json!({"allowedOrigins": list.iter().map(ToString::to_string).collect::<Vec<_>>()});
    let tenant = apply(&state, tenant_id, &patch).await?.tenant;
    if tenant.allowed_origins.is_empty() {
        println!("tenant {tenant_id}: no allowed origins (publishable keys work from no web page)");
    } else {
        println!(
            "tenant {tenant_id}: allowed origins {}",
            tenant
                .allowed_origins
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}

/// Creates, rotates or removes the tenant's identity secret; sets whether
/// signatures are required. A new secret is printed once.
pub async fn set_identity(
    data_dir: &Path,
    tenant_id: Uuid,
    require: bool,
    rotate: bool,
    disable: bool,
) -> Result<()> {
    let state = open(data_dir).await?;
    let patch = if disable {
        json!({"identity": {"enabled": false}})
    } else {
        json!({"identity": {"enabled": true, "required": require, "rotateSecret": rotate}})
    };
    let change = apply(&state, tenant_id, &patch).await?;
    if disable {
        println!("tenant {tenant_id}: signed identity off");
        return Ok(());
    }
    println!(
        "tenant {tenant_id}: signed identity {}",
        if require {
            "required"
        } else {
            "optional (checked when given)"
        }
    );
    if change.identity_secret.is_none() {
        println!("the existing identity secret is kept (--rotate replaces it)");
    }
    print_identity_secret(&change);
    Ok(())
}

/// Sets the tenant's rate limit and/or retention (0: the deployment's).
pub async fn set_limits(
    data_dir: &Path,
    tenant_id: Uuid,
    per_hour: Option<u32>,
    retention_days: Option<u32>,
) -> Result<()> {
    let state = open(data_dir).await?;
    let mut patch = serde_json::Map::new();
    if let Some(n) = per_hour {
        patch.insert("rateLimitPerHour".into(), json!((n > 0).then_some(n)));
    }
    if let Some(days) = retention_days {
        patch.insert("retentionDays".into(), json!((days > 0).then_some(days)));
    }
    let tenant = apply(&state, tenant_id, &Value::Object(patch))
        .await?
        .tenant;
    if per_hour.is_some() {
        println!(
            "tenant {tenant_id}: {} messages per hour per key",
            tenant
                .rate_limit_per_hour
                .unwrap_or(state.config.rate_limit_per_hour)
        );
    }
    if retention_days.is_some() {
        println!(
            "tenant {tenant_id}: conversations kept {} days after their last activity",
            tenant.retention_days.unwrap_or(state.config.retention_days)
        );
    }
    Ok(())
}
