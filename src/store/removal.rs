//! Removing a campaign or a sales agent, and what that means for what hangs off them: media buys
//! (made at the seller, which AdCP gives us no way to cancel), propagation jobs, manifests and their
//! stored objects, seller confirmations and tracking events. The rule: refuse while anything is
//! live at a seller or still on its way there; otherwise remove everything in one transaction, so
//! no row outlives its parent, and hand back the object keys to delete once it has committed.

use sqlx::{Any, Row, Transaction};

use super::{creatives, Db};
use crate::ids::{CampaignId, CustomerId, SalesAgentId};

type Tx<'a> = Transaction<'a, Any>;

/// What still ties a campaign or sales agent to the world outside the service.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ties {
    /// Media buys made at a seller.
    pub media_buys: i64,
    /// Propagation jobs not finished (pending or running; a job waiting on a seller's task is pending).
    pub unfinished_jobs: i64,
    /// Campaigns whose products name the sales agent (campaign ids).
    pub campaigns: Vec<String>,
}

/// Whether a removal may go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Allowed,
    /// Refused, with the reason the buyer reads (409).
    Refused(String),
}

/// The decision, from what ties the thing to be removed (`what`: "campaign" or "sales agent").
pub fn decide(what: &str, ties: &Ties) -> Removal {
    if ties.media_buys > 0 {
        return Removal::Refused(format!(
            "this {what} has {} media buy(s) at sellers; a buy cannot be withdrawn through AdCP, so the {what} stays as their record",
            ties.media_buys
        ));
    }
    if ties.unfinished_jobs > 0 {
        return Removal::Refused(format!(
            "this {what} has {} propagation job(s) still pending or running; try again once they finish",
            ties.unfinished_jobs
        ));
    }
    if !ties.campaigns.is_empty() {
        return Removal::Refused(format!(
            "campaign(s) {} name this {what} in their products; remove those products (PATCH) or the campaigns first",
            ties.campaigns.join(", ")
        ));
    }
    Removal::Allowed
}

async fn count(tx: &mut Tx<'_>, sql: &str, id: &str) -> sqlx::Result<i64> {
    sqlx::query(sql)
        .bind(id.to_owned())
        .fetch_one(&mut **tx)
        .await?
        .try_get::<i64, _>(0)
}

