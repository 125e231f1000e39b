//! The cloud drivers on the real wire protocol: DynamoDB and S3 compatible
//! servers on 127.0.0.1 that `tests/run.sh` installs and starts. Built with
//! the `cloud` feature and run with `CHAT_STORE=dynamodb`; without the
//! servers every test here fails.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use axum::http::StatusCode;
use chat_shared::blob::BlobStore;
use chat_shared::store::Table;
use serde_json::json;

use crate::helpers::{cloud_stores, on_cloud_drivers, spawn_app};

fn requests(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_table_conforms() {
    chat_shared::store::conformance::run_all(|| async {
        Arc::new(cloud_stores().await.0) as Arc<dyn Table>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_blobs_conform() {
    chat_shared::blob::conformance::run_all(|| async {
        Arc::new(cloud_stores().await.1) as Arc<dyn BlobStore>
    })
    .await;
}

#[tokio::test]
async fn the_suite_runs_on_the_cloud_drivers() {
    assert!(
        on_cloud_drivers(),
        "run with CHAT_STORE=dynamodb (tests/run.sh does)"
    );
    assert!(spawn_app().await.dynamo.is_some());
}

/// Requests on the wire per API operation, counted by the SDK interceptor.
#[tokio::test]
async fn round_trips_on_the_wire() {
    let app = spawn_app().await;
    let wire = app.dynamo.clone().expect("cloud drivers");
    app.get("/api/chat/sessions/bot-config").await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("GetItem", 2), ("UpdateItem", 1)]),
        "cold key: key and tenant, and the key's lastUsedAt (once per key per hour)"
    );

    let id = app
        .create_session(json!({"config": {}, "user_identifier": "u@example.com"}))
        .await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("TransactWriteItems", 1)])
    );
    app.send_message(&id, "hello").await;
    assert_eq!(
        wire.requests().take(),
        requests(&[
            ("GetItem", 1),
            ("Query", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ]),
        "first send in the hour: the key's previous hour (once per window and instance), the session read, the exchange's one transaction, the rate-limit counter"
    );
    app.send_message(&id, "hello").await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("Query", 1), ("TransactWriteItems", 1), ("UpdateItem", 1)]),
        "send: the session read, the exchange's one transaction, the rate-limit counter"
    );
    app.post(
        "/api/chat/messages/send",
        json!({"sessionId": id, "message": "hi", "config": {"jsonData": {"a": 1}}}),
    )
    .await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("Query", 1), ("TransactWriteItems", 1), ("UpdateItem", 1)]),
        "send with a config: merged in the same transaction"
    );
    app.get(&format!("/api/chat/messages/history/{id}?limit=10"))
        .await;
    assert_eq!(wire.requests().take(), requests(&[("Query", 1)]));
    app.get("/api/chat/sessions/stats/by-user").await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("Query", 2)]),
        "no Scan; the tenant's sharded totals are one Query"
    );
    app.get("/api/chat/sessions/stats/summary").await;
    assert_eq!(wire.requests().take(), requests(&[("Query", 2)]));
    app.get("/api/tenant/keys").await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("Query", 1)]),
        "the key list: no Scan"
    );
    app.call(
        axum::http::Method::PATCH,
        "/api/tenant/settings",
        Some(json!({"bot": {"name": "B"}})),
    )
    .await;
    assert_eq!(
        wire.requests().take(),
        requests(&[("GetItem", 1), ("PutItem", 1)]),
        "settings: read, conditional put"
    );
}

/// A PUT of `body` to a presigned URL, as a browser sends it.
fn put(url: &str, headers: &serde_json::Value, body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("a local http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers.as_object().unwrap() {
        if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap()));
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_9_mb_csv_goes_through_a_presigned_upload() {
    let app = spawn_app().await;
    let id = app.create_session(json!({"config": {}})).await;
    let mut csv = String::from("id,product,region,revenue\n");
    let mut i = 0;
    while csv.len() < 9 * 1024 * 1024 {
        csv.push_str(&format!(
            "{i},Widget {},north-{},{}.{:02}\n",
            i % 97,
            i % 7,
            i % 1000,
            i % 100
        ));
        i += 1;
    }
    let granted = app
        .post(
            "/api/chat/files/upload-url",
            json!({"sessionId": id, "name": "big.csv", "type": "text/csv", "size": csv.len()}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    let url = granted.body["uploadUrl"].as_str().unwrap().to_owned();
    let headers = granted.body["headers"].clone();
    let file_id = granted.body["fileId"].as_str().unwrap().to_owned();

    let early = app
        .post(
            "/api/chat/files/complete",
            json!({"sessionId": id, "fileId": file_id}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);

    // A tampered signature is refused by the server.
    let tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let (t_url, t_headers, body) = (tampered, headers.clone(), csv.clone().into_bytes());
    let status = tokio::task::spawn_blocking(move || put(&t_url, &t_headers, &body[..10]))
        .await
        .unwrap();
    assert!(
        status == 403 || status == 400,
        "tampered URL answered {status}"
    );

    let body = csv.clone().into_bytes();
    let status = tokio::task::spawn_blocking(move || put(&url, &headers, &body))
        .await
        .unwrap();
    assert_eq!(status, 200);

    let done = app
        .post(
            "/api/chat/files/complete",
            json!({"sessionId": id, "fileId": file_id}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["file"]["rows"], i);
    assert_eq!(done.body["file"]["size"], csv.len());
    assert_eq!(
        done.body["file"]["columns"],
        json!(["id", "product", "region", "revenue"])
    );
    let info = app.get(&format!("/api/chat/files/info/{id}")).await;
    assert_eq!(info.body["file"]["name"], "big.csv");
    let again = app
        .post(
            "/api/chat/files/complete",
            json!({"sessionId": id, "fileId": file_id}),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "a grant completes once"
    );
    let query = app
        .post(
            &format!("/api/chat/files/query/{id}"),
            json!({"query": "widget 96", "limit": 2}),
        )
        .await;
    assert_eq!(query.body["count"], 2);
}
