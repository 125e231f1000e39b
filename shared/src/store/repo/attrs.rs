//! Attribute names the repository reads or writes one by one (whole items
//! are serialized from the model types): one place per name. Each must be
//! the serde name of the model field it stands for.

// Sessions (`Session`).
pub const CONFIG: &str = "config";
pub const CREATED_AT: &str = "created_at";
pub const LAST_ACTIVITY: &str = "last_activity";
pub const MESSAGE_COUNT: &str = "message_count";
pub const ACTIVE_FILE: &str = "active_file";
/// The active file's id beside the active file, so a condition can compare it.
pub const ACTIVE_FILE_ID: &str = "active_file_id";

// Files (`FileRecord`).
pub const IS_ACTIVE: &str = "is_active";

// API keys (`ApiKeyRecord`; `KeyListing` on the tenant's listing item).
pub const REVOKED: &str = "revoked";
pub const LAST_USED_AT: &str = "last_used_at";

// Tenants: bumped by every change of the tenant item or of its set of
// active keys, so a read-modify-write can be conditional on what it read.
pub const VERSION: &str = "version";

// Tenant counters (`STATS`).
pub const TOTAL_SESSIONS: &str = "total_sessions";
pub const SESSIONS_WITH_USER: &str = "sessions_with_user";
pub const SESSIONS_WITHOUT_USER: &str = "sessions_without_user";

// User counters (`USER#`) and a user's session-list entries.
pub const USER_IDENTIFIER: &str = "user_identifier";
pub const SESSION_COUNT: &str = "session_count";
pub const FIRST_SEEN: &str = "first_seen";
pub const LAST_SEEN: &str = "last_seen";
pub const SESSION_ID: &str = "session_id";

// Rate-limit counters (`RATE`).
pub const COUNT: &str = "count";
