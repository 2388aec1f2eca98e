//! A manifest as an AdCP creative (`core/creative-asset.json`), the unit `sync_creatives` carries and
//! media-buy packages carry inline: assets keyed by the target format's slot ids, pointing at the
//! served copies on the CDN, with the service's trackers.

use serde_json::{json, Map, Value};

use crate::adcp::types::FormatRef;
use crate::formats::spec::FormatSpec;
use crate::manifest::asset_type::AssetType;
use crate::manifest::coverage::{fits_slot, AssetFacts};
use crate::manifest::model::{Asset, AssetContent, Manifest, UrlType};
use crate::store::Objects;

/// The creative, and the assets left out (with why).
#[derive(Debug, Clone)]
pub struct Built {
    pub creative: Value,
    pub skipped: Vec<String>,
}

fn extension(content_type: &str) -> &str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/svg+xml" => "svg",
        "video/quicktime" => "mov",
        "audio/mpeg" => "mp3",
        other => other.rsplit('/').next().unwrap_or(other),
    }
}

/// One asset in its AdCP shape, or why it cannot be sent. `click_tracker` is the service's tracker
/// that wraps the clickthrough: what the seller links to, so clicks are counted.
fn adcp_asset(a: &Asset, objects: &Objects, click_tracker: Option<&str>) -> Result<Value, String> {
    match &a.content {
        AssetContent::Url { url, url_type } => Ok(match url_type {
            UrlType::Vast => json!({"asset_type": "vast", "delivery_type": "url", "url": url}),
            UrlType::Clickthrough => {
                json!({"asset_type": "url", "url_type": "clickthrough", "url": click_tracker.unwrap_or(url)})
            }
            UrlType::TrackerPixel => {
                json!({"asset_type": "url", "url_type": "tracker_pixel", "url": url})
            }
            UrlType::TrackerScript => {
                json!({"asset_type": "url", "url_type": "tracker_script", "url": url})
            }
        }),
        AssetContent::Text(t) => Ok(json!({"asset_type": "text", "content": t})),
        // The configuration only: AdCP gives the secret no place in a creative.
        AssetContent::Webhook(w) => Ok(w.adcp()),
        AssetContent::Upload(f) => {
            let served = objects.public_url(
                f.processing
                    .processed_key
                    .as_deref()
                    .unwrap_or(&f.object_key),
            );
            match a.asset_type {
                AssetType::Image | AssetType::Logo => match (f.width, f.height) {
                    (Some(w), Some(h)) => Ok(
                        json!({"asset_type": "image", "url": served, "width": w, "height": h, "format": extension(&f.content_type)}),
                    ),
                    _ => Err(format!("{}: an image without known dimensions", a.name)),
                },
                AssetType::Video => match (f.width, f.height) {
                    (Some(w), Some(h)) => {
                        let mut v = json!({"asset_type": "video", "url": served, "width": w, "height": h,
                            "file_size_bytes": f.file_size, "container_format": extension(&f.content_type)});
                        if let Some(d) = f.duration_ms {
                            v["duration_ms"] = json!(d);
                        }
                        Ok(v)
                    }
                    _ => Err(format!("{}: a video without known dimensions", a.name)),
                },
                AssetType::Audio => {
                    let mut v = json!({"asset_type": "audio", "url": served, "file_size_bytes": f.file_size,
                        "container_format": extension(&f.content_type)});
                    if let Some(d) = f.duration_ms {
                        v["duration_ms"] = json!(d);
                    }
                    Ok(v)
                }
                // Hosted HTML travels as a tag that frames the served page: sellers render markup.
                AssetType::Html => {
                    let (w, h) = (f.width.unwrap_or(300), f.height.unwrap_or(250));
                    Ok(json!({"asset_type": "html", "content": format!(
                        "<iframe src=\"{served}\" width=\"{w}\" height=\"{h}\" frameborder=\"0\" scrolling=\"no\" \
                         sandbox=\"allow-scripts allow-popups allow-popups-to-escape-sandbox\"></iframe>"
                    )}))
                }
                AssetType::Vast => {
                    let mut v =
                        json!({"asset_type": "vast", "delivery_type": "url", "url": served});
                    if let Some(d) = f.duration_ms {
                        v["duration_ms"] = json!(d);
                    }
                    Ok(v)
                }
                other => Err(format!(
                    "{}: {other} files travel inside their HTML creative",
                    a.name
                )),
            }
        }
    }
}

/// A slot key from a free-form name: lower-case `[a-z0-9_]`.
fn key_of(name: &str) -> String {
    let k: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if k.is_empty() {
        "asset".into()
    } else {
        k
    }
}

/// Builds the AdCP creative of `m` for `format` (the seller's product format); `spec`, when known,
/// names the slots so each asset lands under the key the format expects.
pub fn build(
    m: &Manifest,
    objects: &Objects,
    format: &FormatRef,
    spec: Option<&FormatSpec>,
) -> Built {
    let mut assets = Map::new();
    let mut skipped = Vec::new();
    let mut used = vec![false; m.assets.len()];
    let click_tracker = m
        .tracking
        .as_ref()
        .and_then(|t| t["click_tracker_url"].as_str());
    if let Some(spec) = spec {
        let facts: Vec<AssetFacts> = m.assets.iter().map(AssetFacts::of).collect();
        for slot in &spec.slots {
            // The asset the buyer named for this slot first (two webhooks, say), else any that fits.
            let fits = |i: &usize| !used[*i] && fits_slot(slot, &facts[*i]);
            let named = (0..m.assets.len())
                .filter(fits)
                .find(|&i| m.assets[i].slot_asset_id.as_deref() == Some(slot.asset_id.as_str()));
            if let Some(i) = named.or_else(|| (0..m.assets.len()).find(fits)) {
                match adcp_asset(&m.assets[i], objects, click_tracker) {
                    Ok(v) => {
                        assets.insert(slot.asset_id.clone(), v);
                        used[i] = true;
                    }
                    Err(why) => skipped.push(why),
                }
            }
        }
    }
    for a in m
        .assets
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(a, _)| a)
    {
        let base = key_of(a.slot_asset_id.as_deref().unwrap_or(&a.name));
        let key = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}_{n}")
                }
            })
            .find(|k| !assets.contains_key(k))
            .unwrap_or(base);
        match adcp_asset(a, objects, click_tracker) {
            Ok(v) => {
                assets.insert(key, v);
            }
            Err(why) => skipped.push(why),
        }
    }
    let mut creative = json!({
        "creative_id": m.creative_id,
        "name": m.name,
        "assets": assets,
    });
    match format {
        FormatRef::Id(id) => creative["format_id"] = json!(id),
        FormatRef::Kind(k) => {
            creative["format_kind"] = json!(k);
            if let Some(r) = &m.format_option_ref {
                creative["format_option_ref"] = r.clone();
            }
        }
    }
    Built { creative, skipped }
}
