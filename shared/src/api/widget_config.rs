//! `GET /api/widget/config`: the widget's settings in the Django system's
//! shape (`branding`, `layout`, `features`), for embeds written against it.
//! The values are `bot-config`'s (the tenant's settings over the `BOT_*`
//! defaults); the branding keys are the Django config keys they came from.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::messages::MAX_MESSAGE_CHARS;
use super::openapi::Errors;
use crate::AppState;
use crate::auth::WidgetCaller;
use crate::service::sessions::bot_config_of;

/// The bot's appearance, by the Django config keys.
#[derive(Serialize, ToSchema)]
pub struct WidgetBranding {
    #[schema(value_type = String)]
    bot_name: Value,
    /// `#rrggbb`
    #[schema(value_type = String)]
    primary_color: Value,
    /// `#rrggbb`: the background of the bot's messages.
    #[schema(value_type = String)]
    bot_message_bg_color: Value,
    /// `null` for none.
    #[schema(value_type = Option<String>)]
    bot_icon_url: Value,
    #[schema(value_type = String)]
    powered_by_text: Value,
}

/// Where the widget sits and how it looks.
#[derive(Serialize, ToSchema)]
pub struct WidgetLayout {
    /// `right` or `left` (the Django `widget_position`).
    #[schema(value_type = String)]
    position: Value,
    /// `light`, `dark` or `auto`.
    #[schema(value_type = String)]
    theme: Value,
    /// The interface language (BCP 47); `null`: the visitor's browser's.
    #[schema(value_type = Option<String>)]
    language: Value,
}

/// What the widget offers.
#[derive(Serialize, ToSchema)]
pub struct WidgetFeatures {
    /// The greeting; `null` for none.
    #[schema(value_type = Option<String>)]
    welcome_message: Value,
    #[schema(value_type = Vec<String>)]
    starter_prompts: Value,
    /// CSV and JSON uploads.
    file_upload: bool,
    /// Largest upload, bytes.
    max_file_size: usize,
    /// Longest message, characters.
    max_message_length: usize,
    /// Replies stream in (`/api/chat/messages/stream`).
    streaming: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WidgetConfig {
    branding: WidgetBranding,
    layout: WidgetLayout,
    features: WidgetFeatures,
}

/// The widget's settings in the Django system's shape (either kind of key).
#[utoipa::path(
    get, path = "/api/widget/config", tag = "sessions",
    responses((status = 200, description = "Branding, layout and features", body = WidgetConfig), Errors)
)]
pub(crate) async fn widget_config(
    WidgetCaller(caller): WidgetCaller,
    State(state): State<AppState>,
) -> Json<WidgetConfig> {
    let mut bot: Map<String, Value> = bot_config_of(&state, &caller.tenant);
    let mut take = |k: &str| bot.remove(k).unwrap_or(Value::Null);
    Json(WidgetConfig {
        branding: WidgetBranding {
            bot_name: take("botName"),
            primary_color: take("botColor"),
            bot_message_bg_color: take("botMsgBgColor"),
            bot_icon_url: take("botIcon"),
            powered_by_text: take("poweredBy"),
        },
        layout: WidgetLayout {
            position: take("position"),
            theme: take("theme"),
            language: take("language"),
        },
        features: WidgetFeatures {
            welcome_message: take("welcomeMessage"),
            starter_prompts: take("starterPrompts"),
            file_upload: true,
            max_file_size: state.config.max_upload_bytes,
            max_message_length: MAX_MESSAGE_CHARS,
            streaming: true,
        },
    })
}
