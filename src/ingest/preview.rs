//! The preview page of a manifest: rendered from `templates/preview.html`, stored like any object
//! (content-addressed), its key kept on the manifest.

use minijinja::Environment;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::manifest::asset_type::AssetType;
use crate::manifest::model::{AssetContent, Manifest, UrlType};
use crate::store::Objects;

const TEMPLATE: &str = include_str!("../../templates/preview.html");

#[derive(Serialize)]
struct AssetRow {
    name: String,
    asset_type: String,
    content_type: Option<String>,
    file_size: Option<u64>,
    width: Option<u32>,
    height: Option<u32>,
    duration_ms: Option<u64>,
    url: Option<String>,
    warnings: Vec<String>,
}

/// One agent render as the page shows it: always in a sandboxed frame, a URL as its `src`, HTML as
/// its `srcdoc` (escaped by the template), never in our page's own DOM.
#[derive(Serialize)]
struct AgentRender {
    format: String,
    agent_url: String,
    role: Option<String>,
    url: Option<String>,
    html: Option<String>,
    width: Option<u64>,
    height: Option<u64>,
}

fn agent_renders(m: &Manifest) -> Vec<AgentRender> {
    use serde_json::Value;
    let dim = |r: &Value, k: &str| {
        r.pointer(&format!("/dimensions/{k}"))
            .and_then(Value::as_f64)
    };
    m.agent_previews
        .iter()
        .flat_map(|p| {
            p.renders.iter().map(move |r| {
                let url = r
                    .get("preview_url")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                AgentRender {
                    format: p.format_id.id.clone(),
                    agent_url: p.agent_url.clone(),
                    role: r.get("role").and_then(Value::as_str).map(str::to_owned),
                    // A URL is preferred when both are given: the agent's own page, framed.
                    html: url
                        .is_none()
                        .then(|| {
                            r.get("preview_html")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                        .flatten(),
                    url,
                    width: dim(r, "width").map(|w| w as u64),
                    height: dim(r, "height").map(|h| h as u64),
                }
            })
        })
        .collect()
}

/// Renders the preview page; returns its key and bytes.
pub fn render(m: &Manifest, objects: &Objects) -> anyhow::Result<(String, Vec<u8>)> {
    let served = |a: &crate::manifest::model::Asset| {
        a.file().map(|f| {
            objects.public_url(
                f.processing
                    .processed_key
                    .as_deref()
                    .unwrap_or(&f.object_key),
            )
        })
    };
    // The creative shown: the primary file if it renders, else the first file that does.
    let renders = |t: AssetType| {
        matches!(
            t,
            AssetType::Html
                | AssetType::Image
                | AssetType::Logo
                | AssetType::Video
                | AssetType::Audio
                | AssetType::Vast
        )
    };
    let primary = m
        .primary_asset_id
        .as_ref()
        .and_then(|id| m.assets.iter().find(|a| &a.asset_id == id))
        .filter(|a| renders(a.asset_type))
        .or_else(|| {
            m.assets
                .iter()
                .find(|a| a.file().is_some() && renders(a.asset_type))
        });
    let kind = primary.map(|a| match a.asset_type {
        AssetType::Html => "html",
        AssetType::Video => "video",
        AssetType::Audio => "audio",
        AssetType::Vast => "vast",
        _ => "image",
    });
    let file = primary.and_then(|a| a.file());
    let format = match &m.format {
        Some(crate::adcp::types::FormatRef::Id(id)) => Some(id.id.clone()),
        Some(crate::adcp::types::FormatRef::Kind(k)) => serde_json::to_value(k)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned)),
        None => None,
    };
    let clickthrough = m.assets.iter().find_map(|a| match &a.content {
        AssetContent::Url {
            url,
            url_type: UrlType::Clickthrough,
        } => Some(url.clone()),
        _ => None,
    });
    let assets: Vec<AssetRow> = m
        .assets
        .iter()
        .map(|a| {
            let f = a.file();
            AssetRow {
                name: a.name.clone(),
                asset_type: a.asset_type.to_string(),
                content_type: f.map(|f| f.content_type.clone()),
                file_size: f.map(|f| f.file_size),
                width: f.and_then(|f| f.width),
                height: f.and_then(|f| f.height),
                duration_ms: f.and_then(|f| f.duration_ms),
                url: served(a).or_else(|| match &a.content {
                    AssetContent::Url { url, .. } => Some(url.clone()),
                    AssetContent::Webhook(w) => Some(w.url.clone()),
                    _ => None,
                }),
                warnings: a.warnings.clone(),
            }
        })
        .collect();
    let mut env = Environment::new();
    env.add_template("preview.html", TEMPLATE)?;
    let html = env
        .get_template("preview.html")?
        .render(minijinja::context! {
            name => m.name,
            creative_id => m.creative_id.as_str(),
            format => format,
            template_id => m.template_id,
            kind => kind,
            url => primary.and_then(served),
            width => file.and_then(|f| f.width),
            height => file.and_then(|f| f.height),
            clickthrough => clickthrough,
            assets => assets,
            agent_renders => agent_renders(m),
            preview_errors => m.preview_errors,
        })?;
    let bytes = html.into_bytes();
    let key = format!(
        "creatives/{}/preview/{}.html",
        m.creative_id,
        hex::encode(Sha256::digest(&bytes))
    );
    Ok((key, bytes))
}
