//! The API through the real routers (`oneshot`, no sockets), on the embedded
//! store: every reference endpoint, every error, tenant isolation, round-trip
//! budgets, and the store conformance suite.

#![allow(clippy::unwrap_used)]

#[cfg(feature = "cloud")]
mod cloud;
mod conformance;
mod files;
mod helpers;
mod messages;
mod reference;
mod round_trips;
mod sessions;
mod tenants;
