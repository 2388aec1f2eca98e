//! The demo seller as a creative agent: AdCP `preview_creative` (single mode) for its own formats.
//! Each preview has one render at the format's size: the creative's first served asset as the
//! framed page (`preview_url`), and a small HTML rendering of the manifest (`preview_html`).

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

/// Offer `preview_creative` (on `SellerConfig::previews`).
#[derive(Clone, Debug, Default)]
pub struct Previews {
    /// Answer HTML only (`output_format: html`), as some agents do.
    pub html_only: bool,
}

/// The size the seller's own format with this id renders at, when it says (numbers as written).
fn size_of(formats: &[Value], format_id: &Value) -> Option<(Value, Value)> {
    let f = formats.iter().find(|f| {
        f["format_id"]["id"] == format_id["id"]
            && f["format_id"]["agent_url"] == format_id["agent_url"]
    })?;
    let d = f.pointer("/renders/0/dimensions")?;
    Some((d.get("width")?.clone(), d.get("height")?.clone()))
}

/// The first URL among the manifest's assets (an image, a video, the framed HTML page...).
fn first_url(assets: &Value) -> Option<String> {
    assets
        .as_object()?
        .values()
        .filter_map(|a| a["url"].as_str())
        .find(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_owned)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `preview_creative` answer (`creative/preview-creative-response.json`, single).
pub fn answer(config: &super::SellerConfig, p: &Previews, args: &Value) -> Value {
    let manifest = &args["creative_manifest"];
    let format_id = if args["format_id"].is_object() {
        &args["format_id"]
    } else {
        &manifest["format_id"]
    };
    let (w, h) = size_of(&config.formats, format_id).unwrap_or((json!(300), json!(250)));
    let slots: Vec<String> = manifest["assets"]
        .as_object()
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    format!(
                        "<li>{}: {}</li>",
                        escape(k),
                        escape(v["asset_type"].as_str().unwrap_or("?"))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let html = format!(
        "<div class=\"demo-preview\" style=\"width:{w}px;height:{h}px\"><p>{} at {w}x{h}</p><ul>{}</ul></div>",
        escape(format_id["id"].as_str().unwrap_or("format")),
        slots.join("")
    );
    let mut render = json!({
        "render_id": "primary",
        "role": "primary",
        "dimensions": {"width": w, "height": h},
        "preview_html": html,
    });
    match first_url(&manifest["assets"]).filter(|_| !p.html_only) {
        Some(url) => {
            render["output_format"] = json!("both");
            render["preview_url"] = json!(url);
        }
        None => render["output_format"] = json!("html"),
    }
    let expires =
        (Utc::now() + chrono::Duration::hours(24)).to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "status": "completed",
        "response_type": "single",
        "previews": [{"preview_id": "default", "input": {"name": "Default"}, "renders": [render]}],
        "expires_at": expires,
    })
}
