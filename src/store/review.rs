//! Sellers' review decisions at rest: webhook registrations (the sealed HMAC secret of each), the
//! webhook events already applied, status updates on `creative_syncs`, and the per-seller schedule of
//! the reconciliation.

use sqlx::{Any, Row, Transaction};

use super::db::{now, Db};
use crate::propagation::review::{ReviewCounts, StatusUpdate};

/// A registration: which campaign and seller a job's webhooks speak for.
#[derive(Debug, Clone)]
pub struct Registration {
    pub job_id: String,
    pub customer_id: String,
    pub campaign_id: String,
    pub sales_agent_id: String,
    /// The HMAC-SHA256 secret, opened.
    pub secret: String,
}

/// The secret of job `job_id`'s registration, made (and stored sealed) on first use. Two runs of
/// one job racing both read back the one stored.
pub async fn registration_secret(
    db: &Db,
    job_id: &str,
    customer: &str,
    campaign: &str,
    agent: &str,
) -> anyhow::Result<String> {
    if let Some(r) = registration(db, job_id).await? {
        return Ok(r.secret);
    }
    let fresh = crate::adcp::webhook_hmac::generate_secret();
    sqlx::query(
        "INSERT INTO webhook_registrations (job_id, customer_id, campaign_id, sales_agent_id, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING",
    )
    .bind(job_id)
    .bind(customer)
    .bind(campaign)
    .bind(agent)
    .bind(db.seal(&fresh)?)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(registration(db, job_id)
        .await?
        .map(|r| r.secret)
        .unwrap_or(fresh))
}

pub async fn registration(db: &Db, job_id: &str) -> anyhow::Result<Option<Registration>> {
    let Some(r) = sqlx::query(
        "SELECT job_id, customer_id, campaign_id, sales_agent_id, secret FROM webhook_registrations \
         WHERE job_id = $1",
    )
    .bind(job_id)
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Registration {
        job_id: r.try_get("job_id")?,
        customer_id: r.try_get("customer_id")?,
        campaign_id: r.try_get("campaign_id")?,
        sales_agent_id: r.try_get("sales_agent_id")?,
        secret: db.open(&r.try_get::<String, _>("secret")?)?,
    }))
}

/// Records event `key` for `job_id`; false when it was recorded before (a replay).
pub async fn first_time(
    tx: &mut Transaction<'_, Any>,
    job_id: &str,
    key: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO webhook_events (job_id, idempotency_key, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (job_id, idempotency_key) DO NOTHING",
    )
    .bind(job_id)
    .bind(key)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Applies `u` to the seller's entry for the creative in `campaign` (only entries that exist: a
/// seller cannot add creatives by talking about them). True when an entry was updated.
pub async fn apply<'e, E>(
    ex: E,
    campaign: &str,
    agent: &str,
    u: &StatusUpdate,
) -> sqlx::Result<bool>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let t = now();
    let done = sqlx::query(
        "UPDATE creative_syncs SET \
           status_changed_at = CASE WHEN COALESCE(seller_status, '') <> $4 THEN COALESCE($8, $9) \
             ELSE status_changed_at END, \
           seller_status = $4, \
           rejection_reason = CASE WHEN $4 IN ('rejected', 'suspended') THEN COALESCE($5, \
             CASE WHEN seller_status = $4 THEN rejection_reason END) END, \
           platform_id = COALESCE($6, platform_id), status_source = $7, updated_at = $9 \
         WHERE creative_id = $1 AND sales_agent_id = $2 AND campaign_id = $3",
    )
    .bind(&u.creative_id)
    .bind(agent)
    .bind(campaign)
    .bind(&u.status)
    .bind(u.reason.clone())
    .bind(u.platform_id.clone())
    .bind(u.source.as_str())
    .bind(u.changed_at.clone())
    .bind(t)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The review counts of every creative of a campaign, by creative.
