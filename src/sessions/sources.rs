//! The session's source assets: the request's description of each, checked; the bytes read (an
//! upload, or a URL through the SSRF guard), sniffed and decoded; what the asset store records.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::model::{MaskFile, Provenance, Rect, Rights, Role, SourceAsset};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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
    /// The uploaded file's name, or an http(s) URL, of a picture the size of the source whose alpha
    /// (or, without one, grey level) keeps (opaque, white) or drops (transparent, black) each of
    /// its pixels: a product cut out of its studio background. Never on a locked asset.
    #[serde(default)]
    pub mask: Option<String>,
}

impl SourceInput {
    /// Where the picture is: an uploaded file or a URL, when exactly one of them is given.
    pub fn origin(&self) -> Option<Origin<'_>> {
        match (&self.filename, &self.url) {
            (Some(name), None) => Some(Origin::Upload(name)),
            (None, Some(url)) => Some(Origin::Url(url)),
            _ => None,
        }
    }

    /// Where the mask is: a URL when it reads as one, else an uploaded file's name (a file name is
    /// never an absolute http(s) URL).
    pub fn mask_origin(&self) -> Option<Origin<'_>> {
        let m = self.mask.as_deref()?;
        Some(match url::Url::parse(m) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Origin::Url(m),
            _ => Origin::Upload(m),
        })
    }
}

/// Where a picture's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin<'a> {
    /// The uploaded file of this name.
    Upload(&'a str),
    /// A URL, fetched through the SSRF guard.
    Url(&'a str),
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

/// The bytes at `origin`: an uploaded file, taken out of `files` so each is used once, or a URL
/// fetched through the guard. `field` names the request field in an error.
pub async fn read(
    state: &AppState,
    files: &mut std::collections::HashMap<String, crate::ingest::spool::SpooledFile>,
    origin: Origin<'_>,
    field: &str,
) -> ApiResult<Vec<u8>> {
    match origin {
        Origin::Upload(name) => {
            let f = files.remove(name).ok_or_else(|| {
                ApiError::field(field, format!("no uploaded file named '{name}'"))
            })?;
            Ok(tokio::fs::read(f.file.path())
                .await
                .map_err(anyhow::Error::from)?)
        }
        Origin::Url(url) => fetch(state, url, field).await,
    }
}

/// Fetches a URL source through the guarded client (a DAM or CDN link may redirect), no larger
/// than the upload limit.
async fn fetch(state: &AppState, raw: &str, field: &str) -> ApiResult<Vec<u8>> {
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

/// A picture's content type, file extension and size, from its bytes: a PNG or JPEG that decodes
/// its header (415 naming `origin` for another type, 400 on `field` for one that does not decode).
fn examine(
    bytes: &[u8],
    origin: &str,
    field: &str,
) -> ApiResult<(&'static str, &'static str, (u32, u32))> {
    let (content_type, ext, _) = sniff(bytes).ok_or_else(|| ApiError::UnsupportedMediaType {
        filename: origin.to_owned(),
        detected: infer::get(bytes).map(|t| t.mime_type().to_owned()),
    })?;
    let size = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok())
        .ok_or_else(|| ApiError::field(field, format!("{origin}: the picture does not decode")))?;
    Ok((content_type, ext, size))
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
    let (content_type, ext, (width, height)) = examine(bytes, &origin, field)?;
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
    if input.mask.is_some() && (input.locked_asset || !input.can_transform) {
        return Err(ApiError::field(
            format!("{field}.mask"),
            "a locked asset, or one that may not be transformed, is never masked: a mask drops pixels",
        ));
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
        mask_file: None,
        checksum,
        content_type: content_type.to_owned(),
        width,
        height,
        url: public_url(&object_key),
        object_key,
    })
}

/// Checks a mask's bytes against its source (a PNG or JPEG of the very same size) and describes
/// where it is stored.
pub fn describe_mask(
    asset: &SourceAsset,
    bytes: &[u8],
    key_prefix: &str,
    field: &str,
    public_url: impl Fn(&str) -> String,
) -> ApiResult<MaskFile> {
    let origin = asset.mask.clone().unwrap_or_default();
    let (_, ext, dims) = examine(bytes, &origin, field)?;
    if dims != (asset.width, asset.height) {
        return Err(ApiError::field(
            field,
            format!(
                "{origin} is {}x{}; a mask is the size of its source ({}x{})",
                dims.0, dims.1, asset.width, asset.height
            ),
        ));
    }
    let checksum = sha256(bytes);
    let object_key = format!(
        "{key_prefix}/src/{}-mask-{}.{ext}",
        asset.asset_id,
        &checksum[..16]
    );
    Ok(MaskFile {
        checksum,
        url: public_url(&object_key),
        object_key,
    })
}

/// Applies a mask of the same size: each pixel's alpha is multiplied by the mask's alpha where
/// the mask has an alpha channel, by its grey level where it has none.
pub fn apply_mask(img: &mut image::RgbaImage, mask: &image::DynamicImage) {
    let keep: image::GrayImage = if mask.color().has_alpha() {
        let rgba = mask.to_rgba8();
        image::GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            image::Luma([rgba.get_pixel(x, y)[3]])
        })
    } else {
        mask.to_luma8()
    };
    for (x, y, px) in img.enumerate_pixels_mut() {
        let k = keep.get_pixel_checked(x, y).map_or(0, |l| l[0]);
        px[3] = ((u16::from(px[3]) * u16::from(k) + 127) / 255) as u8;
    }
}

