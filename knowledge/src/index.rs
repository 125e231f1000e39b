//! One tenant's searchable passages: BM25 over title, heading and text
//! (tantivy, in RAM), dense vectors when the caller gives embeddings, fused
//! by reciprocal rank; serialized to one blob.

mod blob;
mod dense;
mod fulltext;
mod stop_words;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Chunk, RRF_K, reciprocal_rank_fusion};
pub use fulltext::terms;
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

/// One document for [`KnowledgeIndex::add_documents`].
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    pub document_id: Uuid,
    pub title: &'a str,
    pub url: Option<&'a str>,
    pub chunks: &'a [Chunk],
    /// One vector per chunk, or none.
    pub embeddings: Option<Vec<Vec<f32>>>,
}

/// The vectors, stored compactly, with their dimension, if they fit the
/// chunks and the index's dimension (when it has one).
fn check_embeddings(
    dimension: Option<usize>,
    chunks: usize,
    vectors: Vec<Vec<f32>>,
) -> Result<(usize, dense::Vectors), IndexError> {
    if vectors.len() != chunks {
        return Err(IndexError::Embeddings(format!(
            "{} vectors for {chunks} chunks",
            vectors.len()
        )));
    }
    let dimension = dimension.or(vectors.first().map(Vec::len)).unwrap_or(0);
    if vectors
        .iter()
        .any(|vector| vector.len() != dimension || vector.is_empty())
    {
        return Err(IndexError::Embeddings(format!(
            "every vector must have {dimension} dimensions"
        )));
    }
    Ok((dimension, dense::Vectors::quantize(dimension, &vectors)))
}

/// Counts only: the passages are the tenant's text.
impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeIndex")
            .field("documents", &self.documents.len())
            .field("passages", &self.len())
            .field("dimension", &self.dimension)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDocument {
    title: String,
    url: Option<String>,
    first_key: u64,
    chunks: Vec<StoredChunk>,
    /// One vector per chunk.
    embeddings: Option<dense::Vectors>,
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
        self.add_documents(vec![NewDocument {
            document_id,
            title,
            url,
            chunks,
            embeddings,
        }])
    }

    /// Adds (or replaces) several documents in one commit: a rebuild or a
    /// sitemap's pages cost one full-text commit, not one per page. All or
    /// nothing: on an error no document of the batch is added. Of two
    /// entries with the same id, the later wins.
    pub fn add_documents(&mut self, documents: Vec<NewDocument<'_>>) -> Result<(), IndexError> {
        let mut seen = std::collections::HashSet::new();
        let mut documents: Vec<NewDocument<'_>> = documents
            .into_iter()
            .rev()
            .filter(|document| seen.insert(document.document_id))
            .collect();
        documents.reverse();
        let mut dimension = self.dimension;
        let mut vectors = Vec::with_capacity(documents.len());
        for document in &mut documents {
            let flat = match document.embeddings.take() {
                Some(given) => {
                    let (size, flat) = check_embeddings(dimension, document.chunks.len(), given)?;
                    dimension = Some(size);
                    Some(flat)
                }
                None => None,
            };
            vectors.push(flat);
        }
        let ids: Vec<String> = documents
            .iter()
            .map(|document| document.document_id.to_string())
            .collect();
        let replaced: Vec<&str> = documents
            .iter()
            .zip(&ids)
            .filter(|(document, _)| self.documents.contains_key(&document.document_id))
            .map(|(_, id)| id.as_str())
            .collect();
        let mut entries = Vec::new();
        let mut key = self.next_key;
        for (document, id) in documents.iter().zip(&ids) {
            for chunk in document.chunks {
                entries.push(Entry {
                    key,
                    document: id,
                    title: document.title,
                    heading: &chunk.heading,
                    text: &chunk.text,
                });
                key += 1;
            }
        }
        self.fulltext.apply(&replaced, &entries)?;
        self.dimension = dimension;
        for (document, flat) in documents.into_iter().zip(vectors) {
            self.store(document, flat);
        }
        Ok(())
    }

    /// Records a document the full-text index has just taken, under the
    /// keys `add_documents` gave its passages.
    fn store(&mut self, document: NewDocument<'_>, embeddings: Option<dense::Vectors>) {
        if let Some(old) = self.documents.remove(&document.document_id) {
            self.owners.remove(&old.first_key);
        }
        let first_key = self.next_key;
        self.next_key += document.chunks.len() as u64;
        self.owners.insert(first_key, document.document_id);
        let chunks = document
            .chunks
            .iter()
            .map(|chunk| StoredChunk {
                chunk_id: chunk.chunk_id,
                heading: chunk.heading.clone(),
                text: chunk.text.clone(),
            })
            .collect();
        let stored = StoredDocument {
            title: document.title.to_owned(),
            url: document.url.map(str::to_owned),
            first_key,
            chunks,
            embeddings,
        };
        self.documents.insert(document.document_id, stored);
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
        let query = dense::normalized(query);
        let mut top = dense::TopK::new(limit);
        for document in self.documents.values() {
            let Some(vectors) = &document.embeddings else {
                continue;
            };
            for (i, similarity) in vectors.similarities(&query).enumerate() {
                top.push(similarity, document.first_key + i as u64);
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

#[cfg(test)]
mod tests;
