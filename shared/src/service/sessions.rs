//! Sessions: create one, read one, merge into its config.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, load_session};
use crate::AppState;
use crate::auth::{Caller, check_identity};
use crate::http::extract::MAX_CONFIG_BYTES;
use crate::model::{Session, SessionConfig, SessionId, Tenant, UserIdentifier};
use crate::store::repo::MergeOutcome;

/// A tenant's bot settings over the environment's defaults, by the
/// reference's field names.
pub fn bot_config_of(state: &AppState, tenant: &Tenant) -> Map<String, Value> {
    let d = &state.config.bot;
    let t = &tenant.bot;
    let mut out = Map::new();
    let pick =
        |own: &Option<String>, default: &str| own.clone().unwrap_or_else(|| default.to_owned());
    out.insert("botName".into(), pick(&t.name, &d.name).into());
    out.insert(
        "poweredBy".into(),
        pick(&t.powered_by, &d.powered_by).into(),
    );
    out.insert("botColor".into(), pick(&t.color, &d.color).into());
    out.insert(
        "botIcon".into(),
        t.icon
            .clone()
            .or_else(|| d.icon.clone())
            .map_or(Value::Null, Value::from),
    );
    out.insert(
        "botMsgBgColor".into(),
        pick(&t.msg_bg_color, &d.msg_bg_color).into(),
    );
    out
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
        check_identity(&caller.tenant, user.as_str(), new.user_signature.as_deref())?;
    }
    let bot = bot_config_of(state, &caller.tenant);
    let mut config = Map::new();
    config.insert(
        "botName".into(),
        bot.get("botName").cloned().unwrap_or(Value::Null),
    );
    config.insert(
        "aiProvider".into(),
        state.config.default_provider.clone().into(),
    );
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

/// Merges `changes` into the session's stored config.
pub async fn update_config(
    state: &AppState,
    caller: &Caller,
    session_id: SessionId,
    changes: &SessionConfig,
) -> ServiceResult<Session> {
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
