//! `chatctl import django` of the Django system's own dump
//! (tests/fixtures/django, taken from that system), read back through the
//! reference API with the Django keys: what the Django system showed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::http::{Method, StatusCode};
use chatctl::import::{self, ImportReport, Options};
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, spawn_app};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/django")
}

fn dump_path() -> PathBuf {
    fixtures().join("django-dumpdata.json")
}

/// The fixture's records, by model.
fn records(model: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dump_path()).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter().filter(|r| r["model"] == model).collect()
}

fn epoch_ms(text: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

async fn run(app: &TestApp, dump: &Path, media: bool, dry_run: bool) -> ImportReport {
    let options = Options {
        dump: dump.to_path_buf(),
        media_root: media.then(|| fixtures().join("django-media")),
        dry_run,
        progress: false,
    };
    import::django(&app.state, &options).await.unwrap()
}

/// A message as the reference's history shows it.
fn history_entry(message: &Value) -> Value {
    let f = &message["fields"];
    let mut out: Map<String, Value> = f["metadata"].as_object().cloned().unwrap_or_default();
    out.insert("role".into(), f["role"].clone());
    out.insert("content".into(), f["content"].clone());
    out.insert("timestamp".into(), epoch_ms(&f["timestamp"]).into());
    Value::Object(out)
}

async fn get(app: &TestApp, key: &str, path: &str) -> crate::helpers::Reply {
    app.call_as(Some(key), Method::GET, path, None).await
}

/// Every session of every client, read with that client's key: details,
/// history, and the counters; another client's session is not found.
async fn check_sessions_and_stats(app: &TestApp) {
    let clients = records("clients.client");
    let sessions = records("chat.session");
    let messages = records("chat.message");
    let uploads = records("chat.fileupload");
    for client in clients.iter().filter(|c| c["fields"]["is_active"] == true) {
        let key = client["fields"]["api_key"].as_str().unwrap();
        let mine: Vec<&Value> = sessions
            .iter()
            .filter(|s| s["fields"]["client"] == client["pk"])
            .collect();
        let mut users: BTreeMap<String, i64> = BTreeMap::new();
        for session in &mine {
            let id = session["pk"].as_str().unwrap();
            let f = &session["fields"];
            let expected: Vec<Value> = messages
                .iter()
                .filter(|m| m["fields"]["session"] == session["pk"])
                .map(history_entry)
                .collect();
            let details = get(app, key, &format!("/api/chat/sessions/{id}")).await;
            assert_eq!(details.status, StatusCode::OK, "{}", details.body);
            assert_eq!(details.body["userIdentifier"], f["user_identifier"]);
            assert_eq!(details.body["config"], f["config"]);
            assert_eq!(details.body["messageCount"], expected.len());
            let has_file = uploads
                .iter()
                .any(|u| u["fields"]["session"] == session["pk"]);
            assert_eq!(details.body["hasFile"], has_file);
            assert_eq!(
                details.body["createdAt"],
                chat_shared::clock::iso8601(epoch_ms(&f["created_at"]))
            );
            assert_eq!(
                details.body["lastActivity"],
                chat_shared::clock::iso8601(epoch_ms(&f["last_activity"]))
            );
            let history = get(app, key, &format!("/api/chat/messages/history/{id}")).await;
            assert_eq!(history.status, StatusCode::OK, "{}", history.body);
            let mut shown = history.body["messages"].as_array().unwrap().clone();
            for message in &mut shown {
                // Our own addition, where history has it: the message's id.
                if let Some(id) = message.as_object_mut().unwrap().remove("messageId") {
                    assert!(id.is_string(), "{id}");
                }
            }
            assert_eq!(shown, expected, "{id}");
            if let Some(user) = f["user_identifier"].as_str() {
                *users.entry(user.to_owned()).or_default() += 1;
            }
        }
        let stats = app
            .call_as(
                Some(key),
                Method::GET,
                "/api/chat/sessions/stats/by-user",
                None,
            )
            .await;
        let with_user: i64 = users.values().sum();
        assert_eq!(stats.body["userStats"], json!(users));
        assert_eq!(
            stats.body["summary"],
            json!({
                "totalSessions": mine.len(),
                "sessionsWithUser": with_user,
                "sessionsWithoutUser": mine.len() as i64 - with_user,
                "uniqueUsers": users.len()
            })
        );
        let theirs = sessions
            .iter()
            .find(|s| s["fields"]["client"] != client["pk"])
            .unwrap();
        let path = format!("/api/chat/sessions/{}", theirs["pk"].as_str().unwrap());
        let other = app.call_as(Some(key), Method::GET, &path, None).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
    }
}

/// Each upload as the session's active file: its info and a query on it.
async fn check_files(app: &TestApp) {
    let clients = records("clients.client");
    let sessions = records("chat.session");
    for upload in records("chat.fileupload") {
        let f = &upload["fields"];
        let session = sessions.iter().find(|s| s["pk"] == f["session"]).unwrap();
        let client = clients
            .iter()
            .find(|c| c["pk"] == session["fields"]["client"])
            .unwrap();
        let key = client["fields"]["api_key"].as_str().unwrap();
        let id = f["session"].as_str().unwrap();
        let info = app
            .call_as(
                Some(key),
                Method::GET,
                &format!("/api/chat/files/info/{id}"),
                None,
            )
            .await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.body);
        let file = &info.body["file"];
        assert_eq!(info.body["hasFile"], true);
        assert_eq!(file["name"], f["original_name"]);
        assert_eq!(file["type"], f["file_type"]);
        assert_eq!(file["size"], f["file_size"]);
        assert_eq!(file["rows"], f["processed_data"]["totalRows"]);
        assert_eq!(file["columns"], f["processed_data"]["headers"]);
        assert_eq!(file["uploadedAt"], epoch_ms(&f["uploaded_at"]));
        // Row 2 of 12: no other row's name contains its own.
        let row = &f["processed_data"]["rows"][2];
        let query = app
            .call_as(
                Some(key),
                Method::POST,
                &format!("/api/chat/files/query/{id}"),
                Some(json!({"query": row["name"]})),
            )
            .await;
        assert_eq!(query.status, StatusCode::OK, "{}", query.body);
        assert_eq!(query.body["count"], 1);
        assert_eq!(query.body["results"][0], *row);
    }
}

