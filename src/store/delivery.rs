//! Delivery at rest: what sellers reported (`seller_delivery`, with the days fetched), the
//! trackers' daily roll-up (`tracking_daily`), and the roll-ups over both that reports read
//! (running totals per series and per-day sums, kept in the writes' transactions: see
//! `delivery_rollup.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::{Any, Row, Transaction};

use super::db::{now, Db};
use super::delivery_rollup::{add_day, shift, Series};
use crate::delivery::report::{MeasuredRow, SellerRow};
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
    for c in rollup::changes(&old, &new) {
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

/// Which reads a report needs: its campaign, days (inclusive), and the grain it groups by. The
/// store reads the roll-ups, so a report touches O(creatives x sellers) rows whatever the span.
pub struct Span<'a> {
    pub campaign: &'a str,
    pub start: &'a str,
    pub end: &'a str,
    pub grain: Grain<'a>,
}

/// A report's grain: by creative (all of them, or one: a manifest's `performance`), by seller, by day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain<'a> {
    Creative(Option<&'a str>),
    Seller,
    Day,
}

/// The SQL reading each series of `series`/`running` keyed by `key` over `$2..=$3` (the row at or
/// before the end minus the row before the start), `columns` as `name` = difference, for campaign
/// `$1` (and creative `$4` when `one`). A series with no row in the span is left out.
///
/// The days are found first, per series (a materialised CTE: otherwise SQLite's planner drives the
/// query from the running rows, all of the campaign's, and runs the lookups for each), and each
/// lookup is one step back along the primary key (`ORDER BY day DESC LIMIT 1`, where `MAX` read
/// every earlier day of the series); then two rows are read per series by key.
fn running_sql(series: &str, running: &str, key: &[&str], columns: &[&str], one: bool) -> String {
    let join = |alias: &str, other: &str| {
        key.iter()
            .map(|k| format!("{alias}.{k} = {other}.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let latest = |op: &str, param: &str| {
        format!(
            "(SELECT x.day FROM {running} x WHERE {} AND x.day {op} {param} ORDER BY x.day DESC LIMIT 1)",
            join("x", "s")
        )
    };
    let keys = |alias: &str| {
        key.iter()
            .map(|k| format!("{alias}.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let figures: Vec<String> = columns
        .iter()
        .map(|c| format!("e.{c} - COALESCE(b.{c}, 0) AS {c}"))
        .collect();
    format!(
        "WITH k AS MATERIALIZED (SELECT {}, {} AS e_day, {} AS b_day FROM {series} s \
           WHERE s.campaign_id = $1{}) \
         SELECT {}, {} FROM k \
         JOIN {running} e ON {} AND e.day = k.e_day \
         LEFT JOIN {running} b ON {} AND b.day = k.b_day \
         WHERE k.e_day >= $2",
        keys("s"),
        latest("<=", "$3"),
        latest("<", "$2"),
        if one { " AND s.creative_id = $4" } else { "" },
        keys("k"),
        figures.join(", "),
        join("e", "k"),
        join("b", "k"),
    )
}

/// The figures of a row read from `columns` (as i64; PostgreSQL sums BIGINT into NUMERIC, so sums
/// are cast back).
fn figures_of(r: &sqlx::any::AnyRow) -> sqlx::Result<Figures> {
    let mut v = [0i64; 13];
    for (i, c) in Figures::COLUMNS.iter().enumerate() {
        v[i] = r.try_get(*c)?;
    }
    Ok(Figures::from_values(&v))
}

fn summed(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One pair of roll-ups a report reads: running totals per series (for a report by creative) and
/// per-day sums with creatives added together (by seller, by day).
struct RollUp<'a> {
    series: &'a str,
    running: &'a str,
    days: &'a str,
    /// The series key, campaign first and creative last.
    key: &'a [&'a str],
    /// What the per-day sums are grouped by besides the day.
    by: &'a str,
    columns: &'a [&'a str],
}

impl RollUp<'_> {
    /// The rows of `span`, summed to its grain: per series for a report by creative (`creative_id`
    /// and no day), else per `by` over the span or per day (`day`, '' when summed over the span).
    async fn read(&self, db: &Db, span: &Span<'_>) -> sqlx::Result<Vec<sqlx::any::AnyRow>> {
        let sql = match span.grain {
            Grain::Creative(one) => running_sql(
                self.series,
                self.running,
                self.key,
                self.columns,
                one.is_some(),
            ),
            Grain::Seller | Grain::Day => {
                let per_day = span.grain == Grain::Day;
                format!(
                    "SELECT {by}, {day} AS day, {} FROM {days} \
                     WHERE campaign_id = $1 AND day >= $2 AND day <= $3 GROUP BY {by}{group}",
                    summed(self.columns),
                    by = self.by,
                    days = self.days,
                    day = if per_day { "day" } else { "''" },
                    group = if per_day { ", day" } else { "" },
                )
            }
        };
        let mut query = sqlx::query(&sql)
            .bind(span.campaign)
            .bind(span.start)
            .bind(span.end);
        if let Grain::Creative(Some(c)) = span.grain {
            query = query.bind(c);
        }
        query.fetch_all(&db.pool).await
    }
}

/// A report row's creative and day: a report by creative has no day, the others no creative.
fn creative_and_day(r: &sqlx::any::AnyRow, grain: Grain<'_>) -> sqlx::Result<(String, String)> {
    Ok(match grain {
        Grain::Creative(_) => (r.try_get("creative_id")?, String::new()),
        Grain::Seller | Grain::Day => (String::new(), r.try_get("day")?),
    })
}

/// What sellers reported in `span`, summed per seller, currency and the span's grain.
pub async fn seller_rows(db: &Db, span: &Span<'_>) -> sqlx::Result<Vec<SellerRow>> {
    let roll_up = RollUp {
        series: "seller_delivery_series",
        running: "seller_delivery_running",
        days: "seller_delivery_days",
        key: &["campaign_id", "sales_agent_id", "currency", "creative_id"],
        by: "sales_agent_id, currency",
        columns: &Figures::COLUMNS,
    };
    roll_up
        .read(db, span)
        .await?
        .iter()
        .map(|r| {
            let (creative, day) = creative_and_day(r, span.grain)?;
            Ok(figures_of(r)?.row(
                r.try_get("sales_agent_id")?,
                creative,
                day,
                r.try_get("currency")?,
            ))
        })
        .collect()
}

/// The trackers' counts in `span`, summed per media buy and the span's grain.
pub async fn measured_rows(db: &Db, span: &Span<'_>) -> sqlx::Result<Vec<MeasuredRow>> {
    let roll_up = RollUp {
        series: "tracking_series",
        running: "tracking_running",
        days: "tracking_days",
        key: &["campaign_id", "media_buy_id", "creative_id"],
        by: "media_buy_id",
        columns: &["impressions", "clicks"],
    };
    roll_up
        .read(db, span)
        .await?
        .iter()
        .map(|r| {
            let (creative_id, day) = creative_and_day(r, span.grain)?;
            Ok(MeasuredRow {
                creative_id,
                media_buy_id: r.try_get("media_buy_id")?,
                day,
                impressions: r.try_get("impressions")?,
                clicks: r.try_get("clicks")?,
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
