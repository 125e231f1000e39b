//! The public-widget load test (issue 19): thousands of simulated visitors
//! of one tenant, all through its one publishable key, against a running
//! `chatctl serve`. Bounded: a fixed number of requests, and a deadline.
//!
//! 1. Per-visitor limiting: the tenant allows `--per-visitor` messages per
//!    visitor per hour; every visitor sends one more than that, and a few
//!    abusive visitors ten times as many. Each visitor, abusers or not, gets
//!    exactly its allowance: no visitor is locked out by the others.
//! 2. The tenant cap: the ceiling (`limits.tenantPerHour`, off until then,
//!    so nothing counted toward it) is set to `--cap-extra`; then fresh
//!    visitors send one message each, and exactly `--cap-extra` are
//!    admitted, the rest refused with `"limit": "tenant"`.
//! 3. Exact counters: the tenant's session totals and the day's analytics
//!    moved by exactly what this generator counted.
//!
//! Prints the figures as one JSON line and exits non-zero when a check fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Parser, Clone)]
struct Args {
    /// Base URL: `http://127.0.0.1:PORT` (no path).
    #[arg(long)]
    url: String,
    /// A secret key of the tenant (its settings and counters are read with it).
    #[arg(long)]
    key: String,
    #[arg(long, default_value_t = 3000)]
    visitors: usize,
    /// Of the visitors, how many are abusive (send ten times their allowance).
    #[arg(long, default_value_t = 30)]
    abusers: usize,
    #[arg(long, default_value_t = 3)]
    per_visitor: usize,
    /// Fresh visitors sending one message each after the cap is set.
    #[arg(long, default_value_t = 400)]
    cap_visitors: usize,
    /// Messages the tenant cap leaves for them.
    #[arg(long, default_value_t = 150)]
    cap_extra: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The whole run must end within this many seconds.
    #[arg(long, default_value_t = 300)]
    max_seconds: u64,
}

/// What the generator saw: every answer counted by what it was.
#[derive(Default)]
struct Tally {
    sessions: usize,
    sent_ok: usize,
    refused: BTreeMap<String, usize>,
    errors: Vec<String>,
    /// Per visitor: messages admitted.
    admitted: Vec<usize>,
    latencies_us: Vec<u64>,
    requests: usize,
}

struct Run {
    client: Client,
    args: Args,
    pk: String,
    tally: Mutex<Tally>,
}

