//! The API through the real routers (`oneshot`, no sockets), on the embedded
//! store: every reference endpoint, every error, tenant isolation, round-trip
//! budgets, and the store conformance suite.

#![allow(clippy::unwrap_used)]

mod analytics;
mod bench;
mod budget;
#[cfg(feature = "cloud")]
mod cloud;
mod concurrency;
mod conformance;
mod fake;
mod fake_bedrock;
mod feedback;
mod files;
mod helpers;
mod identity;
mod import;
mod integrations;
mod keys;
mod knowledge;
mod limits;
mod messages;
mod openapi;
mod privacy;
mod providers_bedrock;
mod providers_claude;
mod providers_openai;
mod ratelimit;
mod reference;
mod round_trips;
#[cfg(feature = "cloud")]
mod secrets_cloud;
mod sessions;
mod sharded_counters;
mod stats_by_user;
mod streaming;
mod tenant;
mod tenant_secrets;
mod tenant_sessions;
mod tenants;
