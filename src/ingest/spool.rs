//! Reads a multipart body part by part. Each file streams to a spool file on disk while it is hashed
//! and its head kept for sniffing, so memory does not grow with file size; limits are enforced as
//! the bytes arrive, not after.

use std::path::Path;

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::manifest::filename::display_name;
use crate::manifest::media::classify::SNIFF_LEN;

/// The `metadata` part, and any JSON body (`http::body`), holds at most this much.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
const WRITE_BUFFER: usize = 256 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_files: usize,
}

/// An uploaded file on local disk; the spool file is removed when this is dropped.
pub struct SpooledFile {
    pub filename: String,
    pub declared_mime: Option<String>,
    pub file: NamedTempFile,
    pub size: u64,
    pub sha256: String,
    pub head: Vec<u8>,
}

#[derive(Default)]
pub struct Upload {
    pub metadata: Option<String>,
    pub files: Vec<SpooledFile>,
}

fn multipart_error(e: MultipartError, body_limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge { limit: body_limit }
    } else if crate::error::is_body_timeout(&e) {
        ApiError::RequestTimeout("the body stalled")
    } else {
        ApiError::InvalidMultipart(e.body_text())
    }
}

/// Removes everything in the spool: called when the API process starts, before it accepts a request,
/// so nothing there belongs to a live request. Files and bundle folders a killed process left would
/// otherwise stay for good (the spool belongs to the one API process of its `DATA_DIR`). Returns how
/// many entries went.
pub fn clear(spool_dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(spool_dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        removed += 1;
    }
    Ok(removed)
}

/// The whole body may hold this much: every file at its limit plus room for metadata and framing.
pub fn body_limit(limits: &Limits) -> u64 {
    limits.max_file_bytes * limits.max_files as u64 + 4 * 1024 * 1024
}

pub async fn read(mut multipart: Multipart, limits: Limits, spool_dir: &Path) -> ApiResult<Upload> {
    let body_limit = body_limit(&limits);
    let mut upload = Upload::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, body_limit))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "metadata" => {
                if upload.metadata.is_some() {
                    return Err(ApiError::field(
                        "metadata",
                        "only one 'metadata' part is allowed",
                    ));
                }
                upload.metadata = Some(read_metadata(field, body_limit).await?);
            }
            "files" | "files[]" | "file" => {
                if upload.files.len() >= limits.max_files {
                    return Err(ApiError::TooManyFiles {
                        limit: limits.max_files,
                    });
                }
                let file = spool_file(field, limits.max_file_bytes, body_limit, spool_dir).await?;
                upload.files.push(file);
            }
            other => {
                return Err(ApiError::field(
                    other,
                    format!("unexpected part '{other}': expected 'metadata' and 'files'"),
                ))
            }
        }
    }
    Ok(upload)
}

async fn read_metadata(mut field: Field<'_>, body_limit: u64) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(e, body_limit))?
    {
        if buf.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(ApiError::field("metadata", "metadata is larger than 1 MiB"));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::field("metadata", "metadata is not UTF-8"))
}

async fn spool_file(
    mut field: Field<'_>,
    max_bytes: u64,
    body_limit: u64,
    spool_dir: &Path,
) -> ApiResult<SpooledFile> {
    let raw_name = field
        .file_name()
        .ok_or_else(|| ApiError::field("files", "a file part has no filename"))?;
    let filename = display_name(raw_name);
    if filename.is_empty() {
        return Err(ApiError::field(
            "files",
            "a file part has an empty filename",
        ));
    }
    let declared_mime = field.content_type().map(str::to_owned);
    let temp = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(spool_dir)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let handle = temp
        .as_file()
        .try_clone()
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut out =
        tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(handle));
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size: u64 = 0;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(e, body_limit))?
    {
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(ApiError::FileTooLarge {
                filename,
                limit: max_bytes,
            });
        }
        if head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    out.flush()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if size == 0 {
        return Err(ApiError::field(
            "files",
            format!("file '{filename}' is empty"),
        ));
    }
    Ok(SpooledFile {
        filename,
        declared_mime,
        file: temp,
        size,
        sha256: hex::encode(hasher.finalize()),
        head,
    })
}
