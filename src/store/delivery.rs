//! Delivery at rest: what sellers reported (`seller_delivery`, with the days fetched) and the
//! trackers' daily roll-up (`tracking_daily`, kept by `tracking::events`).

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;

use super::db::{now, Db};
use crate::delivery::report::{MeasuredRow, SellerRow};

/// The days already fetched from `agent` for `campaign`.
pub async fn fetched_days(db: &Db, campaign: &str, agent: &str) -> sqlx::Result<BTreeSet<String>> {
    sqlx::query(
        "SELECT day FROM seller_delivery_fetches WHERE campaign_id = $1 AND sales_agent_id = $2",
    )
    .bind(campaign)
    .bind(agent)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("day"))
    .collect()
}

/// Replaces everything `agent` reported for `campaign` on `day` with `rows` (all its pages), in one
/// transaction, and records the fetch.
pub async fn replace_day(
    db: &Db,
    campaign: &str,
    agent: &str,
    media_buy: &str,
    day: &str,
    period: (&str, &str),
    rows: &[SellerRow],
) -> sqlx::Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "DELETE FROM seller_delivery WHERE campaign_id = $1 AND sales_agent_id = $2 AND day = $3",
    )
    .bind(campaign)
    .bind(agent)
    .bind(day)
    .execute(&mut *tx)
    .await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO seller_delivery (campaign_id, sales_agent_id, media_buy_id, creative_id, day, currency, \
               impressions, clicks, spend, completed_views, q1_views, q2_views, q3_views, q4_views, \
               period_start, period_end) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (campaign_id, sales_agent_id, creative_id, day) DO UPDATE SET \
               impressions = seller_delivery.impressions + excluded.impressions, \
               clicks = seller_delivery.clicks + excluded.clicks, spend = seller_delivery.spend + excluded.spend",
        )
        .bind(campaign)
        .bind(agent)
        .bind(media_buy)
        .bind(&r.creative_id)
        .bind(day)
        .bind(&r.currency)
        .bind(r.impressions)
        .bind(r.clicks)
        .bind(r.spend)
        .bind(r.completed_views)
        .bind(r.quartiles[0])
        .bind(r.quartiles[1])
        .bind(r.quartiles[2])
        .bind(r.quartiles[3])
        .bind(period.0)
        .bind(period.1)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO seller_delivery_fetches (campaign_id, sales_agent_id, day, fetched_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (campaign_id, sales_agent_id, day) DO UPDATE SET fetched_at = excluded.fetched_at",
    )
    .bind(campaign)
    .bind(agent)
    .bind(day)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// What sellers reported for `campaign` between `start` and `end` (days, inclusive).
pub async fn seller_rows(
    db: &Db,
    campaign: &str,
    creative: &str,
    start: &str,
    end: &str,
) -> sqlx::Result<Vec<SellerRow>> {
    sqlx::query(
        "SELECT sales_agent_id, creative_id, day, currency, impressions, clicks, spend, completed_views, \
           q1_views, q2_views, q3_views, q4_views FROM seller_delivery \
         WHERE campaign_id = $1 AND day >= $2 AND day <= $3 AND ($4 = '' OR creative_id = $4)",
    )
    .bind(campaign)
    .bind(start)
    .bind(end)
    .bind(creative)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(SellerRow {
            sales_agent_id: r.try_get("sales_agent_id")?,
            creative_id: r.try_get("creative_id")?,
            day: r.try_get("day")?,
            currency: r.try_get("currency")?,
            impressions: r.try_get::<Option<f64>, _>("impressions")?.unwrap_or(0.0),
            clicks: r.try_get::<Option<f64>, _>("clicks")?.unwrap_or(0.0),
            spend: r.try_get::<Option<f64>, _>("spend")?.unwrap_or(0.0),
            completed_views: r.try_get("completed_views")?,
            quartiles: [
                r.try_get("q1_views")?,
                r.try_get("q2_views")?,
                r.try_get("q3_views")?,
                r.try_get("q4_views")?,
            ],
        })
    })
    .collect()
}

/// The trackers' daily counts for `campaign` between `start` and `end`.
pub async fn measured_rows(
    db: &Db,
    campaign: &str,
    creative: &str,
    start: &str,
    end: &str,
) -> sqlx::Result<Vec<MeasuredRow>> {
    sqlx::query(
        "SELECT creative_id, media_buy_id, day, impressions, clicks FROM tracking_daily \
         WHERE campaign_id = $1 AND day >= $2 AND day <= $3 AND ($4 = '' OR creative_id = $4)",
    )
    .bind(campaign)
    .bind(start)
    .bind(end)
    .bind(creative)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(MeasuredRow {
            creative_id: r.try_get("creative_id")?,
            media_buy_id: r.try_get("media_buy_id")?,
            day: r.try_get("day")?,
            impressions: r.try_get("impressions")?,
            clicks: r.try_get("clicks")?,
        })
    })
    .collect()
}

/// When each seller's delivery was last fetched for `campaign`.
pub async fn as_of(db: &Db, campaign: &str) -> sqlx::Result<HashMap<String, String>> {
    sqlx::query(
        "SELECT sales_agent_id, MAX(fetched_at) AS at FROM seller_delivery_fetches WHERE campaign_id = $1 \
         GROUP BY sales_agent_id",
    )
    .bind(campaign)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("sales_agent_id")?, r.try_get("at")?)))
    .collect()
}
