//! `chatctl import django`: a Django `dumpdata clients chat` into the store.
//!
//! Three streaming passes over the dump, so memory holds one record (plus a
//! few bytes per session and user) whatever the dump's size or order:
//! 1. clients become tenants with their keys; every unreadable record is
//!    reported; each session's latest upload is noted;
//! 2. sessions, with their counters (a session whose client is missing is
//!    an orphan);
//! 3. messages, in batches per session, and each session's latest upload
//!    as its active file.
//!
//! Every write is idempotent (ids are kept or derived from the dump), so a
//! second run stores nothing new and an interrupted run resumes.

pub mod files;
pub mod ids;
pub mod mapping;
pub mod progress;
pub mod reader;
pub mod records;
pub mod report;
pub mod write;

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chat_shared::AppState;
use chat_shared::store::repo::Imported;

use mapping::SessionMeta;
use progress::Progress;
use reader::{ArrayReader, Element};
use records::Record;
use report::{Report, Skipped};
use write::{Ledger, Origin, Writer};

pub use report::{Report as ImportReport, Tally};

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub dump: PathBuf,
    /// Holds `uploads/<file name>` of the Django system's media directory.
    pub media_root: Option<PathBuf>,
    pub dry_run: bool,
    /// Progress lines on stderr.
    pub progress: bool,
}

/// Runs the import; the report says what it stored and what it left out.
/// Fails only when the dump cannot be read at all.
pub async fn django(state: &AppState, options: &Options) -> Result<Report> {
    let mut writer = Writer::new(state.clone(), options.dry_run, options.media_root.clone());
    writer.ledger.report.dry_run = options.dry_run;
    let mut progress = Progress::new(options.progress);
    let passes: [(&str, Pass); 3] = [
        ("clients", clients_pass),
        ("sessions", sessions_pass),
        ("messages and files", messages_pass),
    ];
    for (n, (name, pass)) in passes.into_iter().enumerate() {
        let mut records = 0;
        for element in elements(&options.dump)? {
            let element =
                element.with_context(|| format!("cannot read {}", options.dump.display()))?;
            records += 1;
            pass(&mut writer, element).await;
            progress.tick(n + 1, name, records, &writer.ledger);
        }
        writer.finish().await;
        if n == 0 {
            writer.ledger.report.records = records;
        }
        if n == 1 {
            user_spans(&mut writer).await;
        }
    }
    progress.done(&writer.ledger);
    Ok(writer.ledger.report)
}

type Pass = for<'a> fn(&'a mut Writer, Element) -> PassFuture<'a>;
type PassFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

fn elements(dump: &Path) -> Result<ArrayReader<File>> {
    let file = File::open(dump).with_context(|| format!("cannot open {}", dump.display()))?;
    Ok(ArrayReader::new(file))
}

/// The record, or (in pass 1 only, so once) the reason it is unreadable.
fn record(writer: &mut Writer, element: &Element, report: bool) -> Option<(Record, Origin)> {
    let parsed = match &element.body {
        Ok(body) => records::parse(body),
        Err(reason) => Err(records::Unreadable {
            model: None,
            pk: None,
            reason: format!("bad JSON: {reason}"),
        }),
    };
    match parsed {
        Ok(record) => {
            let origin = origin(&record, element);
            Some((record, origin))
        }
        Err(unreadable) => {
            if report {
                writer.ledger.report.skipped.push(Skipped {
                    index: element.index,
                    offset: element.offset,
                    model: unreadable.model,
                    pk: unreadable.pk,
                    reason: unreadable.reason,
                });
            }
            None
        }
    }
}

fn origin(record: &Record, element: &Element) -> Origin {
    let (model, pk) = match record {
        Record::Client(c) => ("clients.client", c.id.to_string()),
        Record::Session(s) => ("chat.session", s.id.to_string()),
        Record::Message(m) => ("chat.message", m.pk.to_string()),
        Record::FileUpload(f) => ("chat.fileupload", f.pk.to_string()),
    };
    Origin {
        index: element.index,
        offset: element.offset,
        model,
        pk,
    }
}

fn clients_pass(writer: &mut Writer, element: Element) -> PassFuture<'_> {
    Box::pin(async move {
        match record(writer, &element, true) {
            Some((Record::Client(client), origin)) => import_client(writer, client, origin).await,
            Some((Record::FileUpload(upload), _)) => {
                let latest = writer
                    .ledger
                    .latest_upload
                    .entry(upload.session)
                    .or_insert((upload.uploaded_at, upload.pk));
                *latest = (*latest).max((upload.uploaded_at, upload.pk));
            }
            _ => {}
        }
    })
}

