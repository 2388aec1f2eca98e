//! Pairs spooled files with their metadata entries, classifies and probes them, and names their
//! storage keys (content-hash based, never the user's filename).

use crate::error::{ApiError, ApiResult};
use crate::ids::{AssetId, CreativeId};
use crate::manifest::classify::{classify, ClassifyError};
use crate::manifest::filename::display_name;
use crate::manifest::metadata::FileEntry;
use crate::manifest::model::{Asset, AssetContent, StoredFile};
use crate::manifest::probe::probe;
use crate::store::db::now;

use super::spool::SpooledFile;

/// A file ready to be stored: its spool file and the asset it becomes.
pub struct PreparedFile {
    pub spool: SpooledFile,
    pub asset: Asset,
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
        out.push(prepare_one(spool, &entries[index], creative_id).await?);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(ApiError::field(
            format!("{entries_field}[{i}].filename"),
            format!("no file was uploaded for '{}'", entries[i].filename),
        ));
    }
    Ok(out)
}

async fn prepare_one(
    spool: SpooledFile,
    entry: &FileEntry,
    creative_id: &CreativeId,
) -> ApiResult<PreparedFile> {
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
    let props = tokio::task::spawn_blocking(move || probe(&path, &content_type))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;

    let mut warnings = found.warnings;
    warnings.extend(props.warnings);
    let object_key = format!(
        "creatives/{}/{}.{}",
        creative_id, spool.sha256, found.extension
    );
    let asset = Asset {
        asset_id: AssetId::new(),
        name: entry
            .label
            .clone()
            .unwrap_or_else(|| spool.filename.clone()),
        asset_type: found.asset_type,
        content: AssetContent::Upload(StoredFile {
            object_key,
            original_filename: spool.filename.clone(),
            content_type: found.content_type,
            file_size: spool.size,
            sha256: spool.sha256.clone(),
            width: props.width,
            height: props.height,
            duration_ms: props.duration_ms,
        }),
        label: entry.label.clone(),
        slot_asset_id: entry.slot_asset_id.clone(),
        warnings,
        created_at: now(),
    };
    Ok(PreparedFile { spool, asset })
}
