//! The `bedrock` provider against a fake Bedrock runtime on 127.0.0.1
//! (`fake_bedrock`): signed requests, streamed replies through send and
//! stream, throttling retried by the SDK, errors mid-stream, stalls, and a
//! bad signature never accepted.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chat_shared::providers::bedrock::BedrockProvider;
use serde_json::{Value, json};

use crate::fake_bedrock::{
    self, FakeBedrock, SECRET_KEY, Script, reply, reply_then_exception, throttled,
};
use crate::helpers::{TestApp, config, spawn_app_with};

/// A cross-region inference profile id, as BEDROCK_MODEL_ID names one.
const MODEL: &str = "us.anthropic.claude-haiku-4-5-20251001-v1:0";

/// An app whose only provider is Bedrock at the fake, signing with `secret`.
async fn bedrock_app(fake: &FakeBedrock, secret: &str, extra: &[(&str, &str)]) -> TestApp {
    // `extra` first: the first setting of a name wins.
    let mut pairs = extra.to_vec();
    pairs.extend_from_slice(&[
        ("BEDROCK_MODEL_ID", MODEL),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url.as_str()),
        ("AI_PROVIDER", "bedrock"),
        ("PROVIDER_RETRY_BASE_MS", "1"),
        ("PROVIDER_TIMEOUT_SECONDS", "5"),
    ]);
    let config = config(&pairs);
    let settings = config.bedrock.clone().expect("BEDROCK_MODEL_ID is set");
    let provider = BedrockProvider::new(settings, config.provider_http.clone())
        .with_sdk_config(&fake_bedrock::sdk_config(secret));
    spawn_app_with(config, Some(vec![Arc::new(provider)])).await
}

fn failed_reply() -> Value {
    json!({"error": "Failed to process message"})
}

/// The history holds only the user's message, marked failed.
async fn assert_only_failed_user_message(app: &TestApp, id: &str, text: &str) {
    let history = app.history(id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["role"], "user");
    assert_eq!(history[0]["content"], text);
    assert_eq!(history[0]["status"], "failed");
}

#[tokio::test]
async fn a_streamed_reply_is_answered_and_stored_with_usage() {
    let fake = FakeBedrock::start(vec![reply(&["Hello", "! How can ", "I help?"], 25, 15)]).await;
    let app = bedrock_app(&fake, SECRET_KEY, &[]).await;
    app.update_tenant(|t| t.system_prompt = Some("Only talk about kettles.".into()))
        .await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hi").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Hello! How can I help?");
    assert_eq!(reply.body["provider"], "bedrock");
    assert_eq!(reply.body["model"], MODEL);
    assert_eq!(reply.body["messageCount"], 2);

    let history = app.history(&id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["content"], "Hello! How can I help?");
    assert_eq!(history[1]["provider"], "bedrock");
    assert_eq!(history[1]["inputTokens"], 25);
    assert_eq!(history[1]["outputTokens"], 15);

    // One signed ConverseStream call with the Converse request shape.
    let received = fake.received();
    assert_eq!(received.len(), 1);
    let call = &received[0];
    assert!(call.signed);
    assert_eq!(
        call.path,
        "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse-stream"
    );
    assert_eq!(
        call.body["messages"],
        json!([{"role": "user", "content": [{"text": "Hi"}]}])
    );
    assert_eq!(call.body["inferenceConfig"], json!({"maxTokens": 2000}));
    let system = call.body["system"][0]["text"].as_str().unwrap();
    assert!(
        system.starts_with("Only talk about kettles.\n\n"),
        "{system}"
    );
    // The SDK's own headers, nothing of the tenant's.
    assert!(call.headers.get("x-api-key").is_none());
}

#[tokio::test]
async fn the_stream_endpoint_relays_each_delta_then_done() {
    let fake = FakeBedrock::start(vec![reply(&["Hel", "lo", "!"], 12, 3)]).await;
    let app = bedrock_app(&fake, SECRET_KEY, &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let (status, events) = app.stream_message(&id, "Hi").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["delta", "delta", "delta", "done"]);
    assert_eq!(events[0].data, json!({"text": "Hel"}));
    assert_eq!(events[2].data, json!({"text": "!"}));
    assert_eq!(events[3].data["response"], "Hello!");
    assert_eq!(events[3].data["provider"], "bedrock");
    let history = app.history(&id).await;
    assert_eq!(history[1]["inputTokens"], 12);
    assert_eq!(history[1]["outputTokens"], 3);
}

#[tokio::test]
async fn a_throttled_first_attempt_is_retried_by_the_sdk() {
    let fake = FakeBedrock::start(vec![throttled(), reply(&["Fine."], 5, 2)]).await;
    let app = bedrock_app(&fake, SECRET_KEY, &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["response"], "Fine.");
    let received = fake.received();
    assert_eq!(received.len(), 2, "one retry");
    assert!(received.iter().all(|r| r.signed), "each attempt is signed");
    // The SDK's standard retry made the second attempt.
    assert_eq!(received[1].headers["amz-sdk-request"], "attempt=2; max=3");
    assert_eq!(app.history(&id).await.len(), 2);
}

