//! One log line and one metrics line per API request, from a layer every
//! router gets (`http::finish`), on Lambda and on `chatctl serve` alike.
//!
//! The line names the Lambda request id (absent locally), the method, the
//! matched route template (`/api/chat/sessions/{session_id}`, never the
//! raw path, which carries ids and query strings), the tenant once the
//! caller's key is verified, the status and the latency to the response's
//! head (a streamed body goes on after it; the provider's own time is the
//! `ProviderLatency` metric). Never a header, a body or a query.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use super::metrics;

/// The request's tenant, filled in by the caller extractor once the key is
/// verified (an `Arc`: the extractor sees a clone of the extensions' value).
#[derive(Clone, Default)]
struct TenantSlot(Arc<OnceLock<Uuid>>);

/// Records the verified caller's tenant on the request's log line, its
/// metrics line and its span (so every event inside the request names it).
pub fn record_tenant(extensions: &Extensions, tenant: Uuid) {
    if let Some(slot) = extensions.get::<TenantSlot>() {
        let _ = slot.0.set(tenant);
    }
    tracing::Span::current().record("tenant_id", tracing::field::display(tenant));
}

/// The middleware (`axum::middleware::from_fn(observe::request::layer)`).
pub async fn layer(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route: Arc<str> = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .into();
    let method = request.method().clone();
    let request_id = lambda_request_id(request.extensions());
    let tenant = TenantSlot::default();
    request.extensions_mut().insert(tenant.clone());
    let span = tracing::info_span!(
        "request",
        request_id = request_id.as_deref(),
        route = &*route,
        tenant_id = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span).await;

    let latency = started.elapsed();
    let status = response.status().as_u16();
    let tenant = tenant.0.get().copied();
    tracing::info!(
        target: "request",
        request_id = request_id.as_deref(),
        method = %method,
        route = &*route,
        status,
        latency_ms = metrics::millis(latency),
        tenant_id = tenant.map(tracing::field::display),
        "request"
    );
    metrics::request(tenant, &route, status, latency).emit();
    response
}

/// The invocation's id (`awsRequestId`), which Lambda's own START/END/REPORT
/// lines carry too.
#[cfg(feature = "lambda")]
fn lambda_request_id(extensions: &Extensions) -> Option<String> {
    extensions
        .get::<lambda_http::Context>()
        .map(|context| context.request_id.clone())
}

#[cfg(not(feature = "lambda"))]
fn lambda_request_id(_: &Extensions) -> Option<String> {
    None
}
