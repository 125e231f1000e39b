//! Domain types: what a tenant, a session, a message and a file are.
//!
//! Each type (de)serializes to the attribute names stored in the table; the
//! HTTP layer maps them to the reference's JSON shapes.

mod django;
mod ids;
pub mod origin;
pub mod settings;

pub use ids::{
    InvalidSessionId, MAX_USER_IDENTIFIER_BYTES, MAX_USER_IDENTIFIER_CHARS, SessionId,
    UserIdentifier, UserIdentifierError,
};
pub use origin::{InvalidOrigin, OriginPattern, normalize_origin};
mod knowledge;
pub use knowledge::{KnowledgeDocument, STATUS_READY};
pub use settings::{
    BotSettings, BudgetSettings, KnowledgeSettings, LimitsSettings, OnExceeded, Position,
    SettingsError, TenantSettings, Theme,
};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A session's configuration: free-form JSON; keys the context builder reads
/// are listed in `context`, unknown keys are kept untouched.
pub type SessionConfig = Map<String, Value>;

/// A business using the platform. Its self-service fields are read and
/// written as one [`TenantSettings`] (`settings.rs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub tenant_id: Uuid,
    pub name: String,
    pub email: String,
    pub created_at: i64,
    /// The widget's branding over the deployment's `BOT_*` defaults.
    #[serde(default)]
    pub bot: BotSettings,
    /// Leads the system message of every conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// The provider of sessions that name none; the deployment's
    /// `DEFAULT_AI_PROVIDER` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_provider: Option<String>,
    /// The tenant's own OpenAI-compatible endpoint, used for `aiProvider:
    /// "custom"`. Its key is never returned by an endpoint nor logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_provider: Option<TenantProvider>,
    /// Where the tenant's pages are: browser origins, hosts or `*.`
    /// subdomains ([`OriginPattern`]). Requests from other pages are refused
    /// and the widget's frame may be embedded only there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<OriginPattern>,
    /// Signed visitor identity: how the tenant's server vouches for a
    /// `user_identifier` given to the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentitySettings>,
    /// Messages per hour per API key; the deployment's
    /// `RATE_LIMIT_MESSAGES_PER_HOUR` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_hour: Option<u32>,
    /// Days a session's data is kept after its last activity; the
    /// deployment's `CHAT_RETENTION_DAYS` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Configuration keys nothing here reads (an imported Django client's
    /// own), kept to be returned as they came.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra_config: Map<String, Value>,
    /// `settings.knowledge`: on/off and the limits.
    #[serde(default, skip_serializing_if = "KnowledgeSettings::is_default")]
    pub knowledge: KnowledgeSettings,
    /// `settings.limits`: the widget's per-visitor limit and tenant ceiling.
    #[serde(default, skip_serializing_if = "LimitsSettings::is_default")]
    pub limits: LimitsSettings,
    /// `settings.budget`: monthly caps.
    #[serde(default, skip_serializing_if = "BudgetSettings::is_default")]
    pub budget: BudgetSettings,
    /// What the knowledge base holds, kept on the tenant item so the send
    /// path (which has the tenant from authentication) knows without a
    /// read whether there is anything to search and which index is current.
    #[serde(default, skip_serializing_if = "KnowledgeState::is_empty")]
    pub knowledge_state: KnowledgeState,
}

/// The tenant's knowledge base at a glance: bumped on every change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeState {
    /// Bumped by every add and delete; an index cached by a process is
    /// current while its version is this one.
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub documents: u32,
    /// The documents' original bytes together.
    #[serde(default)]
    pub bytes: u64,
    /// The blob holding the index of this version (a fresh key per
    /// version, so a reader never sees a half-replaced index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_blob: Option<String>,
}

impl KnowledgeState {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A tenant's identity secret: `HMAC-SHA256(secret, user_identifier)` in hex
/// is the signature its server hands the widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentitySettings {
    pub secret: crate::Secret,
    /// When set, a publishable-key request naming a `user_identifier` must
    /// carry its signature.
    #[serde(default)]
    pub required: bool,
}