impl Run {
    async fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.args.url))
            .header("X-API-Key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(r) => {
                let status = r.status();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (StatusCode::BAD_GATEWAY, json!({"error": e.to_string()})),
        };
        let mut tally = self.tally.lock().await;
        tally.requests += 1;
        tally
            .latencies_us
            .push(started.elapsed().as_micros() as u64);
        answer
    }

    /// One visitor: a session of its own, then `messages` sends; returns
    /// how many were admitted.
    async fn visitor(&self, name: &str, messages: usize) -> usize {
        let body = json!({"config": {"aiProvider": "dummy"}, "user_identifier": name});
        let (status, created) = self
            .call(
                &self.pk,
                Method::POST,
                "/api/chat/sessions/create",
                Some(body),
            )
            .await;
        let Some(session) = created["sessionId"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            self.tally
                .lock()
                .await
                .errors
                .push(format!("create {status}: {created}"));
            return 0;
        };
        self.tally.lock().await.sessions += 1;
        let mut admitted = 0;
        for n in 0..messages {
            let body = json!({"sessionId": session, "message": format!("{name} asks {n}")});
            let (status, reply) = self
                .call(
                    &self.pk,
                    Method::POST,
                    "/api/chat/messages/send",
                    Some(body),
                )
                .await;
            let mut tally = self.tally.lock().await;
            if status.is_success() {
                tally.sent_ok += 1;
                admitted += 1;
            } else if status == StatusCode::TOO_MANY_REQUESTS {
                let limit = reply["limit"].as_str().unwrap_or("?").to_owned();
                *tally.refused.entry(limit).or_default() += 1;
            } else {
                tally.errors.push(format!("send {status}: {reply}"));
            }
        }
        admitted
    }

    /// Runs `count` visitors on `concurrency` workers; `messages(i)` is
    /// what visitor `i` sends. Returns each visitor's admitted count.
    async fn visitors(
        self: &Arc<Self>,
        prefix: &str,
        count: usize,
        messages: fn(&Args, usize) -> usize,
    ) -> Vec<usize> {
        let next = Arc::new(AtomicUsize::new(0));
        let results = Arc::new(Mutex::new(vec![0; count]));
        let workers: Vec<_> = (0..self.args.concurrency)
            .map(|_| {
                let (run, next, results, prefix) = (
                    self.clone(),
                    next.clone(),
                    results.clone(),
                    prefix.to_owned(),
                );
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return;
                        }
                        let n = run
                            .visitor(&format!("{prefix}-{i}"), messages(&run.args, i))
                            .await;
                        results.lock().await[i] = n;
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.await;
        }
        results.lock().await.clone()
    }

    async fn settings(&self, limits: Value) -> Result<(), String> {
        let (status, body) = self
            .call(
                &self.args.key,
                Method::PATCH,
                "/api/tenant/settings",
                Some(json!({"limits": limits})),
            )
            .await;
        status
            .is_success()
            .then_some(())
            .ok_or(format!("settings {status}: {body}"))
    }

    /// The tenant's counters: (sessions, analytics of today).
    async fn counters(&self) -> Result<(i64, Value), String> {
        let (_, stats) = self
            .call(
                &self.args.key,
                Method::GET,
                "/api/chat/sessions/stats/summary",
                None,
            )
            .await;
        let (_, analytics) = self
            .call(
                &self.args.key,
                Method::GET,
                "/api/tenant/analytics?days=1",
                None,
            )
            .await;
        let sessions = stats["totalSessions"]
            .as_i64()
            .ok_or(format!("stats: {stats}"))?;
        Ok((sessions, analytics))
    }
}

/// Every `visitors / abusers`-th visitor is abusive.
fn is_abuser(args: &Args, i: usize) -> bool {
    let every = (args.visitors / args.abusers.max(1)).max(1);
    args.abusers > 0 && i.is_multiple_of(every) && i / every < args.abusers
}

