//! Removes objects left behind by requests that never committed (a crash mid-upload, a failed
//! delete). An object is only removed when no committed asset uses it.

use std::time::Duration;

use super::{creatives, Db, Objects};

/// How old a pending record must be before the janitor treats its request as dead.
pub const GRACE: Duration = Duration::from_secs(60 * 60);

/// What became of one pending record.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Removed,
    InUse,
    /// Nothing can be stored under the key (it came from before keys were checked): its record
    /// goes, whatever the store says about it.
    Unstorable,
    /// The store or the database failed for this key: tried again on a later sweep.
    Failed,
}

/// One sweep: returns how many objects were removed. A key that fails is logged and retried on a
/// later sweep, never stops the others.
pub async fn sweep(db: &Db, objects: &Objects, grace: Duration) -> anyhow::Result<usize> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace)?;
    let before = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let keys = creatives::stale_pending(db, &before).await?;
    let mut done = Vec::with_capacity(keys.len());
    let mut retry = Vec::new();
    let mut removed = 0;
    for key in keys {
        match sweep_one(db, objects, &key).await {
            Outcome::Removed => {
                removed += 1;
                done.push(key);
            }
            Outcome::InUse | Outcome::Unstorable => done.push(key),
            Outcome::Failed => retry.push(key),
        }
    }
    creatives::clear_pending_now(db, &done).await?;
    // Re-recorded as of now: a key that keeps failing goes to the back and cannot crowd out the
    // others from a sweep's batch.
    creatives::add_pending(db, &retry).await?;
    removed += objects.remove_partial_writes(grace).await?;
    Ok(removed)
}

async fn sweep_one(db: &Db, objects: &Objects, key: &str) -> Outcome {
    let unstorable = super::objects::key_problem(key).is_some();
    let outcome: anyhow::Result<Outcome> = async {
        if creatives::object_in_use(db, key).await? {
            return Ok(Outcome::InUse);
        }
        objects.delete(key).await?;
        Ok(Outcome::Removed)
    }
    .await;
    match outcome {
        Ok(o) => o,
        Err(_) if unstorable => Outcome::Unstorable,
        Err(e) => {
            tracing::warn!(error = %e, key, "janitor could not remove an object; retrying later");
            Outcome::Failed
        }
    }
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
