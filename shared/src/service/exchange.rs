//! The message exchange: the user's message, the provider's reply, both
//! stored in one atomic write.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::{ServiceError, ServiceResult, ensure_live, knowledge, provider_choice};
use crate::AppState;
use crate::auth::Caller;
use crate::context::{ContextInput, build_context};
use crate::http::extract::MAX_CONFIG_BYTES;
use crate::model::{Message, Role, Session, SessionConfig, SessionId, Tenant};
use crate::prompt::ProviderRequest;
use crate::providers::{Completion, Provider, ProviderError, StreamEvent};
use crate::ratelimit::{self, RateLimit};

/// A validated send request.
pub struct SendRequest {
    pub session_id: SessionId,
    pub message: String,
    /// Keys merged into the session's stored config (the Django system's
    /// behaviour), in the exchange's own write; this message already uses
    /// them.
    pub config: SessionConfig,
    /// The client's address (`http::ClientAddr`): with the visitor id, who
    /// a publishable key's message is counted for.
    pub client: Option<std::net::IpAddr>,
}

/// The outcome of a send.
pub struct Exchange {
    pub session: Session,
    pub reply: Message,
    /// The id of the user's message stored with the reply.
    pub user_message_id: uuid::Uuid,
    pub message_count: i64,
    pub provider: &'static str,
    pub model: String,
}

/// What a running exchange reports: text as it arrives, then the stored
/// outcome or the error.
pub enum ExchangeEvent {
    Delta(String),
    Done(Box<Exchange>),
    Failed(ServiceError),
}

/// How long a delta waits for a client that stopped reading before the
/// exchange stops forwarding deltas (it still completes and stores).
const STALLED_READER: Duration = Duration::from_secs(30);

/// Deltas buffered between the provider task and a slow client.
const EVENT_BUFFER: usize = 64;

/// Starts one exchange: one read (session + last 10 messages) here, so a
/// bad session is a plain 4xx; then a spawned task runs the provider and one
/// atomic write of both messages and the session's counters. When the
/// provider fails, the user's message is stored marked `failed` and the error
/// reported. The task finishes (and stores) even when the receiver is
/// dropped, so a client that goes away loses nothing.
pub async fn start_exchange(
    state: &AppState,
    caller: &Caller,
    request: SendRequest,
) -> ServiceResult<(RateLimit, mpsc::Receiver<ExchangeEvent>)> {
    let (admission, session, history) = admit_and_read(state, caller, &request).await?;
    ensure_live(state, &session)?;
    let mut merged = merged_config(&session.config, &request.config)?;
    let fallback = admission.fallback.then(|| fallback_config(&caller.tenant));
    if let Some(over) = &fallback {
        merged.extend(over.clone());
    }
    provider_choice::check(state, &caller.tenant, &merged)?;
    let limit = admission.status;

    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let state = state.clone();
    let tenant = caller.tenant.clone();
    tokio::spawn(async move {
        let outcome = run_exchange(&state, &tenant, session, history, request, fallback, &tx).await;
        let last = match outcome {
            Ok(done) => ExchangeEvent::Done(Box::new(done)),
            Err(error) => ExchangeEvent::Failed(error),
        };
        // A receiver that is gone is fine: everything is stored already.
        let _ = tx.send(last).await;
    });
    Ok((limit, rx))
}

async fn run_exchange(
    state: &AppState,
    tenant: &Tenant,
    session: Session,
    history: Vec<Message>,
    request: SendRequest,
    fallback: Option<SessionConfig>,
    tx: &mpsc::Sender<ExchangeEvent>,
) -> ServiceResult<Exchange> {
    let mut config = session.config.clone();
    config.extend(request.config.clone());
    // Over budget, falling back: this message only, never stored.
    config.extend(fallback.unwrap_or_default());
    let requested = provider_choice::requested(tenant, &config);
    let received_at = state.now_ms();
    let user_message = Message {
        message_id: state.ids.v7_at(received_at),
        role: Role::User,
        content: request.message,
        timestamp: received_at,
        metadata: Map::new(),
    };

    // The tenant's passages for this message (nothing read without documents).
    let (passages, sources) = knowledge::passages_for(state, tenant, &user_message.content).await;
    let outcome = match state.providers.resolve(requested, tenant) {
        Ok(provider) => {
            let prompt = build_context(&ContextInput {
                message: &user_message.content,
                config: &config,
                history: &history,
                file: session.active_file.as_ref(),
                default_model: provider.default_model(),
                system_prompt: tenant.system_prompt.as_deref(),
                knowledge: &passages,
            });
            relay(provider.as_ref(), prompt, tx)
                .await
                .map(|completion| (provider.id(), completion))
        }
        Err(e) => Err(e),
    };

    let (provider, completion) = match outcome {
        Ok(ok) => ok,
        Err(error) => {
            let changes = Some(&request.config);
            return Err(keep_failed(state, tenant, &session, user_message, error, changes).await);
        }
    };

    let mut reply = reply_message(state, provider, &completion, received_at);
    if !sources.is_empty() {
        // Kept with the reply, so history shows them too.
        reply.metadata.insert(
            "sources".into(),
            serde_json::to_value(&sources).unwrap_or_default(),
        );
    }
    let replied_at = reply.timestamp;
    let user_message_id = user_message.message_id;
    state
        .repo
        .append_exchange(
            &session,
            &[user_message, reply.clone()],
            replied_at,
            state.expires_at(tenant, replied_at),
            Some(&request.config),
        )
        .await?;
    Ok(Exchange {
        message_count: session.message_count + 2,
        model: completion.model,
        provider,
        session,
        reply,
        user_message_id,
    })
}

