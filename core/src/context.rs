//! The context builder (the reference's `ChatService`): turns a message, the
//! session config, the recent history and the active file into a provider
//! request, within the reference's token budgets.
//!
//! Order and budgets follow the reference: page context, custom instructions,
//! data (file summary and excerpt, `jsonData` as CSV sections), the last 10
//! messages, the current message. The tenant's system prompt, when it has
//! one, leads the system message, ahead of all of them. Everything is cut deterministically and
//! only at character boundaries.

use serde_json::{Map, Value};

use crate::files::json_rows_to_csv_within;
use crate::model::{ActiveFile, Message, Role, SessionConfig};
use crate::prompt::{ChatTurn, ContextStats, ProviderRequest};
// The token estimate is the prompt's; kept reachable here, where callers
// find the budgets it is measured against.
use crate::prompt::{CHARS_PER_TOKEN, estimate_token_count};

pub const MAX_TOTAL_TOKENS: usize = 6000;
pub const MAX_USER_MESSAGE_TOKENS: usize = 3000;
pub const MAX_JSON_DATA_TOKENS: usize = 2000;
pub const MAX_HISTORY_TOKENS: usize = 1500;
/// How much of a file the session keeps for the prompt: the data budget.
pub const FILE_EXCERPT_CHARS: usize = MAX_JSON_DATA_TOKENS * CHARS_PER_TOKEN;
/// Reply budget when the config sets no `maxTokens` (the ~2k the total leaves).
pub const DEFAULT_MAX_REPLY_TOKENS: u32 = 2000;
const MAX_REPLY_TOKENS: u64 = 64_000;
/// What the fixed system preamble and section headings take.
const PREAMBLE_TOKENS: usize = 64;
/// The tenant's system prompt: at most a quarter of the total (its 6,000
/// characters, `MAX_SYSTEM_PROMPT_CHARS`). Counted first, so the tenant's
/// rules are never cut for a long message; the history gives way instead.
pub const MAX_SYSTEM_PROMPT_TOKENS: usize = MAX_TOTAL_TOKENS / 4;
/// The knowledge base's passages: at most this much, out of what the
/// message, prompt, instructions and history leave; taken before the file
/// data and the page, which share what remains.
pub const MAX_KNOWLEDGE_TOKENS: usize = 1500;

/// A passage of the tenant's knowledge base found for the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub title: String,
    pub url: Option<String>,
    pub text: String,
}

/// The longest prefix of `text` within `tokens`, cut at a character boundary.
pub fn truncate_to_tokens(text: &str, tokens: usize) -> &str {
    let max_chars = tokens.saturating_mul(CHARS_PER_TOKEN);
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}

/// Compacts every array of objects inside `data` to a CSV section named by
/// its path, as the reference does for token efficiency:
/// `{"campaigns": [{"id": 1, "name": "Campaign A"}]}` ->
/// `["campaigns:\nid,name\n1,Campaign A"]`.
pub fn process_json_data_to_csv(data: &Value) -> Vec<String> {
    let mut sections = Vec::new();
    let mut budget = MAX_JSON_DATA_TOKENS * CHARS_PER_TOKEN;
    collect_csv_sections(data, "", &mut sections, &mut budget);
    sections
}

/// Appends the sections under `value` while `budget` bytes remain: the work
/// is bounded by the data budget, not by the size of what a client sends.
fn collect_csv_sections(value: &Value, path: &str, out: &mut Vec<String>, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    match value {
        Value::Array(items) => {
            if let Some(csv) = json_rows_to_csv_within(items, *budget) {
                let name = if path.is_empty() { "data" } else { path };
                let section = format!("{name}:\n{csv}");
                *budget = budget.saturating_sub(section.len());
                out.push(section);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                collect_csv_sections(child, &child_path, out, budget);
            }
        }
        _ => {}
    }
}

/// What the builder works from.
pub struct ContextInput<'a> {
    pub message: &'a str,
    pub config: &'a SessionConfig,
    /// Recent messages, oldest first (the repository returns the last 10).
    pub history: &'a [Message],
    pub file: Option<&'a ActiveFile>,
    /// The model to ask for when the config names none.
    pub default_model: &'a str,
    /// The tenant's system prompt (`settings.systemPrompt`): first in the
    /// system message; the config's `customInstructions` still follow.
    pub system_prompt: Option<&'a str>,
    /// The knowledge base's best passages for the message, best first
    /// (empty when the tenant has none).
    pub knowledge: &'a [Passage],
}