pub async fn counts_for_campaign(
    db: &Db,
    campaign: &str,
) -> sqlx::Result<std::collections::HashMap<String, ReviewCounts>> {
    let mut out: std::collections::HashMap<String, ReviewCounts> = Default::default();
    for r in sqlx::query(
        "SELECT creative_id, seller_status FROM creative_syncs WHERE campaign_id = $1 AND seller_status IS NOT NULL",
    )
    .bind(campaign)
    .fetch_all(&db.pool)
    .await?
    {
        let id: String = r.try_get("creative_id")?;
        let status: String = r.try_get("seller_status")?;
        add(out.entry(id).or_default(), &status);
    }
    Ok(out)
}

/// Counts `status` in `c`: `approved`, `rejected`, and the undecided as `pending`.
pub fn add(c: &mut ReviewCounts, status: &str) {
    match status {
        "approved" => c.approved += 1,
        "rejected" => c.rejected += 1,
        "processing" | "pending_review" => c.pending += 1,
        _ => {}
    }
}

/// Per seller of a campaign: `{sales_agent_id, approved, pending, rejected, total}`.
pub async fn seller_totals(db: &Db, campaign: &str) -> sqlx::Result<Vec<serde_json::Value>> {
    let mut by: std::collections::BTreeMap<String, (ReviewCounts, u32)> = Default::default();
    for r in sqlx::query(
        "SELECT sales_agent_id, seller_status FROM creative_syncs WHERE campaign_id = $1",
    )
    .bind(campaign)
    .fetch_all(&db.pool)
    .await?
    {
        let e = by.entry(r.try_get("sales_agent_id")?).or_default();
        e.1 += 1;
        if let Some(s) = r.try_get::<Option<String>, _>("seller_status")? {
            add(&mut e.0, &s);
        }
    }
    Ok(by
        .into_iter()
        .map(|(id, (c, total))| {
            serde_json::json!({"sales_agent_id": id, "creatives": total,
                "approved": c.approved, "pending": c.pending, "rejected": c.rejected})
        })
        .collect())
}

/// Campaign and seller lanes holding creatives the seller has not decided yet, whose seller is due
/// for a scheduled reconciliation at `at`: `(customer, campaign, seller, creative ids)`.
pub async fn undecided_due(
    db: &Db,
    at: &str,
) -> anyhow::Result<Vec<(String, String, String, Vec<String>)>> {
    let rows = sqlx::query(
        "SELECT c.customer_id, s.campaign_id, s.sales_agent_id, s.creative_id FROM creative_syncs s \
         JOIN campaigns c ON c.id = s.campaign_id \
         LEFT JOIN seller_reconcile r ON r.sales_agent_id = s.sales_agent_id \
         WHERE s.seller_status IN ('processing', 'pending_review') AND (r.next_at IS NULL OR r.next_at <= $1) \
         ORDER BY s.campaign_id, s.sales_agent_id, s.creative_id",
    )
    .bind(at)
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<(String, String, String, Vec<String>)> = Vec::new();
    for r in rows {
        let (cus, cmp, agent, id): (String, String, String, String) = (
            r.try_get("customer_id")?,
            r.try_get("campaign_id")?,
            r.try_get("sales_agent_id")?,
            r.try_get("creative_id")?,
        );
        match out.last_mut() {
            Some(last) if last.1 == cmp && last.2 == agent => last.3.push(id),
            _ => out.push((cus, cmp, agent, vec![id])),
        }
    }
    Ok(out)
}

/// The seller's next scheduled reconciliation: `next_at`, with `failures` in a row so far.
pub async fn schedule_next(db: &Db, agent: &str, next_at: &str, failures: u32) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO seller_reconcile (sales_agent_id, next_at, failures) VALUES ($1, $2, $3) \
         ON CONFLICT (sales_agent_id) DO UPDATE SET next_at = excluded.next_at, failures = excluded.failures",
    )
    .bind(agent)
    .bind(next_at)
    .bind(i64::from(failures))
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn failures(db: &Db, agent: &str) -> sqlx::Result<u32> {
    Ok(
        sqlx::query("SELECT failures FROM seller_reconcile WHERE sales_agent_id = $1")
            .bind(agent)
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.try_get::<i64, _>("failures"))
            .transpose()?
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
    )
}
