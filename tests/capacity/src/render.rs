//! The generated part of docs/SCALE.md: the inputs, the figures per
//! operation, per scale, the monthly costs and the limits, as Markdown.

use std::fmt::Write;

use serde_json::Value;

use crate::inputs::Inputs;
use crate::limits::limits;
use crate::model::{MONTH_SECONDS, Scale, operations, provider_ms, scale};

/// A number as a reader wants it: thousands separated, few decimals.
pub fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() < 10.0 {
        let digits = if x.abs() < 0.1 { 4 } else { 2 };
        return format!("{x:.digits$}");
    }
    let whole = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (n, c) in whole.chars().enumerate() {
        if n > 0 && (whole.len() - n) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

fn money(x: f64) -> String {
    if x > 0.0 && x < 0.01 {
        "< $0.01".into()
    } else {
        format!("${}", num(x))
    }
}

fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p < 1.0 {
        "< 1%".into()
    } else if p > 100.0 {
        format!("**{}%**", num(p))
    } else {
        format!("{}%", num(p))
    }
}

/// The inputs table, walked from the file itself so that every stated
/// figure appears with its source.
fn inputs_table(raw: &Value, out: &mut String) {
    out.push_str("| input | value | source |\n|---|---|---|\n");
    let Some(top) = raw.as_object() else { return };
    for (name, value) in top {
        input_rows(name, value, out);
    }
}

fn input_rows(name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Object(map) if map.contains_key("value") => {
            let v = map["value"].as_f64().unwrap_or_default();
            let source = map.get("source").and_then(Value::as_str).unwrap_or("");
            let _ = writeln!(out, "| {name} | {} | {source} |", plain(v));
        }
        Value::Object(map) => {
            for (inner, v) in map {
                input_rows(&format!("{name}.{inner}"), v, out);
            }
        }
        Value::Array(list) => {
            let values: Vec<String> = list.iter().filter_map(Value::as_f64).map(plain).collect();
            let _ = writeln!(
                out,
                "| {name} | {} | the scales modelled |",
                values.join(", ")
            );
        }
        Value::String(s) => {
            let _ = writeln!(out, "| {name} | {s} | |");
        }
        _ => {}
    }
}

/// An input as written (no rounding).
fn plain(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() >= 1000.0 {
        num(v)
    } else {
        format!("{v}")
    }
}

fn operations_table(i: &Inputs, out: &mut String) {
    out.push_str(
        "| operation | per visitor message | RCU | WCU, table | WCU, indexes | Lambda ms | memory MB | API requests |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for o in operations(i) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            o.name,
            num(o.per_message),
            num(o.rcu),
            num(o.wcu),
            num(o.index_wcu),
            num(o.lambda_ms),
            num(o.memory_mb),
            num(o.requests),
        );
    }
    let _ = writeln!(
        out,
        "\nThe send's Lambda time is mostly the provider's stream: {} ms of its {} ms.",
        num(provider_ms(i)),
        num(operations(i)[0].lambda_ms),
    );
}

fn row(out: &mut String, label: &str, scales: &[Scale], f: &dyn Fn(&Scale) -> String) {
    let cells: Vec<String> = scales.iter().map(f).collect();
    let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
}

