//! The capacity and cost model of docs/SCALE.md: stated inputs
//! (`inputs.json`: traffic, tokens, item sizes, round trips from
//! `tests/api/round_trips.rs`, measured durations, prices, service limits)
//! in; DynamoDB units, Lambda time, requests, monthly costs and the limits
//! each scale meets out. The document's generated part is this crate's
//! output; a test holds them equal, `cargo run -p chat-capacity -- --write`
//! regenerates it.

mod inputs;
mod limits;
mod model;
mod render;

use std::path::{Path, PathBuf};

pub use inputs::Inputs;
pub use limits::{Limit, limits};
pub use model::{Operation, Scale, operations, scale};
pub use render::{num, render};

/// Where the generated part of docs/SCALE.md begins and ends.
pub const BEGIN: &str =
    "<!-- BEGIN GENERATED: `cargo run -p chat-capacity -- --write` rewrites up to END -->\n";
pub const END: &str = "<!-- END GENERATED -->";

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn inputs_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs.json")
}

pub fn doc_path() -> PathBuf {
    root().join("docs/SCALE.md")
}

/// The generated Markdown from the checked-in inputs.
pub fn generate() -> Result<String, String> {
    let text = std::fs::read_to_string(inputs_path()).map_err(|e| format!("inputs.json: {e}"))?;
    let inputs: Inputs =
        serde_json::from_str(&text).map_err(|e| format!("inputs.json does not decode: {e}"))?;
    let raw: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("inputs.json: {e}"))?;
    Ok(render(&inputs, &raw))
}

/// The generated part of a document, between the markers.
pub fn generated_part(doc: &str) -> Option<&str> {
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = start + doc[start..].find(END)?;
    Some(&doc[start..end])
}

/// The document with its generated part replaced.
pub fn splice(doc: &str, generated: &str) -> Option<String> {
    let start = doc.find(BEGIN)? + BEGIN.len();
    let end = start + doc[start..].find(END)?;
    Some(format!("{}{generated}{}", &doc[..start], &doc[end..]))
}