/// Clients are few: written one at a time, before any session.
async fn import_client(writer: &mut Writer, client: records::Client, origin: Origin) {
    let (tenant, refused) = mapping::tenant(&client);
    let key = mapping::key(&client);
    let state = &writer.state;
    let report = &mut writer.ledger.report;
    for reason in refused {
        report.warnings.push(origin.skipped(reason));
    }
    if !mapping::key_usable(&client) {
        report.warnings.push(
            origin.skipped(
                "its api_key does not start with cb_: stored, but it will not authenticate",
            ),
        );
    }
    let outcome = if writer.dry_run {
        state.repo.get_tenant(client.id).await.map(|found| {
            if found.is_some() {
                Imported::AlreadyThere
            } else {
                Imported::New
            }
        })
    } else {
        state.repo.import_tenant(&tenant, &key).await
    };
    let stored = match outcome {
        Ok(Imported::AlreadyThere) => match state.repo.get_tenant(client.id).await {
            Ok(Some(stored)) => Ok((Imported::AlreadyThere, stored)),
            Ok(None) => Err("its key is stored for another tenant".to_owned()),
            Err(e) => Err(e.to_string()),
        },
        Ok(new) => Ok((new, tenant)),
        Err(e) => Err(e.to_string()),
    };
    match stored {
        Ok((outcome, tenant)) => {
            write::count(&mut report.tenants, outcome);
            write::count(&mut report.keys, outcome);
            if key.revoked && outcome == Imported::New {
                report.revoked_keys += 1;
            }
            let expires = state.expires_at(&tenant, state.now_ms());
            writer.ledger.tenants.insert(client.id, expires);
        }
        Err(reason) => report.failed.push(origin.skipped(reason)),
    }
}

fn sessions_pass(writer: &mut Writer, element: Element) -> PassFuture<'_> {
    Box::pin(async move {
        let Some((Record::Session(session), origin)) = record(writer, &element, false) else {
            return;
        };
        let Some(&expires) = writer.ledger.tenants.get(&session.client) else {
            let reason = format!(
                "orphan session: its client {} is not in the dump or was not imported",
                session.client
            );
            writer.ledger.report.skipped.push(origin.skipped(reason));
            return;
        };
        let meta = SessionMeta {
            tenant: session.client,
            user: session.user_identifier.as_deref().map(Box::from),
            created_at: session.created_at,
            last_activity: session.last_activity,
            stored: false,
        };
        if let Some(user) = &meta.user {
            let span = writer
                .ledger
                .users
                .entry((meta.tenant, user.clone()))
                .or_insert((meta.created_at, meta.created_at));
            *span = (span.0.min(meta.created_at), span.1.max(meta.created_at));
        }
        let id = session.id;
        let item = mapping::session(&session);
        let (repo, dry_run) = (writer.state.repo.clone(), writer.dry_run);
        writer
            .spawn(async move {
                let result = if dry_run {
                    repo.get_session(item.tenant_id, id).await.map(|found| {
                        if found.is_some() {
                            Imported::AlreadyThere
                        } else {
                            Imported::New
                        }
                    })
                } else {
                    repo.import_session(&item, expires).await
                };
                Box::new(move |ledger: &mut Ledger| match result {
                    Ok(outcome) => {
                        write::count(&mut ledger.report.sessions, outcome);
                        let meta = SessionMeta {
                            stored: outcome == Imported::AlreadyThere,
                            ..meta
                        };
                        ledger.sessions.insert(id, meta);
                    }
                    Err(e) => ledger.report.failed.push(origin.skipped(e.to_string())),
                }) as Box<dyn FnOnce(&mut Ledger) + Send>
            })
            .await;
    })
}

/// Sets each user's first and last session times, now that all of the
/// user's sessions are in.
async fn user_spans(writer: &mut Writer) {
    if writer.dry_run {
        return;
    }
    let users: Vec<_> = writer.ledger.users.drain().collect();
    for ((tenant, user), (first, last)) in users {
        let repo = writer.state.repo.clone();
        writer
            .spawn(async move {
                let result = repo.import_user_span(tenant, &user, first, last).await;
                Box::new(move |ledger: &mut Ledger| {
                    if let Err(e) = result {
                        ledger.report.failed.push(Skipped {
                            index: 0,
                            offset: 0,
                            model: None,
                            pk: None,
                            reason: format!("first/last seen of user {user}: {e}"),
                        });
                    }
                }) as Box<dyn FnOnce(&mut Ledger) + Send>
            })
            .await;
    }
    writer.finish().await;
}

fn messages_pass(writer: &mut Writer, element: Element) -> PassFuture<'_> {
    Box::pin(async move {
        match record(writer, &element, false) {
            Some((Record::Message(message), origin)) => {
                let session = message.session;
                if !writer.ledger.sessions.contains_key(&session) {
                    let reason = format!("orphan message: its session {session} was not imported");
                    writer.ledger.report.skipped.push(origin.skipped(reason));
                    return;
                }
                writer
                    .message(mapping::message(message), session, origin)
                    .await;
            }
            Some((Record::FileUpload(upload), origin)) => {
                if let Some(reason) = file_skip_reason(&writer.ledger, &upload) {
                    writer.ledger.report.skipped.push(origin.skipped(reason));
                    return;
                }
                writer.file(upload, origin).await;
            }
            _ => {}
        }
    })
}

/// Why an upload does not become its session's active file, if it does not.
fn file_skip_reason(ledger: &Ledger, upload: &records::FileUpload) -> Option<String> {
    let session = upload.session;
    if !ledger.sessions.contains_key(&session) {
        return Some(format!(
            "orphan upload: its session {session} was not imported"
        ));
    }
    match ledger.latest_upload.get(&session) {
        Some(&(_, pk)) if pk != upload.pk => Some(format!(
            "superseded: upload {pk} is the session's latest file"
        )),
        _ if !upload.is_active => {
            Some("removed in Django (is_active false): the session has no active file".into())
        }
        _ => None,
    }
}
