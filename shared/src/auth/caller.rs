//! Who is calling: the tenant and the key it used, and what that key may
//! touch. The extractors that build these from a request are in
//! `http::caller`.

use std::sync::Arc;

use uuid::Uuid;

use super::AuthError;
use super::identity::check_identity;
use crate::config::Secret;
use crate::model::{ApiKeyRecord, KeyKind, Session, Tenant};

/// The authenticated caller: the tenant and the key it used.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Arc<Tenant>,
    pub key: Arc<ApiKeyRecord>,
    /// `X-User-Signature`, as sent (publishable-key requests).
    pub user_signature: Option<String>,
    /// The tenant's identity secret, opened when a signature came with the
    /// request (it is sealed on the tenant item).
    pub identity_secret: Option<Secret>,
}

impl Caller {
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.tenant_id
    }

    pub fn is_publishable(&self) -> bool {
        self.key.kind == KeyKind::Publishable
    }

    /// The key to store on a session this caller creates: a publishable key
    /// may use only the sessions it created.
    pub fn session_owner(&self) -> Option<Uuid> {
        self.is_publishable().then_some(self.key.key_id)
    }

    /// Whether this caller may use the session: any session of the tenant
    /// with a secret key; with a publishable key only the sessions it
    /// created (others are 404, as if absent) and, when the session names a
    /// visitor, only with that visitor's signature where the tenant asks
    /// for one.
    pub fn authorize(&self, session: &Session) -> Result<(), AuthError> {
        if !self.is_publishable() {
            return Ok(());
        }
        if session.created_by_key != Some(self.key.key_id) {
            return Err(AuthError::SessionNotFound);
        }
        match &session.user_identifier {
            Some(user) => check_identity(
                &self.tenant,
                self.identity_secret.as_ref(),
                user,
                self.user_signature.as_deref(),
            ),
            None => Ok(()),
        }
    }
}

/// A caller with either kind of key, for the endpoints the widget uses.
/// Publishable keys are checked against the browser `Origin` when it is
/// extracted.
#[derive(Debug, Clone)]
pub struct WidgetCaller(pub Caller);
