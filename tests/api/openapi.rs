//! The OpenAPI document: served without a key, a valid OpenAPI 3.1
//! document, and every operation in it answered by the routers (router and
//! document are built from the same `routes!` lists).

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

/// The served document is the code's, written out
/// (`shared/src/api/openapi.json`, so the function that serves it need not
/// link every handler). `UPDATE_OPENAPI=1` rewrites the file.
#[test]
fn the_served_document_is_the_code_s() {
    let code = chat_shared::api::openapi::document();
    let served: Value = serde_json::from_str(chat_shared::api::openapi::SERVED)
        .expect("shared/src/api/openapi.json is JSON");
    if &served == code {
        return;
    }
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/api/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(code).unwrap() + "\n";
        std::fs::write(&file, text).unwrap();
        return;
    }
    panic!(
        "{} differs from the handlers' document: rerun with UPDATE_OPENAPI=1 \
         (cargo test -p integration-tests --test api openapi) and commit it",
        file.display()
    );
}

#[tokio::test]
async fn the_document_is_served_without_a_key() {
    let app = spawn_app().await;
    let reply = app
        .call_as(None, Method::GET, "/api/chat/openapi.json", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body, chat_shared::api::openapi::document());
    assert!(reply.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        reply.body["components"]["securitySchemes"]["apiKey"]["name"],
        "X-API-Key"
    );
    assert_eq!(
        reply.body["paths"]["/api/chat/openapi.json"]["get"]["security"],
        serde_json::json!([{}]),
        "the document itself needs no key"
    );
}

/// Every `$ref` in `v`, collected into `out`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = spawn_app().await;
    let doc = app
        .call_as(None, Method::GET, "/api/chat/openapi.json", None)
        .await
        .body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // Every reference resolves inside the document.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in &found {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            // Each `{param}` of the path is a declared path parameter.
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_path, "{method} {path}");
            // A success body and the shared errors, and a tag.
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path}"
            );
            if !needs_no_key(path) {
                assert!(responses.contains_key("401"), "{method} {path}");
                assert!(responses.contains_key("429"), "{method} {path}");
            }
            assert_ne!(op["tags"], Value::Null, "{method} {path}");
        }
    }
    // Links from a created session use OpenAPI's field names.
    let links = &doc["paths"]["/api/chat/sessions/create"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["history"]["operationId"], "history");
    assert_eq!(
        links["history"]["parameters"]["session_id"],
        "$response.body#/sessionId"
    );
    assert_eq!(ids.len(), 42, "38 + the knowledge base's 4");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let document = chat_shared::api::openapi::document();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    // The merged router really answers each one (401 without a key, never
    // the JSON 404/405 of an unknown route).
    for (method, path) in &documented {
        let concrete = path
            .replace("{session_id}", "00000000-0000-4000-8000-000000000000")
            .replace("{user_identifier}", "someone");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = app.call_as(None, method.clone(), &concrete, None).await;
        let expected = if needs_no_key(path) {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(
            reply.status, expected,
            "{method} {concrete}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn malformed_paths_and_query_strings_answer_json() {
    let app = spawn_app().await;
    for path in [
        "/api/chat/messages/history/00000000-0000-4000-8000-000000000000?limit=1&limit=2",
        "/api/chat/messages/history/%FF",
        "/api/chat/sessions/%FF",
        "/api/chat/users/%FF/export",
        "/api/chat/files/info/%C3%28",
    ] {
        // `send` panics on a body that is not JSON.
        let reply = app.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.body
        );
        assert!(reply.body["error"].is_string(), "{path}");
    }
}

/// The operations open without a key: the document itself and `/health`.
fn needs_no_key(path: &str) -> bool {
    path.ends_with("openapi.json") || path == "/health"
}
