//! Writing objects before the manifest commits, and undoing that when it does not.
//!
//! Keys are recorded in `pending_objects` before the first byte is written and cleared in the
//! transaction that commits the manifest, so even a crash between the two leaves a record the
//! janitor acts on.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::creatives;

use super::prepare::PreparedFile;
use super::process::{Output, Source};

/// Writes each distinct object (uploads, bundle files, processed copies); returns the keys written.
/// On failure nothing stays behind.
pub async fn stage(
    state: &AppState,
    files: &[PreparedFile],
    outputs: &[Output],
) -> ApiResult<Vec<String>> {
    let mut writes: Vec<(&str, Write)> = Vec::new();
    for f in files {
        writes.push((
            f.object_key(),
            Write::Spooled(f.spool.file.path(), f.spool.size),
        ));
        for (key, path, size) in &f.bundle_files {
            writes.push((key, Write::Spooled(path, *size)));
        }
    }
    for o in outputs {
        let w = match &o.source {
            Source::Bytes(b) => Write::Bytes(b),
            Source::File(p, n) => Write::File(p, *n),
        };
        writes.push((&o.key, w));
    }
    let mut keys: Vec<String> = writes.iter().map(|(k, _)| k.to_string()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(keys);
    }
    creatives::add_pending(&state.db, &keys).await?;
    let mut written = std::collections::HashSet::new();
    for (key, w) in writes {
        if !written.insert(key) {
            continue;
        }
        let done = match w {
            Write::File(path, size) => state.objects.put_file(key, path, size).await,
            Write::Spooled(path, size) => state.objects.put_spooled(key, path, size).await,
            Write::Bytes(b) => state.objects.put_bytes(key, b.to_vec()).await,
        };
        if let Err(e) = done {
            discard(state, &keys).await;
            return Err(ApiError::Internal(e.context("writing to the object store")));
        }
    }
    Ok(keys)
}

enum Write<'a> {
    File(&'a std::path::Path, u64),
    /// A file of this request's spool (an upload, a bundle's extracted file): this request owns it
    /// and writes it no more, so the local store may take the file itself instead of a copy.
    Spooled(&'a std::path::Path, u64),
    Bytes(&'a [u8]),
}

/// Removes staged objects of a request that failed (those no committed asset uses).
pub async fn discard(state: &AppState, keys: &[String]) {
    // Clear first: remove_unused re-records any key it fails to delete.
    if let Err(e) = creatives::clear_pending_now(&state.db, keys).await {
        tracing::warn!(error = %e, "could not clear pending object records; the janitor will");
    }
    remove_unused(state, keys).await;
}

/// Deletes objects that no committed asset uses. What cannot be deleted now is left to the janitor.
pub async fn remove_unused(state: &AppState, keys: &[String]) {
    for key in keys {
        let outcome: anyhow::Result<()> = async {
            if !creatives::object_in_use(&state.db, key).await? {
                state.objects.delete(key).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            tracing::warn!(error = %e, key, "object not removed now; leaving it to the janitor");
            let _ = creatives::add_pending(&state.db, std::slice::from_ref(key)).await;
        }
    }
}
