//! File processing throughput: a deterministic 10 MB CSV and a 10 MB JSON
//! array, parsed and summarised in process (`files::analyze`), and uploaded
//! through the API to a stored result (multipart upload, median of runs).
//! Writes the files to `--out` so the Python baseline reads the same bytes.

use std::path::PathBuf;
use std::time::Instant;

use chat_shared::context::FILE_EXCERPT_CHARS;
use chat_shared::files::{FileKind, analyze};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Base URL of a running server, `http://127.0.0.1:PORT`.
    #[arg(long)]
    url: String,
    #[arg(long)]
    key: String,
    /// Where to write the generated files.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

const TARGET_BYTES: usize = 10 * 1000 * 1000;

fn csv_file() -> Vec<u8> {
    let mut out =
        String::from("id,date,customer,email,product,region,quantity,unit_price,paid,note\n");
    let mut i: u64 = 0;
    while out.len() < TARGET_BYTES {
        out.push_str(&format!(
            "{i},2024-{:02}-{:02},Customer {},c{}@example.com,\"Widget, model {}\",{},{},{}.{:02},{},{}\n",
            i % 12 + 1,
            i % 28 + 1,
            i % 5000,
            i % 5000,
            i % 300,
            ["north", "south", "east", "west"][(i % 4) as usize],
            i % 17 + 1,
            i % 500,
            i % 100,
            if i.is_multiple_of(3) { "true" } else { "false" },
            if i.is_multiple_of(10) { "repeat customer" } else { "" },
        ));
        i += 1;
    }
    out.into_bytes()
}

fn json_file() -> Vec<u8> {
    let mut rows = Vec::new();
    let mut size = 2;
    let mut i: u64 = 0;
    const REGIONS: [&str; 4] = ["north", "south", "east", "west"];
    while size < TARGET_BYTES {
        let region = REGIONS[(i % 4) as usize];
        let row = json!({
            "id": i,
            "date": format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
            "customer": format!("Customer {}", i % 5000),
            "product": format!("Widget, model {}", i % 300),
            "region": region,
            "quantity": i % 17 + 1,
            "unit_price": (i % 500) as f64 + 0.25,
            "paid": i.is_multiple_of(3),
        });
        size += row.to_string().len() + 1;
        rows.push(row);
        i += 1;
    }
    serde_json::to_vec(&Value::Array(rows)).unwrap_or_default()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb_per_s(bytes: usize, seconds: f64) -> f64 {
    (bytes as f64 / 1e6 / seconds * 10.0).round() / 10.0
}

async fn upload(
    client: &reqwest::Client,
    args: &Args,
    name: &str,
    bytes: &[u8],
) -> Result<f64, String> {
    let created: Value = client
        .post(format!("{}/api/chat/sessions/create", args.url))
        .header("X-API-Key", &args.key)
        .json(&json!({"config": {}}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let session = created["sessionId"]
        .as_str()
        .ok_or("no session")?
        .to_owned();
    let form = reqwest::multipart::Form::new()
        .text("sessionId", session)
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    let started = Instant::now();
    let response = client
        .post(format!("{}/api/chat/files/upload", args.url))
        .header("X-API-Key", &args.key)
        .multipart(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.is_success() {
        return Err(format!("upload answered {status}: {body}"));
    }
    Ok(seconds)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let client = reqwest::Client::new();
    let mut report = Vec::new();
    for (name, kind, bytes) in [
        ("bench.csv", FileKind::Csv, csv_file()),
        ("bench.json", FileKind::Json, json_file()),
    ] {
        std::fs::write(args.out.join(name), &bytes).map_err(|e| e.to_string())?;
        let mut parse = Vec::new();
        let mut rows = 0;
        for _ in 0..args.runs {
            let started = Instant::now();
            let analysis = analyze(kind, &bytes, FILE_EXCERPT_CHARS).map_err(|e| e.to_string())?;
            parse.push(started.elapsed().as_secs_f64());
            rows = analysis.rows;
        }
        let mut uploads = Vec::new();
        for _ in 0..args.runs {
            uploads.push(upload(&client, &args, name, &bytes).await?);
        }
        report.push(json!({
            "file": name,
            "bytes": bytes.len(),
            "rows": rows,
            "analyze_mb_s": mb_per_s(bytes.len(), median(parse)),
            "upload_to_stored_mb_s": mb_per_s(bytes.len(), median(uploads)),
        }));
    }
    println!("{}", Value::Array(report));
    Ok(())
}