/// Sources larger than this (longest side) are reduced once before layouts (unless locked).
pub const WORKING_SIDE: u32 = 2048;

/// Decodes a stored source for rendering. Pictures that may be transformed are reduced once to at
/// most `max_side` (layouts never need more); a locked one keeps every pixel, so its uniform scaling
/// is computed from the original.
/// A mask is applied first, at the source's own size.
pub fn decode(
    asset: &SourceAsset,
    bytes: &[u8],
    mask: Option<&[u8]>,
    max_side: u32,
) -> anyhow::Result<(image::RgbaImage, f32)> {
    let mut img = image::load_from_memory(bytes)?.to_rgba8();
    if let Some(m) = mask {
        apply_mask(&mut img, &image::load_from_memory(m)?);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, GrayImage, Luma, Rgba, RgbaImage};

    #[test]
    fn a_grey_mask_scales_alpha_and_an_alpha_mask_uses_its_alpha() {
        let mut img = RgbaImage::from_pixel(3, 1, Rgba([10, 20, 30, 255]));
        let grey = GrayImage::from_fn(3, 1, |x, _| Luma([[0, 128, 255][x as usize]]));
        apply_mask(&mut img, &DynamicImage::ImageLuma8(grey));
        let alphas: Vec<u8> = img.pixels().map(|p| p[3]).collect();
        assert_eq!(alphas, [0, 128, 255]);
        assert!(
            img.pixels().all(|p| p.0[..3] == [10, 20, 30]),
            "colours untouched"
        );

        // A cut-out: black pixels that are opaque keep, whatever their colour.
        let mut img = RgbaImage::from_pixel(2, 1, Rgba([10, 20, 30, 200]));
        let cut = RgbaImage::from_fn(2, 1, |x, _| Rgba([0, 0, 0, [255, 0][x as usize]]));
        apply_mask(&mut img, &DynamicImage::ImageRgba8(cut));
        let alphas: Vec<u8> = img.pixels().map(|p| p[3]).collect();
        assert_eq!(alphas, [200, 0]);
    }

    #[test]
    fn a_mask_is_a_url_when_it_reads_as_one() {
        let input = |m: &str| SourceInput {
            filename: None,
            url: None,
            role: Role::Product,
            locked_asset: false,
            can_transform: true,
            preservation_notes: None,
            source: None,
            rights: None,
            render_crop: None,
            subject_bounds: None,
            mask: Some(m.into()),
        };
        assert_eq!(
            input("https://dam.example/cut.png").mask_origin(),
            Some(Origin::Url("https://dam.example/cut.png"))
        );
        for name in ["cut.png", "c:/cut.png", "ftp://x/cut.png"] {
            assert_eq!(input(name).mask_origin(), Some(Origin::Upload(name)));
        }
    }
}
