//! Writing what the dump holds: a bounded number of store writes in flight
//! (the embedded store commits concurrent writes together; DynamoDB answers
//! them in parallel), each writing its outcome into the ledger when it ends.
//! Messages are written in batches per session.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chat_shared::AppState;
use chat_shared::config::StoreKind;
use chat_shared::model::Message;
use chat_shared::service::files::canonical_type;
use chat_shared::store::StoreError;
use chat_shared::store::repo::Imported;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::files;
use super::mapping::{SessionMeta, session_stub};
use super::records::FileUpload;
use super::report::{Report, Skipped, Tally};

/// Writes in flight at once on the embedded store: its writer commits
/// the writes waiting together, one sync for all.
const IN_FLIGHT_EMBEDDED: usize = 32;
/// On DynamoDB: the writes of one tenant share its counter items, and
/// concurrent transactions on an item conflict (each is retried a few
/// times, then reported for a re-run), so fewer at once.
const IN_FLIGHT_DYNAMODB: usize = 4;
/// Messages per batch: each batch is one transaction with its session's
/// update (DynamoDB takes 100 items, 4 MB).
const BATCH_MESSAGES: usize = 50;
const BATCH_BYTES: usize = 1024 * 1024;
/// Messages held for all sessions before every batch is written.
const MAX_BUFFERED: usize = 10_000;

/// What the import knows so far, and its report.
#[derive(Default)]
pub struct Ledger {
    pub report: Report,
    /// Imported tenants (or found), with the retention TTL of their items.
    pub tenants: HashMap<Uuid, i64>,
    /// Imported sessions (or found).
    pub sessions: HashMap<Uuid, SessionMeta>,
    /// Per tenant and user, the first and last session start.
    pub users: HashMap<(Uuid, Box<str>), (i64, i64)>,
    /// Per session, its latest upload: (uploaded_at, pk).
    pub latest_upload: HashMap<Uuid, (i64, i64)>,
    /// Sessions with a batch of messages being written: the next waits,
    /// so a session's messages are stored in order (what set-once
    /// attributes such as a preview of the first message rely on).
    pub writing: HashSet<Uuid>,
}

/// A finished write's change to the ledger.
type Apply = Box<dyn FnOnce(&mut Ledger) + Send>;

pub fn count(tally: &mut Tally, outcome: Imported) {
    match outcome {
        Imported::New => tally.new += 1,
        Imported::AlreadyThere => tally.existing += 1,
    }
}

/// Where a write's record was in the dump, to report a failure.
#[derive(Debug, Clone)]
pub struct Origin {
    pub index: u64,
    pub offset: u64,
    pub model: &'static str,
    pub pk: String,
}

impl Origin {
    pub fn skipped(&self, reason: impl Into<String>) -> Skipped {
        Skipped {
            index: self.index,
            offset: self.offset,
            model: Some(self.model.into()),
            pk: Some(self.pk.clone()),
            reason: reason.into(),
        }
    }
}

#[derive(Default)]
struct Batch {
    messages: Vec<Message>,
    /// Where each message is in the dump.
    origins: Vec<Origin>,
    bytes: usize,
}

/// What writing a batch did: messages new, messages already there, and
/// the messages that could not be written, with the error.
type BatchOutcome = (u64, u64, Vec<(Origin, StoreError)>);

/// Writes the batch in one transaction; when that fails for another reason
/// than messages already there, writes its messages one by one, so one
/// message the store refuses (an item too large) costs that message only.
async fn write_batch(
    repo: &chat_shared::store::repo::Repository,
    session: &chat_shared::model::Session,
    batch: Batch,
    expires: i64,
) -> BatchOutcome {
    let n = batch.messages.len() as u64;
    match repo
        .import_messages(session, &batch.messages, expires)
        .await
    {
        Ok(new) => return (new as u64, n - new as u64, Vec::new()),
        Err(e) if n == 1 => return (0, 0, vec![(batch.origins[0].clone(), e)]),
        Err(_) => {}
    }
    let (mut new, mut existing, mut failed) = (0, 0, Vec::new());
    for (message, origin) in batch.messages.into_iter().zip(batch.origins) {
        match repo.import_messages(session, &[message], expires).await {
            Ok(1) => new += 1,
            Ok(_) => existing += 1,
            Err(e) => failed.push((origin, e)),
        }
    }
    (new, existing, failed)
}

pub struct Writer {
    pub state: AppState,
    pub dry_run: bool,
    pub media_root: Option<Arc<PathBuf>>,
    pub ledger: Ledger,
    tasks: JoinSet<Apply>,
    in_flight: usize,
    batches: HashMap<Uuid, Batch>,
    buffered: usize,
}

impl Writer {
    pub fn new(state: AppState, dry_run: bool, media_root: Option<PathBuf>) -> Self {
        let in_flight = match state.config.store {
            StoreKind::Embedded => IN_FLIGHT_EMBEDDED,
            StoreKind::DynamoDb => IN_FLIGHT_DYNAMODB,
        };
        Self {
            in_flight,
            state,
            dry_run,
            media_root: media_root.map(Arc::new),
            ledger: Ledger::default(),
            tasks: JoinSet::new(),
            batches: HashMap::new(),
            buffered: 0,
        }
    }

    /// Runs `write` among the writes in flight, waiting for room first.
    pub async fn spawn(&mut self, write: impl Future<Output = Apply> + Send + 'static) {
        while self.tasks.len() >= self.in_flight {
            self.join_one().await;
        }
        self.tasks.spawn(write);
    }