fn phase_one_messages(args: &Args, i: usize) -> usize {
    if is_abuser(args, i) {
        10 * args.per_visitor
    } else {
        args.per_visitor + 1
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[at] as f64 / 1000.0
}

fn check(failures: &mut Vec<String>, ok: bool, what: String) {
    if !ok {
        failures.push(what);
    }
}

/// A publishable key of the tenant, made with its secret key.
async fn publishable_key(client: &Client, args: &Args) -> Result<String, String> {
    let reply = client
        .post(format!("{}/api/tenant/keys", args.url))
        .header("X-API-Key", &args.key)
        .json(&json!({"kind": "publishable"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = reply.json().await.map_err(|e| e.to_string())?;
    body["key"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("no key: {body}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let client = Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let pk = publishable_key(&client, &args).await?;
    let run = Arc::new(Run {
        client,
        args: args.clone(),
        pk,
        tally: Mutex::new(Tally::default()),
    });
    let deadline = Duration::from_secs(args.max_seconds);
    match tokio::time::timeout(deadline, scenario(&run)).await {
        Ok(result) => result,
        Err(_) => Err(format!("the run took longer than {} s", args.max_seconds)),
    }
}

async fn scenario(run: &Arc<Run>) -> Result<(), String> {
    let args = &run.args;
    let started = Instant::now();
    let (sessions_before, analytics_before) = run.counters().await?;
    run.settings(json!({"perVisitorPerHour": args.per_visitor, "tenantPerHour": null}))
        .await?;
    let admitted = run
        .visitors("visitor", args.visitors, phase_one_messages)
        .await;
    let phase_one = started.elapsed();
    // With no ceiling set nothing counts toward it, so the ceiling set now
    // leaves exactly `cap_extra` messages this hour.
    let cap = args.cap_extra;
    run.settings(json!({"perVisitorPerHour": args.per_visitor, "tenantPerHour": cap}))
        .await?;
    let capped = run.visitors("late", args.cap_visitors, |_, _| 1).await;
    let (sessions_after, analytics_after) = run.counters().await?;
    let elapsed = started.elapsed();
    let mut tally = run.tally.lock().await;
    tally.admitted = admitted;
    report(
        run,
        &tally,
        &capped,
        (sessions_before, sessions_after),
        (&analytics_before, &analytics_after),
        (phase_one, elapsed),
    )
}

fn report(
    run: &Run,
    tally: &Tally,
    capped: &[usize],
    sessions: (i64, i64),
    analytics: (&Value, &Value),
    times: (Duration, Duration),
) -> Result<(), String> {
    let args = &run.args;
    let mut failures = Vec::new();
    let short: Vec<usize> = (0..args.visitors)
        .filter(|&i| tally.admitted[i] != args.per_visitor)
        .collect();
    check(
        &mut failures,
        short.is_empty(),
        format!(
            "visitors not given exactly their allowance: {} (first {:?})",
            short.len(),
            short.iter().take(5).collect::<Vec<_>>()
        ),
    );
    let late_ok: usize = capped.iter().sum();
    check(
        &mut failures,
        late_ok == args.cap_extra.min(args.cap_visitors),
        format!(
            "the tenant cap admitted {late_ok}, expected {}",
            args.cap_extra
        ),
    );
    let delta = |name: &str| {
        analytics.1["totals"][name].as_i64().unwrap_or(-1)
            - analytics.0["totals"][name].as_i64().unwrap_or(0)
    };
    check(
        &mut failures,
        sessions.1 - sessions.0 == tally.sessions as i64,
        format!(
            "stats: {} new sessions, generator made {}",
            sessions.1 - sessions.0,
            tally.sessions
        ),
    );
    check(
        &mut failures,
        delta("sessions") == tally.sessions as i64,
        format!(
            "analytics sessions {} vs {}",
            delta("sessions"),
            tally.sessions
        ),
    );
    check(
        &mut failures,
        delta("messages") == 2 * tally.sent_ok as i64,
        format!(
            "analytics messages {} vs 2 x {}",
            delta("messages"),
            tally.sent_ok
        ),
    );
    check(
        &mut failures,
        tally.errors.is_empty(),
        format!(
            "{} unexpected answers, first: {:?}",
            tally.errors.len(),
            tally.errors.first()
        ),
    );
    let mut sorted = tally.latencies_us.clone();
    sorted.sort_unstable();
    let figures = json!({
        "visitors": args.visitors + args.cap_visitors,
        "abusers": args.abusers,
        "requests": tally.requests,
        "seconds": times.1.as_secs_f64(),
        "phase_one_seconds": times.0.as_secs_f64(),
        "requests_per_second": tally.requests as f64 / times.1.as_secs_f64(),
        "p50_ms": percentile(&sorted, 50.0),
        "p99_ms": percentile(&sorted, 99.0),
        "sessions": tally.sessions,
        "messages_admitted": tally.sent_ok,
        "refused": tally.refused,
        "tenant_cap": {"extra": args.cap_extra, "admitted": late_ok, "refused": args.cap_visitors - late_ok},
        "counters": {"stats_sessions": sessions.1 - sessions.0, "analytics_sessions": delta("sessions"), "analytics_messages": delta("messages")},
        "budget": analytics.1.get("budget"),
        "failures": failures,
    });
    println!("{figures}");
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} checks failed", failures.len()))
    }
}
