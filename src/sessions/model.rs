//! A creative session as stored and answered: the brief, the asset store, the variants with their
//! lineage and evaluations. One JSON document per session (its shape is this file), so a session is
//! read and written whole and survives restarts as it was.

use serde::{Deserialize, Serialize};

use crate::adcp::types::FormatId;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Brief {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub cta: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Product,
    Logo,
    Background,
    Person,
    Other,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    #[default]
    Upload,
    Dam,
    Url,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RightsStatus {
    Cleared,
    Unknown,
    Restricted,
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rights {
    pub status: RightsStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub holder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub expires_at: Option<String>,
}

impl Default for Rights {
    fn default() -> Self {
        Rights {
            status: RightsStatus::Unknown,
            holder: None,
            expires_at: None,
        }
    }
}

/// A rectangle in the source image's pixels.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// One source asset in the session's asset store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SourceAsset {
    pub asset_id: String,
    pub role: Role,
    pub locked_asset: bool,
    pub can_transform: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub preservation_notes: Option<String>,
    pub source: Provenance,
    /// Where it came from: the uploaded file's name or the URL.
    pub origin: String,
    pub rights: Rights,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub render_crop: Option<Rect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub subject_bounds: Option<Rect>,
    /// The mask as given: the uploaded file's name or its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub mask: Option<String>,
    /// The mask's stored picture, applied whenever the source is drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub mask_file: Option<MaskFile>,
    pub checksum: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub object_key: String,
    pub url: String,
}

/// A source's mask as stored: a picture of the source's size whose alpha (or, without one, grey
/// level) keeps each source pixel (opaque, white) or drops it (transparent, black).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MaskFile {
    pub checksum: String,
    pub object_key: String,
    pub url: String,
}

impl SourceAsset {
    /// A locked asset may only be scaled uniformly, whatever `can_transform` says.
    pub fn uniform_only(&self) -> bool {
        self.locked_asset || !self.can_transform
    }
}

/// The knobs an adapter renders a direction with; refinement changes them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Params {
    pub layout: Layout,
    /// Logo box size relative to the layout's default.
    pub logo_scale: f32,
    /// Product box size relative to the layout's default.
    pub product_scale: f32,
    /// 1.0 = the palette's background; lower is darker.
    pub background_brightness: f32,
    /// Headline cut to at most this many words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub headline_max_words: Option<usize>,
    /// Body copy shown (dropped by "less busy").
    pub show_body: bool,
    /// A creative agent's handle on what it built (`build_variant_id`), for refining it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub build_variant_id: Option<String>,
}

impl Params {
    pub fn new(layout: Layout) -> Params {
        Params {
            layout,
            logo_scale: 1.0,
            product_scale: 1.0,
            background_brightness: 1.0,
            headline_max_words: None,
            show_body: true,
            build_variant_id: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The photo fills the canvas; the text sits on a band.
    FullBleed,
    /// Photo on one side, text and logo on the other.
    Split,
    /// The product large, the logo in a corner.
    ProductHero,
    /// No photo: colour, text, logo.
    TextOnly,
}

impl Layout {
    pub const ALL: [Layout; 4] = [
        Layout::FullBleed,
        Layout::Split,
        Layout::ProductHero,
        Layout::TextOnly,
    ];
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariantStatus {
    Draft,
    Approved,
    Discarded,
    Finalized,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Finalized,
}

/// A file a variant rendered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RenderedFile {
    /// `image` (the static display image) or `html5`.
    pub kind: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub checksum: String,
    pub size: u64,
    pub object_key: String,
    pub url: String,
}

/// Where an asset landed on the canvas, and how.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Placement {
    pub asset_id: String,
    pub role: Role,
    pub locked: bool,
    /// The drawn region (for a letterboxed asset, the scaled image itself, not its box).
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// The box the layout gave it.
    pub box_width: u32,
    pub box_height: u32,
    /// `contain` (uniform scale, letterboxed) or `cover` (scaled and cropped).
    pub fit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SourceRef {
    pub asset_id: String,
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Lineage {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub parent_variant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub feedback: Option<String>,
    /// The instructions the feedback was understood as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instructions: Vec<String>,
    pub adapter: String,
    pub parameters: Params,
    pub source_assets: Vec<SourceRef>,
    /// Variants rendered from one direction for several formats share it.
    pub direction_id: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

/// One evaluator's verdict. On drafts every verdict is advisory; `blocks_finalize` says which
/// failures stop a finalize.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Evaluation {
    pub check: String,
    pub status: CheckStatus,
    pub blocks_finalize: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct FormatRender {
    pub format_id: FormatId,
    pub creative_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub preview_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Variant {
    pub variant_id: String,
    pub format_id: FormatId,
    pub status: VariantStatus,
    pub preview_url: String,
    pub files: Vec<RenderedFile>,
    pub placements: Vec<Placement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality: Vec<String>,
    pub lineage: Lineage,
    pub evaluations: Vec<Evaluation>,
    /// The texts as rendered (after refinement).
    pub texts: Texts,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub format_renders: Vec<FormatRender>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct AssetStore {
    pub assets: Vec<SourceAsset>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Session {
    pub session_id: String,
    pub campaign_id: String,
    pub status: SessionStatus,
    pub adapter: String,
    pub brief: Brief,
    pub texts: Texts,
    pub target_format_ids: Vec<FormatId>,
    pub asset_store: AssetStore,
    pub variants: Vec<Variant>,
    /// What the session's renderer can do (its adapter's own description).
    #[schema(value_type = Object)]
    pub renderer_capabilities: serde_json::Value,
    pub rendering_model: String,
    /// Badges per check across the drafts: how many variants pass, warn, fail each.
    /// `{stage, advisory, checks: {<check>: {pass, warn, fail, blocks_finalize}}}`.
    #[schema(value_type = Object)]
    pub evaluations: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

impl Session {
    pub fn variant(&self, id: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.variant_id == id)
    }

    pub fn asset(&self, id: &str) -> Option<&SourceAsset> {
        self.asset_store.assets.iter().find(|a| a.asset_id == id)
    }

    /// Every rendered object the session owns (finalized manifests have their own copies).
    pub fn object_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .asset_store
            .assets
            .iter()
            .map(|a| a.object_key.clone())
            .collect();
        for v in &self.variants {
            keys.extend(v.files.iter().map(|f| f.object_key.clone()));
        }
        keys.sort();
        keys.dedup();
        keys
    }
}
