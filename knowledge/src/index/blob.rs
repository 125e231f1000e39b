//! The index as one blob, so an instance loads a tenant's index with one
//! read: a magic and format number, then (postcard) the passages, their
//! vectors and tantivy's files. Loading never re-tokenizes anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::fulltext::FullText;
use super::{IndexError, KnowledgeIndex, StoredDocument};

const MAGIC: &[u8; 4] = b"KBIX";
/// Bumped on any change of the layout (or of the analyzer, whose tokens the
/// stored full-text files hold); an older blob is rebuilt by the caller.
const FORMAT: u32 = 1;

#[derive(Serialize)]
struct BlobRef<'a> {
    format: u32,
    next_key: u64,
    dimension: Option<u64>,
    documents: &'a BTreeMap<Uuid, StoredDocument>,
    files: Vec<(String, Vec<u8>)>,
}

#[derive(Deserialize)]
struct Blob {
    format: u32,
    next_key: u64,
    dimension: Option<u64>,
    documents: BTreeMap<Uuid, StoredDocument>,
    files: Vec<(String, Vec<u8>)>,
}

impl KnowledgeIndex {
    pub fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let blob = BlobRef {
            format: FORMAT,
            next_key: self.next_key,
            dimension: self.dimension.map(|dimension| dimension as u64),
            documents: &self.documents,
            files: self.fulltext.files()?,
        };
        let bytes = MAGIC.to_vec();
        postcard::to_extend(&blob, bytes).map_err(|error| IndexError::Blob(error.to_string()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        let body = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| IndexError::Blob("not a knowledge index".into()))?;
        let blob: Blob =
            postcard::from_bytes(body).map_err(|error| IndexError::Blob(error.to_string()))?;
        if blob.format != FORMAT {
            return Err(IndexError::Blob(format!(
                "format {} (this version reads {FORMAT})",
                blob.format
            )));
        }
        let owners = blob
            .documents
            .iter()
            .map(|(id, document)| (document.first_key, *id))
            .collect();
        Ok(Self {
            fulltext: FullText::from_files(&blob.files)?,
            documents: blob.documents,
            owners,
            next_key: blob.next_key,
            dimension: blob
                .dimension
                .and_then(|dimension| usize::try_from(dimension).ok()),
        })
    }
}
