//! Pairs spooled files with their metadata entries, classifies and probes them, and names their
//! storage keys (content-hash based, never the user's filename).

use crate::error::{ApiError, ApiResult};
use crate::ids::{AssetId, CreativeId};
use crate::manifest::filename::display_name;
use crate::manifest::html::UrlMap;
use crate::manifest::media::classify::{classify, ClassifyError};
use crate::manifest::metadata::FileEntry;
use std::path::PathBuf;

use serde_json::json;

use crate::manifest::asset_type::AssetType;
use crate::manifest::bundle::{self, BundleError};
use crate::manifest::media::probe::{check_svg, probe};
use crate::manifest::model::{Asset, AssetContent, Processing, StoredFile};
use crate::store::db::now;
use crate::store::Objects;

use super::spool::SpooledFile;

/// A file ready to be stored: its spool file and the asset it becomes.
pub struct PreparedFile {
    pub spool: SpooledFile,
    pub asset: Asset,
    /// An HTML5 bundle's files: (key, local path, size), stored under the bundle's prefix.
    pub bundle_files: Vec<(String, PathBuf, u64)>,
    /// A bundle's entry point on local disk.
    pub bundle_entry: Option<PathBuf>,
    /// Keeps the extracted files until the request ends.
    _bundle_dir: Option<tempfile::TempDir>,
}

impl PreparedFile {
    pub fn object_key(&self) -> &str {
        match &self.asset.content {
            AssetContent::Upload(f) => &f.object_key,
            _ => "",
        }
    }
}

pub async fn prepare_files(
    files: Vec<SpooledFile>,
    entries: &[FileEntry],
    creative_id: &CreativeId,
    entries_field: &str,
    objects: &Objects,
) -> ApiResult<Vec<PreparedFile>> {
    let mut used = vec![false; entries.len()];
    let mut out = Vec::with_capacity(files.len());
    for spool in files {
        let index = entries
            .iter()
            .position(|e| display_name(&e.filename) == spool.filename)
            .ok_or_else(|| {
                ApiError::field(
                    "files",
                    format!(
                        "file '{}' has no {entries_field}[] entry with that filename",
                        spool.filename
                    ),
                )
            })?;
        if std::mem::replace(&mut used[index], true) {
            return Err(ApiError::field(
                "files",
                format!("file '{}' was uploaded twice", spool.filename),
            ));
        }
        out.push(prepare_one(spool, &entries[index], creative_id, objects).await?);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(ApiError::field(
            format!("{entries_field}[{i}].filename"),
            format!("no file was uploaded for '{}'", entries[i].filename),
        ));
    }
    Ok(out)
}

/// The asset an uploaded file becomes, stored under its content hash (never the user's filename).
fn upload_asset(
    spool: &SpooledFile,
    entry: &FileEntry,
    creative_id: &CreativeId,
    asset_type: AssetType,
    content_type: String,
    extension: &str,
) -> Asset {
    Asset {
        asset_id: AssetId::new(),
        name: entry
            .label
            .clone()
            .unwrap_or_else(|| spool.filename.clone()),
        asset_type,
        content: AssetContent::Upload(StoredFile {
            object_key: format!("creatives/{creative_id}/{}.{extension}", spool.sha256),
            original_filename: spool.filename.clone(),
            content_type,
            file_size: spool.size,
            sha256: spool.sha256.clone(),
            width: None,
            height: None,
            duration_ms: None,
            processing: Processing::default(),
        }),
        label: entry.label.clone(),
        slot_asset_id: entry.slot_asset_id.clone(),
        warnings: vec![],
        created_at: now(),
    }
}

fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

