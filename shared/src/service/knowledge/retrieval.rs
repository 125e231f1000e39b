//! Finding passages: the tenant's index loaded once per process and version,
//! searched for the tenant API's `search` and for each visitor message.

use std::sync::Arc;

use chat_knowledge::{Hit, KnowledgeIndex};
use serde::{Deserialize, Serialize};

use super::{KnowledgeError, MAX_SEARCH_K};
use crate::AppState;
use crate::context::Passage;
use crate::model::Tenant;
use crate::service::{ServiceError, ServiceResult};

/// Passages a visitor's message gets at most (the context builder cuts
/// them to the knowledge budget).
pub const PASSAGES_PER_MESSAGE: usize = 4;

/// Where an answer's passages came from: `sources` of the reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub document_id: uuid::Uuid,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The tenant's index at the version its item shows: from this process's
/// cache, else one blob read. `None` when the tenant has no documents.
pub(super) async fn current_index(
    state: &AppState,
    tenant: &Tenant,
) -> ServiceResult<Option<Arc<KnowledgeIndex>>> {
    let ks = &tenant.knowledge_state;
    let Some(blob) = ks.index_blob.as_deref().filter(|_| ks.documents > 0) else {
        return Ok(None);
    };
    let runtime = &state.knowledge;
    if let Some(index) = runtime.cached(tenant.tenant_id, ks.version) {
        return Ok(Some(index));
    }
    let bytes =
        state.blobs.get(blob).await?.ok_or_else(|| {
            ServiceError::Internal(format!("knowledge index blob {blob} missing"))
        })?;
    let index = tokio::task::spawn_blocking(move || KnowledgeIndex::from_bytes(&bytes))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(KnowledgeError::from)?;
    let index = Arc::new(index);
    runtime.remember(tenant.tenant_id, ks.version, index.clone());
    Ok(Some(index))
}

/// The `k` best passages for `query` in the tenant's documents.
pub async fn search(
    state: &AppState,
    tenant: &Tenant,
    query: &str,
    k: usize,
) -> ServiceResult<Vec<Hit>> {
    let Some(index) = current_index(state, tenant).await? else {
        return Ok(Vec::new());
    };
    let embedding = state.knowledge.embeddings.embed_query(query).await;
    let k = k.clamp(1, MAX_SEARCH_K);
    Ok(index
        .search(query, k, embedding.as_deref())
        .map_err(KnowledgeError::from)?)
}

/// The passages and their sources for a visitor's message: nothing (and
/// nothing read) when the tenant has no documents or turned knowledge off.
/// A failure is logged and the conversation goes on without them.
pub async fn passages_for(
    state: &AppState,
    tenant: &Tenant,
    message: &str,
) -> (Vec<Passage>, Vec<Source>) {
    if !tenant.knowledge.is_enabled() || tenant.knowledge_state.documents == 0 {
        return (Vec::new(), Vec::new());
    }
    let hits = match search(state, tenant, message, PASSAGES_PER_MESSAGE).await {
        Ok(hits) => hits,
        Err(e) => {
            tracing::warn!(error = %e, tenant = %tenant.tenant_id, "knowledge search failed");
            return (Vec::new(), Vec::new());
        }
    };
    let mut sources: Vec<Source> = Vec::new();
    let passages = hits
        .into_iter()
        .map(|hit| {
            let source = Source {
                document_id: hit.document_id,
                title: hit.title.clone(),
                url: hit.url.clone(),
            };
            if !sources.contains(&source) {
                sources.push(source);
            }
            let title = if hit.heading.is_empty() || hit.heading == hit.title {
                hit.title
            } else {
                format!("{} - {}", hit.title, hit.heading)
            };
            Passage {
                title,
                url: hit.url,
                text: hit.text,
            }
        })
        .collect();
    (passages, sources)
}
