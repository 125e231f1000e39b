//! Knowledge-base documents: a metadata item per document in the tenant's
//! partition (`KDOC#<id>`), and the tenant item's `knowledge_state` (the
//! current index blob, counts, version) changed in the same transaction,
//! conditional on the tenant item's version, so two concurrent changes of
//! one tenant's knowledge never lose each other.

use uuid::Uuid;

use super::tenants::{at_version, versioned};
use super::{Repository, attrs, from_item, to_item};
use crate::model::{KnowledgeDocument, Tenant};
use crate::store::{Condition, Query, SortCondition, StoreError, WriteOp, keys};

/// What a knowledge change does to the document items.
pub enum KnowledgeChange<'a> {
    /// New documents (a file, a page, or a sitemap's pages: at most 50, so
    /// the transaction stays within DynamoDB's 100 items).
    Add(&'a [KnowledgeDocument]),
    Remove(Uuid),
}

impl Repository {
    /// The tenant as stored, with the version a knowledge commit must find.
    pub async fn tenant_for_change(
        &self,
        tenant: Uuid,
    ) -> Result<Option<(Tenant, i64)>, StoreError> {
        self.table
            .get(&keys::tenant(tenant))
            .await?
            .map(versioned)
            .transpose()
    }

    /// Writes `tenant` (its new `knowledge_state`) and the document change
    /// in one transaction, if the tenant item is still at `version`. A lost
    /// race is `ConditionFailed` or `TransactionCancelled`: read again.
    pub async fn commit_knowledge(
        &self,
        tenant: &Tenant,
        version: i64,
        change: KnowledgeChange<'_>,
    ) -> Result<(), StoreError> {
        let mut item = self.tenant_item(tenant).await?;
        item.insert(attrs::VERSION.into(), (version + 1).into());
        let mut ops = vec![WriteOp::put(item).when(at_version(version))];
        match change {
            KnowledgeChange::Add(docs) => {
                for doc in docs {
                    let key = keys::knowledge_document(tenant.tenant_id, doc.document_id);
                    ops.push(WriteOp::put(to_item(&key, doc)?));
                }
            }
            KnowledgeChange::Remove(id) => ops.push(
                WriteOp::delete(keys::knowledge_document(tenant.tenant_id, id))
                    .when(Condition::Exists),
            ),
        }
        self.table.transact(ops).await
    }

    /// Every document of the tenant, oldest id first (ids are v7: by time).
    pub async fn list_knowledge_documents(
        &self,
        tenant: Uuid,
    ) -> Result<Vec<KnowledgeDocument>, StoreError> {
        let query = Query::partition(keys::tenant_pk(tenant))
            .sort(SortCondition::BeginsWith(keys::KNOWLEDGE_DOC_PREFIX.into()));
        self.query_all(query)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    pub async fn get_knowledge_document(
        &self,
        tenant: Uuid,
        document: Uuid,
    ) -> Result<Option<KnowledgeDocument>, StoreError> {
        self.table
            .get(&keys::knowledge_document(tenant, document))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Deletes every document item of the tenant (their blobs are the
    /// caller's); the tenant item's `knowledge_state` is the caller's too.
    pub async fn delete_knowledge_documents(
        &self,
        tenant: Uuid,
        documents: &[Uuid],
    ) -> Result<(), StoreError> {
        let keys = documents
            .iter()
            .map(|d| keys::knowledge_document(tenant, *d))
            .collect::<Vec<_>>();
        for batch in keys.chunks(25) {
            self.table.batch_delete(batch.to_vec()).await?;
        }
        Ok(())
    }
}
