//! Adding, listing and deleting documents. Every change of the index is a
//! new index blob and one transaction on the tenant item's version; a lost
//! race (another change of the same tenant) drops its blob and runs again
//! on what the winner wrote.

use std::sync::Arc;

use bytes::Bytes;
use chat_knowledge::{KnowledgeIndex, NewDocument};
use uuid::Uuid;

use super::KnowledgeError;
use super::prepare::{Prepared, kind_name, prepare_file, prepare_url};
use crate::AppState;
use crate::model::{KnowledgeDocument, KnowledgeState, STATUS_READY, Tenant};
use crate::service::{ServiceError, ServiceResult};
use crate::store::StoreError;
use crate::store::keys;
use crate::store::repo::KnowledgeChange;

/// Lost races retried before giving up with a 409.
const MAX_ATTEMPTS: usize = 8;

/// What a tenant adds.
pub enum AddDocument {
    File {
        name: String,
        content_type: Option<String>,
        bytes: Bytes,
    },
    Url(String),
}

/// Adds a document (a sitemap's pages: one document each): read, cut,
/// embedded, stored and searchable when this returns (`status: ready`).
pub async fn add(
    state: &AppState,
    tenant_id: Uuid,
    input: AddDocument,
) -> ServiceResult<Vec<KnowledgeDocument>> {
    let prepared = match input {
        AddDocument::File {
            name,
            content_type,
            bytes,
        } => vec![prepare_file(name, content_type, bytes).await?],
        AddDocument::Url(raw) => prepare_url(state, &raw).await?,
    };
    let mut embeddings = Vec::with_capacity(prepared.len());
    for p in &prepared {
        let texts: Vec<String> = p.chunks.iter().map(|c| c.text.clone()).collect();
        embeddings.push(state.knowledge.embeddings.embed(&texts).await?);
    }
    let now = state.now_ms();
    let docs: Vec<KnowledgeDocument> = prepared
        .iter()
        .map(|p| document(state, tenant_id, p, now))
        .collect();
    let stored = store_originals(state, &prepared, &docs).await;
    let outcome = match stored {
        Ok(()) => {
            // A sitemap's pages in one full-text commit, all or nothing.
            let edit = |index: &mut KnowledgeIndex| {
                let batch = prepared
                    .iter()
                    .zip(&docs)
                    .zip(&embeddings)
                    .map(|((p, doc), vectors)| NewDocument {
                        document_id: doc.document_id,
                        title: &p.title,
                        url: p.url.as_deref(),
                        chunks: &p.chunks,
                        embeddings: vectors.clone(),
                    })
                    .collect();
                index.add_documents(batch)
            };
            let size = docs.iter().map(|d| d.size_bytes).sum();
            let limits = |t: &Tenant| check_limits(t, docs.len() as u32, size);
            change_index(
                state,
                tenant_id,
                limits,
                edit,
                KnowledgeChange::Add(&docs),
                0,
            )
            .await
        }
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        for doc in &docs {
            let _ = state.blobs.delete(&doc.blob_key).await;
        }
    }
    outcome.map(|_| docs)
}

/// The metadata of a document about to be added.
fn document(state: &AppState, tenant_id: Uuid, p: &Prepared, now: i64) -> KnowledgeDocument {
    let document_id = state.ids.v7_at(now);
    KnowledgeDocument {
        document_id,
        tenant_id,
        title: p.title.clone(),
        source: p.source.clone(),
        url: p.url.clone(),
        kind: kind_name(p.kind).into(),
        size_bytes: p.size,
        chunks: p.chunks.len() as u32,
        status: STATUS_READY.into(),
        created_at: now,
        updated_at: now,
        blob_key: keys::knowledge_document_blob(tenant_id, document_id),
    }
}

/// The documents' bytes, each under its own key.
async fn store_originals(
    state: &AppState,
    prepared: &[Prepared],
    docs: &[KnowledgeDocument],
) -> ServiceResult<()> {
    for (p, doc) in prepared.iter().zip(docs) {
        state
            .blobs
            .put(&doc.blob_key, p.original.clone(), &p.content_type)
            .await?;
    }
    Ok(())
}

/// The tenant's documents, oldest first.
pub async fn list(state: &AppState, tenant_id: Uuid) -> ServiceResult<Vec<KnowledgeDocument>> {
    Ok(state.repo.list_knowledge_documents(tenant_id).await?)
}

/// Deletes a document: out of the index (and so of every answer) when this
/// returns, its bytes removed.
pub async fn delete(state: &AppState, tenant_id: Uuid, document_id: Uuid) -> ServiceResult<()> {
    let doc = state
        .repo
        .get_knowledge_document(tenant_id, document_id)
        .await?
        .ok_or(KnowledgeError::NotFound)?;
    let edit = |index: &mut KnowledgeIndex| index.remove_document(document_id).map(|_| ());
    let shrink = |_: &Tenant| Ok(());
    change_index(
        state,
        tenant_id,
        shrink,
        edit,
        KnowledgeChange::Remove(document_id),
        doc.size_bytes as i64,
    )
    .await?;
    let _ = state.blobs.delete(&doc.blob_key).await;
    Ok(())
}

