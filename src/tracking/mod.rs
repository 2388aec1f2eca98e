//! The service's own trackers: the signing key, the recording of impressions and clicks, and the
//! tracking block of a manifest.

pub mod events;
pub mod known;

use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;
use serde_json::json;
use sqlx::Row;

use crate::ids::AssetId;
use crate::manifest::asset_type::AssetType;
use crate::manifest::model::{Asset, AssetContent, Manifest, UrlType};
use crate::manifest::tracking::{click_url, impression_url, Signer, UNIVERSAL_MACROS};
use crate::secret_file;
use crate::store::db::{now, Db};

/// Name of the impression-tracker asset the service adds (and replaces) on manifests.
pub const IMPRESSION_ASSET_NAME: &str = "service_impression_tracker";

/// Where the service's key (click links, webhook tokens, sealed seller tokens) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `TRACKING_SECRET`.
    Configured,
    /// Generated once into this file in DATA_DIR (embedded SQLite only).
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Configured => f.write_str("TRACKING_SECRET"),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Name of the key file in DATA_DIR.
pub const KEY_FILE: &str = "tracking-secret";

/// The service key: `TRACKING_SECRET` (64 hex chars) when given; else (SQLite only: see
/// [`crate::config::Config::check`]) the one in DATA_DIR/tracking-secret, generated on first start.
/// Never kept in the database, where a copy of the database alone would unseal every seller token
/// and forge click links: a key an earlier version stored there moves to the file (when none is
/// configured) and is deleted from the database once it is the key in use.
pub async fn signer(
    db: &Db,
    configured: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<(Signer, KeySource)> {
    let stored: Option<String> =
        sqlx::query("SELECT value FROM service_secrets WHERE name = 'tracking_hmac'")
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.try_get("value"))
            .transpose()?;
    let (hex_key, source) = match configured {
        Some(k) => (k.trim().to_owned(), KeySource::Configured),
        None => {
            let path = data_dir.join(KEY_FILE);
            let key = match secret_file::read(&path)
                .with_context(|| format!("reading {}", path.display()))?
            {
                Some(k) => k,
                None => {
                    let key = stored.clone().unwrap_or_else(|| {
                        let mut bytes = [0u8; 32];
                        rand::thread_rng().fill_bytes(&mut bytes);
                        hex::encode(bytes)
                    });
                    // Written (and synced) before the database copy is deleted: a crash between
                    // the two leaves the key in both places, never in neither.
                    secret_file::write(&path, &key)
                        .with_context(|| format!("writing {}", path.display()))?;
                    key
                }
            };
            (key, KeySource::File(path))
        }
    };
    let key: [u8; 32] = hex::decode(&hex_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("the service key ({source}) must be 64 hex characters"))?;
    match stored {
        Some(k) if k.trim().eq_ignore_ascii_case(&hex_key) => {
            sqlx::query("DELETE FROM service_secrets WHERE name = 'tracking_hmac'")
                .execute(&db.pool)
                .await?;
            tracing::warn!(now_in = %source, "removed the service key an earlier version kept in the database");
        }
        // Another key: nothing this service signs or seals uses it, but it may be the one a restored
        // backup's sealed tokens need, so it is left for the operator to delete, not destroyed here.
        Some(_) => tracing::warn!(
            in_use = %source,
            "the database still holds a service key an earlier version generated, different from the one \
             in use; delete it (DELETE FROM service_secrets WHERE name = 'tracking_hmac') once no data \
             needs it"
        ),
        None => {}
    }
    Ok((Signer::new(key), source))
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
