//! The knowledge base around the retrieval engine (`chat-knowledge`): a
//! tenant's documents added from files or URLs, listed, deleted and
//! searched; the passages for a visitor's message.
//!
//! Storage: each document's bytes and the tenant's index (one blob per
//! version) in the blob store; each document's metadata as a `KDOC#` item;
//! the tenant item's `knowledge_state` names the current index blob and
//! counts the documents and bytes. Every change is one transaction on the
//! tenant item's version (`Repository::commit_knowledge`), so the tenant item
//! the send path already has from authentication tells it, with no read,
//! whether there is anything to search and whether its cached index is
//! current.

mod documents;
mod embeddings;
mod fetch;
mod prepare;
mod retrieval;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chat_knowledge::KnowledgeIndex;
use uuid::Uuid;

pub use documents::{AddDocument, add, delete, erase_all, list};
pub use embeddings::Embeddings;
pub use fetch::{Fetcher, MAX_PAGE_BYTES, MAX_SITEMAP_PAGES, is_public};
pub use retrieval::{PASSAGES_PER_MESSAGE, Source, passages_for, search};

use crate::config::Config;

/// The largest single document (a file, a page, a sitemap's pages
/// together), whatever the tenant's byte limit.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;
/// Passages a search returns at most.
pub const MAX_SEARCH_K: usize = 20;

/// Why a knowledge request is refused.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// Not Markdown, text, HTML or PDF (415).
    #[error("unsupported document type: {0}")]
    Unsupported(String),
    /// A document without text, e.g. a PDF of scanned pages (422).
    #[error("no text: {0}")]
    NoText(String),
    /// Not a valid document of its kind (422).
    #[error("malformed document: {0}")]
    Malformed(String),
    /// Over a size limit (413).
    #[error("too large: {0}")]
    TooLarge(String),
    /// Over the tenant's document or byte limit (413).
    #[error("knowledge base full: {0}")]
    Full(String),
    /// A URL not fetched: bad scheme, internal address (422).
    #[error("URL not allowed: {0}")]
    BadUrl(String),
    /// The page could not be fetched (422: the tenant's site answered so).
    #[error("fetch failed: {0}")]
    FetchFailed(String),
    #[error("document not found")]
    NotFound,
    /// The embeddings endpoint failed (502).
    #[error("embeddings failed: {0}")]
    Embeddings(String),
    /// The engine failed on an index (500).
    #[error("index failed: {0}")]
    Index(String),
}

impl From<chat_knowledge::IndexError> for KnowledgeError {
    fn from(e: chat_knowledge::IndexError) -> Self {
        KnowledgeError::Index(e.to_string())
    }
}

/// A process's knowledge machinery: its cached indexes, embeddings and
/// fetcher. Built once per process, in `AppState`.
pub struct Runtime {
    /// Tenant -> (version, index): an index is used while the tenant item
    /// (from authentication) shows the same version.
    cache: Mutex<HashMap<Uuid, (u64, Arc<KnowledgeIndex>)>>,
    pub embeddings: Embeddings,
    pub fetcher: Fetcher,
}

/// Tenants whose index a process keeps loaded at most.
const MAX_CACHED_INDEXES: usize = 64;

impl Runtime {
    pub fn new(config: &Config) -> Self {
        Self {
            cache: Mutex::new(HashMap::new()),
            embeddings: Embeddings::from_config(config),
            fetcher: Fetcher::new(config.knowledge_allow_private_urls),
        }
    }

    fn cached(&self, tenant: Uuid, version: u64) -> Option<Arc<KnowledgeIndex>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&tenant)
            .filter(|(v, _)| *v == version)
            .map(|(_, index)| index.clone())
    }

    fn remember(&self, tenant: Uuid, version: u64, index: Arc<KnowledgeIndex>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_INDEXES && !cache.contains_key(&tenant) {
            // Any one goes: a cold load is one blob read.
            if let Some(evict) = cache.keys().next().copied() {
                cache.remove(&evict);
            }
        }
        match cache.get(&tenant) {
            Some((v, _)) if *v > version => {}
            _ => {
                cache.insert(tenant, (version, index));
            }
        }
    }

    fn forget(&self, tenant: Uuid) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.remove(&tenant);
    }
}
