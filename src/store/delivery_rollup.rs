//! Keeping the delivery roll-ups (migrations 0031, 0032) in step with the rows they summarise, in
//! the caller's transaction: running totals per series (seller, currency and creative; or media
//! buy and creative for the trackers) through each day, the series themselves (with their first
//! and last day and their totals through the last: migration 0034), and per-day sums with the
//! creatives summed. What changes is computed in `delivery/rollup.rs`.
//!
//! A change on day `d` adds its delta to the series' rows after `d` (none, for today's writes)
//! and to its row on `d`, made from the row before `d` when the day had none, or removed when
//! the day has no stored row left.

use sqlx::{Any, Row, Transaction};

/// One running series: its tables, its key columns and values, its figure columns.
pub struct Series<'a> {
    pub running: &'static str,
    pub series: &'static str,
    pub key: &'a [(&'static str, &'a str)],
    pub columns: &'static [&'static str],
}

/// `k1 = $1 AND k2 = $2 …` over `key`; the day is the next parameter.
fn key_filter(key: &[(&str, &str)]) -> String {
    key.iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// [`key_filter`] on the columns of table alias `alias`.
fn key_filter_as(key: &[(&str, &str)], alias: &str) -> String {
    key.iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{alias}.{c} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `c = c + $n, …` for `columns`, numbered from `first`.
fn add_columns<'c>(columns: impl Iterator<Item = &'c str>, first: usize) -> String {
    columns
        .enumerate()
        .map(|(i, c)| format!("{c} = {c} + ${}", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

fn params(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// `sql` with the key's values, then the day (when given), then `values`.
fn bound<'q>(
    sql: &'q str,
    key: &[(&str, &'q str)],
    day: Option<&'q str>,
    values: &[i64],
) -> Query<'q> {
    let mut q = sqlx::query(sql);
    for (_, v) in key {
        q = q.bind(*v);
    }
    if let Some(d) = day {
        q = q.bind(d);
    }
    for v in values {
        q = q.bind(*v);
    }
    q
}

/// Adds `delta` (one value per column) to `s` on `day`; `present`: whether the day keeps a
/// stored row (else its running row goes, and the series too once it has no day left).
pub async fn shift(
    tx: &mut Transaction<'_, Any>,
    s: &Series<'_>,
    day: &str,
    delta: &[i64],
    present: bool,
) -> sqlx::Result<()> {
    let (running, filter, k) = (s.running, key_filter(s.key), s.key.len());
    let names: Vec<&str> = s.key.iter().map(|(c, _)| *c).collect();
    // The series row first, made or moved on (its days widened, the delta added to its totals:
    // whatever day changes, the running row on the series' last day moves by the delta, or is
    // made from the one before it plus the delta). On PostgreSQL that locks the series until
    // commit, so two writers of one series (two instances' tracker batches) take turns and each
    // reads the other's rows (SQLite has one writer at a time anyway).
    let series = s.series;
    let days = |col: &str, op: &str| {
        format!("{col} = CASE WHEN excluded.{col} {op} {series}.{col} THEN excluded.{col} ELSE {series}.{col} END")
    };
    let totals = s
        .columns
        .iter()
        .map(|c| format!("{c} = {series}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {series} ({names}, first_day, last_day, {columns}) VALUES ({}) \
         ON CONFLICT ({names}) DO UPDATE SET {}, {}, {totals}",
        params(k + 2 + s.columns.len()),
        days("first_day", "<"),
        days("last_day", ">"),
        names = names.join(", "),
        columns = s.columns.join(", "),
    );
    let mut q = bound(&sql, s.key, Some(day), &[]).bind(day);
    for v in delta {
        q = q.bind(*v);
    }
    q.execute(&mut **tx).await?;
    let day_param = k + 1;
    let sets = add_columns(s.columns.iter().copied(), k + 2);
    if delta.iter().any(|d| *d != 0) {
        let sql = format!("UPDATE {running} SET {sets} WHERE {filter} AND day > ${day_param}");
        bound(&sql, s.key, Some(day), delta)
            .execute(&mut **tx)
            .await?;
    }
    if !present {
        let sql = format!("DELETE FROM {running} WHERE {filter} AND day = ${day_param}");
        bound(&sql, s.key, Some(day), &[])
            .execute(&mut **tx)
            .await?;
        // The series' days again (the day gone may have been its first or last); none left: the
        // series goes.
        let step = |order: &str| {
            format!(
                "(SELECT x.day FROM {running} x WHERE {} ORDER BY x.day {order} LIMIT 1)",
                key_filter_as(s.key, "x")
            )
        };
        let sql = format!(
            "UPDATE {series} SET first_day = COALESCE({}, ''), last_day = COALESCE({}, '') WHERE {filter}",
            step("ASC"),
            step("DESC")
        );
        bound(&sql, s.key, None, &[]).execute(&mut **tx).await?;
        let sql = format!("DELETE FROM {series} WHERE {filter} AND last_day = ''");
        bound(&sql, s.key, None, &[]).execute(&mut **tx).await?;
        return Ok(());
    }
    let sql = format!("UPDATE {running} SET {sets} WHERE {filter} AND day = ${day_param}");
    if bound(&sql, s.key, Some(day), delta)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        > 0
    {
        return Ok(());
    }
    // A day the series had no row on: the running total before it, plus the delta.
    let sql = format!(
        "SELECT {} FROM {running} WHERE {filter} AND day < ${day_param} ORDER BY day DESC LIMIT 1",
        s.columns.join(", ")
    );
    let before = bound(&sql, s.key, Some(day), &[])
        .fetch_optional(&mut **tx)
        .await?;
    let mut values = delta.to_vec();
    if let Some(b) = before {
        for (i, v) in values.iter_mut().enumerate() {
            *v += b.try_get::<i64, _>(i)?;
        }
    }
    let sql = format!(
        "INSERT INTO {running} ({}, day, {}) VALUES ({})",
        names.join(", "),
        s.columns.join(", "),
        params(k + 1 + s.columns.len())
    );
    bound(&sql, s.key, Some(day), &values)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds `delta` to a per-day sum row (`table`, keyed by `key` and `day`) and `rows` to its count
/// of rows summed (`rows_n`); the row is made when missing and goes when it sums no row.
pub async fn add_day(
    tx: &mut Transaction<'_, Any>,
    table: &'static str,
    key: &[(&'static str, &str)],
    day: &str,
    columns: &[&str],
    rows: i64,
    delta: &[i64],
) -> sqlx::Result<()> {
    let (filter, k) = (key_filter(key), key.len());
    let mut values = vec![rows];
    values.extend_from_slice(delta);
    let names: Vec<&str> = key.iter().map(|(c, _)| *c).collect();
    // Insert first, add on conflict: two instances making the same row both succeed.
    let sql = format!(
        "INSERT INTO {table} ({}, day, rows_n, {}) VALUES ({}) ON CONFLICT DO NOTHING",
        names.join(", "),
        columns.join(", "),
        params(k + 2 + columns.len())
    );
    if bound(&sql, key, Some(day), &values)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1
    {
        return Ok(());
    }
    let sets = add_columns(
        std::iter::once("rows_n").chain(columns.iter().copied()),
        k + 2,
    );
    let sql = format!(
        "UPDATE {table} SET {sets} WHERE {filter} AND day = ${}",
        k + 1
    );
    bound(&sql, key, Some(day), &values)
        .execute(&mut **tx)
        .await?;
    if rows < 0 {
        let sql = format!(
            "DELETE FROM {table} WHERE {filter} AND day = ${} AND rows_n <= 0",
            k + 1
        );
        bound(&sql, key, Some(day), &[]).execute(&mut **tx).await?;
    }
    Ok(())
}
