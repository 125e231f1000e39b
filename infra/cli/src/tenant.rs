//! `chatctl tenant show|settings` and the key commands: the tenant API's
//! service functions (`service::tenant`), called on the store the settings
//! select, so the CLI and the API validate and write the same way.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chat_shared::api::tenant::settings::TenantBody;
use chat_shared::clock::iso8601;
use chat_shared::model::{KeyKind, Tenant};
use chat_shared::service::tenant::{keys, settings};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::admin::{apply, explain, open, print_identity_secret};

/// Flags that each set one field of the settings (a shorthand for `--set`).
#[derive(clap::Args, Default)]
pub struct SettingFlags {
    /// A JSON merge patch of the settings, as `PATCH /api/tenant/settings`
    /// takes it, e.g. '{"bot": {"name": "Kettle Helper"}, "rateLimitPerHour": 50}'.
    #[arg(long)]
    pub set: Option<String>,
    #[arg(long)]
    pub bot_name: Option<String>,
    /// `#rrggbb`.
    #[arg(long)]
    pub bot_color: Option<String>,
    #[arg(long)]
    pub welcome_message: Option<String>,
    #[arg(long)]
    pub system_prompt: Option<String>,
    #[arg(long)]
    pub default_provider: Option<String>,
    /// Replace the identity secret (turning identity on); printed once.
    #[arg(long)]
    pub rotate_identity_secret: bool,
}

impl SettingFlags {
    /// `--set` with the flags' fields merged over it.
    fn patch(&self) -> Result<Value> {
        let mut patch = match &self.set {
            None => Value::Object(Map::new()),
            Some(raw) => serde_json::from_str(raw).context("--set is not JSON")?,
        };
        let Some(root) = patch.as_object_mut() else {
            bail!("--set must be a JSON object (a merge patch of the settings)");
        };
        let mut put = |path: &[&str], value: Value| {
            let mut at = &mut *root;
            for part in &path[..path.len() - 1] {
                let next = at.entry(*part).or_insert_with(|| Value::Object(Map::new()));
                if !next.is_object() {
                    *next = Value::Object(Map::new());
                }
                at = next.as_object_mut().unwrap_or_else(|| unreachable!());
            }
            at.insert(path[path.len() - 1].to_owned(), value);
        };
        let text = [
            (&["bot", "name"][..], &self.bot_name),
            (&["bot", "color"], &self.bot_color),
            (&["bot", "welcomeMessage"], &self.welcome_message),
            (&["systemPrompt"], &self.system_prompt),
            (&["defaultProvider"], &self.default_provider),
        ];
        for (path, value) in text {
            if let Some(v) = value {
                put(path, Value::from(v.as_str()));
            }
        }
        if self.rotate_identity_secret {
            put(&["identity", "enabled"], true.into());
            put(&["identity", "rotateSecret"], true.into());
        }
        Ok(patch)
    }
}

fn print_tenant(tenant: &Tenant) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&TenantBody::from(tenant))?
    );
    Ok(())
}

/// `chatctl tenant show`: the tenant as `GET /api/tenant` shows it.
pub async fn show(data_dir: &Path, tenant: Uuid) -> Result<()> {
    let state = open(data_dir).await?;
    let t = settings::get(&state, tenant)
        .await
        .map_err(|e| explain(e, tenant))?;
    print_tenant(&t)
}

/// `chatctl tenant settings`: shows the settings, or patches them.
pub async fn settings_command(data_dir: &Path, tenant: Uuid, flags: &SettingFlags) -> Result<()> {
    let patch = flags.patch()?;
    if patch.as_object().is_some_and(Map::is_empty) {
        return show(data_dir, tenant).await;
    }
    let state = open(data_dir).await?;
    let change = apply(&state, tenant, &patch).await?;
    print_tenant(&change.tenant)?;
    print_identity_secret(&change);
    Ok(())
}

/// `chatctl key create` / `tenant keys create`: the key is printed last.
pub async fn create_key(
    data_dir: &Path,
    tenant: Uuid,
    kind: KeyKind,
    label: Option<&str>,
) -> Result<()> {
    let label = keys::parse_label(label).map_err(|e| explain(e, tenant))?;
    let state = open(data_dir).await?;
    let issued = keys::create(&state, tenant, kind, label)
        .await
        .map_err(|e| explain(e, tenant))?;
    println!("key id: {}", issued.listing.record.key_id);
    match kind {
        KeyKind::Secret => println!("secret key (shown once, store it safely):"),
        KeyKind::Publishable => println!(
            "publishable key (shown once; safe to embed in pages of the tenant's allowed origins):"
        ),
    }
    println!("{}", issued.key);
    Ok(())
}

/// `chatctl key revoke`: never the tenant's last active secret key.
pub async fn revoke_key(data_dir: &Path, tenant: Uuid, key_id: Uuid) -> Result<()> {
    let state = open(data_dir).await?;
    keys::revoke(&state, tenant, key_id)
        .await
        .map_err(|e| explain(e, tenant))?;
    println!("revoked {key_id}");
    Ok(())
}

/// `chatctl key list`: one line per key (id, prefix, kind, status, created,
/// last used, label); never the key.
pub async fn list_keys(data_dir: &Path, tenant: Uuid) -> Result<()> {
    let state = open(data_dir).await?;
    let listed = keys::list(&state, tenant)
        .await
        .map_err(|e| explain(e, tenant))?;
    if listed.is_empty() {
        println!("no keys");
    }
    for k in listed {
        let r = &k.record;
        println!(
            "{}\t{}…\t{}\t{}\t{}\t{}\t{}",
            r.key_id,
            r.prefix,
            r.kind.as_str(),
            if r.revoked { "revoked" } else { "active" },
            iso8601(r.created_at),
            k.last_used_at.map_or_else(|| "never used".into(), iso8601),
            k.label.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
