//! Start-up of the Lambda binaries (feature `lambda`).
//!
//! A function that cannot build its state (a bad setting, say) reports why
//! to the Lambda Runtime API's `/runtime/init/error` before exiting, so the
//! reason shows as the invocation's error (`Runtime.InitError`) and not only
//! as a log line after an unexplained `Runtime.ExitError`.

use http::Method;
use lambda_runtime_api_client::{PooledClient, body::Body, build_request};

use crate::AppState;
use crate::config::Config;
use crate::providers::{ProviderError, Providers};
use crate::state::{StartError, init_logging};

/// The Runtime API's address, as Lambda gives it to every runtime.
const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// Logging, then the state from the environment, with the providers'
/// clients (the messages function); a failure is logged and reported to
/// the Runtime API, then returned.
pub async fn start() -> Result<AppState, StartError> {
    start_with(Providers::from_config).await
}

/// As [`start`], with the providers known by name only
/// ([`Providers::listed`]): for the functions that send no messages
/// (sessions, files, tenant), which then link no provider's code.
pub async fn start_listing_providers() -> Result<AppState, StartError> {
    start_with(Providers::listed).await
}

async fn start_with(
    providers: fn(&Config) -> Result<Providers, ProviderError>,
) -> Result<AppState, StartError> {
    init_logging();
    let state = async {
        let config = Config::from_env()?;
        let providers = providers(&config)?;
        AppState::with_providers(config, providers).await
    };
    match state.await {
        Ok(state) => Ok(state),
        Err(error) => {
            tracing::error!(%error, "start-up failed");
            report_init_error(&error).await;
            Err(error)
        }
    }
}

/// Posts `error` to `/2018-06-01/runtime/init/error`. Failing to report is
/// only logged: the process exits with the error either way.
pub async fn report_init_error(error: &StartError) {
    if std::env::var_os(RUNTIME_API).is_none() {
        return;
    }
    let body = serde_json::json!({
        "errorType": error_type(error),
        "errorMessage": error.to_string(),
    });
    let request = build_request()
        .method(Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()));
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the init error report");
            return;
        }
    };
    match PooledClient::builder().build().call(request).await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            tracing::error!(status = %response.status(), "the Runtime API refused the init error report");
        }
        Err(e) => tracing::error!(error = %e, "cannot report the init error"),
    }
}

/// A stable name for the kind of start-up failure.
fn error_type(error: &StartError) -> &'static str {
    match error {
        StartError::Config(_) => "InvalidSetting",
        StartError::Store(_) => "StoreUnavailable",
        StartError::Providers(_) => "ProviderSetup",
        StartError::Secrets(_) => "SecretsSetup",
        StartError::Unsupported(_) => "Unsupported",
    }
}
