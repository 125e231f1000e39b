//! The knowledge base's retrieval engine: a tenant's documents become
//! passages the bot can answer from.
//!
//! The pipeline is `extract` (bytes of Markdown, text, HTML or PDF to titled
//! sections), `chunk` (sections to passages of bounded size, with overlap),
//! and [`KnowledgeIndex`] (BM25 full text with tantivy, plus dense vectors
//! when the caller has embeddings, fused by reciprocal rank). One index holds
//! one tenant's documents and serializes to one blob, so an instance loads it
//! with a single read.
//!
//! Pure: no AWS, no HTTP, no storage. The callers store the blob and fetch
//! the embeddings.

mod chunk;
mod embed;
mod extract;
mod fusion;
mod index;

pub use chunk::{Chunk, ChunkOptions, chunk};
pub use embed::{Embedder, HashEmbedder};
pub use extract::{ExtractError, ExtractedDoc, Section, SourceKind, extract};
pub use fusion::{RRF_K, reciprocal_rank_fusion};
pub use index::{DocumentInfo, Hit, IndexError, KnowledgeIndex, NewDocument, terms};
