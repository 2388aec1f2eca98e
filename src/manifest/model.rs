//! The creative manifest as the buyer API returns it. Field names are snake_case: they go verbatim
//! onto the AdCP wire (`frequencyCaps` is the v2 buyer API's own spelling).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::asset_type::AssetType;
use crate::adcp::types::{FormatId, FormatRef, FrequencyCap};
use crate::ids::{AssetId, CampaignId, CreativeId};

/// Where an asset's content came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssetSource {
    Upload,
    Url,
    Text,
    Webhook,
}

impl AssetSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetSource::Upload => "upload",
            AssetSource::Url => "url",
            AssetSource::Text => "text",
            AssetSource::Webhook => "webhook",
        }
    }
}

/// The role of a URL asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UrlType {
    Clickthrough,
    TrackerPixel,
    TrackerScript,
    Vast,
}

/// What an asset holds: a stored file, a URL, a text or a webhook. One of them, never a mix.
#[derive(Debug, Clone, PartialEq)]
pub enum AssetContent {
    Upload(StoredFile),
    Url { url: String, url_type: UrlType },
    Text(String),
    Webhook(super::webhook::Webhook),
}

/// A file in the object store, with the properties read from its bytes at upload.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub object_key: String,
    pub original_filename: String,
    pub content_type: String,
    pub file_size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// What processing made of it, if anything.
    pub processing: Processing,
}

/// Objects and facts derived from an uploaded file by processing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Processing {
    /// The copy sellers serve: rewritten HTML (a bundle's entry point), VAST with trackers.
    pub processed_key: Option<String>,
    /// Further objects this asset owns (the files of an HTML5 bundle).
    pub extra_keys: Vec<String>,
    /// A report: `html_processing`, `vast`, `bundle`.
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub asset_id: AssetId,
    pub name: String,
    pub asset_type: AssetType,
    pub content: AssetContent,
    pub label: Option<String>,
    pub slot_asset_id: Option<String>,
    pub warnings: Vec<String>,
    pub created_at: String,
}

impl Asset {
    pub fn source(&self) -> AssetSource {
        match self.content {
            AssetContent::Upload(_) => AssetSource::Upload,
            AssetContent::Url { .. } => AssetSource::Url,
            AssetContent::Text(_) => AssetSource::Text,
            AssetContent::Webhook(_) => AssetSource::Webhook,
        }
    }

    pub fn webhook(&self) -> Option<&super::webhook::Webhook> {
        match &self.content {
            AssetContent::Webhook(w) => Some(w),
            _ => None,
        }
    }

    pub fn file(&self) -> Option<&StoredFile> {
        match &self.content {
            AssetContent::Upload(f) => Some(f),
            _ => None,
        }
    }

    pub fn url_type(&self) -> Option<UrlType> {
        match &self.content {
            AssetContent::Url { url_type, .. } => Some(*url_type),
            _ => None,
        }
    }
}

/// What sellers confirmed: `synced` once at least one seller holds the creative.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SyncStatus {
    pub synced: bool,
    pub agent_count: u32,
    #[schema(required = true)]
    pub last_synced_at: Option<String>,
    /// Sellers' review decisions: how many approved, are still reviewing, rejected.
    pub review: crate::propagation::review::ReviewCounts,
    /// Per seller, on the full manifest only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub agents: Option<Vec<SellerSync>>,
}

/// One seller's word on one creative, as it returned it (AdCP `action`, `status`, `errors`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SellerSync {
    pub sales_agent_id: String,
    /// `library` (sync_creatives) or `inline` (on the media buy's packages).
    pub transport: String,
    /// Whether the seller holds the creative.
    pub confirmed: bool,
    #[schema(required = true)]
    pub action: Option<String>,
    #[schema(required = true)]
    pub status: Option<String>,
    pub errors: Vec<serde_json::Value>,
    #[schema(required = true)]
    pub synced_at: Option<String>,
    pub updated_at: String,
    /// The seller's note on a rejection.
    #[schema(required = true)]
    pub rejection_reason: Option<String>,
    /// The seller's own id for the creative.
    #[schema(required = true)]
    pub platform_id: Option<String>,
    #[schema(required = true)]
    pub status_changed_at: Option<String>,
    /// Where `status` came from: `sync`, `webhook` or `list_creatives`.
    #[schema(required = true)]
    pub source: Option<String>,
}

/// What one format's agent rendered for the manifest: its `renders[]` as AdCP
/// `creative/preview-render.json` (URLs or HTML, dimensions), checked against that schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentPreview {
    // Fields in key order: answers are written as sorted JSON (tests/api/views.rs).
    pub agent_url: String,
    #[schema(required = true)]
    pub expires_at: Option<String>,
    pub fetched_at: String,
    pub format_id: FormatId,
    pub renders: Vec<Value>,
}

/// An agent that gave no preview: unreachable, timed out, refused, or answered off-schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreviewError {
    // Fields in key order: answers are written as sorted JSON (tests/api/views.rs).
    pub agent_url: String,
    pub at: String,
    /// `AGENT_UNAVAILABLE`, `AGENT_TIMEOUT`, `AGENT_ERROR` (the agent's own refusal) or
    /// `INVALID_RESPONSE` (not AdCP's preview_creative answer).
    pub code: String,
    pub format_id: FormatId,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub creative_id: CreativeId,
    pub campaign_id: CampaignId,
    pub name: String,
    pub message: Option<String>,
    pub template_id: Option<String>,
    pub format: Option<FormatRef>,
    pub format_option_ref: Option<Value>,
    pub target_format_ids: Vec<FormatId>,
    /// True when the buyer chose `target_format_ids`; false when the service computes them.
    pub targets_chosen: bool,
    pub brand_domain: String,
    pub assets: Vec<Asset>,
    pub primary_asset_id: Option<AssetId>,
    /// Key of the stored preview page (its URL is made from it).
    pub preview_key: Option<String>,
    pub tracking: Option<Value>,
    pub sync_status: SyncStatus,
    pub frequency_caps: Vec<FrequencyCap>,
    /// Manifest-level warnings, e.g. a chosen target format its assets do not satisfy.
    pub warnings: Vec<String>,
    /// `{template_id, template_name, method}` when the template was detected, not given.
    pub auto_detected_template: Option<serde_json::Value>,
    /// Previews the formats' own AdCP agents rendered (`preview_creative`), from the last
    /// `POST .../preview`; cleared when the manifest changes (they show the old creative).
    pub agent_previews: Vec<AgentPreview>,
    /// Why an agent gave no preview at the last `POST .../preview`.
    pub preview_errors: Vec<PreviewError>,
    pub created_at: String,
    pub updated_at: String,
}

impl Manifest {
    pub fn clickthroughs(&self) -> impl Iterator<Item = &Asset> {
        self.assets
            .iter()
            .filter(|a| a.url_type() == Some(UrlType::Clickthrough))
    }

    /// Keys of the stored files this manifest uses (deduplicated).
    pub fn object_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .assets
            .iter()
            .filter_map(|a| a.file())
            .flat_map(|f| {
                std::iter::once(f.object_key.clone())
                    .chain(f.processing.processed_key.clone())
                    .chain(f.processing.extra_keys.iter().cloned())
            })
            .chain(self.preview_key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}
