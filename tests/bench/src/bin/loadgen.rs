//! A small closed-loop load generator for the chat API: `--concurrency`
//! workers on keep-alive connections send requests back to back for
//! `--seconds`, recording each latency; prints one JSON line with requests/s,
//! p50, p99 and errors. Scenarios set up their own data through the API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use reqwest::{Client, Method};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scenario {
    /// GET / on the floor server.
    Floor,
    /// POST /sessions/create.
    Create,
    /// POST /messages/send, each worker on its own session.
    Send,
    /// GET /messages/history of a session with 10 messages.
    History10,
    /// GET /messages/history of a session with 1,000 messages (whole history).
    History1000,
    /// GET /messages/history?limit=50 of a session with 1,000 messages.
    History1000Page,
    /// GET /sessions/stats/by-user after `--sessions` more sessions of 100 users.
    StatsByUser,
}

#[derive(Parser)]
struct Args {
    /// Base URL: `http://127.0.0.1:PORT` (no path).
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "")]
    key: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// stats-by-user: sessions created (for 100 users) before measuring.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
}

struct Target {
    method: Method,
    path: String,
    body: Option<Value>,
}

async fn call(client: &Client, args: &Args, t: &Target) -> Result<Value, String> {
    let mut request = client
        .request(t.method.clone(), format!("{}{}", args.url, t.path))
        .header("X-API-Key", &args.key);
    if let Some(body) = &t.body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{status}: {body}"))
    }
}

async fn create_session(
    client: &Client,
    args: &Args,
    user: Option<String>,
) -> Result<String, String> {
    let mut body = json!({"config": {"aiProvider": "dummy"}});
    if let Some(user) = user {
        body["user_identifier"] = user.into();
    }
    let target = Target {
        method: Method::POST,
        path: "/api/chat/sessions/create".into(),
        body: Some(body),
    };
    let reply = call(client, args, &target).await?;
    reply["sessionId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no sessionId in {reply}"))
}

fn send_target(session: &str) -> Target {
    Target {
        method: Method::POST,
        path: "/api/chat/messages/send".into(),
        body: Some(json!({"sessionId": session, "message": "How do I reset my password?"})),
    }
}

/// A session holding `messages` messages (two per exchange).
async fn session_with(client: &Client, args: &Args, messages: usize) -> Result<String, String> {
    let session = create_session(client, args, None).await?;
    for _ in 0..messages / 2 {
        call(client, args, &send_target(&session)).await?;
    }
    Ok(session)
}

/// What each worker sends, prepared once (setup is not measured).
async fn targets(client: &Client, args: &Args) -> Result<Vec<Target>, String> {
    let n = args.concurrency;
    let same = |t: Target| -> Vec<Target> {
        (0..n)
            .map(|_| Target {
                method: t.method.clone(),
                path: t.path.clone(),
                body: t.body.clone(),
            })
            .collect()
    };
    Ok(match args.scenario {
        Scenario::Floor => same(Target {
            method: Method::GET,
            path: "/".into(),
            body: None,
        }),
        Scenario::Create => same(Target {
            method: Method::POST,
            path: "/api/chat/sessions/create".into(),
            body: Some(
                json!({"config": {"aiProvider": "dummy"}, "user_identifier": "bench@example.com"}),
            ),
        }),
        Scenario::Send => {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(send_target(&create_session(client, args, None).await?));
            }
            out
        }
        Scenario::History10 => {
            let session = session_with(client, args, 10).await?;
            same(Target {
                method: Method::GET,
                path: format!("/api/chat/messages/history/{session}"),
                body: None,
            })
        }
        Scenario::History1000 | Scenario::History1000Page => {
            let session = session_with(client, args, 1000).await?;
            let query = if matches!(args.scenario, Scenario::History1000Page) {
                "?limit=50"
            } else {
                ""
            };
            same(Target {
                method: Method::GET,
                path: format!("/api/chat/messages/history/{session}{query}"),
                body: None,
            })
        }
        Scenario::StatsByUser => {
            let sessions = args.sessions;
            let client = Arc::new(client.clone());
            let mut tasks = Vec::new();
            for worker in 0..32 {
                let (client, url, key) = (client.clone(), args.url.clone(), args.key.clone());
                tasks.push(tokio::spawn(async move {
                    let args = Args {
                        url,
                        key,
                        scenario: Scenario::Create,
                        concurrency: 1,
                        seconds: 0,
                        sessions: 0,
                    };
                    for i in (worker..sessions).step_by(32) {
                        create_session(
                            &client,
                            &args,
                            Some(format!("user{}@example.com", i % 100)),
                        )
                        .await?;
                    }
                    Ok::<(), String>(())
                }));
            }
            for t in tasks {
                t.await.map_err(|e| e.to_string())??;
            }
            same(Target {
                method: Method::GET,
                path: "/api/chat/sessions/stats/by-user".into(),
                body: None,
            })
        }
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let client = Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let targets = targets(&client, &args).await?;
    let args = Arc::new(args);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for target in targets {
        let (client, args) = (client.clone(), args.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match call(&client, &args, &target).await {
                    Ok(_) => latencies.push(t0.elapsed().as_micros() as u64),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for w in workers {
        let (lat, err, first) = w.await.map_err(|e| e.to_string())?;
        all.extend(lat);
        errors += err;
        first_error = first_error.or(first);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let report = json!({
        "scenario": format!("{:?}", args.scenario),
        "concurrency": args.concurrency,
        "requests": all.len(),
        "errors": errors,
        "first_error": first_error,
        "rps": (all.len() as f64 / elapsed).round(),
        "p50_ms": percentile(&all, 50.0),
        "p99_ms": percentile(&all, 99.0),
    });
    println!("{report}");
    if errors > 0 {
        return Err(format!("{errors} requests failed"));
    }
    Ok(())
}
