//! A tenant's self-service settings: the `settings` object of
//! `GET /api/tenant`, the one shape `PATCH /api/tenant/settings`, `chatctl
//! tenant` and the Django import all write through, validated in one place.
//!
//! The stored [`Tenant`] keeps its fields flat (its item predates this
//! view); [`Tenant::settings`] reads them as a [`TenantSettings`] and
//! [`Tenant::apply_settings`] writes one back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Tenant;
use super::origin::OriginPattern;
use crate::Secret;

/// Longest bot name, powered-by text, welcome message, starter prompt and
/// system prompt, in characters.
pub const MAX_BOT_NAME_CHARS: usize = 100;
pub const MAX_POWERED_BY_CHARS: usize = 100;
pub const MAX_WELCOME_CHARS: usize = 1_000;
pub const MAX_STARTER_PROMPTS: usize = 6;
pub const MAX_STARTER_PROMPT_CHARS: usize = 200;
/// The system prompt leads every context, inside its token cap: a quarter
/// of the 6,000-token cap at most.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = 6_000;
pub const MAX_ICON_URL_BYTES: usize = 2_048;
pub const MAX_ALLOWED_ORIGINS: usize = 100;
pub const MAX_RATE_LIMIT_PER_HOUR: u32 = 1_000_000;
pub const MAX_RETENTION_DAYS: u32 = 3_650;
/// The knowledge base's limits per tenant when its settings name none, and
/// the most a tenant may set.
pub const DEFAULT_KNOWLEDGE_MAX_DOCUMENTS: u32 = 200;
pub const DEFAULT_KNOWLEDGE_MAX_BYTES: u64 = 50 * 1024 * 1024;
pub const MAX_KNOWLEDGE_DOCUMENTS: u32 = 10_000;
pub const MAX_KNOWLEDGE_BYTES: u64 = 1024 * 1024 * 1024;

/// Which side of the page the widget sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Right,
    Left,
}

/// The widget's colour scheme; `auto` follows the visitor's system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
    Auto,
}

/// The widget's branding and first words. Unset fields fall back to the
/// deployment's defaults (`BOT_*`). Stored on the tenant item under `bot`;
/// the aliases read items written when `bot` held the reference's
/// `botName`/`botColor`/... names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BotSettings {
    #[serde(default, alias = "botName", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powered_by: Option<String>,
    /// `#rrggbb`.
    #[serde(default, alias = "botColor", skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// `#rrggbb`: the background of the bot's messages.
    #[serde(
        default,
        alias = "botMsgBgColor",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_bg_color: Option<String>,
    /// An http(s) URL of the bot's avatar.
    #[serde(default, alias = "botIcon", skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starter_prompts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    /// A BCP 47 tag (`es`, `pt-BR`): the widget's interface language; the
    /// visitor's browser language when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Whether signed visitor identity is on. The secret itself is never part
/// of the settings: `rotateSecret: true` in a patch makes a new one, which
/// the response shows once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityView {
    #[serde(default)]
    pub enabled: bool,
    /// Publishable-key requests naming a user must carry its signature.
    #[serde(default)]
    pub required: bool,
    /// Write-only: replace the secret (turning identity on).
    #[serde(default, skip_serializing)]
    pub rotate_secret: bool,
}

/// The knowledge base: on unless turned off; limits on the documents a
/// tenant keeps (their count, and their original bytes together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeSettings {
    /// `false` keeps documents but stops using them in conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_documents: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

impl KnowledgeSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    pub fn document_limit(&self) -> u32 {
        self.max_documents
            .unwrap_or(DEFAULT_KNOWLEDGE_MAX_DOCUMENTS)
    }

    pub fn byte_limit(&self) -> u64 {
        self.max_bytes.unwrap_or(DEFAULT_KNOWLEDGE_MAX_BYTES)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        in_range(
            "knowledge.maxDocuments",
            self.max_documents,
            MAX_KNOWLEDGE_DOCUMENTS,
        )?;
        match self.max_bytes {
            Some(n) if !(1..=MAX_KNOWLEDGE_BYTES).contains(&n) => Err(SettingsError::new(
                "knowledge.maxBytes",
                format!("a whole number from 1 to {MAX_KNOWLEDGE_BYTES}, or null for the default"),
            )),
            _ => Ok(()),
        }
    }
}

