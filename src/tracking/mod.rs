//! The service's own trackers: the signing key, the recording of impressions and clicks, and the
//! tracking block of a manifest.

pub mod events;

use rand::RngCore;
use serde_json::json;
use sqlx::Row;

use crate::ids::AssetId;
use crate::manifest::asset_type::AssetType;
use crate::manifest::model::{Asset, AssetContent, Manifest, UrlType};
use crate::manifest::tracking::{click_url, impression_url, Signer, UNIVERSAL_MACROS};
use crate::store::db::{now, Db};

/// Name of the impression-tracker asset the service adds (and replaces) on manifests.
pub const IMPRESSION_ASSET_NAME: &str = "service_impression_tracker";

/// The click-link signing key: `TRACKING_SECRET` (64 hex chars) when given, else one generated once
/// and kept in the database, so every replica signs and checks alike.
pub async fn signer(db: &Db, configured: Option<&str>) -> anyhow::Result<Signer> {
    let hex_key = match configured {
        Some(k) => k.trim().to_owned(),
        None => {
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            sqlx::query(
                "INSERT INTO service_secrets (name, value, created_at) VALUES ('tracking_hmac', $1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(hex::encode(bytes))
            .bind(now())
            .execute(&db.pool)
            .await?;
            sqlx::query("SELECT value FROM service_secrets WHERE name = 'tracking_hmac'")
                .fetch_one(&db.pool)
                .await?
                .try_get("value")?
        }
    };
    let key: [u8; 32] = hex::decode(&hex_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("TRACKING_SECRET must be 64 hex characters"))?;
    Ok(Signer::new(key))
}

/// Sets the manifest's `tracking` block and its service impression tracker. The click tracker wraps
/// the clickthrough (kept in `rurl`). A VAST creative is tracked without one too: its player pings the
/// impression tracker (and, with `ev=click`, counts clicks through `<ClickTracking>`), so an uploaded
/// VAST carries the trackers in its processed copy and gets no pixel asset beside it (a seller firing
/// both would count each impression twice). No clickthrough and no VAST: no trackers.
/// `macros` are those the target formats support (all universal ones when unknown).
pub fn apply(m: &mut Manifest, base: &str, signer: &Signer, macros: Vec<String>) {
    m.assets.retain(|a| a.name != IMPRESSION_ASSET_NAME);
    let clickthrough = m.clickthroughs().next().and_then(|a| match &a.content {
        AssetContent::Url { url, .. } => Some(url.clone()),
        _ => None,
    });
    let vast_upload = m
        .assets
        .iter()
        .any(|a| a.asset_type == AssetType::Vast && a.file().is_some());
    let vast_url = m.assets.iter().any(|a| {
        matches!(
            a.content,
            AssetContent::Url {
                url_type: UrlType::Vast,
                ..
            }
        )
    });
    if clickthrough.is_none() && !vast_upload && !vast_url {
        m.tracking = None;
        return;
    }
    let (cr, cmp) = (m.creative_id.as_str(), m.campaign_id.as_str());
    let impression = impression_url(base, cr, cmp);
    let click = clickthrough.map(|c| click_url(base, cr, cmp, &c, signer));
    let macros = if macros.is_empty() {
        UNIVERSAL_MACROS.iter().map(|s| s.to_string()).collect()
    } else {
        macros
    };
    m.tracking = Some(json!({
        "impression_tracker_url": impression,
        "click_tracker_url": click,
        "supported_macros": macros,
    }));
    if vast_upload {
        return;
    }
    m.assets.push(Asset {
        asset_id: AssetId::new(),
        name: IMPRESSION_ASSET_NAME.into(),
        asset_type: AssetType::Url,
        content: AssetContent::Url {
            url: impression,
            url_type: UrlType::TrackerPixel,
        },
        label: Some("impression tracker (added by the service)".into()),
        slot_asset_id: Some("impression_tracker".into()),
        warnings: vec![],
        created_at: now(),
    });
}

/// The click tracker of a manifest, if it has one.
pub fn click_tracker(m: &Manifest) -> Option<&str> {
    m.tracking
        .as_ref()
        .and_then(|t| t.get("click_tracker_url"))
        .and_then(|v| v.as_str())
}
