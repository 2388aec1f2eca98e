//! The creative ids a tracker hit may be recorded for, held in memory so the pixel can tell a real
//! creative from a made-up id without a query: anyone can request `/t/imp` with any well-formed id.
//! Kept current by this process's own creates and deletes, and reloaded from the database on a timer
//! for what other processes did (a creative another process made is recorded from its next reload).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::Row;

use crate::store::Db;

#[derive(Clone, Default)]
pub struct KnownCreatives {
    ids: Arc<RwLock<HashSet<String>>>,
}

impl KnownCreatives {
    pub async fn load(db: &Db) -> anyhow::Result<KnownCreatives> {
        let known = KnownCreatives::default();
        known.reload(db).await?;
        Ok(known)
    }

    pub fn contains(&self, id: &str) -> bool {
        // A poisoned lock only means a writer panicked mid-insert: the set is still a set.
        self.ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    pub fn insert(&self, id: &str) {
        self.write().insert(id.to_owned());
    }

    pub fn remove(&self, id: &str) {
        self.write().remove(id);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashSet<String>> {
        self.ids.write().unwrap_or_else(|p| p.into_inner())
    }

    async fn reload(&self, db: &Db) -> anyhow::Result<()> {
        let ids: HashSet<String> = sqlx::query("SELECT id FROM creatives")
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        *self.write() = ids;
        Ok(())
    }

    /// Reloads every `every`, for the life of the process.
    pub fn spawn_refresher(&self, db: Db, every: Duration) -> tokio::task::JoinHandle<()> {
        let known = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await; // loaded at start-up already
            loop {
                tick.tick().await;
                if let Err(e) = known.reload(&db).await {
                    tracing::warn!(error = %e, "could not reload the known creative ids");
                }
            }
        })
    }
}
