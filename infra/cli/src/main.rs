//! `chatctl`: runs the platform locally and administers tenants and keys.

mod admin;
mod runtime;
mod serve;
mod tenant;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use uuid::Uuid;

#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "chatctl",
    version,
    about = "Run and administer the chat platform"
)]
struct Cli {
    /// Where the embedded store keeps its data.
    #[arg(
        long,
        global = true,
        env = "CHAT_DATA_DIR",
        default_value = ".chat-data"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the whole API on the embedded store, with a demo tenant.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: String,
    },
    /// Create the table (keys, GSI, TTL) and the bucket when missing, or the
    /// embedded store's data directory.
    Init,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Import another system's data.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A Django chat app's `python manage.py dumpdata clients chat`: clients
    /// become tenants (their keys keep working), sessions, messages and each
    /// session's latest upload come along. Safe to run again: only what is
    /// missing is written.
    Django {
        /// The dump (a JSON array of records).
        dump: PathBuf,
        /// The Django MEDIA_ROOT: original uploads are read from its
        /// `uploads/` (otherwise rebuilt from the dump's processed_data).
        #[arg(long)]
        media_root: Option<PathBuf>,
        /// Read the dump and print what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and its first secret key (printed last, shown once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// List tenants.
    List,
    /// Show a tenant and its settings (as GET /api/tenant shows them).
    Show {
        #[arg(long)]
        tenant: Uuid,
    },
    /// Show the settings, or change them: `--set` takes a JSON merge patch
    /// of the settings (as PATCH /api/tenant/settings); the other flags set
    /// one field each. A new identity secret is printed last, once.
    Settings {
        #[arg(long)]
        tenant: Uuid,
        #[command(flatten)]
        flags: tenant::SettingFlags,
    },
    /// The tenant's keys (the same commands as `chatctl key`).
    #[command(subcommand)]
    Keys(KeyCommand),
    /// Give a tenant its own OpenAI-compatible endpoint for `aiProvider:
    /// "custom"` (or remove it with --clear). The key is read from the
    /// environment variable named by --api-key-env, never from the command line.
    SetProvider {
        #[arg(long)]
        tenant: Uuid,
        /// API root where `/chat/completions` is appended, e.g. https://api.groq.com/openai/v1
        #[arg(long, required_unless_present = "clear")]
        base_url: Option<String>,
        #[arg(long, required_unless_present = "clear")]
        model: Option<String>,
        /// Name of the environment variable holding the endpoint's key.
        #[arg(long)]
        api_key_env: Option<String>,
        #[arg(long, conflicts_with_all = ["base_url", "model", "api_key_env"])]
        clear: bool,
    },
    /// Set the sites (origins, e.g. https://shop.example) that may use the
    /// tenant's publishable keys from a browser and embed its widget frame.
    /// Replaces the list; no origins clears it.
    SetOrigins {
        #[arg(long)]
        tenant: Uuid,
        origins: Vec<String>,
    },
    /// Signed visitor identity: creates the tenant's identity secret (printed
    /// once) if it has none. The tenant's server signs each visitor's
    /// user_identifier with it (hex HMAC-SHA256) for the widget to pass on.
    /// With --require, publishable-key requests naming a user_identifier must
    /// carry its signature.
    SetIdentity {
        #[arg(long)]
        tenant: Uuid,
        /// Refuse unsigned identifiers (without it, signatures are checked
        /// when given).
        #[arg(long)]
        require: bool,
        /// Replace the secret with a new one (printed once).
        #[arg(long)]
        rotate: bool,
        /// Remove the secret: identifiers are no longer checked.
        #[arg(long, conflicts_with_all = ["require", "rotate"])]
        disable: bool,
    },
    /// Set the tenant's messages per hour per API key (0: the deployment's
    /// RATE_LIMIT_MESSAGES_PER_HOUR).
    SetRateLimit {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        per_hour: u32,
    },
    /// Set the days the tenant's conversations are kept after their last
    /// activity (0: the deployment's CHAT_RETENTION_DAYS).
    SetRetention {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        days: u32,
    },
}

