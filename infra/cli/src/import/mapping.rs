//! Django records as our model's items: a client as a tenant and its key, a
//! session and its messages as ours.

use chat_shared::auth::hash_key;
use chat_shared::model::{ApiKeyRecord, KeyKind, Message, Session, Tenant};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::ids;
use super::records;

/// Characters of a key kept to recognise it in listings, as ours keep.
const KEY_PREFIX_CHARS: usize = 9;

/// The tenant a client becomes, its id kept, its `config` on the tenant's
/// settings (the settings model's own Django mapping; unknown keys kept).
/// A key whose value the settings refuse is kept as given, not applied;
/// the second value says which and why.
pub fn tenant(client: &records::Client) -> (Tenant, Vec<String>) {
    let mut tenant = Tenant {
        tenant_id: client.id,
        name: client.name.clone(),
        email: client.email.clone(),
        created_at: client.created_at,
        ..Tenant::default()
    };
    let mut refused = Vec::new();
    if tenant.merge_django_config(&client.config).is_err() {
        // All or nothing there: apply what is valid, one key at a time.
        for (key, value) in &client.config {
            let one: Map<String, Value> = [(key.clone(), value.clone())].into_iter().collect();
            if let Err(e) = tenant.merge_django_config(&one) {
                refused.push(format!("config {e}: kept as given, not applied"));
                tenant.extra_config.insert(key.clone(), value.clone());
            }
        }
    }
    (tenant, refused)
}

/// The client's key, stored only as its SHA-256; revoked for an inactive
/// client.
pub fn key(client: &records::Client) -> ApiKeyRecord {
    let key_hash = hash_key(&client.api_key);
    ApiKeyRecord {
        key_id: ids::key(&key_hash, client.created_at),
        tenant_id: client.id,
        prefix: client.api_key.chars().take(KEY_PREFIX_CHARS).collect(),
        key_hash,
        kind: KeyKind::Secret,
        created_at: client.created_at,
        revoked: !client.is_active,
    }
}

/// Whether our authenticator will take this key (it starts `cb_`).
pub fn key_usable(client: &records::Client) -> bool {
    client.api_key.starts_with(KeyKind::Secret.prefix())
}

/// The session, its ids and times kept; its messages add their count.
pub fn session(session: &records::Session) -> Session {
    Session {
        tenant_id: session.client,
        session_id: session.id,
        config: session.config.clone(),
        user_identifier: session.user_identifier.clone(),
        created_at: session.created_at,
        last_activity: session.last_activity,
        message_count: 0,
        active_file: None,
        created_by_key: None,
    }
}

/// The message, with an id a re-run finds again.
pub fn message(message: records::Message) -> Message {
    Message {
        message_id: ids::message(message.session, message.pk, message.timestamp),
        role: message.role,
        content: message.content,
        timestamp: message.timestamp,
        metadata: message.metadata,
    }
}

/// The session item as the import needs it for writes that follow its own
/// (messages, files): no config, no counters.
pub fn session_stub(tenant: Uuid, id: Uuid, meta: &SessionMeta) -> Session {
    Session {
        tenant_id: tenant,
        session_id: id,
        config: Default::default(),
        user_identifier: meta.user.as_deref().map(str::to_owned),
        created_at: meta.created_at,
        last_activity: meta.last_activity,
        message_count: 0,
        active_file: None,
        created_by_key: None,
    }
}

/// What the import remembers of an imported session (not its config: a
/// session costs these few bytes, a message nothing).
#[derive(Debug, Clone)]
pub struct SessionMeta {
    pub tenant: Uuid,
    pub user: Option<Box<str>>,
    pub created_at: i64,
    pub last_activity: i64,
    /// Found already stored (a dry run counts its messages as there).
    pub stored: bool,
}