/// Limits of publishable-key (widget) traffic, per hour on a sliding
/// window. Secret keys keep `rateLimitPerHour`, per key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsSettings {
    /// Messages per visitor per hour; `rateLimitPerHour` (or the
    /// deployment's default) when unset.
    #[serde(default)]
    pub per_visitor_per_hour: Option<u32>,
    /// Messages per hour of all the tenant's visitors together; no ceiling
    /// when unset.
    #[serde(default)]
    pub tenant_per_hour: Option<u32>,
}

impl LimitsSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        in_range(
            "limits.perVisitorPerHour",
            self.per_visitor_per_hour,
            MAX_RATE_LIMIT_PER_HOUR,
        )?;
        in_range(
            "limits.tenantPerHour",
            self.tenant_per_hour,
            MAX_TENANT_PER_HOUR,
        )
    }
}

/// What happens to a message once a monthly cap is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExceeded {
    /// `429` with `limit: monthlyMessages|monthlyTokens`.
    #[default]
    Reject,
    /// Answered by `fallbackProvider` (and `fallbackModel`) instead.
    Fallback,
}

/// Monthly caps (UTC calendar month) on the tenant's messages and provider
/// tokens (input + output); `null` is no cap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetSettings {
    #[serde(default)]
    pub monthly_messages: Option<u64>,
    #[serde(default)]
    pub monthly_tokens: Option<u64>,
    /// The soft threshold, percent of a cap: shown as reached in the
    /// analytics and the console; 80 when unset.
    #[serde(default)]
    pub soft_percent: Option<u8>,
    #[serde(default)]
    pub on_exceeded: OnExceeded,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_model: Option<String>,
}

/// The soft threshold when a budget names none.
pub const DEFAULT_SOFT_PERCENT: u8 = 80;
pub const MAX_MONTHLY_MESSAGES: u64 = 1_000_000_000;
pub const MAX_MONTHLY_TOKENS: u64 = 1_000_000_000_000;
/// The tenant ceiling's most: every shard must be able to hold its share.
pub const MAX_TENANT_PER_HOUR: u32 = 100_000_000;
const MAX_MODEL_CHARS: usize = 100;

impl BudgetSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    pub fn soft_percent(&self) -> u8 {
        self.soft_percent.unwrap_or(DEFAULT_SOFT_PERCENT)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let cap = |field: &str, n: Option<u64>, max: u64| match n {
            Some(n) if !(1..=max).contains(&n) => Err(SettingsError::new(
                field,
                format!("a whole number from 1 to {max}, or null for no cap"),
            )),
            _ => Ok(()),
        };
        cap(
            "budget.monthlyMessages",
            self.monthly_messages,
            MAX_MONTHLY_MESSAGES,
        )?;
        cap("budget.monthlyTokens", self.monthly_tokens, MAX_MONTHLY_TOKENS)?;
        if let Some(p) = self.soft_percent
            && !(1..=100).contains(&p)
        {
            return Err(SettingsError::new(
                "budget.softPercent",
                "a whole number from 1 to 100, or null for 80",
            ));
        }
        if let Some(p) = &self.fallback_provider
            && !is_provider_name(p)
        {
            return Err(SettingsError::new(
                "budget.fallbackProvider",
                "a provider name such as claude, openai, custom or dummy",
            ));
        }
        if self.on_exceeded == OnExceeded::Fallback && self.fallback_provider.is_none() {
            return Err(SettingsError::new(
                "budget.fallbackProvider",
                "required when onExceeded is fallback",
            ));
        }
        if let Some(m) = &self.fallback_model {
            if m.trim().is_empty() || m.chars().any(char::is_control) {
                return Err(SettingsError::new(
                    "budget.fallbackModel",
                    "a model name, or null for the provider's default",
                ));
            }
            max_chars("budget.fallbackModel", m, MAX_MODEL_CHARS)?;
        }
        Ok(())
    }
}

