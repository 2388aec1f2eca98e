//! Removes objects left behind by requests that never committed (a crash mid-upload, a failed
//! delete). An object is only removed when no committed asset uses it.

use std::time::Duration;

use super::{creatives, Db, Objects};

/// How old a pending record must be before the janitor treats its request as dead.
pub const GRACE: Duration = Duration::from_secs(60 * 60);

/// One sweep: returns how many objects were removed.
pub async fn sweep(db: &Db, objects: &Objects, grace: Duration) -> anyhow::Result<usize> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace)?;
    let before = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let keys = creatives::stale_pending(db, &before).await?;
    let mut removed = 0;
    for key in &keys {
        if !creatives::object_in_use(db, key).await? {
            objects.delete(key).await?;
            removed += 1;
        }
    }
    creatives::clear_pending_now(db, &keys).await?;
    Ok(removed)
}

/// Sweeps at start-up and then every ten minutes, for the life of the process.
pub fn spawn(db: Db, objects: Objects) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            match sweep(&db, &objects, GRACE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "janitor removed orphaned objects"),
                Err(e) => tracing::warn!(error = %e, "janitor sweep failed"),
            }
            // Storefront idempotency keys are kept for their declared replay window, no longer.
            let now = super::db::now();
            match crate::storefront::library_store::forget_expired(&db, &now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(forgotten = n, "janitor forgot expired idempotency keys"),
                Err(e) => tracing::warn!(error = %e, "idempotency sweep failed"),
            }
        }
    })
}
