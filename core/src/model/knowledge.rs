//! A document of a tenant's knowledge base, as its metadata item keeps it
//! (the bytes and the searchable index are blobs).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Searchable: in the index the tenant item points at.
pub const STATUS_READY: &str = "ready";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeDocument {
    pub document_id: Uuid,
    pub tenant_id: Uuid,
    pub title: String,
    /// The file name, or the URL it was fetched from.
    pub source: String,
    /// The page's address, for citations (URLs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `markdown`, `text`, `html` or `pdf`.
    pub kind: String,
    pub size_bytes: u64,
    pub chunks: u32,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Where the original bytes are kept in the blob store.
    pub blob_key: String,
}
