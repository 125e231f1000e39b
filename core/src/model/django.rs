//! The Django system's per-client `config` keys, read onto and written from
//! a tenant's settings: for its `/api/clients/me/config` endpoints and for
//! `chatctl import django`. Keys nothing here reads are kept on the tenant
//! (`extra_config`) and returned as they came.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Tenant;
use super::origin::OriginPattern;
use super::settings::{Position, SettingsError, Theme};

impl Tenant {
    /// Shallow-merges a Django `config` object into the tenant, as its
    /// `PUT /api/clients/me/config` does: each key given replaces that
    /// setting (`null` clears it), other keys are kept in `extra_config`.
    /// Nothing changes unless every key is valid; an error names the
    /// Django key.
    pub fn merge_django_config(
        &mut self,
        config: &Map<String, Value>,
    ) -> Result<(), SettingsError> {
        let mut settings = self.settings();
        let mut extra = self.extra_config.clone();
        for (key, value) in config {
            let bot = &mut settings.bot;
            match key.as_str() {
                "bot_name" => bot.name = typed(key, value)?,
                "primary_color" => bot.color = typed(key, value)?,
                "bot_message_bg_color" => bot.msg_bg_color = typed(key, value)?,
                "bot_icon_url" => {
                    bot.icon = typed::<Option<String>>(key, value)?.filter(|s| !s.is_empty())
                }
                "powered_by_text" => bot.powered_by = typed(key, value)?,
                "widget_position" => bot.position = typed::<Option<Position>>(key, value)?,
                "theme" => bot.theme = typed::<Option<Theme>>(key, value)?,
                "system_prompt" => {
                    settings.system_prompt =
                        typed::<Option<String>>(key, value)?.filter(|s| !s.is_empty())
                }
                "whitelisted_domains" => settings.allowed_origins = origins(key, value)?,
                _ => {
                    extra.insert(key.clone(), value.clone());
                }
            }
        }
        settings.validate().map_err(|e| {
            let django = django_key_of(&e.field);
            SettingsError::new(django, e.detail)
        })?;
        self.set_settings_fields(settings);
        self.extra_config = extra;
        Ok(())
    }

    /// The tenant's settings under the Django config keys (those set), then
    /// the kept unknown keys.
    pub fn django_config(&self) -> Map<String, Value> {
        let mut out = Map::new();
        let bot = &self.bot;
        let text = |v: &Option<String>| v.clone().map(Value::from);
        let entries = [
            ("bot_name", text(&bot.name)),
            ("primary_color", text(&bot.color)),
            ("bot_message_bg_color", text(&bot.msg_bg_color)),
            ("bot_icon_url", text(&bot.icon)),
            ("powered_by_text", text(&bot.powered_by)),
            ("system_prompt", text(&self.system_prompt)),
            (
                "whitelisted_domains",
                (!self.allowed_origins.is_empty()).then(|| {
                    self.allowed_origins
                        .iter()
                        .map(|o| Value::from(o.to_string()))
                        .collect()
                }),
            ),
            (
                "widget_position",
                bot.position.and_then(|p| serde_json::to_value(p).ok()),
            ),
            (
                "theme",
                bot.theme.and_then(|t| serde_json::to_value(t).ok()),
            ),
        ];
        for (key, value) in entries {
            if let Some(v) = value {
                out.insert(key.into(), v);
            }
        }
        for (k, v) in &self.extra_config {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        out
    }
}

fn typed<T: DeserializeOwned>(key: &str, value: &Value) -> Result<T, SettingsError> {
    serde_json::from_value(value.clone()).map_err(|e| SettingsError::new(key, e.to_string()))
}

/// `whitelisted_domains`: a list of origins, hosts or `*.` wildcards.
fn origins(key: &str, value: &Value) -> Result<Vec<OriginPattern>, SettingsError> {
    let list: Option<Vec<String>> = typed(key, value)?;
    let mut out: Vec<OriginPattern> = Vec::new();
    for (i, raw) in list.unwrap_or_default().iter().enumerate() {
        let pattern = OriginPattern::parse(raw)
            .map_err(|e| SettingsError::new(format!("{key}[{i}]"), e.to_string()))?;
        if !out.contains(&pattern) {
            out.push(pattern);
        }
    }
    Ok(out)
}

/// The Django key of a settings field named in an error.
fn django_key_of(field: &str) -> String {
    let head = field.split('[').next().unwrap_or(field);
    let key = match head {
        "bot.name" => "bot_name",
        "bot.color" => "primary_color",
        "bot.msgBgColor" => "bot_message_bg_color",
        "bot.icon" => "bot_icon_url",
        "bot.poweredBy" => "powered_by_text",
        "systemPrompt" => "system_prompt",
        "allowedOrigins" => "whitelisted_domains",
        _ => return field.to_owned(),
    };
    format!("{key}{}", &field[head.len()..])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn django_keys_map_onto_settings_and_back() {
        let mut t = Tenant::default();
        let given = config(json!({
            "whitelisted_domains": ["https://shop.test", "*.kettle.test"],
            "bot_name": "Kettle Helper",
            "primary_color": "#0f766e",
            "system_prompt": "Kettles only.",
            "powered_by_text": "Kettle AI",
            "widget_position": "left",
            "theme": "dark",
            "greeting_style": {"emoji": true}
        }));
        t.merge_django_config(&given).unwrap();
        assert_eq!(t.bot.name.as_deref(), Some("Kettle Helper"));
        assert_eq!(t.system_prompt.as_deref(), Some("Kettles only."));
        assert!(t.origin_listed("https://a.kettle.test"));
        assert!(!t.origin_listed("https://evil-kettle.test"));
        assert_eq!(t.extra_config["greeting_style"], json!({"emoji": true}));
        assert_eq!(Value::Object(t.django_config()), Value::Object(given));
    }

    #[test]
    fn a_bad_key_changes_nothing_and_is_named() {
        let mut t = Tenant::default();
        t.merge_django_config(&config(json!({"bot_name": "A"})))
            .unwrap();
        let before = t.clone();
        for (bad, field) in [
            (
                json!({"bot_name": "B", "primary_color": "teal"}),
                "primary_color",
            ),
            (
                json!({"whitelisted_domains": ["ok.test", "*.com"]}),
                "whitelisted_domains[1]",
            ),
            (
                json!({"whitelisted_domains": "ok.test"}),
                "whitelisted_domains",
            ),
            (json!({"bot_name": 7}), "bot_name"),
        ] {
            let err = t.merge_django_config(&config(bad)).unwrap_err();
            assert_eq!(err.field, field);
            assert_eq!(t, before);
        }
        t.merge_django_config(&config(json!({"bot_name": null})))
            .unwrap();
        assert_eq!(t.bot.name, None);
    }
}
