//! The OpenAPI document: served without a key, and listing exactly the
//! operations the routers serve.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_document_is_served_without_a_key() {
    let app = spawn_app().await;
    let reply = app
        .call_as(None, Method::GET, "/api/chat/openapi.json", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
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

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let document = chat_shared::api::openapi::document();
    // Links from a created session use OpenAPI's field names.
    let links =
        &document["paths"]["/api/chat/sessions/create"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["history"]["operationId"], "history");
    assert_eq!(
        links["history"]["parameters"]["session_id"],
        "$response.body#/sessionId"
    );
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = chat_shared::api::route_table(&app.state)
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_owned()))
        .collect();
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes missing from the document"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented operations no router serves"
    );
    assert_eq!(routed.len(), 20);

    // And the merged router really answers each one (401 without a key,
    // never the JSON 404/405 of an unknown route).
    for (method, path) in &documented {
        let concrete = path
            .replace("{session_id}", "00000000-0000-4000-8000-000000000000")
            .replace("{user_identifier}", "someone");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = app.call_as(None, method.clone(), &concrete, None).await;
        let expected = if path.ends_with("openapi.json") {
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
    // Every operation documents its success body and the shared errors.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path}"
            );
            if !path.ends_with("openapi.json") {
                assert!(responses.contains_key("401"), "{method} {path}");
                assert!(responses.contains_key("429"), "{method} {path}");
            }
            assert_ne!(op["tags"], Value::Null, "{method} {path}");
        }
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
