//! What `chatctl` does that tests drive directly: the imports.

pub mod import;
