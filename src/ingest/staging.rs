//! Writing objects before the manifest commits, and undoing that when it does not.
//!
//! Keys are recorded in `pending_objects` before the first byte is written and cleared in the
//! transaction that commits the manifest, so even a crash between the two leaves a record the
//! janitor acts on.

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::store::creatives;

use super::prepare::PreparedFile;

/// Writes each distinct object; returns the keys written. On failure nothing stays behind.
pub async fn stage(state: &AppState, files: &[PreparedFile]) -> ApiResult<Vec<String>> {
    let mut keys: Vec<String> = files.iter().map(|f| f.object_key().to_owned()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(keys);
    }
    creatives::add_pending(&state.db, &keys).await?;
    let mut written = std::collections::HashSet::new();
    for f in files {
        let key = f.object_key();
        if !written.insert(key.to_owned()) {
            continue;
        }
        if let Err(e) = state
            .objects
            .put_file(key, f.spool.file.path(), f.spool.size)
            .await
        {
            discard(state, &keys).await;
            return Err(ApiError::Internal(
                e.context("writing an uploaded file to the object store"),
            ));
        }
    }
    Ok(keys)
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