/// Counts the message against the caller's limits and reads the session
/// (and its recent messages). A secret key's count needs no session, so
/// the two run at once (an over-limit caller gets 429 whatever the
/// session); a widget visitor is known from the session, so it is read,
/// and authorized, first.
async fn admit_and_read(
    state: &AppState,
    caller: &Caller,
    request: &SendRequest,
) -> ServiceResult<(ratelimit::Admission, Session, Vec<Message>)> {
    let sid = request.session_id.uuid();
    let read = state.repo.session_with_recent_messages(caller.tenant_id(), sid);
    if !caller.is_publishable() {
        let seed = sid.to_string();
        let (admission, found) = tokio::join!(
            ratelimit::admit(state, caller, ratelimit::Subject::Key, &seed),
            read
        );
        let admission = admission?;
        let (session, history) = found?.ok_or(ServiceError::SessionNotFound)?;
        caller.authorize(&session)?;
        return Ok((admission, session, history));
    }
    let (session, history) = read.await?.ok_or(ServiceError::SessionNotFound)?;
    caller.authorize(&session)?;
    ensure_live(state, &session)?;
    let visitor = ratelimit::visitor::visitor_of(
        &caller.tenant,
        &session,
        caller.user_signature.as_deref(),
        request.client,
    );
    let subject = ratelimit::Subject::Visitor(&visitor);
    let admission = ratelimit::admit(state, caller, subject, &visitor).await?;
    Ok((admission, session, history))
}

/// The config keys a message over budget is answered with: the tenant's
/// fallback provider and model.
fn fallback_config(tenant: &Tenant) -> SessionConfig {
    let mut over = SessionConfig::new();
    if let Some(p) = &tenant.budget.fallback_provider {
        over.insert("aiProvider".into(), Value::from(p.clone()));
    }
    if let Some(m) = &tenant.budget.fallback_model {
        over.insert("model".into(), Value::from(m.clone()));
    }
    over
}

/// Stores the user's message marked `failed` after the provider failed;
/// the provider's error, or the store's when that write fails too.
async fn keep_failed(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    mut user_message: Message,
    error: ProviderError,
    config: Option<&SessionConfig>,
) -> ServiceError {
    user_message
        .metadata
        .insert("status".into(), Value::from("failed"));
    let now = state.now_ms();
    let expires = state.expires_at(tenant, now);
    match state
        .repo
        .append_exchange(
            session,
            std::slice::from_ref(&user_message),
            now,
            expires,
            config,
        )
        .await
    {
        Ok(()) => ServiceError::Provider(error),
        Err(e) => e.into(),
    }
}

/// The session's config with the message's keys merged in, within the
/// config endpoint's limit (checked before the provider is called).
fn merged_config(stored: &SessionConfig, changes: &SessionConfig) -> ServiceResult<SessionConfig> {
    let mut merged = stored.clone();
    if changes.is_empty() {
        return Ok(merged);
    }
    merged.extend(changes.clone());
    if serde_json::to_vec(&merged).map_or(usize::MAX, |v| v.len()) > MAX_CONFIG_BYTES {
        return Err(ServiceError::ConfigTooLarge {
            limit: MAX_CONFIG_BYTES,
        });
    }
    Ok(merged)
}

/// The assistant's message, with the provider, model, token counts and
/// latency as its metadata.
fn reply_message(
    state: &AppState,
    provider: &'static str,
    completion: &Completion,
    received_at: i64,
) -> Message {
    let replied_at = state.now_ms();
    let mut metadata = Map::new();
    metadata.insert("provider".into(), provider.into());
    metadata.insert("model".into(), completion.model.clone().into());
    if let Some(n) = completion.input_tokens {
        metadata.insert("inputTokens".into(), n.into());
    }
    if let Some(n) = completion.output_tokens {
        metadata.insert("outputTokens".into(), n.into());
    }
    metadata.insert(
        "latencyMs".into(),
        replied_at.saturating_sub(received_at).into(),
    );
    Message {
        message_id: state.ids.v7_at(replied_at),
        role: Role::Assistant,
        content: completion.text.clone(),
        timestamp: replied_at,
        metadata,
    }
}

/// Streams the provider's reply, forwarding each delta, until its completion.
async fn relay(
    provider: &dyn Provider,
    prompt: ProviderRequest,
    tx: &mpsc::Sender<ExchangeEvent>,
) -> Result<Completion, ProviderError> {
    let mut events = provider.stream(prompt).await?;
    let mut forwarding = true;
    while let Some(event) = events.next().await {
        match event? {
            StreamEvent::Delta(text) => {
                // Nobody listening (the client left, or `send` ignores
                // deltas), or a client that stopped reading: keep going, the
                // reply is still stored, and a stalled reader never holds the
                // exchange (or its provider connection) open.
                if forwarding
                    && tx
                        .send_timeout(ExchangeEvent::Delta(text), STALLED_READER)
                        .await
                        .is_err()
                {
                    forwarding = false;
                }
            }
            StreamEvent::Done(completion) => return Ok(completion),
        }
    }
    Err(ProviderError::Malformed(
        "stream ended without a completion".into(),
    ))
}

/// Runs one exchange to its end: the reply `send` answers.
pub async fn exchange(
    state: &AppState,
    caller: &Caller,
    request: SendRequest,
) -> ServiceResult<(RateLimit, Exchange)> {
    let (limit, mut events) = start_exchange(state, caller, request).await?;
    while let Some(event) = events.recv().await {
        match event {
            ExchangeEvent::Delta(_) => {}
            ExchangeEvent::Done(done) => return Ok((limit, *done)),
            ExchangeEvent::Failed(error) => return Err(error),
        }
    }
    Err(ServiceError::Internal(
        "the exchange ended without an outcome".into(),
    ))
}
