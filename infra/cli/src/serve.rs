//! `chatctl serve`: every endpoint group in one process on the embedded
//! store, with a demo tenant whose key survives restarts.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::get;
use chat_shared::AppState;
use chat_shared::api::{console, widget};
use chat_shared::auth;
use chat_shared::store::repo::Repository;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::admin;

/// Where the demo key is kept, readable only by its owner.
const DEMO_KEY_FILE: &str = "demo-key";

pub async fn run(data_dir: &Path, addr: &str) -> Result<()> {
    let state = admin::open(data_dir).await?;
    let demo_key = demo_key(&state, data_dir).await?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let app = chat_shared::http::with_frame_csp(app(state.clone(), &demo_key), state)
        .layer(TraceLayer::new_for_http());

    // Written without `println!`: a closed stdout must not stop the server.
    let banner = format!(
        "Chat API: http://{local}/api/chat/\n\
         Widget demo: http://{local}/\n\
         Console: http://{local}/console/\n\
         Data directory: {}\n\
         Demo API key: {demo_key}\n\
         Try: curl -X POST http://{local}/api/chat/sessions/create -H 'X-API-Key: {demo_key}' -d '{{\"config\":{{\"aiProvider\":\"dummy\"}}}}'\n",
        data_dir.display()
    );
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    // With the peer's address: the client address of the widget's limits.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")
}

/// The API, the widget's files under `/widget/`, the console under
/// `/console/`, and a demo host page at `/` embedding the widget with the
/// demo key (rendered in, never stored).
fn app(state: AppState, demo_key: &str) -> Router {
    let key = demo_key.to_owned();
    Router::new()
        .route("/", get(move || async move { widget::demo_response(&key) }))
        .merge(widget::router())
        .merge(console::router())
        .merge(chat_shared::api::app(state))
}

/// The demo tenant's key: the one from an earlier start when it still works,
/// else a new tenant and key.
async fn demo_key(state: &AppState, data_dir: &Path) -> Result<String> {
    let path = data_dir.join(DEMO_KEY_FILE);
    if let Ok(saved) = std::fs::read_to_string(&path) {
        let saved = saved.trim().to_owned();
        if still_valid(&state.repo, &saved).await? {
            return Ok(saved);
        }
    }
    let now = state.now_ms();
    let tenant = auth::create_tenant(&state.repo, "Demo", "demo@example.com", now)
        .await
        .context("cannot create the demo tenant")?;
    let (key, _) = auth::issue_key(&state.repo, tenant.tenant_id, now)
        .await
        .context("cannot issue the demo key")?;
    write_private(&path, &key).with_context(|| format!("cannot save {}", path.display()))?;
    Ok(key)
}

async fn still_valid(repo: &Repository, key: &str) -> Result<bool> {
    let record = repo
        .find_api_key(&auth::hash_key(key))
        .await
        .context("cannot look up the saved demo key")?;
    Ok(record.is_some_and(|r| !r.revoked))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{contents}")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
