//! Sessions at rest: one row per session holding its document, written with optimistic concurrency
//! (`version`), so two refinements of one session cannot lose each other's variants.

use sqlx::any::Any;
use sqlx::{Row, Transaction};

use super::model::{Session, SessionStatus};
use crate::store::db::{from_json, to_json, Db};

type Tx<'a> = Transaction<'a, Any>;

fn status(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Open => "open",
        SessionStatus::Finalized => "finalized",
    }
}

pub async fn insert(tx: &mut Tx<'_>, customer: &str, s: &Session) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO creative_sessions (session_id, customer_id, campaign_id, status, doc, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
    )
    .bind(&s.session_id)
    .bind(customer)
    .bind(&s.campaign_id)
    .bind(status(s.status))
    .bind(to_json(s))
    .bind(&s.created_at)
    .bind(&s.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes `s` if the stored version is still `version`; whether it did.
pub async fn update(
    tx: &mut Tx<'_>,
    customer: &str,
    s: &Session,
    version: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE creative_sessions SET doc = $1, status = $2, updated_at = $3, version = version + 1 \
         WHERE session_id = $4 AND customer_id = $5 AND version = $6",
    )
    .bind(to_json(s))
    .bind(status(s.status))
    .bind(&s.updated_at)
    .bind(&s.session_id)
    .bind(customer)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A session of this customer's campaign, with its version.
pub async fn get(
    db: &Db,
    customer: &str,
    campaign: &str,
    id: &str,
) -> anyhow::Result<Option<(Session, i64)>> {
    let row = sqlx::query(
        "SELECT doc, version FROM creative_sessions WHERE session_id = $1 AND customer_id = $2 AND campaign_id = $3",
    )
    .bind(id)
    .bind(customer)
    .bind(campaign)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((
            from_json(&r.try_get::<String, _>("doc")?)?,
            r.try_get("version")?,
        ))),
    }
}

/// A page of a campaign's sessions, oldest first (ids are time-ordered), and the total.
pub async fn list(
    db: &Db,
    customer: &str,
    campaign: &str,
    take: i64,
    skip: i64,
) -> anyhow::Result<(Vec<Session>, i64)> {
    let rows = sqlx::query(
        "SELECT doc FROM creative_sessions WHERE customer_id = $1 AND campaign_id = $2 \
         ORDER BY session_id LIMIT $3 OFFSET $4",
    )
    .bind(customer)
    .bind(campaign)
    .bind(take)
    .bind(skip)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM creative_sessions WHERE customer_id = $1 AND campaign_id = $2",
    )
    .bind(customer)
    .bind(campaign)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    let items = rows
        .iter()
        .map(|r| from_json(&r.try_get::<String, _>("doc")?))
        .collect::<anyhow::Result<_>>()?;
    Ok((items, total))
}

/// Every session of a campaign (for removing the campaign).
pub async fn for_campaign(db: &Db, campaign: &str) -> anyhow::Result<Vec<Session>> {
    let rows = sqlx::query("SELECT doc FROM creative_sessions WHERE campaign_id = $1")
        .bind(campaign)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| from_json(&r.try_get::<String, _>("doc")?))
        .collect()
}

pub async fn delete(tx: &mut Tx<'_>, customer: &str, id: &str) -> anyhow::Result<bool> {
    let done =
        sqlx::query("DELETE FROM creative_sessions WHERE session_id = $1 AND customer_id = $2")
            .bind(id)
            .bind(customer)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The lineage a finalize hands to ingest, recorded in the manifest's own transaction.
pub struct NewLineage {
    pub session_id: String,
    pub variant_id: String,
    pub direction_id: String,
    pub lineage: serde_json::Value,
    pub review_notes: Vec<String>,
}

impl NewLineage {
    pub async fn record(
        &self,
        tx: &mut Tx<'_>,
        customer: &str,
        m: &crate::manifest::model::Manifest,
    ) -> anyhow::Result<()> {
        record_lineage(
            tx,
            customer,
            m.campaign_id.as_str(),
            m.creative_id.as_str(),
            self,
        )
        .await
    }
}

async fn record_lineage(
    tx: &mut Tx<'_>,
    customer: &str,
    campaign: &str,
    creative: &str,
    l: &NewLineage,
) -> anyhow::Result<()> {
    let (session, variant, direction, lineage, notes) = (
        &l.session_id,
        &l.variant_id,
        &l.direction_id,
        &l.lineage,
        &l.review_notes,
    );
    sqlx::query(
        "INSERT INTO creative_lineage (creative_id, customer_id, campaign_id, session_id, variant_id, direction_id, lineage, review_notes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(creative)
    .bind(customer)
    .bind(campaign)
    .bind(session)
    .bind(variant)
    .bind(direction)
    .bind(to_json(lineage))
    .bind(to_json(&notes))
    .bind(crate::store::db::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A manifest a session's variant became.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finalized {
    pub creative_id: String,
    pub variant_id: String,
    pub direction_id: String,
    pub lineage: serde_json::Value,
    pub review_notes: Vec<String>,
}

/// The manifests finalized from a session (the truth about what became of its variants).
pub async fn finalized(db: &Db, session: &str) -> anyhow::Result<Vec<Finalized>> {
    let rows = sqlx::query(
        "SELECT creative_id, variant_id, direction_id, lineage, review_notes FROM creative_lineage          WHERE session_id = $1 ORDER BY created_at, creative_id",
    )
    .bind(session)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Finalized {
                creative_id: r.try_get("creative_id")?,
                variant_id: r.try_get("variant_id")?,
                direction_id: r.try_get("direction_id")?,
                lineage: from_json(&r.try_get::<String, _>("lineage")?)?,
                review_notes: from_json(&r.try_get::<String, _>("review_notes")?)?,
            })
        })
        .collect()
}
