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

/// Feedback counts of a session's replies, and its first user message
/// (cut short): what a tenant's session list shows without another read.
pub const FEEDBACK_UP: &str = "feedback_up";
pub const FEEDBACK_DOWN: &str = "feedback_down";
pub const PREVIEW: &str = "preview";

// A message's feedback (`MSG#`), beside the `Message` fields.
pub const FEEDBACK_RATING: &str = "feedback_rating";
pub const FEEDBACK_COMMENT: &str = "feedback_comment";
pub const FEEDBACK_AT: &str = "feedback_at";
pub const ROLE: &str = "role";
pub const TIMESTAMP: &str = "timestamp";

// Daily counters (`DAY#`).
pub const DATE: &str = "date";
pub const SESSIONS: &str = "sessions";
pub const MESSAGES: &str = "messages";
pub const NEW_USERS: &str = "new_users";
pub const UPLOADS: &str = "uploads";
pub const PROVIDER_ERRORS: &str = "provider_errors";
pub const INPUT_TOKENS: &str = "input_tokens";
pub const OUTPUT_TOKENS: &str = "output_tokens";

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
