//! `chat-core`: the logic of the chat platform that needs no I/O.
//!
//! Domain types (`model`), uploaded data files (`files`), the context
//! builder (`context`) and what it hands to a provider (`prompt`). No AWS
//! SDK, no storage engine, no HTTP stack and no async runtime: the fuzz
//! targets and the unit tests build this crate on its own, and `chat-shared`
//! builds the services on it.
//!
//! Imports run one way: `context` -> `files`, `model`, `prompt`;
//! `prompt` -> `model`; nothing here knows the providers.

pub mod context;
pub mod files;
pub mod model;
pub mod prompt;
pub mod secret;
pub mod shard;

pub use secret::Secret;
