//! One tenant's searchable passages: BM25 over title, heading and text
//! (tantivy, in RAM), dense vectors when the caller gives embeddings, fused
//! by reciprocal rank; serialized to one blob.

mod blob;
mod dense;
mod fulltext;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Chunk, RRF_K, reciprocal_rank_fusion};
use fulltext::{Entry, FullText};

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

/// What a hybrid search takes from each list before fusing: deeper than
/// `k`, so a passage ranked low by one list and high by the other can rise.
const FUSION_DEPTH: usize = 50;

/// A tenant's index. Searching takes `&self`; adding and removing take
/// `&mut self`, so callers share it behind a lock.
pub struct KnowledgeIndex {
    fulltext: FullText,
    documents: BTreeMap<Uuid, StoredDocument>,
    /// The first key of each document's passages: passage `i` of a document
    /// is key `first_key + i` in the full-text index.
    owners: BTreeMap<u64, Uuid>,
    next_key: u64,
    dimension: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDocument {
    title: String,
    url: Option<String>,
    first_key: u64,
    chunks: Vec<StoredChunk>,
    /// One vector per chunk, back to back (`chunks.len() * dimension`).
    embeddings: Option<Vec<f32>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredChunk {
    chunk_id: u32,
    heading: String,
    text: String,
}

impl KnowledgeIndex {
    pub fn new() -> Result<Self, IndexError> {
        Ok(Self {
            fulltext: FullText::new()?,
            documents: BTreeMap::new(),
            owners: BTreeMap::new(),
            next_key: 0,
            dimension: None,
        })
    }

    /// Adds a document's passages, replacing the document if present.
    /// `embeddings`, when given, holds one vector per chunk, all of one
    /// dimension (the index's, once it has one). Searchable as soon as it
    /// returns.
    pub fn add_document(
        &mut self,
        document_id: Uuid,
        title: &str,
        url: Option<&str>,
        chunks: &[Chunk],
        embeddings: Option<Vec<Vec<f32>>>,
    ) -> Result<(), IndexError> {
        let embeddings = match embeddings {
            Some(vectors) => Some(self.check_embeddings(chunks.len(), vectors)?),
            None => None,
        };
        let first_key = self.next_key;
        let id = document_id.to_string();
        let entries: Vec<Entry<'_>> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| Entry {
                key: first_key + i as u64,
                document: &id,
                title,
                heading: &chunk.heading,
                text: &chunk.text,
            })
            .collect();
        let replaced: &[&str] = if self.documents.contains_key(&document_id) {
            &[&id]
        } else {
            &[]
        };
        self.fulltext.apply(replaced, &entries)?;
        if let Some(old) = self.documents.remove(&document_id) {
            self.owners.remove(&old.first_key);
        }
        if let Some((dimension, _)) = &embeddings {
            self.dimension = Some(*dimension);
        }
        self.next_key += chunks.len() as u64;
        self.owners.insert(first_key, document_id);
        let stored = chunks
            .iter()
            .map(|chunk| StoredChunk {
                chunk_id: chunk.chunk_id,
                heading: chunk.heading.clone(),
                text: chunk.text.clone(),
            })
            .collect();
        let document = StoredDocument {
            title: title.to_owned(),
            url: url.map(str::to_owned),
            first_key,
            chunks: stored,
            embeddings: embeddings.map(|(_, flat)| flat),
        };
        self.documents.insert(document_id, document);
        Ok(())
    }

    /// The vectors flattened, with their dimension, if they fit the chunks
    /// and the index.
    fn check_embeddings(
        &self,
        chunks: usize,
        vectors: Vec<Vec<f32>>,
    ) -> Result<(usize, Vec<f32>), IndexError> {
        if vectors.len() != chunks {
            return Err(IndexError::Embeddings(format!(
                "{} vectors for {chunks} chunks",
                vectors.len()
            )));
        }
        let dimension = self
            .dimension
            .or(vectors.first().map(Vec::len))
            .unwrap_or(0);
        if vectors
            .iter()
            .any(|vector| vector.len() != dimension || vector.is_empty())
        {
            return Err(IndexError::Embeddings(format!(
                "every vector must have {dimension} dimensions"
            )));
        }
        Ok((dimension, vectors.concat()))
    }

