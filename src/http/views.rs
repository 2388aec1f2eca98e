//! JSON shapes of manifests as the buyer API returns them.

use serde::Serialize;
use serde_json::Value;

use crate::adcp::types::{FormatId, FormatRef, FrequencyCap};
use crate::ids::{AssetId, CampaignId, CreativeId};
use crate::manifest::asset_type::AssetType;
use crate::manifest::model::{
    Asset, AssetContent, AssetSource, Manifest, PreviewError, SyncStatus, UrlType,
};
use crate::store::Objects;

#[derive(Serialize)]
pub struct ManifestView<'a> {
    creative_id: &'a CreativeId,
    campaign_id: &'a CampaignId,
    name: &'a str,
    message: Option<&'a str>,
    template_id: Option<&'a str>,
    #[serde(flatten)]
    format: &'a Option<FormatRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format_option_ref: Option<&'a Value>,
    target_format_ids: &'a [FormatId],
    brand_domain: &'a str,
    assets: Vec<AssetView<'a>>,
    /// The webhook assets in AdCP's `core/assets/webhook-asset.json` shape (plus our ids).
    webhook_assets: Vec<Value>,
    primary_asset_id: Option<&'a AssetId>,
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    html_processing: Option<&'a Value>,
    auto_detected_template: Option<&'a Value>,
    preview_url: Option<String>,
    /// The service's own preview page and the formats' agents' renders (`POST .../preview`).
    previews: Value,
    preview_errors: &'a [PreviewError],
    tracking: Option<&'a Value>,
    sync_status: &'a SyncStatus,
    #[serde(rename = "frequencyCaps")]
    frequency_caps: &'a [FrequencyCap],
    created_at: &'a str,
    updated_at: &'a str,
}

#[derive(Serialize)]
pub struct AssetView<'a> {
    asset_id: &'a AssetId,
    name: &'a str,
    asset_type: AssetType,
    asset_source: AssetSource,
    original_filename: Option<&'a str>,
    content_type: Option<&'a str>,
    file_size: Option<u64>,
    sha256: Option<&'a str>,
    public_url: Option<String>,
    /// What sellers serve, when processing made a copy (rewritten HTML, VAST with trackers).
    #[serde(skip_serializing_if = "Option::is_none")]
    processed_url: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_type: Option<UrlType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    /// AdCP `webhook-asset.json`, without the secret (`security.configured` says one is held).
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook: Option<Value>,
    label: Option<&'a str>,
    slot_asset_id: Option<&'a str>,
    warnings: &'a [String],
    created_at: &'a str,
    /// Processing reports: `html_processing`, `bundle`, `vast`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

pub fn asset<'a>(a: &'a Asset, objects: &Objects) -> AssetView<'a> {
    let file = a.file();
    let (url, url_type) = match &a.content {
        AssetContent::Url { url, url_type } => (Some(url.as_str()), Some(*url_type)),
        _ => (None, None),
    };
    AssetView {
        asset_id: &a.asset_id,
        name: &a.name,
        asset_type: a.asset_type,
        asset_source: a.source(),
        original_filename: file.map(|f| f.original_filename.as_str()),
        content_type: file.map(|f| f.content_type.as_str()),
        file_size: file.map(|f| f.file_size),
        sha256: file.map(|f| f.sha256.as_str()),
        public_url: file.map(|f| objects.public_url(&f.object_key)),
        processed_url: file
            .and_then(|f| f.processing.processed_key.as_deref())
            .map(|k| objects.public_url(k)),
        width: file.and_then(|f| f.width),
        height: file.and_then(|f| f.height),
        duration_ms: file.and_then(|f| f.duration_ms),
        url,
        url_type,
        text: match &a.content {
            AssetContent::Text(t) => Some(t),
            _ => None,
        },
        webhook: a.webhook().map(|w| w.view()),
        label: a.label.as_deref(),
        slot_asset_id: a.slot_asset_id.as_deref(),
        warnings: &a.warnings,
        created_at: &a.created_at,
        details: file.and_then(|f| f.processing.details.as_ref()),
    }
}

/// A webhook asset as AdCP shapes it, with the manifest's own names for it beside.
fn webhook_asset(a: &Asset) -> Option<Value> {
    let mut v = a.webhook()?.view();
    v["asset_id"] = serde_json::json!(a.asset_id);
    v["name"] = serde_json::json!(a.name);
    v["label"] = serde_json::json!(a.label);
    v["slot_asset_id"] = serde_json::json!(a.slot_asset_id);
    v["created_at"] = serde_json::json!(a.created_at);
    Some(v)
}

pub fn manifest<'a>(m: &'a Manifest, objects: &Objects) -> ManifestView<'a> {
    ManifestView {
        creative_id: &m.creative_id,
        campaign_id: &m.campaign_id,
        name: &m.name,
        message: m.message.as_deref(),
        template_id: m.template_id.as_deref(),
        format: &m.format,
        format_option_ref: m.format_option_ref.as_ref(),
        target_format_ids: &m.target_format_ids,
        brand_domain: &m.brand_domain,
        assets: m.assets.iter().map(|a| asset(a, objects)).collect(),
        webhook_assets: m.assets.iter().filter_map(webhook_asset).collect(),
        primary_asset_id: m.primary_asset_id.as_ref(),
        warnings: &m.warnings,
        html_processing: m
            .assets
            .iter()
            .filter_map(|a| {
                a.file()?
                    .processing
                    .details
                    .as_ref()?
                    .get("html_processing")
            })
            .next(),
        auto_detected_template: m.auto_detected_template.as_ref(),
        preview_url: m.preview_key.as_deref().map(|k| objects.public_url(k)),
        previews: serde_json::json!({
            "local": {"url": m.preview_key.as_deref().map(|k| objects.public_url(k))},
            "agents": m.agent_previews,
        }),
        preview_errors: &m.preview_errors,
        tracking: m.tracking.as_ref(),
        sync_status: &m.sync_status,
        frequency_caps: &m.frequency_caps,
        created_at: &m.created_at,
        updated_at: &m.updated_at,
    }
}
