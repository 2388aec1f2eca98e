//! The session's source assets: the request's description of each, checked; the bytes read (an
//! upload, or a URL through the SSRF guard), sniffed and decoded; what the asset store records.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::model::{Provenance, Rect, Rights, Role, SourceAsset};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// One `source_assets[]` entry of a create request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// Names the uploaded file (multipart) that holds it.
    #[serde(default)]
    pub filename: Option<String>,
    /// Or where to fetch it (public http/https only).
    #[serde(default)]
    pub url: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub locked_asset: bool,
    #[serde(default = "yes")]
    pub can_transform: bool,
    #[serde(default)]
    pub preservation_notes: Option<String>,
    /// Declared provenance; defaults to how it arrived (upload or url).
    #[serde(default)]
    pub source: Option<Provenance>,
    #[serde(default)]
    pub rights: Option<Rights>,
    #[serde(default)]
    pub render_crop: Option<Rect>,
    #[serde(default)]
    pub subject_bounds: Option<Rect>,
    #[serde(default)]
    pub mask: Option<String>,
}

fn yes() -> bool {
    true
}

/// The pictures the renderers read: PNG and JPEG (what the `image` build decodes).
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str, image::ImageFormat)> {
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Png => Some(("image/png", "png", image::ImageFormat::Png)),
        image::ImageFormat::Jpeg => Some(("image/jpeg", "jpg", image::ImageFormat::Jpeg)),
        _ => None,
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn inside(r: &Rect, w: u32, h: u32) -> bool {
    r.width > 0
        && r.height > 0
        && r.x.saturating_add(r.width) <= w
        && r.y.saturating_add(r.height) <= h
}

/// Fetches a URL source through the guarded client (a DAM or CDN link may redirect), no larger
/// than the upload limit.
pub async fn fetch(state: &AppState, raw: &str, field: &str) -> ApiResult<Vec<u8>> {
    let res = state
        .outbound
        .get_following(raw)
        .await
        .map_err(|e| ApiError::field(field, format!("{raw}: {e}")))?;
    if !res.status().is_success() {
        return Err(ApiError::field(
            field,
            format!("fetching {raw} answered {}", res.status()),
        ));
    }
    crate::outbound::read_capped(res, state.limits.max_file_bytes as usize)
        .await
        .map_err(|e| ApiError::field(field, format!("{raw}: {e}")))
}

/// Checks an asset's bytes and description, and describes it as the asset store keeps it.
pub fn describe(
    input: &SourceInput,
    asset_id: String,
    bytes: &[u8],
    key_prefix: &str,
    field: &str,
    public_url: impl Fn(&str) -> String,
) -> ApiResult<SourceAsset> {
    let origin = input
        .filename
        .clone()
        .or_else(|| input.url.clone())
        .unwrap_or_default();
    let (content_type, ext, _) = sniff(bytes).ok_or_else(|| ApiError::UnsupportedMediaType {
        filename: origin.clone(),
        detected: infer::get(bytes).map(|t| t.mime_type().to_owned()),
    })?;
    let (width, height) = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok())
        .ok_or_else(|| ApiError::field(field, format!("{origin}: the picture does not decode")))?;
    for (name, r) in [
        ("render_crop", &input.render_crop),
        ("subject_bounds", &input.subject_bounds),
    ] {
        if let Some(r) = r {
            if !inside(r, width, height) {
                return Err(ApiError::field(
                    format!("{field}.{name}"),
                    format!("the rectangle is not inside the {width}x{height} picture"),
                ));
            }
        }
    }
    let checksum = sha256(bytes);
    let object_key = format!("{key_prefix}/src/{asset_id}-{}.{ext}", &checksum[..16]);
    Ok(SourceAsset {
        asset_id,
        role: input.role,
        locked_asset: input.locked_asset,
        can_transform: input.can_transform,
        preservation_notes: input.preservation_notes.clone(),
        source: input.source.unwrap_or(if input.url.is_some() {
            Provenance::Url
        } else {
            Provenance::Upload
        }),
        origin,
        rights: input.rights.clone().unwrap_or_default(),
        render_crop: input.render_crop,
        subject_bounds: input.subject_bounds,
        mask: input.mask.clone(),
        checksum,
        content_type: content_type.to_owned(),
        width,
        height,
        url: public_url(&object_key),
        object_key,
    })
}

/// Decodes a stored source for rendering. Pictures that may be transformed are reduced once to at
/// most `max_side` (layouts never need more); a locked one keeps every pixel, so its uniform scaling
/// is computed from the original.
pub fn decode(
    asset: &SourceAsset,
    bytes: &[u8],
    max_side: u32,
) -> anyhow::Result<(image::RgbaImage, f32)> {
    let img = image::load_from_memory(bytes)?.to_rgba8();
    let longest = img.width().max(img.height());
    if asset.uniform_only() || longest <= max_side {
        return Ok((img, 1.0));
    }
    let s = max_side as f32 / longest as f32;
    let (w, h) = (
        ((img.width() as f32 * s).round() as u32).max(1),
        ((img.height() as f32 * s).round() as u32).max(1),
    );
    Ok((
        image::imageops::resize(&img, w, h, super::compose::FILTER),
        s,
    ))
}
