//! What each seller confirmed about each manifest (`creative_syncs`): the source of `sync_status`.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::db::{from_json, now, to_json, Db};
use crate::ids::{CampaignId, CreativeId, SalesAgentId};
use crate::manifest::model::SellerSync;
use crate::propagation::review;

/// A seller's answer about one creative.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub creative_id: String,
    /// The seller holds the creative after this call.
    pub confirmed: bool,
    pub action: Option<String>,
    pub status: Option<String>,
    pub errors: Vec<Value>,
    /// The reviewer's note on a rejection.
    pub reason: Option<String>,
    pub platform_id: Option<String>,
    /// Digest of the creative as sent (`propagation::digest`), kept once the seller confirms it.
    pub digest: Option<String>,
}

impl Outcome {
    /// Held (inline on a package) with nothing said about review.
    pub fn inline(creative_id: String) -> Outcome {
        Outcome {
            creative_id,
            confirmed: true,
            action: None,
            status: None,
            errors: Vec::new(),
            reason: None,
            platform_id: None,
            digest: None,
        }
    }
}

/// Records `outcomes` from `agent`. A failed re-send does not undo an earlier confirmation: the
/// seller still holds the version it confirmed before, so `confirmed` and `synced_at` are kept.
pub async fn record(
    db: &Db,
    campaign: &CampaignId,
    agent: &SalesAgentId,
    transport: &str,
    outcomes: &[Outcome],
) -> sqlx::Result<()> {
    let t = now();
    // Read before the write transaction: on SQLite a transaction that reads and then writes can
    // fail with a stale snapshot under concurrent writers. A lane's jobs run one at a time, so no
    // other sync of this seller changes these rows in between.
    let mut before = std::collections::HashMap::new();
    for o in outcomes {
        let previous: Option<String> = sqlx::query(
            "SELECT seller_status FROM creative_syncs WHERE creative_id = $1 AND sales_agent_id = $2",
        )
        .bind(&o.creative_id)
        .bind(agent.as_str().to_owned())
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("seller_status"))
        .transpose()?
        .flatten();
        before.insert(o.creative_id.clone(), previous);
    }
    let mut tx = db.begin_write().await?;
    for o in outcomes {
        let previous = before.get(&o.creative_id).cloned().flatten();
        let status = review::after_sync(
            previous.as_deref(),
            o.action.as_deref(),
            o.status.as_deref(),
        );
        let changed = status.is_some() && status != previous;
        // The sync's word on review: the seller's own status, or a status derived from the answer.
        let source = (o.status.is_some() || changed).then_some(review::Source::Sync.as_str());
        let reason = if status.as_deref() == Some("rejected") {
            o.reason.clone()
        } else {
            None
        };
        // The creative may have been deleted meanwhile: record only what still exists.
        sqlx::query(
            "INSERT INTO creative_syncs (creative_id, sales_agent_id, campaign_id, transport, confirmed, action, \
               seller_status, errors, synced_at, updated_at, rejection_reason, platform_id, status_changed_at, \
               status_source, sent_digest) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 \
             WHERE EXISTS (SELECT 1 FROM creatives WHERE id = $1) \
             ON CONFLICT (creative_id, sales_agent_id) DO UPDATE SET transport = excluded.transport, \
               confirmed = CASE WHEN excluded.confirmed = 1 THEN 1 ELSE creative_syncs.confirmed END, \
               action = excluded.action, seller_status = excluded.seller_status, errors = excluded.errors, \
               synced_at = COALESCE(excluded.synced_at, creative_syncs.synced_at), updated_at = excluded.updated_at, \
               rejection_reason = excluded.rejection_reason, \
               platform_id = COALESCE(excluded.platform_id, creative_syncs.platform_id), \
               status_changed_at = COALESCE(excluded.status_changed_at, creative_syncs.status_changed_at), \
               status_source = COALESCE(excluded.status_source, creative_syncs.status_source), \
               sent_digest = CASE WHEN excluded.confirmed = 1 \
                 THEN COALESCE(excluded.sent_digest, creative_syncs.sent_digest) ELSE creative_syncs.sent_digest END",
        )
        .bind(&o.creative_id)
        .bind(agent.as_str().to_owned())
        .bind(campaign.as_str().to_owned())
        .bind(transport)
        .bind(i64::from(o.confirmed))
        .bind(o.action.clone())
        .bind(status.clone())
        .bind(to_json(&o.errors))
        .bind(o.confirmed.then(|| t.clone()))
        .bind(&t)
        .bind(reason)
        .bind(o.platform_id.clone())
        .bind(changed.then(|| t.clone()))
        .bind(source)
        .bind(o.confirmed.then(|| o.digest.clone()).flatten())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

fn from_row(r: &AnyRow) -> anyhow::Result<SellerSync> {
    Ok(SellerSync {
        sales_agent_id: r.try_get("sales_agent_id")?,
        transport: r.try_get("transport")?,
        confirmed: r.try_get::<i64, _>("confirmed")? != 0,
        action: r.try_get("action")?,
        status: r.try_get("seller_status")?,
        errors: from_json(&r.try_get::<String, _>("errors")?)?,
        synced_at: r.try_get("synced_at")?,
        updated_at: r.try_get("updated_at")?,
        rejection_reason: r.try_get("rejection_reason")?,
        platform_id: r.try_get("platform_id")?,
        status_changed_at: r.try_get("status_changed_at")?,
        source: r.try_get("status_source")?,
    })
}

/// Every seller's record of one creative, oldest first.
pub async fn for_creative(db: &Db, creative: &CreativeId) -> anyhow::Result<Vec<SellerSync>> {
    sqlx::query(
        "SELECT sales_agent_id, transport, confirmed, action, seller_status, errors, synced_at, updated_at, \
           rejection_reason, platform_id, status_changed_at, status_source \
         FROM creative_syncs WHERE creative_id = $1 ORDER BY updated_at, sales_agent_id",
    )
    .bind(creative.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The creatives of a campaign a seller confirmed holding, each with how it holds them (`library`,
/// or `inline` on a package): a library buy can assign only the first.
pub async fn held(
    db: &Db,
    campaign: &CampaignId,
    agent: &SalesAgentId,
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    sqlx::query(
        "SELECT creative_id, transport FROM creative_syncs WHERE campaign_id = $1 AND sales_agent_id = $2 \
         AND confirmed = 1",
    )
    .bind(campaign.as_str().to_owned())
    .bind(agent.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("creative_id")?, r.try_get("transport")?)))
    .collect()
}

/// The digest of each creative of a campaign as the seller confirmed it (`sent_digest`), where
/// one was kept.
pub async fn held_digests(
    db: &Db,
    campaign: &CampaignId,
    agent: &SalesAgentId,
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    sqlx::query(
        "SELECT creative_id, sent_digest FROM creative_syncs WHERE campaign_id = $1 AND sales_agent_id = $2 \
         AND confirmed = 1 AND sent_digest IS NOT NULL",
    )
    .bind(campaign.as_str().to_owned())
    .bind(agent.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("creative_id")?, r.try_get("sent_digest")?)))
    .collect()
}

/// Forgets a deleted creative's records.
pub async fn remove(tx: &mut Transaction<'_, Any>, creative: &CreativeId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM creative_syncs WHERE creative_id = $1")
        .bind(creative.as_str().to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
