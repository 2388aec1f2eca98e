//! Reading the delivery roll-ups for a report (written by `delivery.rs` / `delivery_rollup.rs`):
//! by seller or by day the per-day sums (≤ sellers × days rows); by creative the running series,
//! each series' figures over the span being its total through the span's end minus its total
//! before the span's start.
//!
//! A series row carries its first and last day and its totals through the last (migration 0034),
//! so a span reaching a series' last day takes the end from the series row and one starting on
//! or before its first day subtracts nothing: a whole-flight report reads the series rows alone.
//! Otherwise each end is one step back along the running rows' primary key. The report of every
//! creative sums the sellers to its (creative, currency) grain in SQL and attributes the trackers'
//! counts there, so about a row per creative comes back rather than one per series.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

use super::db::{Backend, Db};
use crate::delivery::report::{self, Attributed, MeasuredRow, SellerRow};
use crate::delivery::rollup::Figures;

/// Which reads a report needs: its campaign, days (inclusive), and the grain it groups by.
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

/// One running roll-up: its series and running tables, the series key (campaign first, creative
/// last) and its figure columns.
struct Running<'a> {
    series: &'a str,
    running: &'a str,
    key: &'a [&'a str],
    columns: &'a [&'a str],
}

const SELLERS: Running<'static> = Running {
    series: "seller_delivery_series",
    running: "seller_delivery_running",
    key: &["campaign_id", "sales_agent_id", "currency", "creative_id"],
    columns: &Figures::COLUMNS,
};

const TRACKERS: Running<'static> = Running {
    series: "tracking_series",
    running: "tracking_running",
    key: &["campaign_id", "media_buy_id", "creative_id"],
    columns: &["impressions", "clicks"],
};

/// The sellers summed per campaign, currency and creative (migration 0034).
const SELLERS_BY_CREATIVE: Running<'static> = Running {
    series: "seller_creative_series",
    running: "seller_creative_running",
    key: &["campaign_id", "currency", "creative_id"],
    columns: &Figures::COLUMNS,
};

/// The trackers' media buys summed per campaign and creative (migration 0034).
const TRACKERS_BY_CREATIVE: Running<'static> = Running {
    series: "tracking_creative_series",
    running: "tracking_creative_running",
    key: &["campaign_id", "creative_id"],
    columns: &["impressions", "clicks"],
};

