//! What a format asks of a manifest, read out of an AdCP `Format` (`core/format.json`). The full
//! format JSON is kept and served as is; this is the part matching needs.

use serde_json::Value;

use crate::adcp::types::FormatId;

/// AdCP asset types a format can require (`core/format.json` assets[].asset_type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotType {
    Image,
    Video,
    Audio,
    Html,
    Javascript,
    Css,
    Vast,
    Url,
    Text,
    Markdown,
    /// A buyer endpoint the seller calls at render time (DCO).
    Webhook,
    /// A type this service cannot supply (brief, catalog, ...).
    Other(String),
}

impl SlotType {
    fn parse(s: &str) -> SlotType {
        match s {
            "image" => SlotType::Image,
            "video" => SlotType::Video,
            "audio" => SlotType::Audio,
            "html" => SlotType::Html,
            "javascript" => SlotType::Javascript,
            "css" => SlotType::Css,
            "vast" => SlotType::Vast,
            "url" => SlotType::Url,
            "text" => SlotType::Text,
            "markdown" => SlotType::Markdown,
            "webhook" => SlotType::Webhook,
            other => SlotType::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            SlotType::Image => "image",
            SlotType::Video => "video",
            SlotType::Audio => "audio",
            SlotType::Html => "html",
            SlotType::Javascript => "javascript",
            SlotType::Css => "css",
            SlotType::Vast => "vast",
            SlotType::Url => "url",
            SlotType::Text => "text",
            SlotType::Markdown => "markdown",
            SlotType::Webhook => "webhook",
            SlotType::Other(s) => s,
        }
    }
}

/// The requirement fields matching understands (`core/requirements/*-asset-requirements.json`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirements {
    pub min_width: Option<u32>,
    pub max_width: Option<u32>,
    pub min_height: Option<u32>,
    pub max_height: Option<u32>,
    /// As written ("16:9") and as a number.
    pub aspect_ratio: Option<(String, f64)>,
    pub min_duration_ms: Option<u64>,
    pub max_duration_ms: Option<u64>,
    /// Accepted file formats / containers, lower case ("jpg", "mp4", ...); empty = any.
    pub formats: Vec<String>,
    pub max_file_size_kb: Option<u64>,
    /// URL slots: the purpose ("clickthrough", "impression_tracker", ...).
    pub url_role: Option<String>,
    /// Text slots: the longest accepted text.
    pub max_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub asset_id: String,
    pub asset_type: SlotType,
    pub required: bool,
    pub requirements: Requirements,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormatSpec {
    pub format_id: FormatId,
    pub name: String,
    pub slots: Vec<Slot>,
    /// The primary render's fixed size, when the format has one.
    pub render_size: Option<(u32, u32)>,
    pub supported_macros: Vec<String>,
}

impl FormatSpec {
    /// "display", "video" or "audio" (the `type` filter of `list_creative_formats`).
    pub fn category(&self) -> &'static str {
        let has = |t: SlotType| self.slots.iter().any(|s| s.asset_type == t);
        if has(SlotType::Video) || has(SlotType::Vast) {
            "video"
        } else if has(SlotType::Audio) {
            "audio"
        } else {
            "display"
        }
    }
}

fn u32_of(v: &Value, key: &str) -> Option<u32> {
    v.get(key)
        .and_then(Value::as_f64)
        .filter(|n| *n >= 0.0 && *n <= u32::MAX as f64)
        .map(|n| n as u32)
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    v.get(key)
        .and_then(Value::as_f64)
        .filter(|n| *n >= 0.0)
        .map(|n| n as u64)
}

/// "16:9" or "1.91:1" as width / height.
pub fn parse_ratio(s: &str) -> Option<f64> {
    let (w, h) = s.split_once(':')?;
    let (w, h): (f64, f64) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0.0 && h > 0.0).then(|| w / h)
}

fn requirements(v: Option<&Value>) -> Requirements {
    let Some(v) = v else {
        return Requirements::default();
    };
    let list = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut formats = list("formats");
    formats.extend(list("containers"));
    Requirements {
        min_width: u32_of(v, "min_width"),
        max_width: u32_of(v, "max_width"),
        min_height: u32_of(v, "min_height"),
        max_height: u32_of(v, "max_height"),
        aspect_ratio: v
            .get("aspect_ratio")
            .and_then(Value::as_str)
            .and_then(|s| parse_ratio(s).map(|r| (s.to_owned(), r))),
        min_duration_ms: u64_of(v, "min_duration_ms"),
        max_duration_ms: u64_of(v, "max_duration_ms"),
        formats,
        max_file_size_kb: u64_of(v, "max_file_size_kb"),
        url_role: v.get("role").and_then(Value::as_str).map(str::to_owned),
        max_length: u64_of(v, "max_length"),
    }
}

/// Reads the matching-relevant parts of an AdCP `Format`. Fails only when the format has no valid
/// `format_id`; unknown parts are ignored (the JSON itself is kept whole).
pub fn parse(format: &Value) -> Result<FormatSpec, String> {
    let format_id: FormatId = serde_json::from_value(
        format
            .get("format_id")
            .cloned()
            .ok_or("format has no format_id")?,
    )
    .map_err(|e| format!("invalid format_id: {e}"))?;
    let format_id = format_id.normalized()?;
    let slots = format
        .get("assets")
        .and_then(Value::as_array)
        .map(|assets| {
            assets
                .iter()
                // Repeatable groups (carousels) are not matched here; their slots are optional to us.
                .filter(|a| a.get("item_type").and_then(Value::as_str) != Some("repeatable_group"))
                .filter_map(|a| {
                    Some(Slot {
                        asset_id: a.get("asset_id")?.as_str()?.to_owned(),
                        asset_type: SlotType::parse(a.get("asset_type")?.as_str()?),
                        required: a.get("required").and_then(Value::as_bool).unwrap_or(false),
                        requirements: requirements(a.get("requirements")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let render_size = format
        .get("renders")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("dimensions"))
        .and_then(|d| Some((u32_of(d, "width")?, u32_of(d, "height")?)));
    Ok(FormatSpec {
        name: format
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&format_id.id)
            .to_owned(),
        format_id,
        slots,
        render_size,
        supported_macros: format
            .get("supported_macros")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}
