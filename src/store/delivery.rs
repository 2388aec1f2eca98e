//! Delivery at rest: what sellers reported (`seller_delivery`, with the days fetched), the
//! trackers' daily roll-up (`tracking_daily`), and the roll-ups over both that reports read
//! (running totals per series and per-day sums, kept in the writes' transactions: see
//! `delivery_rollup.rs`; the reads are in `delivery_report.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::{Any, Row, Transaction};

use super::db::{now, Db};
pub use super::delivery_report::{creative_report, measured_rows, seller_rows, Grain, Span};
use super::delivery_rollup::{add_day, shift, Series};
use crate::delivery::report::SellerRow;
use crate::delivery::rollup::{self, Figures};

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

/// Replaces everything `agent` reported for `campaign` on `day` with `rows` (all its pages), and
/// the roll-ups that sum it, in one transaction, and records the fetch.
pub async fn replace_day(
    db: &Db,
    campaign: &str,
    agent: &str,
    media_buy: &str,
    day: &str,
    period: (&str, &str),
    rows: &[SellerRow],
) -> sqlx::Result<()> {
    let new = rollup::merged(rows);
    let mut tx = db.begin_write().await?;
    let old = stored_day(&mut tx, campaign, agent, day).await?;
    sqlx::query(
        "DELETE FROM seller_delivery WHERE campaign_id = $1 AND sales_agent_id = $2 AND day = $3",
    )
    .bind(campaign)
    .bind(agent)
    .bind(day)
    .execute(&mut *tx)
    .await?;
    for r in &new {
        sqlx::query(
            "INSERT INTO seller_delivery (campaign_id, sales_agent_id, media_buy_id, creative_id, day, currency, \
               impressions, clicks, spend, completed_views, q1_views, q2_views, q3_views, q4_views, \
               period_start, period_end) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, -1.0), NULLIF($11, -1.0), \
               NULLIF($12, -1.0), NULLIF($13, -1.0), NULLIF($14, -1.0), $15, $16)",
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
        // An absent figure travels as -1 (figures are never negative: `read_page` checks): sqlx's
        // Any driver binds a NULL f64 as a PostgreSQL float4, which the cached statement then
        // keeps, and the next row's real f64 is refused ("incorrect binary data format").
        .bind(r.completed_views.unwrap_or(-1.0))
        .bind(r.quartiles[0].unwrap_or(-1.0))
        .bind(r.quartiles[1].unwrap_or(-1.0))
        .bind(r.quartiles[2].unwrap_or(-1.0))
        .bind(r.quartiles[3].unwrap_or(-1.0))
        .bind(period.0)
        .bind(period.1)
        .execute(&mut *tx)
        .await?;
    }
    let changes = rollup::changes(&old, &new);
    for c in &changes {
        let key = [
            ("campaign_id", campaign),
            ("sales_agent_id", agent),
            ("currency", c.currency.as_str()),
            ("creative_id", c.creative_id.as_str()),
        ];
        let series = Series {
            running: "seller_delivery_running",
            series: "seller_delivery_series",
            key: &key,
            columns: &Figures::COLUMNS,
        };
        shift(&mut tx, &series, day, &c.delta.values(), c.present).await?;
    }
    // The sellers summed per currency and creative, after every per-seller series (one lock
    // order for all writers): the day stays while any seller still has a row for it.
    for c in &changes {
        let present = c.present
            || any_seller_has(&mut tx, campaign, &c.creative_id, &c.currency, day).await?;
        let key = [
            ("campaign_id", campaign),
            ("currency", c.currency.as_str()),
            ("creative_id", c.creative_id.as_str()),
        ];
        let series = Series {
            running: "seller_creative_running",
            series: "seller_creative_series",
            key: &key,
            columns: &Figures::COLUMNS,
        };
        shift(&mut tx, &series, day, &c.delta.values(), present).await?;
    }
    for (currency, (n, delta)) in rollup::day_changes(&old, &new) {
        let key = [
            ("campaign_id", campaign),
            ("sales_agent_id", agent),
            ("currency", currency.as_str()),
        ];
        add_day(
            &mut tx,
            "seller_delivery_days",
            &key,
            day,
            &Figures::COLUMNS,
            n,
            &delta.values(),
        )
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

/// Whether any seller has a row for `creative` in `currency` on `day` (the seller replacing its
/// day has written its new rows already).
async fn any_seller_has(
    tx: &mut Transaction<'_, Any>,
    campaign: &str,
    creative: &str,
    currency: &str,
    day: &str,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM seller_delivery WHERE campaign_id = $1 AND creative_id = $2 AND day = $3 \
         AND currency = $4 LIMIT 1",
    )
    .bind(campaign)
    .bind(creative)
    .bind(day)
    .bind(currency)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}

/// What is stored of `agent`'s `day` in `campaign` (what a replacement takes out of the roll-ups).
async fn stored_day(
    tx: &mut Transaction<'_, Any>,
    campaign: &str,
    agent: &str,
    day: &str,
) -> sqlx::Result<Vec<SellerRow>> {
    sqlx::query(
        "SELECT creative_id, currency, impressions, clicks, spend, completed_views, q1_views, q2_views, \
           q3_views, q4_views FROM seller_delivery WHERE campaign_id = $1 AND sales_agent_id = $2 AND day = $3",
    )
    .bind(campaign)
    .bind(agent)
    .bind(day)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(SellerRow {
            sales_agent_id: agent.to_owned(),
            creative_id: r.try_get("creative_id")?,
            day: day.to_owned(),
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

/// Adds a tracker batch's counts to the roll-ups, in the batch's transaction: `cells` are
/// (campaign, media buy, creative, day) -> (impressions, clicks), sorted, so concurrent writers
/// lock rows in one order.
pub async fn add_tracked(
    tx: &mut Transaction<'_, Any>,
    cells: &BTreeMap<(String, String, String, String), (i64, i64)>,
) -> sqlx::Result<()> {
    const COUNTS: [&str; 2] = ["impressions", "clicks"];
    let mut days: BTreeMap<(&str, &str, &str), (i64, i64, i64)> = BTreeMap::new();
    let mut creatives: BTreeMap<(&str, &str, &str), (i64, i64)> = BTreeMap::new();
    for ((campaign, media_buy, creative, day), (imps, clicks)) in cells {
        // The day's row per creative and media buy, made first so it is known whether it is new.
        let made = sqlx::query(
            "INSERT INTO tracking_daily (creative_id, campaign_id, media_buy_id, day, impressions, clicks) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (creative_id, media_buy_id, day) DO NOTHING",
        )
        .bind(creative)
        .bind(campaign)
        .bind(media_buy)
        .bind(day)
        .bind(*imps)
        .bind(*clicks)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        if !made {
            sqlx::query(
                "UPDATE tracking_daily SET impressions = impressions + $4, clicks = clicks + $5 \
                 WHERE creative_id = $1 AND media_buy_id = $2 AND day = $3",
            )
            .bind(creative)
            .bind(media_buy)
            .bind(day)
            .bind(*imps)
            .bind(*clicks)
            .execute(&mut **tx)
            .await?;
        }
        let key = [
            ("campaign_id", campaign.as_str()),
            ("media_buy_id", media_buy.as_str()),
            ("creative_id", creative.as_str()),
        ];
        let series = Series {
            running: "tracking_running",
            series: "tracking_series",
            key: &key,
            columns: &COUNTS,
        };
        shift(tx, &series, day, &[*imps, *clicks], true).await?;
        let d = days.entry((campaign, media_buy, day)).or_default();
        *d = (d.0 + i64::from(made), d.1 + imps, d.2 + clicks);
        let c = creatives.entry((campaign, creative, day)).or_default();
        *c = (c.0 + imps, c.1 + clicks);
    }
    // The media buys summed per creative, after every per-buy series (one lock order).
    for ((campaign, creative, day), (imps, clicks)) in creatives {
        let key = [("campaign_id", campaign), ("creative_id", creative)];
        let series = Series {
            running: "tracking_creative_running",
            series: "tracking_creative_series",
            key: &key,
            columns: &COUNTS,
        };
        shift(tx, &series, day, &[imps, clicks], true).await?;
    }
    for ((campaign, media_buy, day), (rows, imps, clicks)) in days {
        let key = [("campaign_id", campaign), ("media_buy_id", media_buy)];
        add_day(
            tx,
            "tracking_days",
            &key,
            day,
            &COUNTS,
            rows,
            &[imps, clicks],
        )
        .await?;
    }
    Ok(())
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

/// Removes everything delivery keeps of creative `creative` of `campaign`, in the caller's
/// transaction (the manifest's deletion): what sellers reported and the trackers counted, their
/// roll-ups, and its share of the campaign's per-day sums.
pub async fn remove_creative(
    tx: &mut Transaction<'_, Any>,
    campaign: &str,
    creative: &str,
) -> sqlx::Result<()> {
    // Sellers: take each stored row out of its day's sum, then drop the creative's series.
    let rows = sqlx::query(
        "SELECT sales_agent_id, day, currency, impressions, clicks, spend, completed_views, q1_views, q2_views, \
           q3_views, q4_views FROM seller_delivery WHERE campaign_id = $1 AND creative_id = $2 \
         ORDER BY sales_agent_id, currency, day",
    )
    .bind(campaign)
    .bind(creative)
    .fetch_all(&mut **tx)
    .await?;
    for r in &rows {
        let row = SellerRow {
            sales_agent_id: r.try_get("sales_agent_id")?,
            creative_id: creative.to_owned(),
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
        };
        let gone = Figures::default().minus(&Figures::of(&row));
        let key = [
            ("campaign_id", campaign),
            ("sales_agent_id", row.sales_agent_id.as_str()),
            ("currency", row.currency.as_str()),
        ];
        add_day(
            tx,
            "seller_delivery_days",
            &key,
            &row.day,
            &Figures::COLUMNS,
            -1,
            &gone.values(),
        )
        .await?;
    }
    let series: Vec<(String, String)> = sqlx::query(
        "SELECT sales_agent_id, currency FROM seller_delivery_series WHERE campaign_id = $1 AND creative_id = $2",
    )
    .bind(campaign)
    .bind(creative)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("sales_agent_id")?, r.try_get("currency")?)))
    .collect::<sqlx::Result<_>>()?;
    for (agent, currency) in &series {
        sqlx::query(
            "DELETE FROM seller_delivery_running WHERE campaign_id = $1 AND sales_agent_id = $2 \
             AND currency = $3 AND creative_id = $4",
        )
        .bind(campaign)
        .bind(agent)
        .bind(currency)
        .bind(creative)
        .execute(&mut **tx)
        .await?;
    }
    for sql in [
        "DELETE FROM seller_delivery_series WHERE campaign_id = $1 AND creative_id = $2",
        "DELETE FROM seller_creative_running WHERE campaign_id = $1 AND creative_id = $2",
        "DELETE FROM seller_creative_series WHERE campaign_id = $1 AND creative_id = $2",
        "DELETE FROM seller_delivery WHERE campaign_id = $1 AND creative_id = $2",
    ] {
        sqlx::query(sql)
            .bind(campaign)
            .bind(creative)
            .execute(&mut **tx)
            .await?;
    }

    // Trackers: each daily row out of its day's sum (under the campaign the events named), then
    // the creative's series, daily rows and events.
    let daily = sqlx::query(
        "SELECT campaign_id, media_buy_id, day, impressions, clicks FROM tracking_daily WHERE creative_id = $1 \
         ORDER BY campaign_id, media_buy_id, day",
    )
    .bind(creative)
    .fetch_all(&mut **tx)
    .await?;
    let mut buys = BTreeSet::new();
    for r in &daily {
        let (c, mb, day): (String, String, String) = (
            r.try_get("campaign_id")?,
            r.try_get("media_buy_id")?,
            r.try_get("day")?,
        );
        let counts = [
            -r.try_get::<i64, _>("impressions")?,
            -r.try_get::<i64, _>("clicks")?,
        ];
        let key = [("campaign_id", c.as_str()), ("media_buy_id", mb.as_str())];
        add_day(
            tx,
            "tracking_days",
            &key,
            &day,
            &["impressions", "clicks"],
            -1,
            &counts,
        )
        .await?;
        buys.insert((c, mb));
    }
    let campaigns: BTreeSet<&String> = buys.iter().map(|(c, _)| c).collect();
    for c in campaigns {
        for sql in [
            "DELETE FROM tracking_creative_running WHERE campaign_id = $1 AND creative_id = $2",
            "DELETE FROM tracking_creative_series WHERE campaign_id = $1 AND creative_id = $2",
        ] {
            sqlx::query(sql)
                .bind(c)
                .bind(creative)
                .execute(&mut **tx)
                .await?;
        }
    }
    for (c, mb) in &buys {
        for sql in [
            "DELETE FROM tracking_running WHERE campaign_id = $1 AND media_buy_id = $2 AND creative_id = $3",
            "DELETE FROM tracking_series WHERE campaign_id = $1 AND media_buy_id = $2 AND creative_id = $3",
        ] {
            sqlx::query(sql)
                .bind(c)
                .bind(mb)
                .bind(creative)
                .execute(&mut **tx)
                .await?;
        }
    }
    for sql in [
        "DELETE FROM tracking_daily WHERE creative_id = $1",
        "DELETE FROM tracking_events WHERE creative_id = $1",
    ] {
        sqlx::query(sql).bind(creative).execute(&mut **tx).await?;
    }
    Ok(())
}