fn header(out: &mut String, first: &str, scales: &[Scale]) {
    let names: Vec<String> = scales
        .iter()
        .map(|s| format!("{} msg/min", num(s.messages_per_minute)))
        .collect();
    let _ = writeln!(out, "| {first} | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(scales.len()));
}

fn traffic_table(scales: &[Scale], out: &mut String) {
    header(out, "average rate", scales);
    let m = MONTH_SECONDS;
    row(out, "visitor messages/s", scales, &|s| {
        num(s.messages_per_second)
    });
    row(out, "sessions/s", scales, &|s| num(s.sessions_per_second));
    row(out, "visitors a month", scales, &|s| {
        num(s.visitors_per_month)
    });
    row(out, "uploads an hour", scales, &|s| num(s.uploads_per_hour));
    row(
        out,
        "API requests/s (= Lambda invocations/s)",
        scales,
        &|s| num(s.requests_per_second),
    );
    row(out, "Lambda invocations a month", scales, &|s| {
        num(s.requests_per_second * m)
    });
    row(out, "Lambda GB-seconds a month", scales, &|s| {
        num(s.gb_seconds_per_second * m)
    });
    row(out, "Lambda concurrency (average)", scales, &|s| {
        num(s.concurrency)
    });
    row(out, "DynamoDB RCU/s", scales, &|s| num(s.rcu_per_second));
    row(out, "DynamoDB WCU/s (table + indexes)", scales, &|s| {
        num(s.wcu_per_second)
    });
    row(out, "S3 requests a month", scales, &|s| {
        num(s.s3_requests_per_second * m)
    });
    row(
        out,
        "DynamoDB GB stored (steady state, with indexes)",
        scales,
        &|s| num(s.table_gb + s.index_gb),
    );
    row(out, "S3 GB stored (steady state)", scales, &|s| {
        num(s.upload_gb)
    });
}

fn cost_table(scales: &[Scale], out: &mut String) {
    header(out, "USD a month", scales);
    row(out, "DynamoDB writes", scales, &|s| {
        money(s.costs.dynamodb_writes)
    });
    row(out, "DynamoDB reads", scales, &|s| {
        money(s.costs.dynamodb_reads)
    });
    row(out, "DynamoDB storage and PITR", scales, &|s| {
        money(s.costs.dynamodb_storage)
    });
    row(out, "Lambda requests", scales, &|s| {
        money(s.costs.lambda_requests)
    });
    row(out, "Lambda duration", scales, &|s| {
        money(s.costs.lambda_duration)
    });
    row(out, "API Gateway", scales, &|s| money(s.costs.api_gateway));
    row(out, "S3 requests and storage", scales, &|s| {
        money(s.costs.s3)
    });
    row(out, "**AWS total**", scales, &|s| {
        format!("**{}**", money(s.costs.aws()))
    });
    row(out, "AWS per 1,000 messages", scales, &|s| {
        money(s.costs.aws() / (s.messages_per_second * MONTH_SECONDS) * 1000.0)
    });
    row(out, "**provider tokens**", scales, &|s| {
        format!("**{}**", money(s.costs.provider))
    });
    row(out, "provider share of the total", scales, &|s| {
        percent(s.costs.provider / (s.costs.provider + s.costs.aws()))
    });
}

fn limits_table(i: &Inputs, scales: &[Scale], out: &mut String) {
    let names: Vec<String> = scales
        .iter()
        .map(|s| format!("use at {}", num(s.messages_per_minute)))
        .collect();
    let _ = writeln!(
        out,
        "| limit | reached at (msg/min, average) | {} | what to change |\n|---|---|{}---|",
        names.join(" | "),
        "---|".repeat(scales.len())
    );
    for l in limits(i) {
        let uses: Vec<String> = scales
            .iter()
            .map(|s| percent(l.use_at(s.messages_per_minute)))
            .collect();
        let _ = writeln!(
            out,
            "| {} ({} {}) | {} | {} | {} |",
            l.name,
            num(l.limit),
            l.unit,
            num(l.reached_at()),
            uses.join(" | "),
            l.change
        );
    }
}

/// For each scale, the limits its peak passes (and those past half).
fn steps(i: &Inputs, scales: &[Scale], out: &mut String) {
    let all = limits(i);
    for s in scales {
        let m = s.messages_per_minute;
        let over: Vec<_> = all.iter().filter(|l| l.use_at(m) > 1.0).collect();
        let near: Vec<_> = all
            .iter()
            .filter(|l| (0.5..=1.0).contains(&l.use_at(m)))
            .collect();
        let _ = writeln!(out, "- **{} msg/min**:", num(m));
        if over.is_empty() && near.is_empty() {
            out.push_str("  no limit past half its capacity at the peak; nothing to change.\n");
        }
        for l in over {
            let _ = writeln!(
                out,
                "  - past: {} ({}): {}",
                l.name,
                percent(l.use_at(m)),
                l.change
            );
        }
        for l in near {
            let _ = writeln!(
                out,
                "  - near: {} ({}): watch it",
                l.name,
                percent(l.use_at(m))
            );
        }
    }
}

/// The whole generated part.
pub fn render(i: &Inputs, raw: &Value) -> String {
    let scales: Vec<Scale> = i
        .scales_messages_per_minute
        .iter()
        .map(|m| scale(i, *m))
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Inputs\n\nPrices: {}, {}.\n",
        i.prices.region, i.prices.as_of
    );
    inputs_table(raw, &mut out);
    out.push_str("\n### Per operation\n\n");
    operations_table(i, &mut out);
    out.push_str("\n### Traffic at each scale\n\n");
    traffic_table(&scales, &mut out);
    out.push_str("\n### Monthly cost (30 days, flat traffic at the average)\n\n");
    cost_table(&scales, &mut out);
    let _ = writeln!(
        out,
        "\n### Limits, in the order they are reached (at {}x the average)\n",
        i.traffic.peak_to_average.value
    );
    limits_table(i, &scales, &mut out);
    out.push_str("\n### What to change at each scale\n\n");
    steps(i, &scales, &mut out);
    out
}
