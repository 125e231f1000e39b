//! Files: the active file of a session (replaced atomically, soft-deleted)
//! and the grants of direct uploads.

use serde_json::Value;
use uuid::Uuid;

use super::analytics::{DayCounts, count_day};
use super::{Repository, attrs, encode, from_item, retry_conflicts, to_item};
use crate::model::{ActiveFile, FileRecord, PendingUpload, Session};
use crate::store::{Condition, StoreError, TTL, Update, WriteOp, keys};

impl Repository {
    /// Stores the file record, makes it the session's active file and
    /// retires the previous one, and counts the upload on its day, atomically. Guarded by the active file the
    /// caller saw, so two racing uploads cannot both win.
    pub async fn activate_file(
        &self,
        session: &Session,
        record: &FileRecord,
        active: &ActiveFile,
        completes_upload: bool,
        expires: i64,
    ) -> Result<(), StoreError> {
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let previous = session.active_file.as_ref().map(|f| f.file_id);
        let guard = match previous {
            Some(id) => {
                Condition::Equals(attrs::ACTIVE_FILE_ID.into(), Value::String(id.to_string()))
            }
            None => Condition::And(vec![
                Condition::Exists,
                Condition::AttributeNotExists(attrs::ACTIVE_FILE_ID.into()),
            ]),
        };
        let mut file_item = to_item(&keys::file(tenant, sid, record.file_id), record)?;
        file_item.insert(TTL.into(), expires.into());
        let mut ops = vec![
            WriteOp::put(file_item).when(Condition::NotExists),
            WriteOp::update(
                keys::session(tenant, sid),
                Update::new()
                    .set(attrs::ACTIVE_FILE, encode(active)?)
                    .set(attrs::ACTIVE_FILE_ID, active.file_id.to_string())
                    .set(TTL, expires),
            )
            .when(guard),
        ];
        let upload = DayCounts {
            uploads: 1,
            ..DayCounts::default()
        };
        ops.push(count_day(tenant, sid, active.uploaded_at, &upload));
        if let Some(id) = previous {
            ops.push(
                WriteOp::update(
                    keys::file(tenant, sid, id),
                    Update::new().set(attrs::IS_ACTIVE, false),
                )
                .when(Condition::Exists),
            );
        }
        if completes_upload {
            // Completing twice fails here: the grant is consumed.
            ops.push(
                WriteOp::delete(keys::pending_upload(tenant, sid, record.file_id))
                    .when(Condition::Exists),
            );
        }
        self.table.transact(ops).await
    }

    /// Records a granted direct upload.
    pub async fn put_pending_upload(
        &self,
        session: &Session,
        upload: &PendingUpload,
    ) -> Result<(), StoreError> {
        let key = keys::pending_upload(session.tenant_id, session.session_id, upload.file_id);
        self.table
            .write(WriteOp::put(to_item(&key, upload)?).when(Condition::NotExists))
            .await?;
        Ok(())
    }

    pub async fn get_pending_upload(
        &self,
        tenant: Uuid,
        session: Uuid,
        file: Uuid,
    ) -> Result<Option<PendingUpload>, StoreError> {
        self.table
            .get(&keys::pending_upload(tenant, session, file))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Soft-deletes the active file: the record stays, marked inactive.
    pub async fn deactivate_file(&self, session: &Session) -> Result<bool, StoreError> {
        let Some(active) = &session.active_file else {
            return Ok(false);
        };
        let (tenant, sid) = (session.tenant_id, session.session_id);
        let ops = vec![
            WriteOp::update(
                keys::session(tenant, sid),
                Update::new()
                    .remove(attrs::ACTIVE_FILE)
                    .remove(attrs::ACTIVE_FILE_ID),
            )
            .when(Condition::Equals(
                attrs::ACTIVE_FILE_ID.into(),
                Value::String(active.file_id.to_string()),
            )),
            WriteOp::update(
                keys::file(tenant, sid, active.file_id),
                Update::new().set(attrs::IS_ACTIVE, false),
            )
            .when(Condition::Exists),
        ];
        match retry_conflicts(|| self.table.transact(ops.clone())).await {
            Ok(()) => Ok(true),
            // That file is no longer the active one (deleted or replaced).
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_file(
        &self,
        tenant: Uuid,
        session: Uuid,
        file: Uuid,
    ) -> Result<Option<FileRecord>, StoreError> {
        self.table
            .get(&keys::file(tenant, session, file))
            .await?
            .map(from_item)
            .transpose()
    }
}
