//! The knowledge base: documents of each format added, listed, searched and
//! deleted; a sitemap fetched from a local server; limits; keys; isolation
//! between tenants; passages in the prompt and `sources` in the answers.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::fake::{FakeProvider, Script, openai_completion};
use crate::helpers::{Reply, TestApp, config, spawn_app, spawn_app_with};

const RETURNS_MD: &str = "# Returns policy\n\nKettles may be returned within 30 days of delivery for a full refund. \
The kettle must be unused and in its original box.\n\n## Damaged items\n\nA kettle that arrives damaged is \
replaced free of charge: send a photo to support.\n";
const SHIPPING_TXT: &str = "Shipping\n\nOrders ship from our warehouse in Lisbon within two working days. \
Delivery to Spain takes three days.\n";
const WARRANTY_HTML: &str = "<html><head><title>Warranty</title></head><body><h1>Warranty</h1>\
<p>Every toaster carries a five year warranty covering the heating element.</p>\
<h2>Claims</h2><p>File a warranty claim with your order number.</p></body></html>";

/// A one-page PDF; with `text`, a text layer showing it, else an empty page.
pub fn pdf(text: Option<&str>) -> Vec<u8> {
    let content = match text {
        Some(t) => format!("BT /F1 12 Tf 72 720 Td ({t}) Tj ET"),
        None => "0 0 m 100 100 l S".to_owned(),
    };
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

impl TestApp {
    /// `POST /api/tenant/knowledge` with a multipart `file`, as `key`.
    pub async fn add_file_as(
        &self,
        key: &str,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Reply {
        let boundary = "----kb-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/tenant/knowledge")
            .header("X-API-Key", key)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn add_file(&self, name: &str, content_type: &str, bytes: &[u8]) -> Reply {
        self.add_file_as(&self.key, name, content_type, bytes).await
    }

    pub async fn kb_search_as(&self, key: &str, query: &str) -> Vec<Value> {
        let reply = self
            .call_as(
                Some(key),
                Method::POST,
                "/api/tenant/knowledge/search",
                Some(json!({"query": query, "k": 3})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["results"].as_array().unwrap().clone()
    }
}

fn created(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["status"], "ready");
    assert!(
        reply.body["chunks"].as_u64().unwrap() >= 1,
        "{}",
        reply.body
    );
    reply.body["documentId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_format_is_added_listed_searched_and_deleted() {
    let app = spawn_app().await;
    let md = created(
        &app.add_file("returns.md", "text/markdown", RETURNS_MD.as_bytes())
            .await,
    );
    let txt = created(
        &app.add_file("shipping.txt", "text/plain", SHIPPING_TXT.as_bytes())
            .await,
    );
    let html = created(
        &app.add_file("warranty.html", "text/html", WARRANTY_HTML.as_bytes())
            .await,
    );
    let pdf_reply = app
        .add_file(
            "prices.pdf",
            "application/pdf",
            &pdf(Some("The espresso machine costs 249 euros")),
        )
        .await;
    let pdf_id = created(&pdf_reply);
    assert_eq!(pdf_reply.body["source"], "prices.pdf");

    let list = app.get("/api/tenant/knowledge").await;
    assert_eq!(list.status, StatusCode::OK);
    let docs = list.body["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 4);
    for d in docs {
        for field in [
            "documentId",
            "title",
            "source",
            "sizeBytes",
            "chunks",
            "status",
            "updatedAt",
        ] {
            assert!(!d[field].is_null(), "{field} in {d}");
        }
    }
    let size = docs
        .iter()
        .find(|d| d["documentId"] == md.as_str())
        .unwrap()["sizeBytes"]
        .clone();
    assert_eq!(size, RETURNS_MD.len());

    for (query, id) in [
        ("How many days do I have to return a kettle?", &md),
        ("Which warehouse do orders ship from?", &txt),
        ("toaster warranty heating element", &html),
        ("espresso machine price", &pdf_id),
    ] {
        let results = app.kb_search_as(&app.key, query).await;
        assert_eq!(
            results[0]["documentId"],
            id.as_str(),
            "{query}: {results:?}"
        );
        for field in ["title", "chunkId", "text", "score"] {
            assert!(!results[0][field].is_null(), "{field}");
        }
    }

    let gone = app
        .call(Method::DELETE, &format!("/api/tenant/knowledge/{md}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    let results = app
        .kb_search_as(&app.key, "return a kettle within 30 days")
        .await;
    assert!(
        results.iter().all(|r| r["documentId"] != md.as_str()),
        "{results:?}"
    );
    assert_eq!(
        app.get("/api/tenant/knowledge").await.body["documents"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let again = app
        .call(Method::DELETE, &format!("/api/tenant/knowledge/{md}"), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.body["error"], "Document not found");
    let bad = app
        .call(Method::DELETE, "/api/tenant/knowledge/nope", None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refusals_say_why() {
    let app = spawn_app().await;
    let csv = app.add_file("data.csv", "text/csv", b"a,b\n1,2\n").await;
    assert_eq!(
        csv.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        csv.body
    );
    assert_eq!(csv.body["error"], "Unsupported document type");
    assert!(csv.body["detail"].as_str().unwrap().contains("PDF"));

    let scan = app
        .add_file("scan.pdf", "application/pdf", &pdf(None))
        .await;
    assert_eq!(
        scan.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        scan.body
    );
    assert!(
        scan.body["detail"].as_str().unwrap().contains("PDF"),
        "{}",
        scan.body
    );

    let broken = app
        .add_file("broken.pdf", "application/pdf", b"%PDF-1.4 garbage")
        .await;
    assert_eq!(
        broken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        broken.body
    );

    let empty = app.add_file("empty.md", "text/markdown", b"   \n").await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );

    let xml = app
        .call_with(
            &app.key,
            Method::POST,
            "/api/tenant/knowledge",
            None,
            &[("content-type", "text/xml")],
        )
        .await;
    assert_eq!(xml.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let no_file = app
        .post("/api/tenant/knowledge", json!({"link": "x"}))
        .await;
    assert_eq!(no_file.status, StatusCode::BAD_REQUEST);
    let private = app
        .post(
            "/api/tenant/knowledge",
            json!({"url": "http://127.0.0.1:9/"}),
        )
        .await;
    assert_eq!(
        private.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        private.body
    );
    assert_eq!(private.body["error"], "URL not allowed");
    let metadata = app
        .post(
            "/api/tenant/knowledge",
            json!({"url": "http://169.254.169.254/latest/"}),
        )
        .await;
    assert_eq!(metadata.status, StatusCode::UNPROCESSABLE_ENTITY);
    let search = app
        .post("/api/tenant/knowledge/search", json!({"query": "  "}))
        .await;
    assert_eq!(search.status, StatusCode::BAD_REQUEST);
    let k = app
        .post(
            "/api/tenant/knowledge/search",
            json!({"query": "x", "k": 0}),
        )
        .await;
    assert_eq!(k.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_tenants_limits_answer_413() {
    let app = spawn_app().await;
    let patch = app
        .call(
            Method::PATCH,
            "/api/tenant/settings",
            Some(json!({"knowledge": {"maxDocuments": 1, "maxBytes": 400}})),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(patch.body["settings"]["knowledge"]["maxDocuments"], 1);
    let big = app
        .add_file("big.txt", "text/plain", "word ".repeat(100).as_bytes())
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", big.body);
    assert!(big.body["detail"].as_str().unwrap().contains("maxBytes"));
    created(
        &app.add_file(
            "a.txt",
            "text/plain",
            b"Colours\n\nOur kettles come in blue and in green.",
        )
        .await,
    );
    let second = app
        .add_file(
            "b.txt",
            "text/plain",
            b"Colours\n\nOur toasters come in red and in black.",
        )
        .await;
    assert_eq!(
        second.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        second.body
    );
    assert_eq!(second.body["error"], "Knowledge base full");
    assert!(
        second.body["detail"]
            .as_str()
            .unwrap()
            .contains("maxDocuments")
    );
    let bad = app
        .call(
            Method::PATCH,
            "/api/tenant/settings",
            Some(json!({"knowledge": {"maxDocuments": 0}})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["field"], "knowledge.maxDocuments");
}

#[tokio::test]
async fn publishable_keys_are_refused() {
    let app = spawn_app().await;
    let pk = app.publishable_key().await;
    let add = app.add_file_as(&pk, "a.txt", "text/plain", b"hello").await;
    assert_eq!(add.status, StatusCode::FORBIDDEN, "{}", add.body);
    for (method, path, body) in [
        (Method::GET, "/api/tenant/knowledge".to_owned(), None),
        (
            Method::POST,
            "/api/tenant/knowledge/search".to_owned(),
            Some(json!({"query": "x"})),
        ),
        (
            Method::DELETE,
            format!("/api/tenant/knowledge/{}", uuid::Uuid::nil()),
            None,
        ),
    ] {
        let reply = app.call_as(Some(&pk), method, &path, body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn a_tenants_documents_never_reach_another() {
    let app = spawn_app().await;
    let other = app.other_tenant_key().await;
    let id = created(
        &app.add_file("returns.md", "text/markdown", RETURNS_MD.as_bytes())
            .await,
    );
    assert!(app.kb_search_as(&other, "return a kettle").await.is_empty());
    let list = app
        .call_as(Some(&other), Method::GET, "/api/tenant/knowledge", None)
        .await;
    assert_eq!(list.body["documents"], json!([]));
    let delete = app
        .call_as(
            Some(&other),
            Method::DELETE,
            &format!("/api/tenant/knowledge/{id}"),
            None,
        )
        .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);

    // The other tenant's conversation: no passages, no sources.
    let session = app
        .call_as(
            Some(&other),
            Method::POST,
            "/api/chat/sessions/create",
            Some(json!({"config": {}})),
        )
        .await;
    let sid = session.body["sessionId"].as_str().unwrap();
    let reply = app
        .call_as(
            Some(&other),
            Method::POST,
            "/api/chat/messages/send",
            Some(json!({"sessionId": sid, "message": "Can I return a kettle?"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.get("sources").is_none(), "{}", reply.body);

    // This tenant's: its document is the source.
    let own = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&own, "Can I return a kettle?").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["sources"][0]["documentId"], id.as_str());
    assert_eq!(reply.body["sources"][0]["title"], "Returns policy");
}

#[tokio::test]
async fn sources_are_in_the_send_the_stream_and_the_history_and_off_turns_them_off() {
    let app = spawn_app().await;
    let id = created(
        &app.add_file("returns.md", "text/markdown", RETURNS_MD.as_bytes())
            .await,
    );
    let session = app.create_session(json!({"config": {}})).await;
    let reply = app
        .send_message(&session, "How do I return a damaged kettle?")
        .await;
    assert_eq!(
        reply.body["sources"],
        json!([{"documentId": id, "title": "Returns policy"}])
    );
    let (_, events) = app
        .stream_message(&session, "return policy for kettles")
        .await;
    let done = events.last().unwrap();
    assert_eq!(done.event, "done");
    assert_eq!(done.data["sources"][0]["documentId"], id.as_str());
    let history = app.history(&session).await;
    assert_eq!(history[1]["sources"][0]["documentId"], id.as_str());
    assert!(history[0].get("sources").is_none());

    let off = app
        .call(
            Method::PATCH,
            "/api/tenant/settings",
            Some(json!({"knowledge": {"enabled": false}})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    let reply = app
        .send_message(&session, "How do I return a damaged kettle?")
        .await;
    assert!(reply.body.get("sources").is_none(), "{}", reply.body);
}

/// A site on 127.0.0.1: a sitemap of two pages and one on another host.
async fn site() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sitemap = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{base}/help/returns</loc></url>
  <url><loc>{base}/help/opening-hours</loc></url>
  <url><loc>https://elsewhere.example/page</loc></url>
</urlset>"#
    );
    let page = |title: &'static str, body: &'static str| {
        move || async move {
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!(
                    "<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
                ),
            )
        }
    };
    let app = Router::new()
        .route(
            "/sitemap.xml",
            get(move || async move { ([(header::CONTENT_TYPE, "application/xml")], sitemap) }),
        )
        .route(
            "/help/returns",
            get(page("Returns", "Returns are accepted for 30 days.")),
        )
        .route(
            "/help/opening-hours",
            get(page(
                "Opening hours",
                "The Porto shop opens at nine on Saturdays.",
            )),
        );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, task)
}

#[tokio::test]
async fn a_sitemap_is_fetched_from_a_local_server_with_the_test_switch() {
    let (base, task) = site().await;
    let app = spawn_app_with(config(&[("KNOWLEDGE_ALLOW_PRIVATE_URLS", "true")]), None).await;
    let reply = app
        .post(
            "/api/tenant/knowledge",
            json!({"url": format!("{base}/sitemap.xml")}),
        )
        .await;
    created(&reply);
    assert!(
        reply.body["title"].as_str().unwrap().contains("2 pages"),
        "{}",
        reply.body
    );
    let pages = reply.body["documents"].as_array().unwrap();
    assert_eq!(pages.len(), 2, "the other host's page is left out");
    assert_eq!(pages[1]["title"], "Opening hours");
    assert_eq!(pages[1]["url"], format!("{base}/help/opening-hours"));
    let results = app
        .kb_search_as(&app.key, "When does the Porto shop open on Saturday?")
        .await;
    assert_eq!(results[0]["documentId"], pages[1]["documentId"]);
    assert_eq!(results[0]["url"], format!("{base}/help/opening-hours"));
    assert_eq!(
        app.get("/api/tenant/knowledge").await.body["documents"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let page = app
        .post(
            "/api/tenant/knowledge",
            json!({"url": format!("{base}/help/returns")}),
        )
        .await;
    created(&page);
    assert_eq!(page.body["title"], "Returns");
    let missing = app
        .post(
            "/api/tenant/knowledge",
            json!({"url": format!("{base}/nope")}),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );

    // Off by default: the same local URL is refused.
    let strict = spawn_app().await;
    let refused = strict
        .post(
            "/api/tenant/knowledge",
            json!({"url": format!("{base}/sitemap.xml")}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["error"], "URL not allowed");
    task.abort();
}

/// An OpenAI-compatible `/embeddings` server: a vector per input from its
/// words (deterministic), and the inputs it was sent.
async fn embeddings_server() -> (String, Arc<Mutex<Vec<Value>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/v1/embeddings",
        post(move |axum::Json(body): axum::Json<Value>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(body.clone());
                let data: Vec<Value> = body["input"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        let mut v = vec![0.0f32; 16];
                        for word in text.as_str().unwrap().split_whitespace() {
                            let h = word.bytes().fold(7usize, |h, b| h * 31 + b as usize);
                            v[h % 16] += 1.0;
                        }
                        json!({"object": "embedding", "index": i, "embedding": v})
                    })
                    .collect();
                axum::Json(json!({"object": "list", "data": data, "model": body["model"]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, seen, task)
}

#[tokio::test]
async fn the_passage_is_in_the_request_to_the_model_and_sources_in_the_answer() {
    let fake = FakeProvider::start(vec![Script::json(
        200,
        openai_completion("Within 30 days.", 50, 5),
    )])
    .await;
    let (embeddings, seen, task) = embeddings_server().await;
    let app = spawn_app_with(
        config(&[
            ("OPENAI_API_KEY", "sk-openai-test-key"),
            ("OPENAI_BASE_URL", fake.url.as_str()),
            ("AI_PROVIDER", "openai"),
            ("KNOWLEDGE_EMBEDDINGS_BASE_URL", embeddings.as_str()),
            ("KNOWLEDGE_EMBEDDINGS_MODEL", "embed-test"),
        ]),
        None,
    )
    .await;
    let id = created(
        &app.add_file("returns.md", "text/markdown", RETURNS_MD.as_bytes())
            .await,
    );
    created(
        &app.add_file("shipping.txt", "text/plain", SHIPPING_TXT.as_bytes())
            .await,
    );
    let session = app
        .create_session(json!({"config": {"aiProvider": "openai"}}))
        .await;
    let reply = app
        .send_message(&session, "How long do I have to return a kettle?")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["sources"][0]["documentId"], id.as_str());

    let sent = fake.received();
    let system = sent[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sent[0].body["messages"][0]["role"], "system");
    assert!(system.contains("## Knowledge base"), "{system}");
    assert!(
        system.contains("returned within 30 days of delivery"),
        "{system}"
    );

    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "two documents, one question: {calls:?}");
    assert_eq!(calls[0]["model"], "embed-test");
    assert_eq!(
        calls[2]["input"],
        json!(["How long do I have to return a kettle?"])
    );
    task.abort();
}

#[tokio::test]
async fn erasing_the_tenants_knowledge_leaves_nothing() {
    let app = spawn_app().await;
    let id = created(
        &app.add_file("returns.md", "text/markdown", RETURNS_MD.as_bytes())
            .await,
    );
    created(
        &app.add_file("shipping.txt", "text/plain", SHIPPING_TXT.as_bytes())
            .await,
    );
    let tenant = app
        .state
        .repo
        .get_tenant(app.tenant)
        .await
        .unwrap()
        .unwrap();
    let index_blob = tenant.knowledge_state.index_blob.clone().unwrap();
    let erased = chat_shared::service::knowledge::erase_all(&app.state, app.tenant)
        .await
        .unwrap();
    assert_eq!(erased, 2);
    assert_eq!(
        app.get("/api/tenant/knowledge").await.body["documents"],
        json!([])
    );
    assert!(
        app.kb_search_as(&app.key, "return a kettle")
            .await
            .is_empty()
    );
    let tenant = app
        .state
        .repo
        .get_tenant(app.tenant)
        .await
        .unwrap()
        .unwrap();
    assert!(
        tenant.knowledge_state.is_empty(),
        "{:?}",
        tenant.knowledge_state
    );
    assert!(app.state.blobs.get(&index_blob).await.unwrap().is_none());
    let doc_blob = format!("tenants/{}/knowledge/documents/{id}", app.tenant);
    assert!(app.state.blobs.get(&doc_blob).await.unwrap().is_none());
    let session = app.create_session(json!({"config": {}})).await;
    let reply = app.send_message(&session, "Can I return a kettle?").await;
    assert!(reply.body.get("sources").is_none());
}

/// `/messages/send` with knowledge on (40 documents) and off (none): the
/// time the search and the longer prompt add. Not part of the normal run;
/// see BENCHMARKS.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly, see BENCHMARKS.md"]
async fn bench_send_with_knowledge_on_and_off() {
    use std::time::{Duration, Instant};
    const RUNS: usize = 200;
    async fn timings(app: &TestApp, session: &str) -> Vec<Duration> {
        let questions = [
            "How do I return a kettle?",
            "When does delivery to Spain arrive?",
            "Is the toaster under warranty?",
        ];
        let mut out = Vec::new();
        for run in 0..RUNS + 10 {
            let started = Instant::now();
            let reply = app.send_message(session, questions[run % 3]).await;
            assert_eq!(reply.status, StatusCode::OK);
            if run >= 10 {
                out.push(started.elapsed());
            }
        }
        out.sort();
        out
    }
    let app = spawn_app_with(config(&[("RATE_LIMIT_MESSAGES_PER_HOUR", "1000000")]), None).await;
    let off_session = app.create_session(json!({"config": {}})).await;
    let off = timings(&app, &off_session).await;
    let topics = [
        "kettle",
        "toaster",
        "espresso machine",
        "blender",
        "grinder",
        "oven",
        "fridge",
        "mixer",
    ];
    let mut bytes = 0;
    for i in 0..40 {
        let topic = topics[i % topics.len()];
        let mut doc = format!("# {topic} guide {i}\n\n");
        for section in ["Returns", "Delivery", "Warranty", "Care", "Troubleshooting"] {
            doc.push_str(&format!(
                "## {section}\n\nThe {topic} model {i} has its own {section} rules. Customers in Spain, Portugal and France \
                 get delivery in three to five days; returns are accepted for 30 days; the warranty lasts five years \
                 and covers the heating element, the motor and the switch. Clean it weekly with warm water.\n\n"
            ));
        }
        bytes += doc.len();
        created(
            &app.add_file(&format!("guide-{i}.md"), "text/markdown", doc.as_bytes())
                .await,
        );
    }
    let on_session = app.create_session(json!({"config": {}})).await;
    let on = timings(&app, &on_session).await;
    let p = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    println!("knowledge: 40 documents, {bytes} bytes");
    for (name, v) in [("off (no documents)", &off), ("on (40 documents)", &on)] {
        println!(
            "{name}: median {:?}, p90 {:?}, p99 {:?}",
            p(v, 0.5),
            p(v, 0.9),
            p(v, 0.99)
        );
    }
    println!(
        "added (median): {:?}",
        p(&on, 0.5).saturating_sub(p(&off, 0.5))
    );
}