/// Each client's config on its tenant's settings, and back as it came.
async fn check_settings(app: &TestApp) {
    for client in records("clients.client") {
        let id = client["pk"].as_str().unwrap().parse().unwrap();
        let tenant = app.state.repo.get_tenant(id).await.unwrap().unwrap();
        assert_eq!(tenant.name, client["fields"]["name"]);
        assert_eq!(tenant.email, client["fields"]["email"]);
        assert_eq!(tenant.created_at, epoch_ms(&client["fields"]["created_at"]));
        assert_eq!(
            Value::Object(tenant.django_config()),
            client["fields"]["config"]
        );
    }
    let kettle = records("clients.client")
        .into_iter()
        .find(|c| c["fields"]["name"] == "Kettle Shop")
        .unwrap();
    let id = kettle["pk"].as_str().unwrap().parse().unwrap();
    let tenant = app.state.repo.get_tenant(id).await.unwrap().unwrap();
    assert_eq!(tenant.bot.name.as_deref(), Some("Kettle Helper"));
    assert_eq!(tenant.bot.color.as_deref(), Some("#0f766e"));
    assert_eq!(tenant.bot.powered_by.as_deref(), Some("Kettle AI"));
    assert_eq!(
        tenant.system_prompt.as_deref(),
        Some("You are the Kettle Shop assistant. Answer about kettles only.")
    );
    // `*.kettle.test` stays a wildcard, on a domain boundary.
    assert!(tenant.origin_listed("https://shop.test"));
    assert!(tenant.origin_listed("https://www.kettle.test"));
    assert!(!tenant.origin_listed("https://evil-kettle.test"));
}