async fn prepare_one(
    spool: SpooledFile,
    entry: &FileEntry,
    creative_id: &CreativeId,
    objects: &Objects,
) -> ApiResult<PreparedFile> {
    if is_zip(&spool.head) {
        return prepare_bundle(spool, entry, creative_id, objects).await;
    }
    let found = classify(
        &spool.head,
        &spool.filename,
        spool.declared_mime.as_deref(),
        entry.asset_type,
    )
    .map_err(|e| match e {
        ClassifyError::Unsupported { detected } => ApiError::UnsupportedMediaType {
            filename: spool.filename.clone(),
            detected,
        },
    })?;
    let path = spool.file.path().to_owned();
    let content_type = found.content_type.clone();
    if content_type == "image/svg+xml" {
        refuse_unsafe_svg(path.clone(), &spool.filename).await?;
    }
    let timer = crate::metrics::processing(crate::metrics::Processing::Probe);
    let props = tokio::task::spawn_blocking(move || probe(&path, &content_type))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;

    drop(timer);
    crate::metrics::upload_file(found.asset_type.as_str(), spool.size);
    let mut warnings = found.warnings;
    warnings.extend(props.warnings);
    let mut asset = upload_asset(
        &spool,
        entry,
        creative_id,
        found.asset_type,
        found.content_type,
        found.extension,
    );
    let is_page = asset.file().is_some_and(|f| f.content_type == "text/html");
    let size = match (props.width, props.height) {
        (None, _) if is_page => measure_html(spool.file.path(), &spool.filename)
            .await?
            .unzip(),
        probed => probed,
    };
    if let AssetContent::Upload(f) = &mut asset.content {
        (f.width, f.height, f.duration_ms) = (size.0, size.1, props.duration_ms);
    }
    asset.warnings = warnings;
    Ok(PreparedFile {
        spool,
        asset,
        bundle_files: vec![],
        bundle_entry: None,
        _bundle_dir: None,
    })
}

/// Refuses an SVG (an upload, or a file of a bundle, named `shown`) whose DOCTYPE declares entities
/// or names a SYSTEM DTD, as VAST uploads are refused: the file would be served to players and
/// sellers whose XML parsers could expand or fetch them.
async fn refuse_unsafe_svg(path: std::path::PathBuf, shown: &str) -> ApiResult<()> {
    tokio::task::spawn_blocking(move || check_svg(&path))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading an SVG: {e}")))?
        .map_err(|why| ApiError::field("files", format!("{shown}: {why}")))
}

