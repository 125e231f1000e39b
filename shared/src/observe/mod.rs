//! What operators see: logs and metrics.
//!
//! - [`logging`]: the `tracing` subscriber, readable text locally and one
//!   JSON object per line on Lambda (CloudWatch Logs Insights reads the
//!   fields).
//! - [`request`]: the layer every router gets: one log line and one metrics
//!   line per request (request id, tenant, matched route, status, latency).
//! - [`metrics`]: CloudWatch Embedded Metric Format lines for the things
//!   that matter (messages, sessions, uploads, provider calls, 4xx/5xx,
//!   rate-limited requests), with the tenant as a property.
//!
//! Never logged or measured: keys, secrets, message text, file content.
//! Fields here are ids, names of routes and providers, numbers.

pub mod logging;
pub mod metrics;
pub mod request;

pub use logging::{Settings, init};
pub use request::record_tenant;
