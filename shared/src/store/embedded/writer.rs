//! The writer thread: every write of the embedded store goes through it, and
//! it commits the writes that arrived together in one redb transaction
//! (group commit), so one fsync serves many concurrent requests.

use redb::{Database, Durability};

use super::limits::{Prepared, check_item};
use super::tables::WriteTables;
use super::unavailable;
use super::versions::Versions;
use crate::store::{Condition, Item, Key, StoreError, WriteOp};

/// Most writes committed together.
const MAX_GROUP: usize = 128;

/// Relaxed writes are committed without waiting for the disk and made
/// durable by the next durable commit, or by closing the database. With no
/// durable write in between, every this many relaxed commits is synced, so a
/// crash loses at most that many of them.
pub(super) const MAX_UNSYNCED_COMMITS: u32 = 64;

/// A write waiting for the writer thread.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) work: Work,
    /// Answered before it is durable (`Table::write_relaxed`).
    pub(super) relaxed: bool,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<Outcome, StoreError>>,
}

#[derive(Debug)]
pub(super) enum Work {
    /// A single write or a transaction: all or nothing.
    Ops(Vec<Prepared>),
    /// Unconditional deletes.
    Delete(Vec<Key>),
}

#[derive(Debug)]
pub(super) enum Outcome {
    /// Committed; per op, the item after an update.
    Applied(Vec<Option<Item>>),
    /// Nothing written; the indexes of the ops whose conditions failed.
    Failed(Vec<usize>),
}

/// The writer thread: takes the next write, plus every write already
/// waiting (up to `MAX_GROUP`), and commits them in one transaction. Each
/// write is applied in arrival order against the state the earlier ones left,
/// exactly as if they ran one by one; a write whose conditions fail, or that
/// is invalid, writes nothing and does not affect the others. An I/O error
/// fails the whole group, which then wrote nothing.
///
/// Relaxed writes in a group are committed first, without a sync, and
/// answered at once; the durable ones follow in a synced commit, which makes
/// the relaxed ones durable too. Writes in one group are concurrent (a caller
/// waits for each of its writes), so committing them in two parts reorders
/// nothing a caller could observe.
pub(super) fn write_loop(
    db: &std::sync::Weak<Database>,
    jobs: &std::sync::mpsc::Receiver<Job>,
    versions: &Versions,
) {
    let mut unsynced = 0u32;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let (relaxed, durable): (Vec<Job>, Vec<Job>) = group.into_iter().partition(|j| j.relaxed);
        if !relaxed.is_empty() {
            // Synced when no durable commit follows and too many are unsynced.
            let sync = durable.is_empty() && unsynced + 1 >= MAX_UNSYNCED_COMMITS;
            let durability = if sync {
                Durability::Immediate
            } else {
                Durability::None
            };
            match commit_and_answer(db, relaxed, durability, versions) {
                true if sync => unsynced = 0,
                true => unsynced += 1,
                false => {}
            }
        }
        if !durable.is_empty() && commit_and_answer(db, durable, Durability::Immediate, versions) {
            unsynced = 0;
        }
    }
}

/// Commits `group` and hands each job its outcome; true when committed. The
/// database is held only while committing: a caller answered may drop the
/// last table and reopen the file at once.
fn commit_and_answer(
    db: &std::sync::Weak<Database>,
    group: Vec<Job>,
    durability: Durability,
    versions: &Versions,
) -> bool {
    let outcomes = match db.upgrade() {
        Some(db) => commit_group(&db, &group, durability),
        None => Err(StoreError::Unavailable("the store is closed".into())),
    };
    let committed = outcomes.is_ok();
    if committed {
        // Before any writer hears of its write (see `versions`).
        versions.written(
            group
                .iter()
                .flat_map(|job| -> Box<dyn Iterator<Item = &str>> {
                    match &job.work {
                        Work::Ops(ops) => Box::new(ops.iter().map(|op| op.key.pk.as_str())),
                        Work::Delete(keys) => Box::new(keys.iter().map(|key| key.pk.as_str())),
                    }
                }),
        );
    }
    answer(group, outcomes);
    committed
}

/// Hands each job its outcome, or the group's failure.
fn answer(group: Vec<Job>, outcomes: Result<Vec<Result<Outcome, StoreError>>, StoreError>) {
    match outcomes {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                // A caller that went away needs no answer.
                let _ = job.reply.send(outcome);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for job in group {
                let _ = job
                    .reply
                    .send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}

fn commit_group(
    db: &Database,
    group: &[Job],
    durability: Durability,
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    let mut txn = db.begin_write().map_err(unavailable)?;
    txn.set_durability(durability).map_err(unavailable)?;
    let mut outcomes = Vec::with_capacity(group.len());
    {
        let mut tables = WriteTables::open(&txn)?;
        for job in group {
            outcomes.push(match &job.work {
                Work::Ops(ops) => apply(&mut tables, ops)?,
                Work::Delete(keys) => {
                    for key in keys {
                        if let Some(old) = tables.read(key)? {
                            tables.remove(key, &old)?;
                        }
                    }
                    Ok(Outcome::Applied(Vec::new()))
                }
            });
        }
    }
    txn.commit().map_err(unavailable)?;
    Ok(outcomes)
}

/// One write inside a group. The inner result is the write's own outcome
/// (validated completely before anything is stored, so a rejected write
/// leaves no trace); the outer error is an I/O failure that fails the group.
fn apply(
    tables: &mut WriteTables<'_>,
    ops: &[Prepared],
) -> Result<Result<Outcome, StoreError>, StoreError> {
    let mut current = Vec::with_capacity(ops.len());
    let mut failed = Vec::new();
    for (index, prepared) in ops.iter().enumerate() {
        let item = tables.read(&prepared.key)?;
        if !prepared
            .op
            .condition()
            .is_none_or(|c: &Condition| c.holds(item.as_ref()))
        {
            failed.push(index);
        }
        current.push(item);
    }
    if !failed.is_empty() {
        return Ok(Ok(Outcome::Failed(failed)));
    }
    // Every new item first: an invalid update rejects the write whole.
    let mut updated = Vec::with_capacity(ops.len());
    for (prepared, old) in ops.iter().zip(&current) {
        updated.push(match &prepared.op {
            WriteOp::Update { update, .. } => {
                let new = match update.apply(&prepared.key, old.clone()) {
                    Ok(new) => new,
                    Err(e) => return Ok(Err(e)),
                };
                if let Err(e) = check_item(&new) {
                    return Ok(Err(e));
                }
                Some(new)
            }
            _ => None,
        });
    }
    let mut results = Vec::with_capacity(ops.len());
    for ((prepared, old), new) in ops.iter().zip(current).zip(updated) {
        let key = &prepared.key;
        results.push(match &prepared.op {
            WriteOp::Put { item, .. } => {
                tables.store(key, old.as_ref(), item)?;
                None
            }
            WriteOp::Update { .. } => {
                if let Some(new) = &new {
                    tables.store(key, old.as_ref(), new)?;
                }
                new
            }
            WriteOp::Delete { .. } => {
                if let Some(old) = &old {
                    tables.remove(key, old)?;
                }
                None
            }
            WriteOp::Check { .. } => None,
        });
    }
    Ok(Ok(Outcome::Applied(results)))
}
