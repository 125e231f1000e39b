//! File endpoints: upload, info, query, delete; limits and bad content.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{START_MS, config, spawn_app, spawn_app_with};

const CSV: &[u8] = b"id,name,email\n1,Alice,alice@example.com\n2,Bob,bob@example.com\n3,Carol,carol@shop.example\n";

#[tokio::test]
async fn upload_info_query_and_delete_a_csv() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app
        .upload(Some(&id), Some(("data.csv", "text/csv", CSV)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["sessionId"], id.as_str());
    assert_eq!(reply.body["status"], "uploaded");
    let file = &reply.body["file"];
    assert_eq!(file["name"], "data.csv");
    assert_eq!(file["type"], "csv");
    assert_eq!(file["size"], CSV.len());
    assert_eq!(file["rows"], 3);
    assert_eq!(file["columns"], json!(["id", "name", "email"]));
    assert!(
        file["summary"].as_str().unwrap().contains("3 rows"),
        "{}",
        file["summary"]
    );

    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.body["hasFile"], true);
    assert_eq!(info.body["file"]["name"], "data.csv");
    assert_eq!(info.body["file"]["type"], "csv");
    assert_eq!(info.body["file"]["size"], CSV.len());
    assert_eq!(info.body["file"]["summary"], file["summary"]);
    assert_eq!(info.body["file"]["uploadedAt"], START_MS);
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(details.body["hasFile"], true);

    let query = app
        .post(
            &format!("/api/chat/files/query/{id}"),
            json!({"query": "EXAMPLE.COM"}),
        )
        .await;
    assert_eq!(query.status, StatusCode::OK, "{}", query.body);
    assert_eq!(query.body["count"], 2);
    assert_eq!(
        query.body["results"][0],
        json!({"id": "1", "name": "Alice", "email": "alice@example.com"})
    );
    let limited = app
        .post(
            &format!("/api/chat/files/query/{id}"),
            json!({"query": "example", "limit": 1}),
        )
        .await;
    assert_eq!(limited.body["count"], 1);
    assert_eq!(limited.body["totalMatches"], 3);

    let reply = app.send_message(&id, "What is in the file?").await;
    assert!(
        reply.body["response"]
            .as_str()
            .unwrap()
            .contains("file data: yes")
    );

    let deleted = app
        .call(Method::DELETE, &format!("/api/chat/files/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body, json!({"status": "deleted", "sessionId": id}));
    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(info.body, json!({"hasFile": false, "file": null}));
    let again = app
        .call(Method::DELETE, &format!("/api/chat/files/{id}"), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let query = app
        .post(
            &format!("/api/chat/files/query/{id}"),
            json!({"query": "alice"}),
        )
        .await;
    assert_eq!(query.status, StatusCode::NOT_FOUND);
    let reply = app.send_message(&id, "And now?").await;
    assert!(
        reply.body["response"]
            .as_str()
            .unwrap()
            .contains("file data: no")
    );
}

#[tokio::test]
async fn a_new_upload_replaces_the_active_file() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    app.upload(Some(&id), Some(("first.csv", "text/csv", CSV)))
        .await;
    let json_file =
        br#"[{"product": "Widget", "revenue": 120.5}, {"product": "Gadget", "revenue": 99}]"#;
    let reply = app
        .upload(
            Some(&id),
            Some(("sales.json", "application/json", json_file)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["file"]["type"], "json");
    assert_eq!(reply.body["file"]["rows"], 2);
    assert_eq!(reply.body["file"]["columns"], json!(["product", "revenue"]));
    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(info.body["file"]["name"], "sales.json");
    let query = app
        .post(
            &format!("/api/chat/files/query/{id}"),
            json!({"query": "gadget"}),
        )
        .await;
    assert_eq!(
        query.body["results"],
        json!([{"product": "Gadget", "revenue": 99}])
    );
}

#[tokio::test]
async fn unsupported_types_are_415() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app
        .upload(
            Some(&id),
            Some(("report.pdf", "application/pdf", b"%PDF-1.4")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.body["error"], "Unsupported file type");
    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(info.body["hasFile"], false);
}

#[tokio::test]
async fn files_over_the_limit_are_413() {
    let app = spawn_app_with(config(&[("FILE_UPLOAD_MAX_MEMORY_SIZE", "1000")]), None).await;
    let id = app.create_session(json!({"config": {}})).await;
    let big = "a,b\n".repeat(300);
    let reply = app
        .upload(Some(&id), Some(("big.csv", "text/csv", big.as_bytes())))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error"], "File too large");
    // Far past the limit: the body limit refuses it, still as JSON 413.
    let huge = "a,b\n".repeat(100_000);
    let reply = app
        .upload(Some(&id), Some(("huge.csv", "text/csv", huge.as_bytes())))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    let fits = "a,b\n".repeat(200);
    let reply = app
        .upload(Some(&id), Some(("fits.csv", "text/csv", fits.as_bytes())))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// A file over a MiB, with its length announced more or less than it is:
/// stored and analysed whole either way (the buffer is a map of its own
/// from 1 MiB, and moves to the heap when the body outgrows it).
#[tokio::test]
async fn a_large_upload_is_whole_whatever_length_is_announced() {
    let app = spawn_app().await;
    let mut csv = String::from("id,name\n");
    let rows = 100_000;
    for i in 0..rows {
        csv.push_str(&format!("{i},name{i}\n"));
    }
    assert!(csv.len() > (1 << 20) + (1 << 18), "{}", csv.len());
    for announced in [usize::MAX, 1 << 20] {
        let id = app.create_session(json!({"config": {}})).await;
        let reply = app
            .upload_announcing(
                Some(&id),
                Some(("big.csv", "text/csv", csv.as_bytes())),
                Some(announced),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{announced}: {}", reply.body);
        assert_eq!(reply.body["file"]["size"], csv.len());
        assert_eq!(reply.body["file"]["rows"], rows);
        let last = format!("name{}", rows - 1);
        let query = app
            .post(
                &format!("/api/chat/files/query/{id}"),
                json!({"query": last}),
            )
            .await;
        assert_eq!(query.status, StatusCode::OK, "{}", query.body);
        assert_eq!(
            query.body["results"],
            json!([{"id": (rows - 1).to_string(), "name": last}]),
            "{announced}: the last row was stored"
        );
    }
}

#[tokio::test]
async fn unparsable_content_is_422_with_the_position() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app
        .upload(
            Some(&id),
            Some(("bad.csv", "text/csv", b"a,b\n1,2\n3,4,5\n")),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error"], "Invalid file content");
    assert!(
        reply.body["detail"].as_str().unwrap().contains("line 3"),
        "{}",
        reply.body
    );
    let reply = app
        .upload(
            Some(&id),
            Some(("bad.json", "application/json", b"{\n  \"a\": [1, 2,\n}")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body["detail"].as_str().unwrap().contains("line 3"),
        "{}",
        reply.body
    );
    let reply = app
        .upload(Some(&id), Some(("empty.csv", "text/csv", b"")))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(
        info.body["hasFile"], false,
        "nothing stored for rejected files"
    );
}

#[tokio::test]
async fn upload_form_errors() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.upload(None, Some(("data.csv", "text/csv", CSV))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "sessionId is required");
    let reply = app.upload(Some(&id), None).await;
    assert_eq!(reply.body["error"], "file is required");
    let reply = app
        .upload(Some("nope"), Some(("data.csv", "text/csv", CSV)))
        .await;
    assert_eq!(reply.body["error"], "Invalid session ID");
    let unknown = uuid::Uuid::new_v4().to_string();
    let reply = app
        .upload(Some(&unknown), Some(("data.csv", "text/csv", CSV)))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let not_multipart = app
        .post("/api/chat/files/upload", json!({"sessionId": id}))
        .await;
    assert_eq!(
        not_multipart.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_multipart.body
    );
}

#[tokio::test]
async fn query_rejects_bad_input() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    app.upload(Some(&id), Some(("data.csv", "text/csv", CSV)))
        .await;
    let path = format!("/api/chat/files/query/{id}");
    for (body, error) in [
        (json!({}), "query is required"),
        (json!({"query": "   "}), "query is required"),
        (json!({"query": 7}), "query must be a string"),
        (json!({"query": "a", "limit": 0}), "Invalid limit"),
        (json!({"query": "a", "limit": "ten"}), "Invalid limit"),
    ] {
        let reply = app.post(&path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["error"], error, "{body}");
    }
    let nothing = app.post(&path, json!({"query": "zebra"})).await;
    assert_eq!(nothing.body["results"], json!([]));
    assert_eq!(nothing.body["count"], 0);
}

#[tokio::test]
async fn uploads_to_an_expired_session_are_410() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    app.clock.advance_ms(31 * 60 * 1000);
    let reply = app
        .upload(Some(&id), Some(("data.csv", "text/csv", CSV)))
        .await;
    assert_eq!(reply.status, StatusCode::GONE);
}

#[tokio::test]
async fn direct_uploads_need_a_store_that_presigns() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let path = "/api/chat/files/upload-url";
    for (body, status, error) in [
        (
            json!({"name": "a.csv", "size": 10}),
            StatusCode::BAD_REQUEST,
            "sessionId is required",
        ),
        (
            json!({"sessionId": id, "size": 10}),
            StatusCode::BAD_REQUEST,
            "name is required",
        ),
        (
            json!({"sessionId": id, "name": "a.csv"}),
            StatusCode::BAD_REQUEST,
            "size must be a positive whole number",
        ),
        (
            json!({"sessionId": id, "name": "a.csv", "size": 0}),
            StatusCode::BAD_REQUEST,
            "size must be a positive whole number",
        ),
        (
            json!({"sessionId": id, "name": "a.csv", "size": 20_000_000}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "File too large",
        ),
        (
            json!({"sessionId": id, "name": "a.exe", "size": 10}),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported file type",
        ),
    ] {
        let reply = app.post(path, body.clone()).await;
        assert_eq!(reply.status, status, "{body}");
        assert_eq!(reply.body["error"], error, "{body}");
    }
    let complete = app
        .post(
            "/api/chat/files/complete",
            json!({"sessionId": id, "fileId": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(complete.status, StatusCode::NOT_FOUND);
    assert_eq!(complete.body["error"], "Upload not found");
    let granted = app
        .post(path, json!({"sessionId": id, "name": "a.csv", "size": 10}))
        .await;
    if crate::helpers::on_cloud_drivers() {
        assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    } else {
        assert_eq!(granted.status, StatusCode::NOT_IMPLEMENTED);
        assert_eq!(granted.body["error"], "Direct uploads are not available");
    }
}
