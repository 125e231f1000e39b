//! Stats by user at a given number of unique users: brings the key's tenant
//! to `--users` unique users (one session each for the users it adds), then
//! requests `GET /api/chat/sessions/stats/by-user` from `--concurrency`
//! keep-alive connections for `--seconds`. Bodies are read whole but not
//! parsed (as wrk reads them), so the figure is the server's, not the JSON
//! parser's of this client; one body is parsed to check the user count.
//! Prints one JSON line: requests/s, p50, p99, body bytes, users/s. With
//! `--floor URL` (the floor server), the same connections then fetch a body
//! of the same size from the floor's `/body/{bytes}` for as long, and the
//! line adds its requests/s: what this client and stack reach on answers
//! that big with no work behind them.

use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::Client;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Base URL: `http://127.0.0.1:PORT` (no path).
    #[arg(long)]
    url: String,
    #[arg(long)]
    key: String,
    /// Unique users the tenant has before measuring.
    #[arg(long)]
    users: usize,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The floor server's base URL, to measure the same body size there.
    #[arg(long)]
    floor: Option<String>,
}

const PATH: &str = "/api/chat/sessions/stats/by-user";

async fn unique_users(client: &Client, args: &Args) -> Result<(usize, usize), String> {
    let response = client
        .get(format!("{}{PATH}", args.url))
        .header("X-API-Key", &args.key)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let users = value["summary"]["uniqueUsers"]
        .as_u64()
        .ok_or_else(|| format!("no uniqueUsers in {value}"))?;
    Ok((users as usize, body.len()))
}

/// Adds users `stats-user-{from..to}` with one session each, 32 at a time.
async fn add_users(client: &Client, args: &Args, from: usize, to: usize) -> Result<(), String> {
    let mut tasks = Vec::new();
    for worker in 0..32 {
        let (client, url, key) = (client.clone(), args.url.clone(), args.key.clone());
        tasks.push(tokio::spawn(async move {
            for i in (from + worker..to).step_by(32) {
                let body = json!({"config": {"aiProvider": "dummy"},
                                  "user_identifier": format!("stats-user-{i:05}@example.com")});
                let status = client
                    .post(format!("{url}/api/chat/sessions/create"))
                    .header("X-API-Key", &key)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .status();
                if !status.is_success() {
                    return Err(format!("create: {status}"));
                }
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn worker(client: Client, url: String, key: String, until: Instant) -> (Vec<u64>, u64) {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while Instant::now() < until {
        let t0 = Instant::now();
        let ok = match client.get(&url).header("X-API-Key", &key).send().await {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            _ => false,
        };
        if ok {
            latencies.push(t0.elapsed().as_micros() as u64);
        } else {
            errors += 1;
        }
    }
    (latencies, errors)
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
        .pool_max_idle_per_host(args.concurrency.max(32))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let (have, _) = unique_users(&client, &args).await?;
    if have < args.users {
        add_users(&client, &args, have, args.users).await?;
    }
    let (users, body_bytes) = unique_users(&client, &args).await?;
    let url = format!("{}{PATH}", args.url);
    let (all, errors, rps) = measure(&client, &url, &args).await?;
    let mut line = json!({
        "scenario": "stats-by-user", "users": users, "body_bytes": body_bytes,
        "concurrency": args.concurrency, "requests": all.len(), "errors": errors,
        "rps": rps.round(), "users_per_s": (rps * users as f64).round(),
        "p50_ms": percentile(&all, 50.0), "p99_ms": percentile(&all, 99.0),
    });
    if let Some(floor) = &args.floor {
        let url = format!("{floor}/body/{body_bytes}");
        let (_, floor_errors, floor_rps) = measure(&client, &url, &args).await?;
        if floor_errors > 0 {
            return Err(format!("{floor_errors} requests to the floor failed"));
        }
        line["floor_rps"] = json!(floor_rps.round());
        line["of_floor"] = json!((rps / floor_rps * 1000.0).round() / 1000.0);
    }
    println!("{line}");
    if errors > 0 {
        return Err(format!("{errors} requests failed"));
    }
    Ok(())
}

/// `--concurrency` workers fetching `url` for `--seconds`: the sorted
/// latencies of the requests that succeeded, the failures, requests/s.
async fn measure(client: &Client, url: &str, args: &Args) -> Result<(Vec<u64>, u64, f64), String> {
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            tokio::spawn(worker(
                client.clone(),
                url.to_owned(),
                args.key.clone(),
                until,
            ))
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (latencies, e) = w.await.map_err(|e| e.to_string())?;
        all.extend(latencies);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let rps = all.len() as f64 / elapsed;
    Ok((all, errors, rps))
}
