//! The closed set of asset types a manifest can carry.

use serde::{Deserialize, Serialize};

/// What an asset is, as the buyer API and the AdCP wire name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssetType {
    Image,
    Video,
    Audio,
    Html,
    Javascript,
    Css,
    Vast,
    Url,
    Font,
    Logo,
    Document,
    Text,
    /// A buyer endpoint the seller calls at render time (AdCP `webhook`, dynamic creative).
    Webhook,
}

impl AssetType {
    pub const ALL: [AssetType; 13] = [
        AssetType::Image,
        AssetType::Video,
        AssetType::Audio,
        AssetType::Html,
        AssetType::Javascript,
        AssetType::Css,
        AssetType::Vast,
        AssetType::Url,
        AssetType::Font,
        AssetType::Logo,
        AssetType::Document,
        AssetType::Text,
        AssetType::Webhook,
    ];

    /// The wire spelling (`"IMAGE"`, ...), also the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Image => "IMAGE",
            AssetType::Video => "VIDEO",
            AssetType::Audio => "AUDIO",
            AssetType::Html => "HTML",
            AssetType::Javascript => "JAVASCRIPT",
            AssetType::Css => "CSS",
            AssetType::Vast => "VAST",
            AssetType::Url => "URL",
            AssetType::Font => "FONT",
            AssetType::Logo => "LOGO",
            AssetType::Document => "DOCUMENT",
            AssetType::Text => "TEXT",
            AssetType::Webhook => "WEBHOOK",
        }
    }

    pub fn parse(s: &str) -> Option<AssetType> {
        AssetType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for AssetType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
