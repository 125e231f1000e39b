//! `chat-shared`: everything the chat functions have in common.
//!
//! The request path is one-way: an axum router (`api`) -> the tenant
//! extractor (`auth`) -> the repository (`store::repo`) over the table port,
//! the blob port and the provider port -> a JSON response. Lambda binaries and
//! `chatctl serve` only build an [`AppState`] and hand these routers to a host.

pub mod api;
pub mod auth;
pub mod aws_sdk;
pub mod blob;
pub mod clock;
pub mod config;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod observe;
pub mod providers;
pub mod ratelimit;
pub mod secrets;
pub mod service;
pub mod state;
pub mod store;

pub use state::AppState;

// The pure logic lives in `chat-core`; these keep its modules at their old paths.
pub use chat_core::{context, files, model, prompt};
