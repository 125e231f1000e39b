//! Context building and token estimation (criterion): the work done on every
//! message before the provider is called. Target: under 100 microseconds for
//! 10 messages plus 2,000 tokens of file data.

use std::hint::black_box;

use chat_shared::context::{ContextInput, FILE_EXCERPT_CHARS, build_context};
use chat_shared::model::{ActiveFile, Message, Role};
use chat_shared::prompt::estimate_token_count;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, json};
use uuid::Uuid;

fn history() -> Vec<Message> {
    (0..10)
        .map(|i| Message {
            message_id: Uuid::nil(),
            role: if i % 2 == 0 { Role::User } else { Role::Assistant },
            content: format!(
                "Message {i}: could you tell me which of our products sold best in the north region last quarter, and why?"
            ),
            timestamp: i,
            metadata: Map::new(),
        })
        .collect()
}

fn file() -> ActiveFile {
    let mut excerpt = String::from("id,product,region,revenue\n");
    let mut i = 0;
    while excerpt.len() + 40 < FILE_EXCERPT_CHARS {
        excerpt.push_str(&format!(
            "{i},Widget {},north-{},{}.50\n",
            i % 97,
            i % 7,
            i % 1000
        ));
        i += 1;
    }
    ActiveFile {
        file_id: Uuid::nil(),
        name: "sales.csv".into(),
        file_type: "csv".into(),
        size: 1_000_000,
        summary: "CSV file with 20000 rows and 4 columns. id: integer, 0 to 19999.".into(),
        columns: vec![
            "id".into(),
            "product".into(),
            "region".into(),
            "revenue".into(),
        ],
        rows: 20_000,
        excerpt,
        uploaded_at: 0,
    }
}

fn bench(c: &mut Criterion) {
    let history = history();
    let file = file();
    let config = json!({
        "pageContext": {"url": "https://shop.example.com/dashboard", "title": "Dashboard", "content": "Quarterly sales overview ".repeat(40)},
        "customInstructions": "Be concise and cite the rows you use.",
    });
    let config = config.as_object().cloned().unwrap_or_default();
    c.bench_function(
        "build_context: 10 messages + 2,000 tokens of file data",
        |b| {
            b.iter(|| {
                build_context(black_box(&ContextInput {
                    message: "Which product sold best in the north?",
                    config: &config,
                    history: &history,
                    file: Some(&file),
                    default_model: "dummy-1.0",
                    system_prompt: None,
                    knowledge: &[],
                }))
            })
        },
    );
    let text = file.excerpt.clone();
    c.bench_function("estimate_token_count: 8,000 characters", |b| {
        b.iter(|| estimate_token_count(black_box(&text)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