fn list(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

impl Running<'_> {
    /// Common table expressions ending in `d`: each series of campaign `$1` with a running row in
    /// `$2..=$3` (and of creative `$4` when `one`), its key columns and its figures over the span.
    ///
    /// SQLite: the steps' row ids are found first (a materialised CTE, so the planner drives the
    /// query from the series rather than from every running row of the campaign), each a step
    /// back along the primary key index (which holds the row id), skipped where the series row
    /// answers; then the rows are read by row id. PostgreSQL: a LATERAL step per end, gated on the
    /// series row so it runs only where needed (a one-time filter), reading the figures at once.
    fn series_ctes(&self, backend: Backend, one: bool) -> String {
        self.series_ctes_as(
            backend,
            "d",
            if one { " AND s.creative_id = $4" } else { "" },
        )
    }

    /// [`Running::series_ctes`] ending in `name` (its other CTE named after it), the series
    /// filtered further by `filter` (SQL on series `s`).
    fn series_ctes_as(&self, backend: Backend, name: &str, filter: &str) -> String {
        let same = |a: &str, b: &str| {
            self.key
                .iter()
                .map(|k| format!("{a}.{k} = {b}.{k}"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let cols = |alias: &str, names: &[&str]| list(names.iter().map(|c| format!("{alias}.{c}")));
        let which =
            format!("s.campaign_id = $1 AND s.first_day <= $3 AND s.last_day >= $2{filter}");
        let figures = |end: &str, totals: &str, before: &str| {
            list(self.columns.iter().map(|c| {
                format!("CASE WHEN {end} IS NULL THEN {totals}.{c} ELSE e.{c} END - COALESCE({before}.{c}, 0) AS {c}")
            }))
        };
        let (series, running) = (self.series, self.running);
        match backend {
            Backend::Sqlite => format!(
                "{name}_k AS MATERIALIZED (SELECT {keys}, {totals}, \
                   CASE WHEN s.last_day <= $3 THEN NULL ELSE (SELECT x.rowid FROM {running} x \
                     WHERE {sx} AND x.day <= $3 ORDER BY x.day DESC LIMIT 1) END AS e_id, \
                   CASE WHEN s.first_day >= $2 THEN NULL ELSE (SELECT x.rowid FROM {running} x \
                     WHERE {sx} AND x.day < $2 ORDER BY x.day DESC LIMIT 1) END AS b_id \
                   FROM {series} s WHERE {which}), \
                 {name} AS (SELECT {kkeys}, {figures} FROM {name}_k k \
                   LEFT JOIN {running} e ON e.rowid = k.e_id \
                   LEFT JOIN {running} b ON b.rowid = k.b_id \
                   WHERE k.e_id IS NULL OR e.day >= $2)",
                keys = cols("s", self.key),
                totals = cols("s", self.columns),
                sx = same("x", "s"),
                kkeys = cols("k", self.key),
                figures = figures("k.e_id", "k", "b"),
            ),
            Backend::Postgres => format!(
                "{name} AS (SELECT {keys}, {figures} FROM {series} s \
                   LEFT JOIN LATERAL (SELECT x.day, {xcols} FROM {running} x \
                     WHERE s.last_day > $3 AND {sx} AND x.day <= $3 ORDER BY x.day DESC LIMIT 1) e ON TRUE \
                   LEFT JOIN LATERAL (SELECT {xcols} FROM {running} x \
                     WHERE s.first_day < $2 AND {sx} AND x.day < $2 ORDER BY x.day DESC LIMIT 1) b ON TRUE \
                   WHERE {which} AND (e.day IS NULL OR e.day >= $2))",
                keys = cols("s", self.key),
                xcols = cols("x", self.columns),
                sx = same("x", "s"),
                figures = figures("e.day", "s", "b"),
            ),
        }
    }
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

fn summed(alias: &str, columns: &[&str]) -> String {
    list(
        columns
            .iter()
            .map(|c| format!("CAST(SUM({alias}{c}) AS BIGINT) AS {c}")),
    )
}

/// The per-day sums a report by seller or by day reads: `table`'s rows in the span summed per
/// `by` (and per day for a report by day; `day` is '' when summed over the span).
fn per_day_sql(table: &str, by: &str, columns: &[&str], per_day: bool) -> String {
    format!(
        "SELECT {by}, {day} AS day, {} FROM {table} \
         WHERE campaign_id = $1 AND day >= $2 AND day <= $3 GROUP BY {by}{group}",
        summed("", columns),
        day = if per_day { "day" } else { "''" },
        group = if per_day { ", day" } else { "" },
    )
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `sql` with every report query's first parameters bound: campaign `$1`, days `$2..=$3`.
fn spanned<'q>(sql: &'q str, campaign: &'q str, (start, end): (&'q str, &'q str)) -> Query<'q> {
    sqlx::query(sql).bind(campaign).bind(start).bind(end)
}

/// The rows of `span` from `running` (per series, for a report by creative) or from the per-day
/// sums `days` grouped by `by`.
async fn read(
    db: &Db,
    span: &Span<'_>,
    running: &Running<'_>,
    days: &str,
    by: &str,
) -> sqlx::Result<Vec<sqlx::any::AnyRow>> {
    let sql = match span.grain {
        Grain::Creative(one) => format!(
            "WITH {} SELECT * FROM d",
            running.series_ctes(db.backend, one.is_some())
        ),
        Grain::Seller | Grain::Day => {
            per_day_sql(days, by, running.columns, span.grain == Grain::Day)
        }
    };
    let mut query = spanned(&sql, span.campaign, (span.start, span.end));
    if let Grain::Creative(Some(c)) = span.grain {
        query = query.bind(c);
    }
    query.fetch_all(&db.pool).await
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
    read(
        db,
        span,
        &SELLERS,
        "seller_delivery_days",
        "sales_agent_id, currency",
    )
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
    read(db, span, &TRACKERS, "tracking_days", "media_buy_id")
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

/// The report of every creative of `campaign` over `start..=end`: the sellers' figures summed per
/// creative and currency (seller `""`), and the trackers' counts per creative in the currency of
/// the seller of their media buy (`seller_of`), as `report::build` would attribute them, ready
/// for `report::assemble`. About one row per creative and currency comes back from each query.
pub async fn creative_report(
    db: &Db,
    campaign: &str,
    (start, end): (&str, &str),
    seller_of: &HashMap<String, String>,
) -> sqlx::Result<(Vec<SellerRow>, Vec<Attributed>)> {
    // The sellers' rows need nothing else; the trackers' need each seller's currency first.
    // Both run at once, on two connections.
    let sellers = async {
        spanned(&sellers_by_creative_sql(db.backend), campaign, (start, end))
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(figures_of(r)?.row(
                    String::new(),
                    r.try_get("creative_id")?,
                    String::new(),
                    r.try_get("currency")?,
                ))
            })
            .collect::<sqlx::Result<Vec<_>>>()
    };
    let measured = async {
        // Each seller's currency for its tracker counts, from its volume per currency in the
        // span (the per-day sums hold the same integers the series do: ≤ sellers × currencies
        // rows).
        let sql = per_day_sql(
            "seller_delivery_days",
            "sales_agent_id, currency",
            &["impressions"],
            false,
        );
        let volume: Vec<(String, String, i64)> = spanned(&sql, campaign, (start, end))
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("sales_agent_id")?,
                    r.try_get("currency")?,
                    r.try_get("impressions")?,
                ))
            })
            .collect::<sqlx::Result<_>>()?;
        let currency_of =
            report::main_currencies(volume.iter().map(|(s, c, v)| (s.as_str(), c.as_str(), *v)));
        let by_buy = report::currency_by_buy(seller_of, &currency_of);
        let sql = trackers_by_creative_sql(db.backend, &by_buy);
        bind_report_currencies(spanned(&sql, campaign, (start, end)), &by_buy)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Attributed {
                    creative_id: r.try_get("creative_id")?,
                    sales_agent_id: String::new(),
                    day: String::new(),
                    currency: r.try_get("currency")?,
                    impressions: r.try_get("impressions")?,
                    clicks: r.try_get("clicks")?,
                })
            })
            .collect::<sqlx::Result<Vec<_>>>()
    };
    let (sellers, measured) = tokio::try_join!(sellers, measured)?;
    Ok((sellers, measured))
}