#[tokio::test]
async fn the_django_dump_reads_back_with_the_old_keys() {
    let app = spawn_app().await;
    let report = run(&app, &dump_path(), true, false).await;
    assert_eq!(report.records, 127);
    assert_eq!(report.skipped, vec![], "{report}");
    assert_eq!((report.tenants.new, report.keys.new), (3, 3));
    assert_eq!(report.revoked_keys, 1);
    assert_eq!(report.sessions.new, 24);
    assert_eq!(report.messages.new, 94);
    assert_eq!((report.files.new, report.files_rebuilt), (6, 0));

    check_sessions_and_stats(&app).await;
    check_files(&app).await;
    check_settings(&app).await;

    let inactive = records("clients.client")
        .into_iter()
        .find(|c| c["fields"]["is_active"] == false)
        .unwrap();
    let key = inactive["fields"]["api_key"].as_str().unwrap();
    let refused = app
        .call_as(
            Some(key),
            Method::GET,
            "/api/chat/sessions/stats/summary",
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);

    let again = run(&app, &dump_path(), true, false).await;
    assert!(again.nothing_new(), "{again}");
    assert!(again.to_string().contains("Nothing new"), "{again}");
    assert_eq!(again.sessions.existing, 24);
    assert_eq!(again.messages.existing, 94);
    assert_eq!(again.files.existing, 6);
    check_sessions_and_stats(&app).await;
    let dry = run(&app, &dump_path(), true, true).await;
    assert!(dry.nothing_new(), "{dry}");
    assert_eq!(dry.messages.existing, 94);
}

/// The fixture as `dumpdata --indent 1` writes it, with these records.
fn write_dump(dir: &Path, records: &[String]) -> PathBuf {
    let path = dir.join("dump.json");
    std::fs::write(&path, format!("[\n{}\n]\n", records.join(",\n"))).unwrap();
    path
}

/// A record as `dumpdata --indent 1` writes it: model, pk, then fields.
fn pretty(record: &Value) -> String {
    format!(
        "{{\n \"model\": {},\n \"pk\": {},\n \"fields\": {}\n}}",
        record["model"],
        record["pk"],
        serde_json::to_string_pretty(&record["fields"]).unwrap()
    )
}