/// Erases the tenant's whole knowledge base: document items and blobs, the
/// index, the tenant item's state. For erasing a tenant's data.
pub async fn erase_all(state: &AppState, tenant_id: Uuid) -> ServiceResult<usize> {
    let docs = state.repo.list_knowledge_documents(tenant_id).await?;
    let changed = state
        .repo
        .modify_tenant(tenant_id, |t| {
            let old = std::mem::take(&mut t.knowledge_state);
            Ok::<_, StoreError>(old.index_blob)
        })
        .await?;
    if let Some((tenant, old_index)) = changed {
        state.auth.refresh_tenant(&tenant);
        if let Some(blob) = old_index {
            state.blobs.delete(&blob).await?;
        }
    }
    state.knowledge.forget(tenant_id);
    for doc in &docs {
        state.blobs.delete(&doc.blob_key).await?;
    }
    let ids: Vec<Uuid> = docs.iter().map(|d| d.document_id).collect();
    state
        .repo
        .delete_knowledge_documents(tenant_id, &ids)
        .await?;
    Ok(docs.len())
}

/// 413 when `count` more documents of `size` bytes pass the tenant's limits.
fn check_limits(tenant: &Tenant, count: u32, size: u64) -> Result<(), KnowledgeError> {
    let ks = &tenant.knowledge_state;
    let max_docs = tenant.knowledge.document_limit();
    if ks.documents.saturating_add(count) > max_docs {
        return Err(KnowledgeError::Full(format!(
            "{} documents would pass the limit of {max_docs} (settings.knowledge.maxDocuments); delete some first",
            ks.documents.saturating_add(count)
        )));
    }
    let max_bytes = tenant.knowledge.byte_limit();
    if ks.bytes.saturating_add(size) > max_bytes {
        return Err(KnowledgeError::Full(format!(
            "the documents would take {} of at most {max_bytes} bytes (settings.knowledge.maxBytes)",
            ks.bytes.saturating_add(size)
        )));
    }
    Ok(())
}

/// Applies `edit` to the tenant's current index and commits the new index
/// with `change`, retrying on lost races. The new tenant replaces this
/// process's cached copy and the new index its cached index.
async fn change_index(
    state: &AppState,
    tenant_id: Uuid,
    check: impl Fn(&Tenant) -> Result<(), KnowledgeError>,
    mut edit: impl FnMut(&mut KnowledgeIndex) -> Result<(), chat_knowledge::IndexError>,
    change: KnowledgeChange<'_>,
    removed_bytes: i64,
) -> ServiceResult<Tenant> {
    for _ in 0..MAX_ATTEMPTS {
        let (mut tenant, version) = state
            .repo
            .tenant_for_change(tenant_id)
            .await?
            .ok_or(ServiceError::TenantNotFound)?;
        check(&tenant)?;
        let old = tenant.knowledge_state.clone();
        let mut index = load_for_change(state, &old).await?;
        edit(&mut index).map_err(KnowledgeError::from)?;
        let (docs, bytes) = match &change {
            KnowledgeChange::Add(docs) => (
                docs.len() as i64,
                docs.iter().map(|d| d.size_bytes as i64).sum(),
            ),
            KnowledgeChange::Remove(_) => (-1, -removed_bytes),
        };
        let next = next_state(tenant_id, &old, docs, bytes);
        let new_blob = next.index_blob.clone();
        if let Some(blob) = &new_blob {
            let bytes = index.to_bytes().map_err(KnowledgeError::from)?;
            state
                .blobs
                .put(blob, Bytes::from(bytes), "application/octet-stream")
                .await?;
        }
        tenant.knowledge_state = next;
        let change = match &change {
            KnowledgeChange::Add(docs) => KnowledgeChange::Add(docs),
            KnowledgeChange::Remove(id) => KnowledgeChange::Remove(*id),
        };
        match state.repo.commit_knowledge(&tenant, version, change).await {
            Ok(()) => {
                if let Some(blob) = &old.index_blob {
                    let _ = state.blobs.delete(blob).await;
                }
                state.auth.refresh_tenant(&tenant);
                let ks = &tenant.knowledge_state;
                state
                    .knowledge
                    .remember(tenant_id, ks.version, Arc::new(index));
                return Ok(tenant);
            }
            Err(StoreError::ConditionFailed | StoreError::TransactionCancelled { .. }) => {
                if let Some(blob) = &new_blob {
                    let _ = state.blobs.delete(blob).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::ConditionFailed.into())
}

/// The state after a change of `documents` documents and `bytes` bytes: a
/// new version and a fresh index blob key (none once the last document is
/// gone).
fn next_state(tenant_id: Uuid, old: &KnowledgeState, documents: i64, bytes: i64) -> KnowledgeState {
    let version = old.version + 1;
    let documents = (i64::from(old.documents) + documents).max(0) as u32;
    KnowledgeState {
        version,
        documents,
        bytes: (old.bytes as i64 + bytes).max(0) as u64,
        index_blob: (documents > 0)
            .then(|| keys::knowledge_index_blob(tenant_id, version, Uuid::new_v4())),
    }
}

/// The index to change: a fresh copy from its blob (the cached one is
/// shared with searches), or an empty one.
async fn load_for_change(state: &AppState, ks: &KnowledgeState) -> ServiceResult<KnowledgeIndex> {
    let Some(blob) = &ks.index_blob else {
        return Ok(KnowledgeIndex::new().map_err(KnowledgeError::from)?);
    };
    let bytes =
        state.blobs.get(blob).await?.ok_or_else(|| {
            ServiceError::Internal(format!("knowledge index blob {blob} missing"))
        })?;
    Ok(KnowledgeIndex::from_bytes(&bytes).map_err(KnowledgeError::from)?)
}