fn text<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    map?.get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn object<'a>(config: &'a SessionConfig, key: &str) -> Option<&'a Map<String, Value>> {
    config.get(key)?.as_object()
}

/// The page the visitor is on: `pageContext` first, then what the widget
/// collected in `pageData`.
fn page_section(config: &SessionConfig, budget_tokens: usize) -> Option<String> {
    let ctx = object(config, "pageContext");
    let data = object(config, "pageData");
    let url = text(ctx, "url").or_else(|| text(data, "url"));
    let title = text(ctx, "title").or_else(|| text(data, "title"));
    let content = text(ctx, "content")
        .or_else(|| text(ctx, "description"))
        .or_else(|| text(data, "pageContent"));
    let hostname = text(data, "hostname");
    let language = text(data, "language");
    if url.is_none() && title.is_none() && content.is_none() {
        return None;
    }
    let mut out = String::from("## Page context\n");
    for (label, value) in [
        ("URL", url),
        ("Title", title),
        ("Site", hostname),
        ("Language", language),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("{label}: {}\n", truncate_to_tokens(v, 250)));
        }
    }
    if let Some(content) = content {
        let room = budget_tokens.saturating_sub(estimate_token_count(&out) + 4);
        let cut = truncate_to_tokens(content, room);
        if !cut.is_empty() {
            out.push_str("Content: ");
            out.push_str(cut);
            out.push('\n');
        }
    }
    Some(out)
}

fn data_section(
    file: Option<&ActiveFile>,
    config: &SessionConfig,
    budget_tokens: usize,
) -> (Option<String>, bool, bool) {
    let mut out = String::new();
    if let Some(f) = file {
        out.push_str(&format!(
            "File: {} ({}, {} rows; columns: {})\nSummary: {}\n{}\n",
            f.name,
            f.file_type,
            f.rows,
            f.columns.join(", "),
            f.summary,
            f.excerpt
        ));
    }
    let mut has_json = false;
    if let Some(json) = config.get("jsonData").filter(|v| !v.is_null()) {
        let sections = process_json_data_to_csv(json);
        has_json = true;
        if sections.is_empty() {
            out.push_str(&format!("Data: {json}\n"));
        } else {
            for s in sections {
                out.push_str(&s);
                out.push('\n');
            }
        }
    }
    if out.is_empty() {
        return (None, false, false);
    }
    let cut = truncate_to_tokens(&out, budget_tokens.min(MAX_JSON_DATA_TOKENS));
    (Some(format!("## Data\n{cut}")), file.is_some(), has_json)
}

/// The newest messages that fit `budget` tokens, oldest first; a message
/// that does not fit whole is cut to what is left, and older ones are dropped.
fn history_turns(history: &[Message], budget: usize) -> Vec<ChatTurn> {
    let mut left = budget;
    let mut turns = Vec::new();
    for m in history.iter().rev() {
        if left == 0 {
            break;
        }
        let role = match m.role {
            Role::User | Role::Assistant => m.role,
            Role::System => continue,
        };
        let cut = truncate_to_tokens(&m.content, left);
        left -= estimate_token_count(cut).min(left);
        if cut.len() < m.content.len() {
            left = 0;
        }
        turns.push(ChatTurn {
            role,
            content: cut.to_owned(),
        });
    }
    turns.reverse();
    turns
}

/// The passages that fit `budget_tokens`, best first; a passage that does
/// not fit whole is cut, and the ones after it dropped. `None` when none fit.
fn knowledge_section(passages: &[Passage], budget_tokens: usize) -> Option<String> {
    const HEADING: &str = "## Knowledge base\nAnswer from these passages of the site's own documents when they apply.\n";
    let mut left = budget_tokens
        .min(MAX_KNOWLEDGE_TOKENS)
        .checked_sub(estimate_token_count(HEADING))?;
    let mut out = String::from(HEADING);
    let mut any = false;
    for p in passages {
        let head = match &p.url {
            Some(url) => format!("\n### {} ({url})\n", p.title),
            None => format!("\n### {}\n", p.title),
        };
        let head_tokens = estimate_token_count(&head) + 1;
        if left <= head_tokens {
            break;
        }
        left -= head_tokens;
        let cut = truncate_to_tokens(&p.text, left);
        if cut.trim().is_empty() {
            break;
        }
        left -= estimate_token_count(cut).min(left);
        out.push_str(&head);
        out.push_str(cut);
        out.push('\n');
        any = true;
    }
    any.then_some(out)
}