/// The two queries of [`creative_report`] (public for the benchmark's query plans): the sellers'
/// figures per creative and currency over `$1`, `$2..=$3`; the trackers' counts per creative and
/// the currency of their media buy (`by_buy`, bound from `$4` as buy, currency pairs).
///
/// The trackers' counts are read per creative with the media buys summed, all put in the
/// currency most buys take; the series of the buys that take another currency (or none: a buy
/// the campaign does not know, or whose seller reported nothing in the span) are read one by one,
/// taken out of that and put in their own. A grouped row with no count is one no event made (a
/// series in the span counted at least one), so it is left out.
pub fn creative_report_sql(
    backend: Backend,
    by_buy: &BTreeMap<String, String>,
) -> (String, String) {
    (
        sellers_by_creative_sql(backend),
        trackers_by_creative_sql(backend, by_buy),
    )
}

fn sellers_by_creative_sql(backend: Backend) -> String {
    format!(
        "WITH {} SELECT d.creative_id, d.currency, {} FROM d",
        SELLERS_BY_CREATIVE.series_ctes(backend, false),
        list(SELLERS_BY_CREATIVE.columns.iter().map(|c| format!("d.{c}")))
    )
}

fn trackers_by_creative_sql(backend: Backend, by_buy: &BTreeMap<String, String>) -> String {
    let main = main_currency(by_buy);
    let param = |i: usize| format!("${}", 4 + i);
    // Parameters: each buy and its currency, in `by_buy`'s order, then the main currency (when
    // there is one: see `bind_report_currencies`).
    let currency_of_buy = if by_buy.is_empty() {
        "CAST(NULL AS TEXT)".to_owned()
    } else {
        let arms = (0..by_buy.len())
            .map(|i| format!("WHEN {} THEN {}", param(2 * i), param(2 * i + 1)))
            .collect::<Vec<_>>()
            .join(" ");
        format!("CASE o.media_buy_id {arms} END")
    };
    let (main_currency, main_buys): (String, Vec<String>) = match main {
        None => ("CAST(NULL AS TEXT)".to_owned(), Vec::new()),
        Some(m) => (
            format!("CAST({} AS TEXT)", param(2 * by_buy.len())),
            by_buy
                .iter()
                .enumerate()
                .filter(|(_, (_, c))| c.as_str() == m)
                .map(|(i, _)| param(2 * i))
                .collect(),
        ),
    };
    // Without a main currency every count goes to none: no buy is read one by one.
    let others = if main.is_none() {
        " AND 1 = 0".to_owned()
    } else {
        format!(" AND s.media_buy_id NOT IN ({})", main_buys.join(", "))
    };
    format!(
        "WITH {}, {} \
         SELECT u.creative_id, u.currency, CAST(SUM(u.impressions) AS BIGINT) AS impressions, \
           CAST(SUM(u.clicks) AS BIGINT) AS clicks FROM ( \
             SELECT d.creative_id, {main_currency} AS currency, d.impressions, d.clicks FROM d \
             UNION ALL SELECT o.creative_id, {main_currency}, -o.impressions, -o.clicks FROM o \
             UNION ALL SELECT o.creative_id, {currency_of_buy}, o.impressions, o.clicks FROM o) u \
         GROUP BY u.creative_id, u.currency HAVING SUM(u.impressions) <> 0 OR SUM(u.clicks) <> 0",
        TRACKERS_BY_CREATIVE.series_ctes(backend, false),
        TRACKERS.series_ctes_as(backend, "o", &others),
    )
}

/// Binds the trackers' query's parameters after the span: each buy and its currency, then the
/// main currency.
pub fn bind_report_currencies<'q>(
    mut q: Query<'q>,
    by_buy: &'q BTreeMap<String, String>,
) -> Query<'q> {
    for (buy, currency) in by_buy {
        q = q.bind(buy).bind(currency);
    }
    if let Some(m) = main_currency(by_buy) {
        q = q.bind(m);
    }
    q
}

/// The currency most media buys take (ties: the first code); `None` without any.
fn main_currency(by_buy: &BTreeMap<String, String>) -> Option<&str> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for c in by_buy.values() {
        *count.entry(c).or_default() += 1;
    }
    count
        .into_iter()
        .fold(None, |best: Option<(&str, usize)>, (c, n)| match best {
            Some((_, bn)) if bn >= n => best,
            _ => Some((c, n)),
        })
        .map(|(c, _)| c)
}
