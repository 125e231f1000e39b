//! Fuzz targets. Each takes raw bytes, shapes them into the inputs of one
//! processor of `chat-core`, runs it and checks what must hold whatever
//! the input; a panic (a failed check included) is a finding.
//!
//! They run two ways:
//! - under AFL++ (`src/bin`, built with `cargo afl build --profile fuzz --features afl`):
//!   coverage-guided fuzzing on stable Rust, bounded in time by
//!   `fuzz/run.sh`;
//! - in `cargo test` (`tests/replay.rs`): every file of the seed corpus and
//!   a bounded number of mutations of it, deterministically.

use chat_core::context::{ContextInput, MAX_HISTORY_TOKENS, build_context};
use chat_core::files::{self, FileKind};
use chat_core::model::{ActiveFile, Message, Role};
use chat_core::prompt::estimate_token_count;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The excerpt budget the files target asks for (small, so cuts happen).
const EXCERPT_CHARS: usize = 300;

/// `files::analyze` and `files::query` on one input. Byte 0 picks the kind
/// and the query limit, byte 1 the needle's length; the needle follows,
/// then the file.
pub fn files_target(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let kind = if head & 1 == 0 {
        FileKind::Csv
    } else {
        FileKind::Json
    };
    let limit = usize::from(head >> 1) % 20 + 1;
    let (needle_len, rest) = match rest.split_first() {
        Some((&n, rest)) => (usize::from(n % 16).min(rest.len()), rest),
        None => (0, rest),
    };
    let (needle, content) = rest.split_at(needle_len);
    let needle = String::from_utf8_lossy(needle);

    if let Ok(analysis) = files::analyze(kind, content, EXCERPT_CHARS) {
        assert_eq!(analysis.kind, kind);
        // Non-tabular JSON's excerpt is cut at a char boundary; CSV at row
        // boundaries: never over the budget either way.
        assert!(
            analysis.excerpt.chars().count() <= EXCERPT_CHARS,
            "excerpt of {} chars over {EXCERPT_CHARS}",
            analysis.excerpt.chars().count()
        );
        assert!(analysis.columns.len() <= 10_000);
    }
    if let Ok(found) = files::query(kind, content, &needle, limit) {
        assert!(found.results.len() <= limit);
        assert!(found.total_matches >= found.results.len() as u64);
        if needle.trim().is_empty() {
            assert_eq!(found.total_matches, 0, "an empty needle matches nothing");
        }
    }
}

/// `context::build_context` on one input: the bytes split at 0xFF into the
/// message, the session config (JSON, used when it is an object), the
/// active file's excerpt and summary, then history messages.
pub fn context_target(data: &[u8]) {
    let mut parts = data.split(|b| *b == 0xFF);
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let message = text();
    let config: Map<String, Value> = match serde_json::from_str(&text()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let excerpt = text();
    let summary = text();
    let file = (!excerpt.is_empty() || !summary.is_empty()).then(|| ActiveFile {
        file_id: Uuid::nil(),
        name: "data.csv".into(),
        file_type: "csv".into(),
        size: excerpt.len() as u64,
        summary,
        columns: vec![],
        rows: 0,
        excerpt,
        uploaded_at: 0,
    });
    let history: Vec<Message> = parts
        .by_ref()
        .take(12)
        .enumerate()
        .map(|(i, bytes)| Message {
            message_id: Uuid::nil(),
            role: match i % 3 {
                0 => Role::User,
                1 => Role::Assistant,
                _ => Role::System,
            },
            content: String::from_utf8_lossy(bytes).into_owned(),
            timestamp: i as i64,
            metadata: Map::new(),
        })
        .collect();

    let request = build_context(&ContextInput {
        message: &message,
        config: &config,
        history: &history,
        file: file.as_ref(),
        default_model: "fuzz-model",
        // A tenant's system prompt, when the config carries one to try.
        system_prompt: config.get("systemPrompt").and_then(Value::as_str),
        knowledge: &[],
    });
    let last = request.messages.last().expect("the current message");
    assert_eq!(last.role, Role::User);
    assert!(
        message.starts_with(&last.content),
        "the message is only cut"
    );
    let earlier = &request.messages[..request.messages.len() - 1];
    assert!(earlier.len() <= history.len());
    assert!(earlier.iter().all(|t| t.role != Role::System));
    let history_tokens: usize = earlier
        .iter()
        .map(|t| estimate_token_count(&t.content))
        .sum();
    assert!(history_tokens <= MAX_HISTORY_TOKENS);
    assert_eq!(request.stats.history_messages, earlier.len());
    assert!(request.max_tokens > 0);
    assert!(!request.model.trim().is_empty());
}