/// `customInstructions`, cut to its budget.
fn instructions_section(config: &SessionConfig) -> Option<String> {
    config
        .get("customInstructions")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("## Instructions\n{}\n", truncate_to_tokens(s, 500)))
}

/// The tenant's prompt, who answers, then the sections that are present,
/// in order.
fn system_prompt(
    config: &SessionConfig,
    tenant_prompt: Option<&str>,
    sections: [&Option<String>; 4],
) -> String {
    let bot = config
        .get("botName")
        .and_then(Value::as_str)
        .unwrap_or("an AI assistant");
    let mut system = String::new();
    if let Some(prompt) = tenant_prompt {
        system.push_str(prompt);
        system.push_str("\n\n");
    }
    system.push_str(&format!(
        "You are {bot}, answering a visitor of a website. Use the context below when it helps; say so when it does not contain the answer.\n"
    ));
    for section in sections.into_iter().flatten() {
        system.push('\n');
        system.push_str(section);
    }
    system
}

/// The config's `model`, else the default.
fn model(config: &SessionConfig, default_model: &str) -> String {
    config
        .get("model")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default_model)
        .to_owned()
}

/// The config's `maxTokens` (capped), else the default reply budget.
fn max_tokens(config: &SessionConfig) -> u32 {
    config
        .get("maxTokens")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .map_or(DEFAULT_MAX_REPLY_TOKENS, |n| n.min(MAX_REPLY_TOKENS) as u32)
}

