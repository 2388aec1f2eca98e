//! Rows of `creatives` and `creative_assets` as the database returns them, and the domain values
//! built from them. Each query decodes into a flat `#[derive(sqlx::FromRow)]` struct (column names
//! and types checked in one place, by sqlx); turning a row into a `Manifest` or an `Asset` is then a
//! plain function of values, where stored JSON and enum text are parsed and an unknown stored value
//! is an error, never a default.

use anyhow::Context;
use serde::Serialize;

use super::db::from_json;
use crate::adcp::types::{FormatId, FormatRef, FrequencyCap};
use crate::ids::{AssetId, CampaignId, CreativeId};
use crate::manifest::asset_type::AssetType;
use crate::manifest::coverage::{AssetFacts, ManifestFacts};
use crate::manifest::model::{Asset, AssetContent, Manifest, Processing, StoredFile, SyncStatus};
use crate::manifest::webhook::Webhook;

pub(super) fn enum_to_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(super) fn enum_from_str<T: serde::de::DeserializeOwned>(s: &str) -> anyhow::Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .with_context(|| format!("stored value '{s}' is not known"))
}

/// Sizes are stored as BIGINT (the portable integer); one out of range reads as unknown.
fn opt_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

fn json_opt(v: Option<String>) -> anyhow::Result<Option<serde_json::Value>> {
    v.map(|s| from_json(&s)).transpose()
}

fn json_list<T: serde::de::DeserializeOwned>(v: Option<String>) -> anyhow::Result<Vec<T>> {
    v.map_or(Ok(Vec::new()), |s| from_json(&s))
}

pub(super) const ASSET_COLUMNS: &str =
    "id, position, name, asset_source, asset_type, original_filename, content_type, \
     file_size, sha256, object_key, width, height, duration_ms, url, url_type, text_value, label, \
     slot_asset_id, warnings, created_at, processed_key, extra_keys, details, webhook, webhook_secret";

/// One `creative_assets` row ([`ASSET_COLUMNS`]).
#[derive(sqlx::FromRow)]
pub(super) struct AssetRow {
    id: String,
    name: String,
    asset_source: String,
    asset_type: String,
    original_filename: Option<String>,
    content_type: Option<String>,
    file_size: Option<i64>,
    sha256: Option<String>,
    object_key: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    duration_ms: Option<i64>,
    url: Option<String>,
    url_type: Option<String>,
    text_value: Option<String>,
    label: Option<String>,
    slot_asset_id: Option<String>,
    warnings: String,
    created_at: String,
    processed_key: Option<String>,
    extra_keys: String,
    details: Option<String>,
    /// A webhook asset's configuration (JSON) and its secret, sealed.
    webhook: Option<String>,
    webhook_secret: Option<String>,
}

/// An asset row with the manifest it belongs to (several manifests read at once).
#[derive(sqlx::FromRow)]
pub(super) struct OwnedAssetRow {
    pub creative_id: String,
    #[sqlx(flatten)]
    pub asset: AssetRow,
}

impl AssetRow {
    pub fn into_asset(self) -> anyhow::Result<Asset> {
        let content = match self.asset_source.as_str() {
            "upload" => AssetContent::Upload(StoredFile {
                object_key: self.object_key.unwrap_or_default(),
                original_filename: self.original_filename.unwrap_or_default(),
                content_type: self.content_type.unwrap_or_default(),
                file_size: opt_u64(self.file_size).unwrap_or(0),
                sha256: self.sha256.unwrap_or_default(),
                width: opt_u32(self.width),
                height: opt_u32(self.height),
                duration_ms: opt_u64(self.duration_ms),
                processing: Processing {
                    processed_key: self.processed_key,
                    extra_keys: from_json(&self.extra_keys)?,
                    details: json_opt(self.details)?,
                },
            }),
            "url" => AssetContent::Url {
                url: self.url.unwrap_or_default(),
                url_type: enum_from_str(&self.url_type.unwrap_or_default())?,
            },
            "text" => AssetContent::Text(self.text_value.unwrap_or_default()),
            "webhook" => AssetContent::Webhook(Webhook::from_stored(
                self.url.unwrap_or_default(),
                from_json(
                    &self
                        .webhook
                        .context("a webhook asset without its configuration")?,
                )?,
                self.webhook_secret,
            )),
            other => anyhow::bail!("stored asset source '{other}' is not known"),
        };
        Ok(Asset {
            asset_id: AssetId::from_db(self.id),
            name: self.name,
            asset_type: AssetType::parse(&self.asset_type).context("stored asset type")?,
            content,
            label: self.label,
            slot_asset_id: self.slot_asset_id,
            warnings: from_json(&self.warnings)?,
            created_at: self.created_at,
        })
    }
}