    /// Removes a document; gone from results as soon as it returns. Returns
    /// whether it was there.
    pub fn remove_document(&mut self, document_id: Uuid) -> Result<bool, IndexError> {
        if !self.documents.contains_key(&document_id) {
            return Ok(false);
        }
        self.fulltext.apply(&[&document_id.to_string()], &[])?;
        if let Some(old) = self.documents.remove(&document_id) {
            self.owners.remove(&old.first_key);
        }
        if self
            .documents
            .values()
            .all(|document| document.embeddings.is_none())
        {
            self.dimension = None;
        }
        Ok(true)
    }

    /// The `k` best passages for `query`: BM25 alone, or fused by reciprocal
    /// rank with cosine similarity when `query_embedding` is given and the
    /// index has vectors.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        query_embedding: Option<&[f32]>,
    ) -> Result<Vec<Hit>, IndexError> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let embedding = match (query_embedding, self.dimension) {
            (Some(vector), Some(dimension)) if vector.len() != dimension => {
                return Err(IndexError::Embeddings(format!(
                    "the query vector has {} dimensions, the index {dimension}",
                    vector.len()
                )));
            }
            (Some(vector), Some(_)) => Some(vector),
            _ => None,
        };
        let Some(embedding) = embedding else {
            let ranked = self.fulltext.search(query, k)?;
            return Ok(ranked
                .into_iter()
                .filter_map(|(key, score)| self.hit(key, score))
                .collect());
        };
        let depth = k.max(FUSION_DEPTH);
        let bm25: Vec<u64> = self
            .fulltext
            .search(query, depth)?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        let dense: Vec<u64> = self
            .nearest(embedding, depth)
            .into_iter()
            .map(|(_, key)| key)
            .collect();
        let fused = reciprocal_rank_fusion(&[&bm25, &dense], RRF_K);
        Ok(fused
            .into_iter()
            .filter_map(|(key, score)| self.hit(key, score))
            .take(k)
            .collect())
    }

    /// The keys of the `limit` passages whose vectors are nearest.
    fn nearest(&self, query: &[f32], limit: usize) -> Vec<(f32, u64)> {
        let mut top = dense::TopK::new(limit);
        for document in self.documents.values() {
            let Some(flat) = &document.embeddings else {
                continue;
            };
            for (i, vector) in flat.chunks_exact(query.len()).enumerate() {
                top.push(dense::dot(query, vector), document.first_key + i as u64);
            }
        }
        top.into_sorted()
    }

    fn hit(&self, key: u64, score: f32) -> Option<Hit> {
        let (first_key, document_id) = self.owners.range(..=key).next_back()?;
        let document = self.documents.get(document_id)?;
        let chunk = document
            .chunks
            .get(usize::try_from(key - first_key).ok()?)?;
        Some(Hit {
            document_id: *document_id,
            title: document.title.clone(),
            url: document.url.clone(),
            chunk_id: chunk.chunk_id,
            heading: chunk.heading.clone(),
            text: chunk.text.clone(),
            score,
        })
    }

    /// Number of passages.
    pub fn len(&self) -> usize {
        self.documents
            .values()
            .map(|document| document.chunks.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn documents(&self) -> Vec<DocumentInfo> {
        self.documents
            .iter()
            .map(|(document_id, document)| DocumentInfo {
                document_id: *document_id,
                title: document.title.clone(),
                url: document.url.clone(),
                chunks: document.chunks.len(),
            })
            .collect()
    }

    /// The dimension of the stored vectors, while some document has them.
    pub fn embedding_dimension(&self) -> Option<usize> {
        self.dimension
    }
}