#[tokio::test]
async fn a_corrupted_dump_reports_the_bad_records_and_imports_the_rest() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dump_path()).unwrap()).unwrap();
    // A config key nothing here knows, and a colour the settings refuse:
    // both kept as they came; the refused one is reported.
    let travel = all
        .iter()
        .position(|r| r["fields"]["name"] == "Travel Co")
        .unwrap();
    let config = &mut all[travel]["fields"]["config"];
    config["legacy_greeting"] = json!({"en": "Hello"});
    config["primary_color"] = json!("blue-ish");
    let given = config.clone();
    let mut texts: Vec<String> = all.iter().map(pretty).collect();
    let message_at = |pk: i64| {
        all.iter()
            .position(|r| r["model"] == "chat.message" && r["pk"] == pk)
            .unwrap()
    };
    // A closing quote lost: the record is unreadable JSON.
    let broken = message_at(12);
    texts[broken] = texts[broken].replacen("\"role\": \"user\"", "\"role\": \"user", 1);
    // A timestamp Django never wrote.
    let bad_time = message_at(13);
    texts[bad_time] =
        texts[bad_time].replacen("\"timestamp\": \"2026", "\"timestamp\": \"x2026", 1);
    // Another app's model, and a message of a session not in the dump.
    texts.push(pretty(
        &json!({"model": "auth.user", "pk": 1, "fields": {"username": "admin"}}),
    ));
    texts.push(pretty(
        &json!({"model": "chat.message", "pk": 999, "fields": {
        "session": "00000000-0000-4000-8000-000000000000", "role": "user",
        "content": "lost", "timestamp": "2026-12-01T13:30:00Z", "metadata": {}}}),
    ));
    // A message larger than any item the store takes, among good ones.
    let mut huge = all[message_at(14)].clone();
    huge["pk"] = json!(1000);
    huge["fields"]["content"] = json!("x".repeat(500 * 1024));
    texts.push(pretty(&huge));
    let dump = write_dump(dir.path(), &texts);

    let report = run(&app, &dump, false, false).await;
    let reasons: Vec<(u64, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.index, s.reason.as_str()))
        .collect();
    assert_eq!(report.skipped.len(), 5, "{report}");
    assert!(report.failed.is_empty(), "{report}");
    assert_eq!(reasons[0].0, broken as u64 + 1);
    assert!(reasons[0].1.starts_with("bad JSON"), "{report}");
    assert_eq!(reasons[1].0, bad_time as u64 + 1);
    assert!(reasons[1].1.contains("is not a timestamp"), "{report}");
    assert_eq!(reasons[2].1, "unknown model auth.user");
    assert!(reasons[3].1.starts_with("orphan message"), "{report}");
    assert!(
        reasons[4].1.starts_with("the store refuses this message"),
        "{report}"
    );
    assert_eq!(reasons[4].0, texts.len() as u64);
    assert_eq!(report.sessions.new, 24);
    assert_eq!(report.messages.new, 92);
    // Without the media root, the files come back from processed_data.
    assert_eq!((report.files.new, report.files_rebuilt), (6, 6));
    check_files(&app).await;
    assert_eq!(report.warnings.len(), 1, "{report}");
    assert!(
        report.warnings[0].reason.contains("primary_color"),
        "{report}"
    );
    let id = all[travel]["pk"].as_str().unwrap().parse().unwrap();
    let tenant = app.state.repo.get_tenant(id).await.unwrap().unwrap();
    assert_eq!(Value::Object(tenant.django_config()), given);
    assert_eq!(tenant.bot.name.as_deref(), Some("Trip Bot"));
    assert_eq!(tenant.bot.color, None);
    let text = report.to_string();
    assert!(text.contains("bad JSON: unterminated string"), "{text}");
}

#[tokio::test]
async fn an_interrupted_import_resumes_and_a_dry_run_writes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dump_path()).unwrap()).unwrap();

    let dry = run(&app, &dump_path(), true, true).await;
    assert_eq!(
        (dry.sessions.new, dry.messages.new, dry.files.new),
        (24, 94, 6)
    );
    assert!(
        dry.to_string().starts_with("Dry run: nothing written"),
        "{dry}"
    );
    let client = &records("clients.client")[0];
    let key = client["fields"]["api_key"].as_str().unwrap();
    let before = app
        .call_as(
            Some(key),
            Method::GET,
            "/api/chat/sessions/stats/summary",
            None,
        )
        .await;
    assert_eq!(
        before.status,
        StatusCode::UNAUTHORIZED,
        "nothing imported yet"
    );

    // A first run stopped half-way through the messages (the dump's
    // records up to there), then the whole dump.
    let half = all.iter().filter(|r| r["model"] == "chat.message").count() / 2;
    let mut seen = 0;
    let partial: Vec<String> = all
        .iter()
        .filter(|r| {
            if r["model"] != "chat.message" {
                return true;
            }
            seen += 1;
            seen <= half
        })
        .map(pretty)
        .collect();
    let first = run(&app, &write_dump(dir.path(), &partial), true, false).await;
    assert_eq!(first.messages.new, half as u64);
    let rest = run(&app, &dump_path(), true, false).await;
    assert_eq!(rest.sessions.existing, 24);
    assert_eq!(
        (rest.messages.new, rest.messages.existing),
        (94 - half as u64, half as u64)
    );
    check_sessions_and_stats(&app).await;
}