    async fn join_one(&mut self) {
        if let Some(done) = self.tasks.join_next().await {
            match done {
                Ok(apply) => apply(&mut self.ledger),
                // A write task panicked: a bug, not a data problem.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    /// Writes the buffered messages and waits for every write.
    pub async fn finish(&mut self) {
        let sessions: Vec<Uuid> = self.batches.keys().copied().collect();
        for session in sessions {
            self.flush(session).await;
        }
        while !self.tasks.is_empty() {
            self.join_one().await;
        }
    }

    /// Queues a message of an imported session.
    pub async fn message(&mut self, message: Message, session: Uuid, origin: Origin) {
        let batch = self.batches.entry(session).or_default();
        batch.bytes += message.content.len() + 256;
        batch.messages.push(message);
        batch.origins.push(origin);
        self.buffered += 1;
        if batch.messages.len() >= BATCH_MESSAGES || batch.bytes >= BATCH_BYTES {
            self.flush(session).await;
        }
        if self.buffered >= MAX_BUFFERED {
            let sessions: Vec<Uuid> = self.batches.keys().copied().collect();
            for session in sessions {
                self.flush(session).await;
            }
        }
    }

    async fn flush(&mut self, session: Uuid) {
        let Some(batch) = self.batches.remove(&session) else {
            return;
        };
        self.buffered -= batch.messages.len();
        let n = batch.messages.len() as u64;
        let meta = &self.ledger.sessions[&session];
        let stub = session_stub(meta.tenant, session, meta);
        let expires = self.ledger.tenants[&meta.tenant];
        if self.dry_run {
            // Without reading every message: those of a stored session
            // count as there (a real run adds any it lacks).
            let report = &mut self.ledger.report;
            if meta.stored {
                report.messages.existing += n;
            } else {
                report.messages.new += n;
            }
            return;
        }
        while self.ledger.writing.contains(&session) {
            self.join_one().await;
        }
        self.ledger.writing.insert(session);
        let repo = self.state.repo.clone();
        self.spawn(async move {
            let (new, existing, failed) = write_batch(&repo, &stub, batch, expires).await;
            Box::new(move |ledger: &mut Ledger| {
                ledger.writing.remove(&session);
                ledger.report.messages.new += new;
                ledger.report.messages.existing += existing;
                for (origin, error) in failed {
                    if let StoreError::Invalid(reason) = error {
                        // The store can never take it: the data's problem.
                        let reason = format!("the store refuses this message: {reason}");
                        ledger.report.skipped.push(origin.skipped(reason));
                    } else {
                        ledger.report.failed.push(origin.skipped(error.to_string()));
                    }
                }
            }) as Apply
        })
        .await;
    }

    /// Imports the session's active file.
    pub async fn file(&mut self, upload: FileUpload, origin: Origin) {
        let meta = &self.ledger.sessions[&upload.session];
        let stub = session_stub(meta.tenant, upload.session, meta);
        let expires = self.ledger.tenants[&meta.tenant];
        let (state, dry_run) = (self.state.clone(), self.dry_run);
        let media_root = self.media_root.clone();
        self.spawn(async move {
            let result = store_file(&state, dry_run, &stub, &upload, media_root, expires).await;
            Box::new(move |ledger: &mut Ledger| match result {
                Ok((outcome, rebuilt)) => {
                    count(&mut ledger.report.files, outcome);
                    if rebuilt && outcome == Imported::New {
                        ledger.report.files_rebuilt += 1;
                    }
                }
                Err(Failure::Data(reason)) => ledger.report.skipped.push(origin.skipped(reason)),
                Err(Failure::Store(reason)) => ledger.report.failed.push(origin.skipped(reason)),
            }) as Apply
        })
        .await;
    }
}

enum Failure {
    /// The upload cannot be imported.
    Data(String),
    /// The store failed; a re-run retries.
    Store(String),
}

fn store_error(e: impl std::fmt::Display) -> Failure {
    Failure::Store(e.to_string())
}

async fn store_file(
    state: &AppState,
    dry_run: bool,
    session: &chat_shared::model::Session,
    upload: &FileUpload,
    media_root: Option<Arc<PathBuf>>,
    expires: i64,
) -> Result<(Imported, bool), Failure> {
    let file_id = super::ids::file(upload.session, upload.pk, upload.uploaded_at);
    let (tenant, upload_copy) = (session.tenant_id, upload.clone());
    let prepared = tokio::task::spawn_blocking(move || {
        files::prepare(
            &upload_copy,
            tenant,
            file_id,
            media_root.as_deref().map(|p| p.as_path()),
        )
    })
    .await
    .map_err(store_error)?
    .map_err(Failure::Data)?;
    let repo = &state.repo;
    if repo
        .get_file(tenant, session.session_id, file_id)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Ok((Imported::AlreadyThere, prepared.rebuilt));
    }
    if dry_run {
        return Ok((Imported::New, prepared.rebuilt));
    }
    state
        .blobs
        .put(
            &prepared.record.blob_key,
            prepared.bytes,
            canonical_type(prepared.kind),
        )
        .await
        .map_err(store_error)?;
    let outcome = repo
        .import_active_file(session, &prepared.record, &prepared.active, expires)
        .await
        .map_err(|e: StoreError| store_error(e))?;
    Ok((outcome, prepared.rebuilt))
}
