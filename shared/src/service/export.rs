//! Every conversation of a tenant, read page by page into a bounded
//! channel: memory stays constant whatever the tenant's size, and a reader
//! that goes away stops the reading. The HTTP layer encodes the parts.

use tokio::sync::mpsc;
use uuid::Uuid;

use super::ServiceResult;
use crate::AppState;
use crate::store::repo::{SessionRow, TranscriptMessage};

/// Sessions read per index page.
const SESSIONS_PER_PAGE: usize = 25;
/// Messages read per partition page.
const MESSAGES_PER_PAGE: usize = 200;
/// Parts buffered ahead of a slow reader.
const BUFFER: usize = 4;

/// One part of an export, in order: a session, its messages in pages,
/// its end; then the next session.
pub enum ExportPart {
    Session(Box<SessionRow>),
    Messages(Vec<TranscriptMessage>),
    SessionEnd,
}

/// Last activity range (epoch ms, inclusive) of the sessions to export.
pub type ActivityRange = (Option<i64>, Option<i64>);

/// Starts reading the tenant's conversations last active in `range`,
/// oldest activity first; the channel ends after the last part, or with an
/// error.
pub fn export(
    state: &AppState,
    tenant: Uuid,
    range: ActivityRange,
) -> mpsc::Receiver<ServiceResult<ExportPart>> {
    let (tx, rx) = mpsc::channel(BUFFER);
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = read_all(&state, tenant, range, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

/// `Ok` also when the reader left (nothing more to do).
async fn read_all(
    state: &AppState,
    tenant: Uuid,
    range: ActivityRange,
    tx: &mpsc::Sender<ServiceResult<ExportPart>>,
) -> ServiceResult<()> {
    let mut after = None;
    loop {
        let (rows, next) = state
            .repo
            .sessions_oldest_first(tenant, range, SESSIONS_PER_PAGE, after)
            .await?;
        for row in rows {
            let sid = row.session.session_id;
            if tx
                .send(Ok(ExportPart::Session(Box::new(row))))
                .await
                .is_err()
            {
                return Ok(());
            }
            let mut from = None;
            loop {
                let (messages, more) = state
                    .repo
                    .message_page(tenant, sid, MESSAGES_PER_PAGE, from)
                    .await?;
                if !messages.is_empty()
                    && tx.send(Ok(ExportPart::Messages(messages))).await.is_err()
                {
                    return Ok(());
                }
                match more {
                    Some(cursor) => from = Some(cursor),
                    None => break,
                }
            }
            if tx.send(Ok(ExportPart::SessionEnd)).await.is_err() {
                return Ok(());
            }
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(()),
        }
    }
}