fn is_provider_name(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 32
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The `settings` object of the tenant API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSettings {
    #[serde(default)]
    pub bot: BotSettings,
    /// Leads the system message of every conversation; a session's
    /// `customInstructions` follow it.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// The provider of sessions that name none; the deployment's when unset.
    #[serde(default)]
    pub default_provider: Option<String>,
    #[serde(default)]
    pub allowed_origins: Vec<OriginPattern>,
    #[serde(default)]
    pub identity: IdentityView,
    /// Messages per hour per API key; the deployment's when unset.
    #[serde(default)]
    pub rate_limit_per_hour: Option<u32>,
    /// Days a session is kept after its last activity; the deployment's
    /// when unset.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// `{enabled, maxDocuments, maxBytes}`; shown only when set.
    #[serde(default, skip_serializing_if = "KnowledgeSettings::is_default")]
    pub knowledge: KnowledgeSettings,
    /// `{perVisitorPerHour, tenantPerHour}`; shown only when set.
    #[serde(default, skip_serializing_if = "LimitsSettings::is_default")]
    pub limits: LimitsSettings,
    /// Monthly caps; shown only when set.
    #[serde(default, skip_serializing_if = "BudgetSettings::is_default")]
    pub budget: BudgetSettings,
}

/// A setting that cannot be taken, with where it is (`bot.color`,
/// `allowedOrigins[2]`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct SettingsError {
    pub field: String,
    pub detail: String,
}

impl SettingsError {
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl TenantSettings {
    /// These settings with an RFC 7396 JSON merge patch applied, checked.
    /// Unknown fields are refused by name, so a typo is not silently lost.
    pub fn patched(&self, patch: &Value) -> Result<Self, SettingsError> {
        if !patch.is_object() {
            return Err(SettingsError::new(
                "settings",
                "a JSON merge patch of the settings object is expected",
            ));
        }
        let mut doc = serde_json::to_value(self)
            .map_err(|e| SettingsError::new("settings", e.to_string()))?;
        json_patch::merge(&mut doc, patch);
        let next: Self = serde_path_to_error::deserialize(doc).map_err(|e| {
            let field = e.path().to_string();
            let detail = e.inner().to_string();
            SettingsError::new(
                if field == "." {
                    "settings".into()
                } else {
                    field
                },
                detail,
            )
        })?;
        next.validate()?;
        Ok(next)
    }

    /// Every field within its bounds; text fields trimmed of nothing (what
    /// the tenant wrote is what the visitor sees).
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.bot.validate()?;
        if let Some(p) = &self.system_prompt {
            max_chars("systemPrompt", p, MAX_SYSTEM_PROMPT_CHARS)?;
        }
        if let Some(p) = &self.default_provider {
            if !is_provider_name(p) {
                return Err(SettingsError::new(
                    "defaultProvider",
                    "a provider name such as claude, openai, custom or dummy",
                ));
            }
        }
        if self.allowed_origins.len() > MAX_ALLOWED_ORIGINS {
            return Err(SettingsError::new(
                "allowedOrigins",
                format!("at most {MAX_ALLOWED_ORIGINS} entries"),
            ));
        }
        for (i, o) in self.allowed_origins.iter().enumerate() {
            if self.allowed_origins[..i].contains(o) {
                return Err(SettingsError::new(
                    format!("allowedOrigins[{i}]"),
                    format!("`{o}` is listed twice"),
                ));
            }
        }
        if self.identity.required && !self.identity.enabled {
            return Err(SettingsError::new(
                "identity.required",
                "identity must be enabled to be required",
            ));
        }
        in_range(
            "rateLimitPerHour",
            self.rate_limit_per_hour,
            MAX_RATE_LIMIT_PER_HOUR,
        )?;
        in_range("retentionDays", self.retention_days, MAX_RETENTION_DAYS)?;
        self.limits.validate()?;
        self.budget.validate()?;
        self.knowledge.validate()
    }
}

