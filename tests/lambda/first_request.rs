//! What the first request of a cold instance adds: each function is started
//! (its real SDK clients built, as in `init_times`), then sent one request
//! that reads the table, then the same request again a few times. The first
//! one pays what init leaves for later: the credentials' resolution, the
//! first connection to DynamoDB (and its TLS handshake in the cloud; the
//! local servers speak plain HTTP), the API key's lookup before the key
//! cache holds it. Needs what `every_route_through_the_real_binaries` needs
//! (tests/lambda-local.sh sets it up); `LAMBDA_FUNCTIONS` picks the
//! functions (default: sessions, messages, files). For BENCHMARKS.md.

use std::time::Instant;

use super::{Calls, SAMPLE_FILE, SAMPLE_SESSION, required_env, start};

/// The request each function is measured on.
fn event_of(function: &str) -> &'static str {
    match function {
        "chat-messages" => "messages-history",
        "chat-files" => "files-info",
        _ => "sessions-details",
    }
}

fn millis(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand for BENCHMARKS.md"]
async fn first_request_latency() {
    let runs: usize = std::env::var("LAMBDA_INIT_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let functions = std::env::var("LAMBDA_FUNCTIONS")
        .unwrap_or_else(|_| "chat-sessions chat-messages chat-files".into());
    // The sample session is nobody's: each request looks the key up and
    // reads the session (a 404), what most requests start with.
    let calls = Calls {
        key: required_env("LAMBDA_TEST_API_KEY"),
        session: SAMPLE_SESSION.into(),
        file: SAMPLE_FILE.into(),
    };

    let chosen = ["chat-sessions", "chat-messages", "chat-files"]
        .into_iter()
        .filter(|name| functions.split_whitespace().any(|f| f == *name));
    for name in chosen {
        let event = event_of(name);
        let (mut inits, mut firsts, mut warm) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let function = start(name).await;
            inits.push(millis(function.init));
            let started = Instant::now();
            calls.expect(&function, event, 404).await;
            firsts.push(millis(started.elapsed()));
            for _ in 0..5 {
                let started = Instant::now();
                calls.expect(&function, event, 404).await;
                warm.push(millis(started.elapsed()));
            }
        }
        let (first, warm) = (median(firsts), median(warm));
        println!(
            "{name} ({event}): init {:.1} ms, first request {first:.1} ms, warm {warm:.1} ms, added by the first {:.1} ms (medians of {runs} starts)",
            median(inits),
            first - warm
        );
    }
}