/// What sellers confirmed about the manifest `c`, summed up (see `store::syncs`).
macro_rules! sync_columns {
    () => {
        "(SELECT COUNT(*) FROM creative_syncs s WHERE s.creative_id = c.id AND s.confirmed = 1) AS sync_agents, \
         (SELECT MAX(s.synced_at) FROM creative_syncs s WHERE s.creative_id = c.id AND s.confirmed = 1) AS sync_last, \
         (SELECT COUNT(*) FROM creative_syncs s WHERE s.creative_id = c.id AND s.seller_status = 'approved') AS review_approved, \
         (SELECT COUNT(*) FROM creative_syncs s WHERE s.creative_id = c.id \
            AND s.seller_status IN ('processing', 'pending_review')) AS review_pending, \
         (SELECT COUNT(*) FROM creative_syncs s WHERE s.creative_id = c.id AND s.seller_status = 'rejected') AS review_rejected"
    };
}
pub(super) use sync_columns;

/// The columns of [`sync_columns!`].
#[derive(sqlx::FromRow)]
pub(super) struct SyncRow {
    sync_agents: i64,
    sync_last: Option<String>,
    review_approved: i64,
    review_pending: i64,
    review_rejected: i64,
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl SyncRow {
    fn into_status(self) -> SyncStatus {
        SyncStatus {
            synced: self.sync_agents > 0,
            agent_count: u32::try_from(self.sync_agents).unwrap_or(u32::MAX),
            last_synced_at: self.sync_last,
            review: crate::propagation::review::ReviewCounts {
                approved: count(self.review_approved),
                pending: count(self.review_pending),
                rejected: count(self.review_rejected),
            },
            agents: None,
        }
    }
}

/// The `format_id` / `format_kind` columns (at most one is set).
#[derive(sqlx::FromRow)]
pub(super) struct FormatRow {
    format_id: Option<String>,
    format_kind: Option<String>,
}

impl FormatRow {
    fn into_format(self) -> anyhow::Result<Option<FormatRef>> {
        Ok(match (self.format_id, self.format_kind) {
            (Some(id), _) => Some(FormatRef::Id(from_json(&id)?)),
            (None, Some(kind)) => Some(FormatRef::Kind(enum_from_str(&kind)?)),
            (None, None) => None,
        })
    }
}

pub(super) const CREATIVE_COLUMNS: &str = concat!("c.id, c.campaign_id, c.name, c.message, c.template_id, c.format_id, \
     c.format_kind, c.format_option_ref, c.target_format_ids, c.frequency_caps, c.primary_asset_id, \
     c.tracking, c.preview_url, c.created_at, c.updated_at, c.targets_chosen, c.warnings, \
     c.auto_detected_template, c.agent_previews, c.preview_errors, p.brand_domain, ", sync_columns!());

/// One manifest's row ([`CREATIVE_COLUMNS`]), without its assets.
#[derive(sqlx::FromRow)]
pub(super) struct ManifestRow {
    pub id: String,
    campaign_id: String,
    name: String,
    message: Option<String>,
    template_id: Option<String>,
    #[sqlx(flatten)]
    format: FormatRow,
    format_option_ref: Option<String>,
    target_format_ids: String,
    frequency_caps: String,
    primary_asset_id: Option<String>,
    tracking: Option<String>,
    preview_url: Option<String>,
    created_at: String,
    updated_at: String,
    targets_chosen: i64,
    warnings: String,
    auto_detected_template: Option<String>,
    /// JSON lists; NULL (rows from before they existed) reads as empty.
    agent_previews: Option<String>,
    preview_errors: Option<String>,
    brand_domain: String,
    #[sqlx(flatten)]
    sync: SyncRow,
}

impl ManifestRow {
    pub fn into_manifest(self, assets: Vec<Asset>) -> anyhow::Result<Manifest> {
        Ok(Manifest {
            creative_id: CreativeId::from_db(self.id),
            campaign_id: CampaignId::from_db(self.campaign_id),
            name: self.name,
            message: self.message,
            template_id: self.template_id,
            format: self.format.into_format()?,
            format_option_ref: json_opt(self.format_option_ref)?,
            target_format_ids: from_json::<Vec<FormatId>>(&self.target_format_ids)?,
            targets_chosen: self.targets_chosen != 0,
            brand_domain: self.brand_domain,
            assets,
            primary_asset_id: self.primary_asset_id.map(AssetId::from_db),
            preview_key: self.preview_url,
            tracking: json_opt(self.tracking)?,
            sync_status: self.sync.into_status(),
            frequency_caps: from_json::<Vec<FrequencyCap>>(&self.frequency_caps)?,
            warnings: from_json(&self.warnings)?,
            auto_detected_template: json_opt(self.auto_detected_template)?,
            agent_previews: json_list(self.agent_previews)?,
            preview_errors: json_list(self.preview_errors)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// One line of the manifest list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub creative_id: CreativeId,
    pub campaign_id: CampaignId,
    pub name: String,
    #[schema(required = true)]
    pub template_id: Option<String>,
    /// Documented as optional `format_id` / `format_kind` (src/http/openapi.rs `FormatRefFields`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub format: Option<FormatRef>,
    pub asset_count: i64,
    #[schema(required = true)]
    pub preview_url: Option<String>,
    pub sync_status: SyncStatus,
    #[serde(rename = "frequencyCaps", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub frequency_caps: Option<Vec<FrequencyCap>>,
    pub created_at: String,
    pub updated_at: String,
}

/// The columns the list reads for one line.
#[derive(sqlx::FromRow)]
pub(super) struct SummaryRow {
    id: String,
    campaign_id: String,
    name: String,
    template_id: Option<String>,
    #[sqlx(flatten)]
    format: FormatRow,
    preview_url: Option<String>,
    frequency_caps: String,
    created_at: String,
    updated_at: String,
    asset_count: i64,
    #[sqlx(flatten)]
    sync: SyncRow,
}

impl SummaryRow {
    pub fn into_summary(self, include_frequency_caps: bool) -> anyhow::Result<Summary> {
        Ok(Summary {
            creative_id: CreativeId::from_db(self.id),
            campaign_id: CampaignId::from_db(self.campaign_id),
            name: self.name,
            template_id: self.template_id,
            format: self.format.into_format()?,
            asset_count: self.asset_count,
            preview_url: self.preview_url,
            sync_status: self.sync.into_status(),
            frequency_caps: include_frequency_caps
                .then(|| from_json(&self.frequency_caps))
                .transpose()?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// One manifest's format with one of its assets' recorded properties (a LEFT JOIN: a manifest
/// without assets is one row with no asset).
#[derive(sqlx::FromRow)]
pub(super) struct FactsRow {
    pub id: String,
    #[sqlx(flatten)]
    format: FormatRow,
    asset_type: Option<String>,
    content_type: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    duration_ms: Option<i64>,
    file_size: Option<i64>,
    url_type: Option<String>,
    text_len: Option<i64>,
}

impl FactsRow {
    /// The manifest's part (taken from its first row) and the asset's, if the row has one.
    pub fn into_facts(self) -> anyhow::Result<(ManifestFacts, Option<AssetFacts>)> {
        let manifest = ManifestFacts {
            creative_id: CreativeId::from_db(self.id),
            format: self.format.into_format()?,
            assets: Vec::new(),
        };
        let Some(asset_type) = self.asset_type else {
            return Ok((manifest, None));
        };
        let asset = AssetFacts {
            asset_type: AssetType::parse(&asset_type).context("stored asset type")?,
            content_type: self.content_type,
            width: opt_u32(self.width),
            height: opt_u32(self.height),
            duration_ms: opt_u64(self.duration_ms),
            file_size: opt_u64(self.file_size),
            url_type: self.url_type.map(|t| enum_from_str(&t)).transpose()?,
            text_len: opt_u64(self.text_len),
        };
        Ok((manifest, Some(asset)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_row(source: &str) -> AssetRow {
        AssetRow {
            id: "ast_1".into(),
            name: "headline".into(),
            asset_source: source.into(),
            asset_type: "TEXT".into(),
            original_filename: None,
            content_type: None,
            file_size: None,
            sha256: None,
            object_key: None,
            width: None,
            height: None,
            duration_ms: None,
            url: None,
            url_type: None,
            text_value: Some("Buy now".into()),
            label: None,
            slot_asset_id: None,
            warnings: "[]".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            processed_key: None,
            extra_keys: "[]".into(),
            details: None,
            webhook: None,
            webhook_secret: None,
        }
    }

    #[test]
    fn a_stored_asset_source_we_do_not_know_is_an_error_not_text() {
        let a = text_row("text").into_asset().unwrap();
        assert!(matches!(a.content, AssetContent::Text(ref t) if t == "Buy now"));
        assert!(text_row("hologram").into_asset().is_err());
    }

    #[test]
    fn sizes_out_of_range_read_as_unknown() {
        assert_eq!(opt_u32(Some(i64::from(u32::MAX) + 1)), None);
        assert_eq!(opt_u32(Some(300)), Some(300));
        assert_eq!(opt_u64(Some(-1)), None);
    }

    #[test]
    fn a_format_id_wins_over_a_kind_and_neither_is_none() {
        let id = r#"{"agent_url":"https://creative.adcontextprotocol.org","id":"display_300x250"}"#;
        let both = FormatRow {
            format_id: Some(id.into()),
            format_kind: Some("image".into()),
        };
        assert!(matches!(
            both.into_format().unwrap(),
            Some(FormatRef::Id(_))
        ));
        let none = FormatRow {
            format_id: None,
            format_kind: None,
        };
        assert!(none.into_format().unwrap().is_none());
        let unknown = FormatRow {
            format_id: None,
            format_kind: Some("hologram".into()),
        };
        assert!(unknown.into_format().is_err());
    }
}