/// An HTML5 bundle: checked and extracted, each file typed and keyed under the bundle's own prefix
/// with its relative path kept, stylesheets' references made absolute. The asset is the bundle's
/// HTML creative; its entry point is rewritten later, once the click tracker is known.
async fn prepare_bundle(
    spool: SpooledFile,
    entry: &FileEntry,
    creative_id: &CreativeId,
    objects: &Objects,
) -> ApiResult<PreparedFile> {
    let dir = tempfile::Builder::new()
        .prefix("bundle-")
        .tempdir_in(
            spool
                .file
                .path()
                .parent()
                .unwrap_or(std::path::Path::new(".")),
        )
        .map_err(|e| ApiError::Internal(e.into()))?;
    let (zip, out) = (spool.file.path().to_owned(), dir.path().to_owned());
    let name = spool.filename.clone();
    // Extraction, typing and stylesheet rewriting: until the function returns.
    let _timer = crate::metrics::processing(crate::metrics::Processing::Bundle);
    let bundle = tokio::task::spawn_blocking(move || {
        bundle::extract(&zip, &out, &bundle::Limits::default())
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| match e {
        BundleError::Io(io) => ApiError::Internal(anyhow::anyhow!("extracting a bundle: {io}")),
        BundleError::StorageFull => ApiError::Internal(
            anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::StorageFull))
                .context("extracting a bundle"),
        ),
        other => ApiError::field("files", format!("{name}: {other}")),
    })?;
    crate::metrics::upload_file("bundle", spool.size);
    let prefix = format!("creatives/{creative_id}/bundles/{}", &spool.sha256[..16]);
    let mut files = Vec::with_capacity(bundle.files.len());
    let mut listed = Vec::with_capacity(bundle.files.len());
    // What stylesheets' references resolve to, and what the listing shows.
    let urls = bundle_urls(
        objects,
        &prefix,
        bundle.files.iter().map(|f| f.path.as_str()),
    );
    let mut css_unresolved = Vec::new();
    for f in &bundle.files {
        let key = format!("{prefix}/{}", f.path);
        if let Some(why) = crate::store::objects::key_problem(&key) {
            return Err(ApiError::field(
                "files",
                format!(
                    "{name}: entry '{}' cannot be stored under that name: {why}",
                    bundle::shown(&f.path)
                ),
            ));
        }
        let content_type = match classify(&f.head, &f.path, None, None) {
            Ok(c) => c.content_type,
            Err(_) => mime_guess::from_path(&f.path)
                .first_or_octet_stream()
                .essence_str()
                .to_owned(),
        };
        if content_type == "image/svg+xml" {
            refuse_unsafe_svg(f.local_path.clone(), &format!("{name}: {}", f.path)).await?;
        }
        if content_type == "text/css" {
            css_unresolved.extend(absolutize_css(f, &urls).await?);
        }
        let size = tokio::fs::metadata(&f.local_path)
            .await
            .map(|m| m.len())
            .unwrap_or(f.size);
        listed.push(json!({"path": f.path, "content_type": content_type, "size": size, "url": urls.get(&f.path)}));
        files.push((key, f.local_path.clone(), size));
    }
    let entry_local = bundle
        .files
        .iter()
        .find(|f| f.path == bundle.entry_point)
        .map(|f| f.local_path.clone());
    let asset_type = entry.asset_type.unwrap_or(AssetType::Html);
    let mut asset = upload_asset(
        &spool,
        entry,
        creative_id,
        asset_type,
        "application/zip".into(),
        "zip",
    );
    let size = match &entry_local {
        Some(page) => measure_html(page, &spool.filename).await?,
        None => None,
    };
    if let AssetContent::Upload(f) = &mut asset.content {
        (f.width, f.height) = size.unzip();
        f.processing = Processing {
            processed_key: None,
            extra_keys: files.iter().map(|(k, _, _)| k.clone()).collect(),
            details: Some(json!({"bundle": {
                "prefix": prefix,
                "entry_point": bundle.entry_point,
                "files": listed,
                "ignored": bundle.ignored,
                "stylesheet_unresolved_refs": css_unresolved,
            }})),
        };
    }
    Ok(PreparedFile {
        spool,
        asset,
        bundle_files: files,
        bundle_entry: entry_local,
        _bundle_dir: Some(dir),
    })
}

/// An HTML page's size from its `<meta name="ad.size">`. Measured here, with the other probes,
/// so every path that judges a manifest against formats (validate, create, update) sees the same
/// size before it computes which formats the manifest fits.
async fn measure_html(page: &std::path::Path, name: &str) -> ApiResult<Option<(u32, u32)>> {
    let html = tokio::fs::read(page)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || crate::manifest::html::ad_size(&html))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::field("files", format!("{name}: {e}")))
}

/// The public URL of each file of the bundle stored under `prefix`, by its path in the bundle.
pub(super) fn bundle_urls<'p>(
    objects: &Objects,
    prefix: &str,
    paths: impl Iterator<Item = &'p str>,
) -> UrlMap {
    paths
        .map(|path| {
            (
                path.to_owned(),
                objects.public_url(&format!("{prefix}/{path}")),
            )
        })
        .collect()
}

/// Rewrites a bundle stylesheet's `url()`/`@import` references to absolute CDN URLs, in place (the
/// served copy: the buyer's archive is stored as it came). Returns the references that name no file
/// of the bundle, as `stylesheet: reference`.
async fn absolutize_css(f: &bundle::ExtractedFile, urls: &UrlMap) -> ApiResult<Vec<String>> {
    let css = tokio::fs::read(&f.local_path)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let Ok(text) = String::from_utf8(css) else {
        return Ok(Vec::new());
    };
    let (out, report) = crate::manifest::html::css::rewrite_css(&text, &f.path, urls);
    if out != text {
        tokio::fs::write(&f.local_path, out)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(report
        .unresolved_refs()
        .iter()
        .map(|r| format!("{}: {r}", f.path))
        .collect())
}
