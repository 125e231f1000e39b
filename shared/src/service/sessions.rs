//! Sessions: create one, read one, merge into its config.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, load_session, provider_choice};
use crate::AppState;
use crate::auth::{Caller, check_identity, open_identity_secret};
use crate::http::extract::MAX_CONFIG_BYTES;
use crate::model::{Session, SessionConfig, SessionId, Tenant, UserIdentifier};
use crate::store::repo::MergeOutcome;

/// A tenant's bot settings over the environment's defaults: the reference's
/// branding fields, then the widget's (`welcomeMessage`, `starterPrompts`,
/// `position`, `theme`, `language`).
pub fn bot_config_of(state: &AppState, tenant: &Tenant) -> Map<String, Value> {
    let d = &state.config.bot;
    let t = &tenant.bot;
    let pick = |own: &Option<String>, default: &str| {
        Value::from(own.clone().unwrap_or_else(|| default.to_owned()))
    };
    let either = |own: &Option<String>, default: &Option<String>| {
        own.clone()
            .or_else(|| default.clone())
            .map_or(Value::Null, Value::from)
    };
    let word = |v: Option<Value>| v.unwrap_or(Value::Null);
    let entries = [
        ("botName", pick(&t.name, &d.name)),
        ("poweredBy", pick(&t.powered_by, &d.powered_by)),
        ("botColor", pick(&t.color, &d.color)),
        ("botIcon", either(&t.icon, &d.icon)),
        ("botMsgBgColor", pick(&t.msg_bg_color, &d.msg_bg_color)),
        (
            "welcomeMessage",
            either(&t.welcome_message, &d.welcome_message),
        ),
        ("starterPrompts", Value::from(t.starter_prompts.clone())),
        (
            "position",
            word(serde_json::to_value(t.position.unwrap_or(d.position)).ok()),
        ),
        (
            "theme",
            word(serde_json::to_value(t.theme.unwrap_or(d.theme)).ok()),
        ),
        ("language", either(&t.language, &d.language)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// What a new session is made of, validated.
pub struct NewSession {
    /// Merged over the tenant's defaults.
    pub config: SessionConfig,
    pub user_identifier: Option<UserIdentifier>,
    /// The visitor's identity signature (body or header).
    pub user_signature: Option<String>,
}

/// Creates a session in one write; a publishable key naming a user must
/// carry the user's signature where the tenant requires one.
pub async fn create(state: &AppState, caller: &Caller, new: NewSession) -> ServiceResult<Session> {
    if caller.is_publishable()
        && let Some(user) = &new.user_identifier
    {
        // The secret is opened only when there is a signature to check.
        let opened = match &new.user_signature {
            Some(_) => open_identity_secret(state.repo.tenant_secrets(), &caller.tenant).await?,
            None => None,
        };
        check_identity(
            &caller.tenant,
            opened.as_ref(),
            user.as_str(),
            new.user_signature.as_deref(),
        )?;
    }
    let bot = bot_config_of(state, &caller.tenant);
    let mut config = Map::new();
    config.insert(
        "botName".into(),
        bot.get("botName").cloned().unwrap_or(Value::Null),
    );
    if !new.config.contains_key("aiProvider") {
        let provider = provider_choice::for_new_session(state, &caller.tenant)?;
        config.insert("aiProvider".into(), provider.into());
    }
    config.extend(new.config);

    let now = state.now_ms();
    let session = Session {
        tenant_id: caller.tenant_id(),
        session_id: Uuid::new_v4(),
        config,
        user_identifier: new.user_identifier.map(UserIdentifier::into_string),
        created_at: now,
        last_activity: now,
        message_count: 0,
        active_file: None,
        created_by_key: caller.session_owner(),
    };
    let expires = state.expires_at(&caller.tenant, now);
    state.repo.create_session(&session, expires).await?;
    crate::observe::metrics::session_created(session.tenant_id).emit();
    Ok(session)
}

/// A session and whether it is expired.
pub async fn details(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
) -> ServiceResult<(Session, bool)> {
    let session = load_session(state, caller, session_id).await?;
    let expired = session.is_expired(state.now_ms(), state.config.session_timeout_secs);
    Ok((session, expired))
}

/// The config keys a publishable key may change on its own sessions: what
/// the widget learns from the page it is on.
pub const PAGE_CONFIG_KEYS: [&str; 3] = ["pageContext", "pageData", "jsonData"];

/// Merges `changes` into the session's stored config. A publishable key may
/// change only [`PAGE_CONFIG_KEYS`], and only on its own sessions (one more
/// read, to prove it).
pub async fn update_config(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
    changes: &SessionConfig,
) -> ServiceResult<Session> {
    if caller.is_publishable() {
        if let Some(key) = changes
            .keys()
            .find(|k| !PAGE_CONFIG_KEYS.contains(&k.as_str()))
        {
            return Err(ServiceError::ConfigKeyNotAllowed(key.clone()));
        }
        load_session(state, caller, session_id).await?;
    }
    match state
        .repo
        .merge_config(
            caller.tenant_id(),
            session_id.uuid(),
            changes,
            MAX_CONFIG_BYTES,
        )
        .await?
    {
        MergeOutcome::Merged(session) => Ok(*session),
        MergeOutcome::NotFound => Err(ServiceError::SessionNotFound),
        MergeOutcome::TooLarge => Err(ServiceError::ConfigTooLarge {
            limit: MAX_CONFIG_BYTES,
        }),
    }
}
