//! The tenant's self-service: its settings and its keys. The tenant API
//! (`api::tenant`) and `chatctl tenant` call these same functions.

pub mod keys;
pub mod settings;
