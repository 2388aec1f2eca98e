//! Delivery at rest: what sellers reported (`seller_delivery`, with the days fetched) and the
//! trackers' daily roll-up (`tracking_daily`, kept by `tracking::events`).

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;

use super::db::{now, Db};
use crate::delivery::report::{GroupBy, MeasuredRow, SellerRow};

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

/// Which reads a report needs: its campaign, days (inclusive), optionally one creative, and the
/// grain it groups by. The store sums to that grain (per seller and currency too), so a report
/// reads one row per key instead of every stored day.
pub struct Span<'a> {
    pub campaign: &'a str,
    pub creative: Option<&'a str>,
    pub start: &'a str,
    pub end: &'a str,
    pub group: GroupBy,
}

impl Span<'_> {
    /// The SQL `WHERE` on these columns and the grain's extra `GROUP BY` columns, with the
    /// (creative, day) values a grouped-away column reads as.
    fn sql(&self) -> (&'static str, &'static str, &'static str, &'static str) {
        let filter = match self.creative {
            Some(_) => "campaign_id = $1 AND day >= $2 AND day <= $3 AND creative_id = $4",
            None => "campaign_id = $1 AND day >= $2 AND day <= $3",
        };
        let (creative, day, group) = match self.group {
            GroupBy::Creative => ("creative_id", "''", ", creative_id"),
            GroupBy::Seller => ("''", "''", ""),
            GroupBy::Day => ("''", "day", ", day"),
        };
        (filter, group, creative, day)
    }

    fn bind<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let q = q.bind(self.campaign).bind(self.start).bind(self.end);
        match self.creative {
            Some(c) => q.bind(c),
            None => q,
        }
    }
}

/// What sellers reported in `span`, summed per seller, currency and the span's grain.
pub async fn seller_rows(db: &Db, span: &Span<'_>) -> sqlx::Result<Vec<SellerRow>> {
    let (filter, group, creative, day) = span.sql();
    let sql = format!(
        "SELECT sales_agent_id, {creative} AS creative_id, {day} AS day, currency, \
           SUM(COALESCE(impressions, 0.0)) AS impressions, SUM(COALESCE(clicks, 0.0)) AS clicks, \
           SUM(COALESCE(spend, 0.0)) AS spend, SUM(completed_views) AS completed_views, \
           SUM(q1_views) AS q1_views, SUM(q2_views) AS q2_views, SUM(q3_views) AS q3_views, \
           SUM(q4_views) AS q4_views \
         FROM seller_delivery WHERE {filter} GROUP BY sales_agent_id, currency{group}"
    );
    span.bind(sqlx::query(&sql))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(SellerRow {
                sales_agent_id: r.try_get("sales_agent_id")?,
                creative_id: r.try_get("creative_id")?,
                day: r.try_get("day")?,
                currency: r.try_get("currency")?,
                impressions: r.try_get("impressions")?,
                clicks: r.try_get("clicks")?,
                spend: r.try_get("spend")?,
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

/// The trackers' counts in `span`, summed per media buy and the span's grain.
pub async fn measured_rows(db: &Db, span: &Span<'_>) -> sqlx::Result<Vec<MeasuredRow>> {
    let (filter, group, creative, day) = span.sql();
    // CAST: PostgreSQL sums BIGINT into NUMERIC.
    let sql = format!(
        "SELECT {creative} AS creative_id, media_buy_id, {day} AS day, \
           CAST(SUM(impressions) AS BIGINT) AS impressions, CAST(SUM(clicks) AS BIGINT) AS clicks \
         FROM tracking_daily WHERE {filter} GROUP BY media_buy_id{group}"
    );
    span.bind(sqlx::query(&sql))
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