/// Builds the provider request.
pub fn build_context(input: &ContextInput<'_>) -> ProviderRequest {
    let message = truncate_to_tokens(input.message, MAX_USER_MESSAGE_TOKENS);
    let tenant_prompt = input
        .system_prompt
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| truncate_to_tokens(p, MAX_SYSTEM_PROMPT_TOKENS));
    let instructions = instructions_section(input.config);
    // The history takes what the prompt, message and instructions leave,
    // up to its own budget (all of it unless a long tenant prompt and a
    // long message meet).
    let fixed = estimate_token_count(message)
        + tenant_prompt.map_or(0, estimate_token_count)
        + instructions.as_deref().map_or(0, estimate_token_count)
        + PREAMBLE_TOKENS;
    let history = history_turns(
        input.history,
        MAX_HISTORY_TOKENS.min(MAX_TOTAL_TOKENS.saturating_sub(fixed)),
    );
    let history_tokens: usize = history
        .iter()
        .map(|t| estimate_token_count(&t.content))
        .sum();

    // The total is a hard cap: what the prompt, message, history and
    // instructions leave goes to the knowledge base's passages (up to their
    // own budget), then the data, then the page.
    let mut used = fixed + history_tokens;
    let knowledge = knowledge_section(input.knowledge, MAX_TOTAL_TOKENS.saturating_sub(used));
    used += knowledge.as_deref().map_or(0, estimate_token_count);
    let (data, has_file, has_json) = data_section(
        input.file,
        input.config,
        MAX_TOTAL_TOKENS.saturating_sub(used),
    );
    used += data.as_deref().map_or(0, estimate_token_count);
    let page = page_section(input.config, MAX_TOTAL_TOKENS.saturating_sub(used));

    let system = system_prompt(
        input.config,
        tenant_prompt,
        [&page, &instructions, &knowledge, &data],
    );

    let mut messages = history;
    let history_messages = messages.len();
    messages.push(ChatTurn {
        role: Role::User,
        content: message.to_owned(),
    });
    let estimated_tokens = estimate_token_count(&system)
        + messages
            .iter()
            .map(|t| estimate_token_count(&t.content))
            .sum::<usize>();

    ProviderRequest {
        model: model(input.config, input.default_model),
        system,
        messages,
        max_tokens: max_tokens(input.config),
        stats: ContextStats {
            history_messages,
            has_page_context: page.is_some(),
            has_custom_instructions: instructions.is_some(),
            has_file_data: has_file,
            has_json_data: has_json,
            estimated_tokens,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn msg(role: Role, content: &str) -> Message {
        Message {
            message_id: Uuid::nil(),
            role,
            content: content.into(),
            timestamp: 0,
            metadata: Map::new(),
        }
    }

    fn config(v: Value) -> SessionConfig {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn token_estimate_matches_the_reference() {
        assert_eq!(estimate_token_count("Hello, world!"), 3);
        assert_eq!(estimate_token_count(""), 0);
        assert_eq!(
            estimate_token_count("ééééééééé"),
            2,
            "counts characters, not bytes"
        );
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let s = "日本語のテキスト";
        assert_eq!(truncate_to_tokens(s, 1), "日本語の");
        assert_eq!(truncate_to_tokens(s, 100), s);
        assert_eq!(truncate_to_tokens(s, 0), "");
    }

    #[test]
    fn json_arrays_become_csv_sections_as_in_the_reference() {
        let sections = process_json_data_to_csv(&json!({
            "campaigns": [
                {"id": 1, "name": "Campaign A"},
                {"id": 2, "name": "Campaign B"}
            ]
        }));
        assert_eq!(
            sections,
            vec!["campaigns:\nid,name\n1,Campaign A\n2,Campaign B"]
        );
    }

    #[test]
    fn nested_arrays_are_named_by_path() {
        let sections = process_json_data_to_csv(&json!({"report": {"rows": [{"a": 1}]}, "n": 3}));
        assert_eq!(sections, vec!["report.rows:\na\n1"]);
    }

    #[test]
    fn context_has_the_reference_order() {
        let cfg = config(json!({
            "pageContext": {"url": "https://example.com/dashboard", "title": "Dashboard"},
            "customInstructions": "Be concise",
            "jsonData": {"campaigns": [{"id": 1, "name": "Campaign A"}]}
        }));
        let history = [msg(Role::User, "Hello"), msg(Role::Assistant, "Hi!")];
        let req = build_context(&ContextInput {
            message: "What are the top products?",
            config: &cfg,
            history: &history,
            file: None,
            default_model: "dummy-1.0",
            system_prompt: None,
            knowledge: &[],
        });
        let page = req
            .system
            .find("https://example.com/dashboard")
            .expect("page");
        let instr = req.system.find("Be concise").expect("instructions");
        let data = req
            .system
            .find("campaigns:\nid,name\n1,Campaign A")
            .expect("data");
        assert!(page < instr && instr < data);
        assert_eq!(req.messages.len(), 3);
        assert_eq!(req.messages[2].content, "What are the top products?");
        assert_eq!(req.stats.history_messages, 2);
        assert!(req.stats.has_page_context && req.stats.has_custom_instructions);
        assert!(req.stats.has_json_data && !req.stats.has_file_data);
        assert_eq!(req.model, "dummy-1.0");
        assert_eq!(req.max_tokens, DEFAULT_MAX_REPLY_TOKENS);
    }

    #[test]
    fn budgets_hold_for_oversized_input() {
        let huge = "x".repeat(100_000);
        let cfg = config(json!({
            "pageContext": {"url": "https://e.com", "content": huge},
            "jsonData": {"rows": (0..5000).map(|i| json!({"i": i, "t": "some text"})).collect::<Vec<_>>()}
        }));
        let history: Vec<Message> = (0..10)
            .map(|_| msg(Role::User, &"h".repeat(4000)))
            .collect();
        let req = build_context(&ContextInput {
            message: &huge,
            config: &cfg,
            history: &history,
            file: None,
            default_model: "m",
            system_prompt: None,
            knowledge: &[],
        });
        let last = req.messages.last().expect("current message");
        assert_eq!(estimate_token_count(&last.content), MAX_USER_MESSAGE_TOKENS);
        let history_tokens: usize = req.messages[..req.messages.len() - 1]
            .iter()
            .map(|t| estimate_token_count(&t.content))
            .sum();
        assert!(history_tokens <= MAX_HISTORY_TOKENS);
        assert!(
            req.stats.estimated_tokens <= MAX_TOTAL_TOKENS,
            "total {} over budget",
            req.stats.estimated_tokens
        );
    }

    #[test]
    fn history_keeps_the_newest_messages() {
        let history: Vec<Message> = (0..10)
            .map(|i| msg(Role::User, &format!("{i}{}", "y".repeat(1999))))
            .collect();
        let turns = history_turns(&history, MAX_HISTORY_TOKENS);
        assert_eq!(turns.last().map(|t| &t.content[..1]), Some("9"));
        let total: usize = turns.iter().map(|t| estimate_token_count(&t.content)).sum();
        assert!(total <= MAX_HISTORY_TOKENS);
    }

    #[test]
    fn model_and_reply_budget_come_from_the_config() {
        let cfg = config(json!({"model": "my-model", "maxTokens": 512}));
        let req = build_context(&ContextInput {
            message: "hi",
            config: &cfg,
            history: &[],
            file: None,
            default_model: "default",
            system_prompt: None,
            knowledge: &[],
        });
        assert_eq!(req.model, "my-model");
        assert_eq!(req.max_tokens, 512);
        assert!(!req.stats.has_page_context && !req.stats.has_file_data);
    }

    #[test]
    fn the_tenants_prompt_leads_and_instructions_follow() {
        let cfg = config(json!({
            "botName": "Kettle Helper",
            "customInstructions": "Answer in French.",
            "pageContext": {"url": "https://shop.test/k1"}
        }));
        let req = build_context(&ContextInput {
            message: "hi",
            config: &cfg,
            history: &[],
            file: None,
            default_model: "m",
            system_prompt: Some("  You answer about kettles only.  "),
            knowledge: &[],
        });
        assert!(
            req.system
                .starts_with("You answer about kettles only.\n\nYou are Kettle Helper"),
            "{}",
            req.system
        );
        let page = req.system.find("https://shop.test/k1").expect("page");
        let instr = req.system.find("Answer in French.").expect("instructions");
        assert!(page < instr);
        let blank = build_context(&ContextInput {
            system_prompt: Some("   "),
            knowledge: &[],
            message: "hi",
            config: &cfg,
            history: &[],
            file: None,
            default_model: "m",
        });
        assert!(blank.system.starts_with("You are Kettle Helper"));
    }

    #[test]
    fn the_tenants_prompt_counts_inside_the_cap() {
        let huge = "x".repeat(100_000);
        let cfg = config(json!({
            "customInstructions": huge,
            "pageContext": {"url": "https://e.com", "content": huge},
            "jsonData": {"rows": (0..5000).map(|i| json!({"i": i, "t": "some text"})).collect::<Vec<_>>()}
        }));
        let history: Vec<Message> = (0..10)
            .map(|_| msg(Role::Assistant, &"h".repeat(4000)))
            .collect();
        let prompt = "p".repeat(50_000);
        let req = build_context(&ContextInput {
            message: &huge,
            config: &cfg,
            history: &history,
            file: None,
            default_model: "m",
            system_prompt: Some(&prompt),
            knowledge: &[],
        });
        assert!(
            req.system
                .starts_with(&"p".repeat(MAX_SYSTEM_PROMPT_TOKENS * CHARS_PER_TOKEN)),
            "the prompt is kept up to its budget"
        );
        assert!(
            !req.system
                .starts_with(&"p".repeat(MAX_SYSTEM_PROMPT_TOKENS * CHARS_PER_TOKEN + 1))
        );
        let last = req.messages.last().expect("current message");
        assert_eq!(estimate_token_count(&last.content), MAX_USER_MESSAGE_TOKENS);
        assert!(
            req.stats.estimated_tokens <= MAX_TOTAL_TOKENS,
            "total {} over budget",
            req.stats.estimated_tokens
        );
    }

    #[test]
    fn knowledge_passages_go_before_the_data_within_their_budget() {
        let cfg = config(json!({"jsonData": {"rows": [{"a": 1}]}}));
        let passages = [
            Passage {
                title: "Returns policy".into(),
                url: Some("https://shop.test/returns".into()),
                text: "Kettles may be returned within 30 days.".into(),
            },
            Passage {
                title: "Huge".into(),
                url: None,
                text: "y".repeat(MAX_KNOWLEDGE_TOKENS * CHARS_PER_TOKEN * 2),
            },
        ];
        let req = build_context(&ContextInput {
            message: "Can I return a kettle?",
            config: &cfg,
            history: &[],
            file: None,
            default_model: "dummy-1.0",
            system_prompt: None,
            knowledge: &passages,
        });
        let k = req.system.find("## Knowledge base").expect("knowledge");
        let d = req.system.find("## Data").expect("data");
        assert!(k < d);
        assert!(
            req.system
                .contains("### Returns policy (https://shop.test/returns)")
        );
        assert!(req.system.contains("within 30 days"));
        let section = &req.system[k..d];
        assert!(estimate_token_count(section) <= MAX_KNOWLEDGE_TOKENS + 2);
        assert!(req.stats.estimated_tokens <= MAX_TOTAL_TOKENS);
        let none = build_context(&ContextInput {
            knowledge: &[],
            message: "Can I return a kettle?",
            config: &cfg,
            history: &[],
            file: None,
            default_model: "dummy-1.0",
            system_prompt: None,
        });
        assert!(!none.system.contains("Knowledge base"));
    }
}
