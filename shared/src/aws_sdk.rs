//! The one AWS SDK configuration every client is built from (the store, the
//! blob store, KMS, Secrets Manager, SSM, Bedrock). A leaf module, so the
//! state, the secrets and the providers can all use it without a cycle.

/// The standard chain (environment, profile, container/instance roles;
/// `AWS_ENDPOINT_URL*` for local servers), `us-east-1` when no region is set
/// anywhere, the SDK's standard retries (throttling and transient errors
/// retried with jittered backoff) and the HTTPS client below.
pub async fn sdk_config() -> aws_config::SdkConfig {
    // The region comes from the same loader, so its chain (which may ask the
    // instance metadata service) uses the HTTPS client below: a separate
    // `RegionProviderChain::default_provider()` would build its own metadata
    // client with no HTTP client at all (the SDK crates are built without
    // `default-https-client`) and panic.
    let loaded = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4))
        .load()
        .await;
    if loaded.region().is_some() {
        return loaded;
    }
    loaded
        .into_builder()
        .region(aws_config::Region::new("us-east-1"))
        .build()
}

/// rustls on ring (see the root Cargo.toml: the SDK crates are built without
/// `default-https-client`, so a client built from any other configuration
/// would have no HTTP client at all), the system's trusted certificates,
/// loaded when a client first connects.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