impl BotSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err(SettingsError::new("bot.name", "must not be empty"));
            }
            max_chars("bot.name", name, MAX_BOT_NAME_CHARS)?;
        }
        if let Some(p) = &self.powered_by {
            max_chars("bot.poweredBy", p, MAX_POWERED_BY_CHARS)?;
        }
        for (field, colour) in [
            ("bot.color", &self.color),
            ("bot.msgBgColor", &self.msg_bg_color),
        ] {
            if let Some(c) = colour
                && parse_hex_colour(c).is_none()
            {
                return Err(SettingsError::new(field, "a colour as #rrggbb or #rgb"));
            }
        }
        if let Some(icon) = &self.icon {
            check_http_url("bot.icon", icon)?;
        }
        if let Some(w) = &self.welcome_message {
            max_chars("bot.welcomeMessage", w, MAX_WELCOME_CHARS)?;
        }
        if self.starter_prompts.len() > MAX_STARTER_PROMPTS {
            return Err(SettingsError::new(
                "bot.starterPrompts",
                format!("at most {MAX_STARTER_PROMPTS} prompts"),
            ));
        }
        for (i, p) in self.starter_prompts.iter().enumerate() {
            let field = format!("bot.starterPrompts[{i}]");
            if p.trim().is_empty() {
                return Err(SettingsError::new(field, "must not be empty"));
            }
            max_chars(&field, p, MAX_STARTER_PROMPT_CHARS)?;
        }
        if let Some(lang) = &self.language
            && !is_language_tag(lang)
        {
            return Err(SettingsError::new(
                "bot.language",
                "a language tag such as en, es or pt-BR",
            ));
        }
        Ok(())
    }
}

/// `#rgb` or `#rrggbb` (any case) as its red, green and blue.
pub fn parse_hex_colour(s: &str) -> Option<[u8; 3]> {
    let hex = s.strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
    match hex.len() {
        3 => Some([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17]),
        6 => {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
            Some([byte(0)?, byte(2)?, byte(4)?])
        }
        _ => None,
    }
}