/// What a key may do.
#[derive(Clone, Copy, clap::ValueEnum)]
enum KeyKindArg {
    /// `cb_…`: for servers; every endpoint.
    Secret,
    /// `pk_…`: safe in a web page; chatting only, from allowed origins.
    Publishable,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue another key for a tenant (printed last, shown once).
    Create {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long, value_enum, default_value = "secret")]
        kind: KeyKindArg,
        /// A name for the key in listings.
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a key by its id (never the tenant's last active secret key).
    Revoke {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        key_id: Uuid,
    },
    /// List a tenant's keys (id, prefix, kind, status, created, last used,
    /// label; secret keys themselves are not stored).
    List {
        #[arg(long)]
        tenant: Uuid,
    },
}

fn main() -> ExitCode {
    let runtime = match runtime::build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chatctl: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async_main())
}

async fn async_main() -> ExitCode {
    chat_shared::state::init_logging();
    let cli = Cli::parse();
    match run(cli.command, &cli.data_dir).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chatctl: {}", messages(&error));
            if let Some(hint) = admin::hint(&error, &cli.data_dir) {
                eprintln!("{hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, outermost first, on one line. A cause whose
/// text the previous message already quotes (a `thiserror` variant that
/// prints its source) is not repeated.
fn messages(error: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !previous.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        previous = text;
    }
    line
}

async fn run(command: Command, data_dir: &Path) -> anyhow::Result<()> {
    match command {
        Command::Serve { addr } => serve::run(data_dir, &addr).await,
        Command::Init => admin::init(data_dir).await,
        Command::Tenant(TenantCommand::Create { name, email }) => {
            admin::create_tenant(data_dir, &name, &email).await
        }
        Command::Tenant(TenantCommand::List) => admin::list_tenants(data_dir).await,
        Command::Tenant(TenantCommand::SetProvider {
            tenant,
            base_url,
            model,
            api_key_env,
            clear: _,
        }) => {
            let endpoint = base_url.zip(model);
            admin::set_provider(data_dir, tenant, endpoint, api_key_env.as_deref()).await
        }
        Command::Tenant(TenantCommand::SetOrigins { tenant, origins }) => {
            admin::set_origins(data_dir, tenant, &origins).await
        }
        Command::Tenant(TenantCommand::SetIdentity {
            tenant,
            require,
            rotate,
            disable,
        }) => admin::set_identity(data_dir, tenant, require, rotate, disable).await,
        Command::Tenant(TenantCommand::SetRateLimit { tenant, per_hour }) => {
            admin::set_limits(data_dir, tenant, Some(per_hour), None).await
        }
        Command::Tenant(TenantCommand::SetRetention { tenant, days }) => {
            admin::set_limits(data_dir, tenant, None, Some(days)).await
        }
        Command::Tenant(TenantCommand::Show { tenant }) => tenant::show(data_dir, tenant).await,
        Command::Tenant(TenantCommand::Settings { tenant, flags }) => {
            tenant::settings_command(data_dir, tenant, &flags).await
        }
        Command::Tenant(TenantCommand::Keys(command)) | Command::Key(command) => {
            key_command(command, data_dir).await
        }
        Command::Import(ImportCommand::Django {
            dump,
            media_root,
            dry_run,
        }) => import_django(data_dir, dump, media_root, dry_run).await,
    }
}

async fn key_command(command: KeyCommand, data_dir: &Path) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create {
            tenant,
            kind,
            label,
        } => {
            let kind = match kind {
                KeyKindArg::Secret => chat_shared::model::KeyKind::Secret,
                KeyKindArg::Publishable => chat_shared::model::KeyKind::Publishable,
            };
            tenant::create_key(data_dir, tenant, kind, label.as_deref()).await
        }
        KeyCommand::Revoke { tenant, key_id } => tenant::revoke_key(data_dir, tenant, key_id).await,
        KeyCommand::List { tenant } => tenant::list_keys(data_dir, tenant).await,
    }
}

/// Runs the import, prints its report; fails when a write failed (a re-run
/// retries it).
async fn import_django(
    data_dir: &Path,
    dump: PathBuf,
    media_root: Option<PathBuf>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let state = admin::open(data_dir).await?;
    let options = chatctl::import::Options {
        dump,
        media_root,
        dry_run,
        progress: true,
    };
    let report = chatctl::import::django(&state, &options).await?;
    print!("{report}");
    if !report.failed.is_empty() {
        anyhow::bail!(
            "{} writes failed; run the import again",
            report.failed.len()
        );
    }
    Ok(())
}
