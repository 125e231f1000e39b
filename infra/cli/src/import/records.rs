//! The Django models a `dumpdata clients chat` holds, read from one record
//! each, with their timestamps as epoch milliseconds. Field names are the
//! dump's (see tests/fixtures/django/django-dumpdata.json).

use chat_shared::model::{Role, UserIdentifier};
use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

/// `clients.client`
#[derive(Debug, Clone)]
pub struct Client {
    pub id: Uuid,
    pub api_key: String,
    pub name: String,
    pub email: String,
    pub config: Map<String, Value>,
    pub is_active: bool,
    pub created_at: i64,
}

/// `chat.session`
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub client: Uuid,
    pub user_identifier: Option<String>,
    pub config: Map<String, Value>,
    pub created_at: i64,
    pub last_activity: i64,
}

/// `chat.message`; `pk` is the creation order.
#[derive(Debug, Clone)]
pub struct Message {
    pub pk: i64,
    pub session: Uuid,
    pub role: Role,
    pub content: String,
    pub timestamp: i64,
    pub metadata: Map<String, Value>,
}

/// `chat.fileupload`
#[derive(Debug, Clone)]
pub struct FileUpload {
    pub pk: i64,
    pub session: Uuid,
    pub original_name: String,
    pub file_path: String,
    pub file_type: String,
    /// The original's size, as Django recorded it.
    pub file_size: u64,
    pub processed_data: Value,
    pub uploaded_at: i64,
    pub is_active: bool,
}

#[derive(Debug, Clone)]
pub enum Record {
    Client(Client),
    Session(Session),
    Message(Message),
    FileUpload(FileUpload),
}

/// A record that was read but cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// `app.model` and pk, when the record got that far.
    pub model: Option<String>,
    pub pk: Option<String>,
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope {
    model: String,
    pk: Value,
    fields: Value,
}

#[derive(Deserialize)]
struct ClientFields {
    api_key: String,
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    config: Option<Map<String, Value>>,
    #[serde(default = "yes")]
    is_active: bool,
    created_at: String,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct SessionFields {
    client: Uuid,
    #[serde(default)]
    user_identifier: Option<String>,
    #[serde(default)]
    config: Option<Map<String, Value>>,
    created_at: String,
    last_activity: Option<String>,
}

#[derive(Deserialize)]
struct MessageFields {
    session: Uuid,
    role: Role,
    content: String,
    timestamp: String,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct FileFields {
    session: Uuid,
    original_name: String,
    #[serde(default)]
    file_path: String,
    #[serde(default)]
    file_type: String,
    #[serde(default)]
    file_size: u64,
    #[serde(default)]
    processed_data: Value,
    uploaded_at: String,
    #[serde(default = "yes")]
    is_active: bool,
}

/// Reads one record of the dump.
pub fn parse(body: &[u8]) -> Result<Record, Unreadable> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| Unreadable {
        model: None,
        pk: None,
        reason: format!("bad JSON: {e}"),
    })?;
    let pk_text = match &envelope.pk {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let fail = |reason: String| Unreadable {
        model: Some(envelope.model.clone()),
        pk: Some(pk_text.clone()),
        reason,
    };
    match envelope.model.as_str() {
        "clients.client" => client(&envelope).map(Record::Client),
        "chat.session" => session(&envelope).map(Record::Session),
        "chat.message" => message(&envelope).map(Record::Message),
        "chat.fileupload" => file_upload(&envelope).map(Record::FileUpload),
        other => Err(format!("unknown model {other}")),
    }
    .map_err(fail)
}

fn fields<T: DeserializeOwned>(envelope: &Envelope) -> Result<T, String> {
    T::deserialize(&envelope.fields).map_err(|e| format!("bad fields: {e}"))
}

fn uuid_pk(envelope: &Envelope) -> Result<Uuid, String> {
    envelope
        .pk
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| format!("pk {} is not a UUID", envelope.pk))
}

fn int_pk(envelope: &Envelope) -> Result<i64, String> {
    envelope
        .pk
        .as_i64()
        .filter(|pk| *pk >= 0)
        .ok_or_else(|| format!("pk {} is not a non-negative integer", envelope.pk))
}

fn client(envelope: &Envelope) -> Result<Client, String> {
    let id = uuid_pk(envelope)?;
    let f: ClientFields = fields(envelope)?;
    if f.api_key.trim().is_empty() {
        return Err("empty api_key".into());
    }
    Ok(Client {
        id,
        api_key: f.api_key,
        name: f.name,
        email: f.email,
        config: f.config.unwrap_or_default(),
        is_active: f.is_active,
        created_at: timestamp("created_at", &f.created_at)?,
    })
}

