//! Liveness and readiness.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::views::Status;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(Status { status: "ok" }) }))
        .route("/readyz", get(ready))
}

/// Outside `creatives/`, so it never meets a creative's key.
const PROBE_KEY: &str = "readyz-probe";

/// Ready when the database answers and both the spool and the object store take a write.
async fn ready(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    state
        .db
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    // Written, not only read: a full disk or a read-only store takes no upload, so the instance
    // should take no traffic.
    let spool = state.config.spool_dir();
    tokio::task::spawn_blocking(move || probe_write(&spool))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Unavailable(format!("spool cannot be written: {e}")))?;
    state
        .objects
        .put_bytes(PROBE_KEY, b"ok".to_vec())
        .await
        .map_err(|e| ApiError::Unavailable(format!("object store cannot be written: {e}")))?;
    state
        .objects
        .delete(PROBE_KEY)
        .await
        .map_err(|e| ApiError::Unavailable(format!("object store: {e}")))?;
    Ok(Json(Status { status: "ready" }))
}

/// Creates, writes and syncs a small file in `dir`, removed again when dropped.
fn probe_write(dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut probe = tempfile::Builder::new()
        .prefix("readyz-")
        .tempfile_in(dir)?;
    probe.write_all(&[0u8; 4096])?;
    probe.as_file().sync_data()
}