async fn exec(tx: &mut Tx<'_>, sql: &str, id: &str) -> sqlx::Result<()> {
    sqlx::query(sql)
        .bind(id.to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const UNFINISHED: &str = "status IN ('pending', 'running')";

/// Removes campaign `id` of `customer` with its manifests (and their assets, seller confirmations,
/// tracking events) and finished jobs, unless [`decide`] refuses. The manifests' object keys are
/// recorded as pending in the same transaction, so a crash before they are deleted leaves them to
/// the janitor; the caller deletes them after commit. `Ok(None)`: no such campaign.
pub async fn remove_campaign(
    db: &Db,
    customer: &CustomerId,
    id: &CampaignId,
) -> anyhow::Result<Option<Result<RemovedCampaign, String>>> {
    let Some(_) = super::campaigns::get(db, customer, id).await? else {
        return Ok(None);
    };
    // Read before the transaction (the store's manifest reader takes the pool). A manifest created
    // in between is deleted with the campaign; its objects are left to the janitor's sweep of
    // unreferenced keys only if they were recorded pending, so creating under a campaign being
    // deleted is the one race that can leave an object behind.
    let manifests = creatives::for_campaign(db, customer, id).await?;
    // Creative sessions' drafts and sources go with the campaign (same race as above).
    let sessions = crate::sessions::store::for_campaign(db, id.as_str()).await?;
    let mut tx = db.begin_write().await?;
    let cid = id.as_str();
    let ties = Ties {
        media_buys: count(
            &mut tx,
            "SELECT COUNT(*) FROM media_buys WHERE campaign_id = $1",
            cid,
        )
        .await?,
        unfinished_jobs: count(
            &mut tx,
            &format!("SELECT COUNT(*) FROM jobs WHERE campaign_id = $1 AND {UNFINISHED}"),
            cid,
        )
        .await?,
        campaigns: Vec::new(),
    };
    if let Removal::Refused(why) = decide("campaign", &ties) {
        return Ok(Some(Err(why)));
    }
    let mut keys: Vec<String> = manifests.iter().flat_map(|m| m.object_keys()).collect();
    keys.extend(sessions.iter().flat_map(|s| s.object_keys()));
    keys.sort();
    keys.dedup();
    let at = super::db::now();
    for key in &keys {
        sqlx::query(
            "INSERT INTO pending_objects (object_key, created_at) VALUES ($1, $2) \
             ON CONFLICT (object_key) DO UPDATE SET created_at = excluded.created_at",
        )
        .bind(key)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    }
    for sql in [
        "DELETE FROM creative_assets WHERE creative_id IN (SELECT id FROM creatives WHERE campaign_id = $1)",
        "DELETE FROM creative_syncs WHERE campaign_id = $1",
        "DELETE FROM webhook_events WHERE job_id IN (SELECT job_id FROM webhook_registrations WHERE campaign_id = $1)",
        "DELETE FROM webhook_registrations WHERE campaign_id = $1",
        "DELETE FROM tracking_events WHERE campaign_id = $1",
        "DELETE FROM tracking_daily WHERE campaign_id = $1",
        "DELETE FROM tracking_running WHERE campaign_id = $1",
        "DELETE FROM tracking_series WHERE campaign_id = $1",
        "DELETE FROM tracking_creative_running WHERE campaign_id = $1",
        "DELETE FROM tracking_creative_series WHERE campaign_id = $1",
        "DELETE FROM tracking_days WHERE campaign_id = $1",
        "DELETE FROM seller_delivery WHERE campaign_id = $1",
        "DELETE FROM seller_delivery_running WHERE campaign_id = $1",
        "DELETE FROM seller_delivery_series WHERE campaign_id = $1",
        "DELETE FROM seller_creative_running WHERE campaign_id = $1",
        "DELETE FROM seller_creative_series WHERE campaign_id = $1",
        "DELETE FROM seller_delivery_days WHERE campaign_id = $1",
        "DELETE FROM seller_delivery_fetches WHERE campaign_id = $1",
        "DELETE FROM creatives WHERE campaign_id = $1",
        "DELETE FROM creative_lineage WHERE campaign_id = $1",
        "DELETE FROM creative_sessions WHERE campaign_id = $1",
        "DELETE FROM jobs WHERE campaign_id = $1",
    ] {
        exec(&mut tx, sql, cid).await?;
    }
    let done = sqlx::query("DELETE FROM campaigns WHERE id = $1 AND customer_id = $2")
        .bind(cid.to_owned())
        .bind(customer.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(None); // removed meanwhile by another request
    }
    tx.commit().await?;
    let creative_ids = manifests
        .iter()
        .map(|m| m.creative_id.as_str().to_owned())
        .collect();
    Ok(Some(Ok(RemovedCampaign {
        object_keys: keys,
        creative_ids,
    })))
}

/// What a campaign's removal leaves for the caller to finish after commit.
pub struct RemovedCampaign {
    /// Stored objects to delete (each recorded pending, so the janitor finishes what fails).
    pub object_keys: Vec<String>,
    /// The manifests' ids, which the trackers must stop recording for.
    pub creative_ids: Vec<String>,
}

/// Removes sales agent `id` of `customer` with its formats, confirmations and finished jobs, unless
/// [`decide`] refuses. `Ok(None)`: no such sales agent.
pub async fn remove_sales_agent(
    db: &Db,
    customer: &CustomerId,
    id: &SalesAgentId,
) -> anyhow::Result<Option<Result<(), String>>> {
    let Some(_) = super::sales_agents::get(db, customer, id).await? else {
        return Ok(None);
    };
    let (campaigns, _) = super::campaigns::list(db, customer, i64::MAX, 0).await?;
    let mut tx = db.begin_write().await?;
    let sid = id.as_str();
    let ties = Ties {
        media_buys: count(
            &mut tx,
            "SELECT COUNT(*) FROM media_buys WHERE sales_agent_id = $1",
            sid,
        )
        .await?,
        unfinished_jobs: count(
            &mut tx,
            &format!("SELECT COUNT(*) FROM jobs WHERE sales_agent_id = $1 AND {UNFINISHED}"),
            sid,
        )
        .await?,
        campaigns: campaigns
            .iter()
            .filter(|c| c.products.iter().any(|p| p.sales_agent_id == *id))
            .map(|c| c.campaign_id.to_string())
            .collect(),
    };
    if let Removal::Refused(why) = decide("sales agent", &ties) {
        return Ok(Some(Err(why)));
    }
    for sql in [
        "DELETE FROM agent_formats WHERE sales_agent_id = $1",
        "DELETE FROM creative_syncs WHERE sales_agent_id = $1",
        "DELETE FROM webhook_events WHERE job_id IN (SELECT job_id FROM webhook_registrations WHERE sales_agent_id = $1)",
        "DELETE FROM webhook_registrations WHERE sales_agent_id = $1",
        "DELETE FROM seller_reconcile WHERE sales_agent_id = $1",
        "DELETE FROM jobs WHERE sales_agent_id = $1",
    ] {
        exec(&mut tx, sql, sid).await?;
    }
    let done = sqlx::query("DELETE FROM sales_agents WHERE id = $1 AND customer_id = $2")
        .bind(sid.to_owned())
        .bind(customer.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removal_is_refused_while_anything_is_live_and_allowed_otherwise() {
        assert_eq!(decide("campaign", &Ties::default()), Removal::Allowed);
        let buys = Ties {
            media_buys: 1,
            ..Default::default()
        };
        assert!(
            matches!(decide("campaign", &buys), Removal::Refused(m) if m.contains("1 media buy"))
        );
        let jobs = Ties {
            unfinished_jobs: 2,
            ..Default::default()
        };
        assert!(
            matches!(decide("sales agent", &jobs), Removal::Refused(m) if m.contains("2 propagation job"))
        );
        let named = Ties {
            campaigns: vec!["cmp_1".into()],
            ..Default::default()
        };
        assert!(
            matches!(decide("sales agent", &named), Removal::Refused(m) if m.contains("cmp_1"))
        );
    }
}
