//! Time to first streamed byte added by our code: from the moment the fake
//! provider hands its first byte (with the first text delta) to the socket,
//! to the moment our `/messages/stream` body yields its first `delta` event.
//! Not part of the normal run; see BENCHMARKS.md for the command.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde_json::json;

use crate::fake::{FakeProvider, Script, claude_stream};
use crate::helpers::{config, spawn_app_with};

const WARM_UP: usize = 5;
const RUNS: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly, see BENCHMARKS.md"]
async fn time_to_first_streamed_byte() {
    let events = claude_stream(&["First", " words", " of", " the", " reply."], 40, 5);
    // The first chunk carries message_start .. the first text delta, so the
    // provider's first byte is also its first token.
    let first = events[..4].concat();
    let mut chunks = vec![first];
    chunks.extend_from_slice(&events[4..]);
    let fake = FakeProvider::start(vec![Script::sse(chunks).gap(Duration::from_millis(5))]).await;
    let app = spawn_app_with(
        config(&[
            ("ANTHROPIC_API_KEY", "sk-ant-bench"),
            ("ANTHROPIC_BASE_URL", fake.url.as_str()),
        ]),
        None,
    )
    .await;
    let id = app.create_session(json!({"config": {}})).await;

    let mut added = Vec::new();
    let mut total = Vec::new();
    for run in 0..WARM_UP + RUNS {
        let sent = Instant::now();
        let response = app.stream_request(&id, "How fast is this?").await;
        let mut body = response.into_body();
        let mut seen = String::new();
        while !seen.contains("event: delta") {
            let frame = body.frame().await.unwrap().unwrap();
            if let Ok(data) = frame.into_data() {
                seen.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
        let ours = Instant::now();
        // Let the exchange finish and store before the next one.
        while body.frame().await.is_some() {}
        if run >= WARM_UP {
            let theirs = fake.first_bytes()[run];
            added.push(ours.duration_since(theirs));
            total.push(ours.duration_since(sent));
        }
    }
    added.sort();
    total.sort();
    let show = |name: &str, v: &[Duration]| {
        println!(
            "{name}: median {:?}, p90 {:?}, max {:?} ({} runs)",
            percentile(v, 0.5),
            percentile(v, 0.9),
            v[v.len() - 1],
            v.len()
        );
    };
    show(
        "added by our code (provider first byte -> our first delta)",
        &added,
    );
    show(
        "request -> our first delta (session read, context, provider call)",
        &total,
    );
    assert!(percentile(&added, 0.5) < Duration::from_millis(50));
}