#[tokio::test]
async fn throttling_past_the_retries_is_a_502() {
    let fake = FakeBedrock::start(vec![throttled()]).await;
    let app = bedrock_app(&fake, SECRET_KEY, &[("PROVIDER_MAX_RETRIES", "1")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        reply.body,
        failed_reply(),
        "Bedrock's message is not returned"
    );
    assert_eq!(fake.received().len(), 2, "first attempt and one retry");
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn an_exception_mid_stream_is_an_error_event_and_nothing_half_written() {
    let fake = FakeBedrock::start(vec![reply_then_exception(&["Half "])]).await;
    let app = bedrock_app(&fake, SECRET_KEY, &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let (status, events) = app.stream_message(&id, "Hello").await;
    assert_eq!(status, StatusCode::OK, "the stream had started");
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["delta", "error"]);
    assert_eq!(
        events[1].data,
        json!({"error": "Failed to process message", "status": 502})
    );
    assert_only_failed_user_message(&app, &id, "Hello").await;
    assert_eq!(fake.received().len(), 1, "a started stream is not replayed");

    // Through send: a plain 502, and again only the user's message kept.
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, failed_reply());
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_stream_that_stalls_past_the_timeout_is_a_504() {
    let Script::Stream(frames, _) = reply(&["Hel", "lo"], 3, 2) else {
        unreachable!("a reply is a stream")
    };
    let stalled = Script::Stream(frames, Duration::from_secs(4));
    let fake = FakeBedrock::start(vec![stalled]).await;
    let app = bedrock_app(&fake, SECRET_KEY, &[("PROVIDER_TIMEOUT_SECONDS", "1")]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let started = std::time::Instant::now();
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{}", reply.body);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_only_failed_user_message(&app, &id, "Hello").await;
}

#[tokio::test]
async fn a_bad_signature_is_never_accepted() {
    let fake = FakeBedrock::start(vec![reply(&["Never sent."], 1, 1)]).await;
    let app = bedrock_app(&fake, "not-the-right-secret", &[]).await;
    let id = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&id, "Hello").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, failed_reply());
    let received = fake.received();
    assert_eq!(received.len(), 1, "a signature error is not retried");
    assert!(!received[0].signed);
    assert_only_failed_user_message(&app, &id, "Hello").await;

    // By hand: unsigned, and correctly signed but with the body changed.
    let url = format!(
        "{}/model/{}/converse-stream",
        fake.url,
        MODEL.replace(':', "%3A")
    );
    let client = reqwest::Client::new();
    let body = json!({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}).to_string();
    let unsigned = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    let headers = signed_headers(&url, &body);
    let mut tampered = client.post(&url).body(body.replace("Hi", "Ho"));
    for (name, value) in &headers {
        tampered = tampered.header(name.as_str(), value.as_str());
    }
    assert_eq!(tampered.send().await.unwrap().status().as_u16(), 403);
    let mut honest = client.post(&url).body(body);
    for (name, value) in &headers {
        honest = honest.header(name.as_str(), value.as_str());
    }
    assert_eq!(honest.send().await.unwrap().status().as_u16(), 200);
    let signed: Vec<bool> = fake.received().iter().map(|r| r.signed).collect();
    assert_eq!(signed, [false, false, false, true]);
}

/// The headers of a request to `url` with `body` signed with the right
/// credentials now.
fn signed_headers(url: &str, body: &str) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity = aws_sdk_bedrockruntime::config::Credentials::new(
        fake_bedrock::ACCESS_KEY,
        SECRET_KEY,
        None,
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(fake_bedrock::REGION)
        .name("bedrock")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let headers = [("host", host.as_str())];
    let request = SignableRequest::new(
        Method::POST.as_str(),
        url,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn bedrock_is_offered_and_the_default_with_only_a_model_id() {
    // Exactly a deployment's settings: no key of any kind. Nothing is
    // called: the AWS configuration is loaded on the first message only.
    let app = spawn_app_with(config(&[("BEDROCK_MODEL_ID", MODEL)]), None).await;
    app.update_tenant(|t| t.default_provider = Some("bedrock".into()))
        .await;
    let providers = app.get("/api/chat/providers").await;
    assert_eq!(providers.status, StatusCode::OK);
    assert_eq!(
        providers.body,
        json!({"providers": [{"id": "bedrock", "defaultModel": MODEL}], "default": "bedrock"})
    );
    // A tenant may make it its default: new sessions name it.
    let reply = app
        .post("/api/chat/sessions/create", json!({"config": {}}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["sessionId"].as_str().unwrap();
    let details = app.get(&format!("/api/chat/sessions/{id}")).await;
    assert_eq!(
        details.body["config"]["aiProvider"], "bedrock",
        "{}",
        details.body
    );
}