fn session(envelope: &Envelope) -> Result<Session, String> {
    let id = uuid_pk(envelope)?;
    let f: SessionFields = fields(envelope)?;
    let user_identifier = UserIdentifier::parse_optional(f.user_identifier.as_deref())
        .map_err(|e| format!("{e}"))?
        .map(UserIdentifier::into_string);
    let created_at = timestamp("created_at", &f.created_at)?;
    let last_activity = match &f.last_activity {
        Some(text) => timestamp("last_activity", text)?,
        None => created_at,
    };
    Ok(Session {
        id,
        client: f.client,
        user_identifier,
        config: f.config.unwrap_or_default(),
        created_at,
        last_activity,
    })
}

fn message(envelope: &Envelope) -> Result<Message, String> {
    let pk = int_pk(envelope)?;
    let f: MessageFields = fields(envelope)?;
    Ok(Message {
        pk,
        session: f.session,
        role: f.role,
        content: f.content,
        timestamp: timestamp("timestamp", &f.timestamp)?,
        metadata: f.metadata.unwrap_or_default(),
    })
}

fn file_upload(envelope: &Envelope) -> Result<FileUpload, String> {
    let pk = int_pk(envelope)?;
    let f: FileFields = fields(envelope)?;
    Ok(FileUpload {
        pk,
        session: f.session,
        original_name: f.original_name,
        file_path: f.file_path,
        file_type: f.file_type,
        file_size: f.file_size,
        processed_data: f.processed_data,
        uploaded_at: timestamp("uploaded_at", &f.uploaded_at)?,
        is_active: f.is_active,
    })
}

/// Django's JSON timestamps: RFC 3339 (`…Z` or `…+00:00`), or naive
/// (`USE_TZ = False`), taken as UTC.
fn timestamp(field: &str, text: &str) -> Result<i64, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| format!("{field} `{text}` is not a timestamp"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_each_model_of_the_dump() {
        let message = br#"{"model": "chat.message", "pk": 10, "fields": {"session": "1ae8f7e0-1cdf-4e11-bfb3-04f363dd68bd", "role": "assistant", "content": "hi \u2713", "timestamp": "2026-12-01T13:26:18.633Z", "metadata": {"model": "dummy-1.0"}}}"#;
        let Ok(Record::Message(m)) = parse(message) else {
            panic!("a message");
        };
        assert_eq!(
            (m.pk, m.role, m.content.as_str()),
            (10, Role::Assistant, "hi ✓")
        );
        assert_eq!(m.timestamp, 1_796_131_578_633);
        let client = br#"{"model": "clients.client", "pk": "df5963fb-6dd8-4cfa-b13b-5d901e0414c3", "fields": {"api_key": "cb_x", "name": "Old", "email": "o@o.test", "config": {}, "is_active": false, "created_at": "2026-12-01T13:26:14.035+00:00", "updated_at": "2026-12-01T13:26:14.035Z"}}"#;
        let Ok(Record::Client(c)) = parse(client) else {
            panic!("a client");
        };
        assert!(!c.is_active);
        assert_eq!(c.created_at, 1_796_131_574_035);
    }

    #[test]
    fn says_why_a_record_is_unreadable() {
        let unknown = parse(br#"{"model": "auth.user", "pk": 1, "fields": {}}"#).unwrap_err();
        assert_eq!(unknown.reason, "unknown model auth.user");
        assert_eq!(unknown.pk.as_deref(), Some("1"));
        let bad = parse(br#"{"model": "chat.message", "pk": 3, "fields": {"session": "x"}}"#)
            .unwrap_err();
        assert!(bad.reason.starts_with("bad fields"), "{}", bad.reason);
        let role = parse(br#"{"model": "chat.message", "pk": 3, "fields": {"session": "1ae8f7e0-1cdf-4e11-bfb3-04f363dd68bd", "role": "robot", "content": "", "timestamp": "2026-12-01T13:26:18Z"}}"#).unwrap_err();
        assert!(role.reason.contains("robot"), "{}", role.reason);
        let json = parse(b"{\"model\": ").unwrap_err();
        assert!(json.reason.starts_with("bad JSON"));
        let time = parse(br#"{"model": "chat.message", "pk": 3, "fields": {"session": "1ae8f7e0-1cdf-4e11-bfb3-04f363dd68bd", "role": "user", "content": "", "timestamp": "yesterday"}}"#).unwrap_err();
        assert_eq!(time.reason, "timestamp `yesterday` is not a timestamp");
    }
}