fn max_chars(field: &str, s: &str, max: usize) -> Result<(), SettingsError> {
    if s.chars().count() > max {
        return Err(SettingsError::new(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

fn in_range(field: &str, n: Option<u32>, max: u32) -> Result<(), SettingsError> {
    match n {
        Some(n) if !(1..=max).contains(&n) => Err(SettingsError::new(
            field,
            format!("a whole number from 1 to {max}, or null for the deployment's default"),
        )),
        _ => Ok(()),
    }
}

fn check_http_url(field: &str, s: &str) -> Result<(), SettingsError> {
    let bad = || SettingsError::new(field, "an absolute http(s) URL of at most 2,048 bytes");
    if s.len() > MAX_ICON_URL_BYTES {
        return Err(bad());
    }
    let url = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(bad());
    }
    Ok(())
}

/// A BCP 47 tag's common shape: a 2-3 letter language, then subtags of 2-8
/// letters or digits (`en`, `pt-BR`, `zh-Hant-TW`).
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && s.len() <= 35
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// What applying settings did that the caller must show once.
#[derive(Debug, Default)]
pub struct Applied {
    /// A new identity secret (turned on, or rotated).
    pub new_identity_secret: Option<Secret>,
}

impl Tenant {
    /// The tenant's settings as the API shows them.
    pub fn settings(&self) -> TenantSettings {
        TenantSettings {
            bot: self.bot.clone(),
            system_prompt: self.system_prompt.clone(),
            default_provider: self.default_provider.clone(),
            allowed_origins: self.allowed_origins.clone(),
            identity: IdentityView {
                enabled: self.identity.is_some(),
                required: self.identity.as_ref().is_some_and(|i| i.required),
                rotate_secret: false,
            },
            rate_limit_per_hour: self.rate_limit_per_hour,
            retention_days: self.retention_days,
            knowledge: self.knowledge,
            limits: self.limits,
            budget: self.budget.clone(),
        }
    }

    /// Writes validated settings onto the tenant. Turning identity on or
    /// asking for a rotation takes a secret from `new_secret`, returned in
    /// [`Applied`] to be shown once; turning it off drops the secret.
    pub fn apply_settings(
        &mut self,
        settings: TenantSettings,
        new_secret: impl FnOnce() -> Secret,
    ) -> Applied {
        let mut applied = Applied::default();
        let id = settings.identity;
        // Rotating turns identity on, as the field's documentation says.
        self.identity = match (id.enabled || id.rotate_secret, self.identity.take()) {
            (false, _) => None,
            (true, Some(mut current)) if !id.rotate_secret => {
                current.required = id.required;
                Some(current)
            }
            (true, _) => {
                let secret = new_secret();
                applied.new_identity_secret = Some(secret.clone());
                Some(super::IdentitySettings {
                    secret,
                    required: id.required,
                })
            }
        };
        self.set_settings_fields(settings);
        applied
    }

    /// Every setting but identity, whose secret [`Tenant::apply_settings`]
    /// handles.
    pub(super) fn set_settings_fields(&mut self, settings: TenantSettings) {
        self.bot = settings.bot;
        self.system_prompt = settings.system_prompt;
        self.default_provider = settings.default_provider;
        self.allowed_origins = settings.allowed_origins;
        self.rate_limit_per_hour = settings.rate_limit_per_hour;
        self.retention_days = settings.retention_days;
        self.knowledge = settings.knowledge;
        self.limits = settings.limits;
        self.budget = settings.budget;
    }

    /// Whether a browser origin (normalized) is among the allowed origins.
    pub fn origin_listed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|p| p.matches(origin))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn patched(patch: Value) -> Result<TenantSettings, SettingsError> {
        TenantSettings::default().patched(&patch)
    }

    fn field_of(patch: Value) -> String {
        patched(patch).expect_err("refused").field
    }

    #[test]
    fn a_merge_patch_sets_and_clears_fields() {
        let s = patched(json!({
            "bot": {"name": "Kettle Helper", "color": "#0F766E", "starterPrompts": ["Hi"], "position": "left", "theme": "dark", "language": "pt-BR"},
            "systemPrompt": "Only kettles.",
            "allowedOrigins": ["https://shop.test", "*.kettle.test"],
            "identity": {"enabled": true, "required": true},
            "rateLimitPerHour": 50
        }))
        .unwrap();
        assert_eq!(s.bot.name.as_deref(), Some("Kettle Helper"));
        assert_eq!(s.bot.position, Some(Position::Left));
        assert_eq!(s.allowed_origins[1].to_string(), "*.kettle.test");
        assert!(s.identity.required);
        let cleared = s
            .patched(&json!({"bot": {"name": null, "starterPrompts": null}, "systemPrompt": null}))
            .unwrap();
        assert_eq!(cleared.bot.name, None);
        assert!(cleared.bot.starter_prompts.is_empty());
        assert_eq!(cleared.bot.color.as_deref(), Some("#0F766E"));
        assert_eq!(cleared.system_prompt, None);
        assert_eq!(cleared.rate_limit_per_hour, Some(50));
    }

    #[test]
    fn refusals_name_the_field() {
        assert_eq!(field_of(json!({"bot": {"color": "red"}})), "bot.color");
        assert_eq!(
            field_of(json!({"bot": {"msgBgColor": "#12345"}})),
            "bot.msgBgColor"
        );
        assert_eq!(
            field_of(json!({"bot": {"icon": "javascript:alert(1)"}})),
            "bot.icon"
        );
        assert_eq!(field_of(json!({"bot": {"name": " "}})), "bot.name");
        assert_eq!(
            field_of(json!({"bot": {"name": "x".repeat(101)}})),
            "bot.name"
        );
        assert_eq!(
            field_of(json!({"bot": {"position": "top"}})),
            "bot.position"
        );
        assert_eq!(field_of(json!({"bot": {"theme": 3}})), "bot.theme");
        assert_eq!(
            field_of(json!({"bot": {"language": "english!"}})),
            "bot.language"
        );
        assert_eq!(
            field_of(json!({"bot": {"starterPrompts": ["a", ""]}})),
            "bot.starterPrompts[1]"
        );
        assert_eq!(
            field_of(json!({"bot": {"starterPrompts": vec!["a"; 7]}})),
            "bot.starterPrompts"
        );
        assert_eq!(field_of(json!({"bot": {"colour": "#fff"}})), "bot.colour");
        assert_eq!(
            field_of(json!({"allowedOrigins": ["https://ok.test", "nope://x"]})),
            "allowedOrigins[1]"
        );
        assert_eq!(
            field_of(json!({"allowedOrigins": ["a.test", "a.test"]})),
            "allowedOrigins[1]"
        );
        assert_eq!(
            field_of(json!({"identity": {"required": true}})),
            "identity.required"
        );
        assert_eq!(field_of(json!({"rateLimitPerHour": 0})), "rateLimitPerHour");
        assert_eq!(
            field_of(json!({"rateLimitPerHour": -1})),
            "rateLimitPerHour"
        );
        assert_eq!(field_of(json!({"retentionDays": 4000})), "retentionDays");
        assert_eq!(
            field_of(json!({"systemPrompt": "x".repeat(6001)})),
            "systemPrompt"
        );
        assert_eq!(
            field_of(json!({"defaultProvider": "Bad Name"})),
            "defaultProvider"
        );
        assert_eq!(field_of(json!({"surprise": 1})), "surprise");
        assert_eq!(field_of(json!([1])), "settings");
    }

    #[test]
    fn knowledge_settings_default_on_with_limits() {
        let s = TenantSettings::default();
        assert!(s.knowledge.is_enabled());
        assert_eq!(
            s.knowledge.document_limit(),
            DEFAULT_KNOWLEDGE_MAX_DOCUMENTS
        );
        assert_eq!(s.knowledge.byte_limit(), DEFAULT_KNOWLEDGE_MAX_BYTES);
        assert!(
            !serde_json::to_string(&s).unwrap().contains("knowledge"),
            "unset, the settings look as before"
        );
        let off =
            patched(json!({"knowledge": {"enabled": false, "maxDocuments": 5, "maxBytes": 1000}}))
                .unwrap();
        assert!(!off.knowledge.is_enabled());
        assert_eq!(off.knowledge.document_limit(), 5);
        assert_eq!(off.knowledge.byte_limit(), 1000);
        let back = off.patched(&json!({"knowledge": null})).unwrap();
        assert!(back.knowledge.is_default());
        assert_eq!(
            field_of(json!({"knowledge": {"maxDocuments": 0}})),
            "knowledge.maxDocuments"
        );
        assert_eq!(
            field_of(json!({"knowledge": {"maxBytes": MAX_KNOWLEDGE_BYTES + 1}})),
            "knowledge.maxBytes"
        );
        assert_eq!(
            field_of(json!({"knowledge": {"maxDocs": 1}})),
            "knowledge.maxDocs"
        );
    }

    #[test]
    fn limits_and_budget_are_validated_by_path() {
        let s = patched(json!({
            "limits": {"perVisitorPerHour": 20, "tenantPerHour": 5000},
            "budget": {"monthlyMessages": 100000, "monthlyTokens": 5000000, "softPercent": 75,
                       "onExceeded": "fallback", "fallbackProvider": "dummy", "fallbackModel": "small-1"}
        }))
        .unwrap();
        assert_eq!(s.limits.per_visitor_per_hour, Some(20));
        assert_eq!(s.budget.on_exceeded, OnExceeded::Fallback);
        assert_eq!(s.budget.soft_percent(), 75);
        let cleared = s
            .patched(&json!({"limits": null, "budget": {"monthlyTokens": null}}))
            .unwrap();
        assert!(cleared.limits.is_default());
        assert_eq!(cleared.budget.monthly_tokens, None);
        assert_eq!(cleared.budget.monthly_messages, Some(100000));
        assert_eq!(TenantSettings::default().budget.soft_percent(), 80);
        assert!(
            !serde_json::to_string(&TenantSettings::default())
                .unwrap()
                .contains("budget"),
            "unset, the settings look as before"
        );
        for (patch, field) in [
            (json!({"limits": {"perVisitorPerHour": 0}}), "limits.perVisitorPerHour"),
            (json!({"limits": {"tenantPerHour": -3}}), "limits.tenantPerHour"),
            (json!({"limits": {"perKey": 3}}), "limits.perKey"),
            (json!({"budget": {"monthlyMessages": 0}}), "budget.monthlyMessages"),
            (json!({"budget": {"monthlyTokens": "lots"}}), "budget.monthlyTokens"),
            (json!({"budget": {"softPercent": 101}}), "budget.softPercent"),
            (json!({"budget": {"onExceeded": "shrug"}}), "budget.onExceeded"),
            (json!({"budget": {"onExceeded": "fallback"}}), "budget.fallbackProvider"),
            (json!({"budget": {"fallbackProvider": "Big One"}}), "budget.fallbackProvider"),
            (json!({"budget": {"fallbackModel": " "}}), "budget.fallbackModel"),
        ] {
            assert_eq!(field_of(patch), field);
        }
    }

    #[test]
    fn colours_parse_in_both_lengths() {
        assert_eq!(parse_hex_colour("#fff"), Some([255, 255, 255]));
        assert_eq!(parse_hex_colour("#667eea"), Some([0x66, 0x7e, 0xea]));
        for bad in ["667eea", "#ggg", "#12345", "#1234567", "#", "#é12"] {
            assert_eq!(parse_hex_colour(bad), None, "{bad}");
        }
    }

    #[test]
    fn identity_is_turned_on_rotated_and_off() {
        let mut tenant = Tenant::default();
        let secret = || Secret::new("s1");
        let on = patched(json!({"identity": {"enabled": true}})).unwrap();
        let applied = tenant.apply_settings(on.clone(), secret);
        assert!(applied.new_identity_secret.is_some());
        // Saving the same settings again keeps the secret.
        let applied = tenant.apply_settings(on, || panic!("no new secret"));
        assert!(applied.new_identity_secret.is_none());
        let rotate = tenant
            .settings()
            .patched(&json!({"identity": {"rotateSecret": true}}))
            .unwrap();
        let applied = tenant.apply_settings(rotate, || Secret::new("s2"));
        assert_eq!(
            applied
                .new_identity_secret
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("s2")
        );
        // A rotation alone (identity off) turns it on.
        let mut fresh = Tenant::default();
        let rotate_only = fresh
            .settings()
            .patched(&json!({"identity": {"rotateSecret": true}}))
            .unwrap();
        let applied = fresh.apply_settings(rotate_only, || Secret::new("s3"));
        assert!(applied.new_identity_secret.is_some());
        assert!(fresh.identity.is_some());
        let off = tenant
            .settings()
            .patched(&json!({"identity": {"enabled": false}}))
            .unwrap();
        tenant.apply_settings(off, || panic!("no new secret"));
        assert!(tenant.identity.is_none());
        // The write-only flag is never shown.
        assert!(
            !serde_json::to_string(&tenant.settings())
                .unwrap()
                .contains("rotate")
        );
    }

    #[test]
    fn bot_settings_read_the_older_stored_names() {
        let bot: BotSettings = serde_json::from_value(
            json!({"botName": "B", "botColor": "#000000", "poweredBy": "P"}),
        )
        .unwrap();
        assert_eq!(bot.name.as_deref(), Some("B"));
        assert_eq!(bot.color.as_deref(), Some("#000000"));
        assert_eq!(bot.powered_by.as_deref(), Some("P"));
    }
}