/// A tenant's own OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantProvider {
    /// Where `/chat/completions` is appended, e.g. `https://api.groq.com/openai/v1`.
    pub base_url: String,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<crate::Secret>,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// `cb_…`: for the tenant's servers; every endpoint.
    Secret,
    /// `pk_…`: safe to embed in a web page; chatting only, on the sessions
    /// it created, from the tenant's allowed origins.
    Publishable,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Secret => "cb_",
            KeyKind::Publishable => "pk_",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret",
            KeyKind::Publishable => "publishable",
        }
    }
}

/// An API key as stored: only its SHA-256, never the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_id: Uuid,
    pub tenant_id: Uuid,
    pub key_hash: String,
    /// The first characters of the key, to recognise it in listings.
    pub prefix: String,
    pub kind: KeyKind,
    pub created_at: i64,
    #[serde(default)]
    pub revoked: bool,
}

/// The file whose data the context builder includes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveFile {
    pub file_id: Uuid,
    pub name: String,
    pub file_type: String,
    pub size: u64,
    pub summary: String,
    pub columns: Vec<String>,
    pub rows: u64,
    /// The head of the data, already cut to the context budget.
    pub excerpt: String,
    pub uploaded_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub tenant_id: Uuid,
    pub session_id: Uuid,
    pub config: SessionConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identifier: Option<String>,
    pub created_at: i64,
    pub last_activity: i64,
    #[serde(default)]
    pub message_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_file: Option<ActiveFile>,
    /// The publishable key that created the session: only that key (or a
    /// secret key) may use it. `None` for sessions made with a secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_key: Option<Uuid>,
}

impl Session {
    /// Idle longer than the timeout.
    pub fn is_expired(&self, now_ms: i64, timeout_secs: i64) -> bool {
        now_ms.saturating_sub(self.last_activity) > timeout_secs.saturating_mul(1000)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: Uuid,
    pub role: Role,
    pub content: String,
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// Provider, model and the like; flattened into the message in history.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl Message {
    /// The reference's `Message.to_dict()`: role, content, timestamp (epoch
    /// ms) and every metadata key at the top level.
    pub fn to_dict(&self) -> Value {
        let mut out = Map::with_capacity(3 + self.metadata.len());
        for (k, v) in &self.metadata {
            out.insert(k.clone(), v.clone());
        }
        out.insert("role".into(), Value::from(self.role.as_str()));
        out.insert("content".into(), Value::from(self.content.clone()));
        out.insert("timestamp".into(), Value::from(self.timestamp));
        Value::Object(out)
    }
}

/// An uploaded file's record; the bytes live in the blob store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub file_id: Uuid,
    pub name: String,
    pub file_type: String,
    pub size: u64,
    pub blob_key: String,
    pub summary: String,
    pub columns: Vec<String>,
    pub rows: u64,
    pub uploaded_at: i64,
    pub is_active: bool,
}

/// A direct upload that was granted a presigned URL and is not completed yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingUpload {
    pub file_id: Uuid,
    pub name: String,
    pub file_type: String,
    pub content_type: String,
    /// The size the client announced.
    pub size: u64,
    pub created_at: i64,
    /// Epoch seconds after which the table may drop it.
    pub ttl: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_dict_flattens_metadata_as_the_reference_shows() {
        let mut metadata = Map::new();
        metadata.insert("provider".into(), "claude".into());
        metadata.insert("model".into(), "claude-3-5-haiku-20241022".into());
        let msg = Message {
            message_id: Uuid::nil(),
            role: Role::Assistant,
            content: "Hi! How can I help?".into(),
            timestamp: 1_759_902_466_933,
            metadata,
        };
        assert_eq!(
            msg.to_dict(),
            serde_json::json!({
                "role": "assistant",
                "content": "Hi! How can I help?",
                "timestamp": 1_759_902_466_933_i64,
                "provider": "claude",
                "model": "claude-3-5-haiku-20241022"
            })
        );
    }

    #[test]
    fn expiry_is_strictly_after_the_timeout() {
        let s = Session {
            tenant_id: Uuid::nil(),
            session_id: Uuid::nil(),
            config: Map::new(),
            user_identifier: None,
            created_at: 0,
            last_activity: 0,
            message_count: 0,
            active_file: None,
            created_by_key: None,
        };
        assert!(!s.is_expired(1_800_000, 1800));
        assert!(s.is_expired(1_800_001, 1800));
    }
}
