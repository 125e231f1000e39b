//! One tenant's searchable passages: BM25 over title, heading and text
//! (tantivy, in RAM), dense vectors when the caller gives embeddings, fused
//! by reciprocal rank; serialized to one blob.

use uuid::Uuid;

use crate::Chunk;

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub document_id: Uuid,
    pub title: String,
    pub url: Option<String>,
    pub chunk_id: u32,
    pub heading: String,
    pub text: String,
    /// BM25 score when the search was full text only; the fused
    /// reciprocal-rank score when it was hybrid. Only the order is meaningful.
    pub score: f32,
}

/// A document as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    pub document_id: Uuid,
    pub title: String,
    pub url: Option<String>,
    pub chunks: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// `embeddings` given with a count other than the chunks', or a
    /// dimension other than the index's.
    #[error("embeddings do not match: {0}")]
    Embeddings(String),
    /// The blob is not an index this version reads.
    #[error("corrupt or incompatible index blob: {0}")]
    Blob(String),
    #[error("full-text index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// A tenant's index. Not `Sync`-mutable: callers hold it behind a lock
/// (reads are `&self`).
pub struct KnowledgeIndex {}

impl KnowledgeIndex {
    pub fn new() -> Result<Self, IndexError> {
        todo!()
    }

    /// Adds a document's passages, replacing the document if present.
    /// `embeddings`, when given, holds one vector per chunk, all of the
    /// index's dimension. Searchable as soon as it returns.
    pub fn add_document(
        &mut self,
        document_id: Uuid,
        title: &str,
        url: Option<&str>,
        chunks: &[Chunk],
        embeddings: Option<Vec<Vec<f32>>>,
    ) -> Result<(), IndexError> {
        let _ = (document_id, title, url, chunks, embeddings);
        todo!()
    }

    /// Removes a document; gone from results as soon as it returns. Returns
    /// whether it was there.
    pub fn remove_document(&mut self, document_id: Uuid) -> Result<bool, IndexError> {
        let _ = document_id;
        todo!()
    }

    /// The `k` best passages for `query`: BM25 alone, or fused with cosine
    /// similarity when `query_embedding` is given and the index has vectors.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        query_embedding: Option<&[f32]>,
    ) -> Result<Vec<Hit>, IndexError> {
        let _ = (query, k, query_embedding);
        todo!()
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        todo!()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        let _ = bytes;
        todo!()
    }

    /// Number of passages.
    pub fn len(&self) -> usize {
        todo!()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn documents(&self) -> Vec<DocumentInfo> {
        todo!()
    }

    /// The dimension of the stored vectors, once a document brought some.
    pub fn embedding_dimension(&self) -> Option<usize> {
        todo!()
    }
}
