//! What the context builder hands to a provider: the prompt types and the
//! token estimate. A leaf: the context builder and the providers both use
//! it, so neither needs the other.

use crate::model::Role;

/// The estimate's ratio, as the reference's `estimate_token_count`.
pub const CHARS_PER_TOKEN: usize = 4;

/// Rough token count: one token per four characters ("Hello, world!" -> 3).
pub fn estimate_token_count(text: &str) -> usize {
    text.chars().count() / CHARS_PER_TOKEN
}

/// One turn of the conversation in the provider's native message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTurn {
    pub role: Role,
    pub content: String,
}

/// What went into the prompt; the dummy provider reports it, real providers
/// ignore it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextStats {
    pub history_messages: usize,
    pub has_page_context: bool,
    pub has_custom_instructions: bool,
    pub has_file_data: bool,
    pub has_json_data: bool,
    pub estimated_tokens: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRequest {
    pub model: String,
    /// Page context, instructions and data.
    pub system: String,
    /// History, oldest first, ending with the current user message.
    pub messages: Vec<ChatTurn>,
    pub max_tokens: u32,
    pub stats: ContextStats,
}
