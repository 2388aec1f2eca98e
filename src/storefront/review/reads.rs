//! Reading the review queue: one row, the customer's rows for a creative id, a filtered page of
//! the queue, a row's history; and what forwarding and decisions read beside it (the buyer's
//! package assignments, the deciding key's name).

use serde_json::{json, Value};
use sqlx::Row;

use super::store::{ReviewRow, COLUMNS};
use super::ReviewStatus;
use crate::ids::CustomerId;
use crate::store::db::Db;
pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<ReviewRow>> {
    Ok(sqlx::query_as::<_, ReviewRow>(&format!(
        "SELECT {COLUMNS} FROM storefront_reviews r JOIN storefronts s ON s.id = r.storefront_id WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// The customer's rows for a buyer's creative id, narrowed by account and storefront.
pub async fn find(
    db: &Db,
    customer: &CustomerId,
    creative_id: &str,
    account_id: Option<&str>,
    storefront_id: Option<&str>,
) -> anyhow::Result<Vec<ReviewRow>> {
    Ok(sqlx::query_as::<_, ReviewRow>(&format!(
        "SELECT {COLUMNS} FROM storefront_reviews r JOIN storefronts s ON s.id = r.storefront_id \
         WHERE s.customer_id = $1 AND r.creative_id = $2 AND ($3 IS NULL OR r.account_id = $3) \
         AND ($4 IS NULL OR r.storefront_id = $4) ORDER BY r.account_id"
    ))
    .bind(customer.as_str().to_owned())
    .bind(creative_id)
    .bind(account_id.map(str::to_owned))
    .bind(storefront_id.map(str::to_owned))
    .fetch_all(&db.pool)
    .await?)
}

/// The queue's filters.
pub struct Query<'a> {
    /// None: every status.
    pub status: Option<ReviewStatus>,
    pub storefront_id: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub search: Option<&'a str>,
    pub take: i64,
    pub skip: i64,
}

/// One page of the customer's queue, newest submission first, and how many rows match. `search`
/// is a substring of the name or the creative id, both folded in Rust as the needle is
/// (`store::search`; SQL `LOWER` folds only ASCII on SQLite), migration 0033.
pub async fn list(
    db: &Db,
    customer: &CustomerId,
    q: &Query<'_>,
) -> anyhow::Result<(Vec<ReviewRow>, i64)> {
    let filter = "s.customer_id = $1 AND ($2 IS NULL OR r.status = $2) AND ($3 IS NULL OR r.storefront_id = $3) \
         AND ($4 IS NULL OR r.account_id = $4) \
         AND ($5 IS NULL OR r.name_folded LIKE $5 ESCAPE '\\' OR r.creative_id_folded LIKE $5 ESCAPE '\\')";
    let pattern = q.search.map(crate::store::search::like_contains);
    let count_sql = format!(
        "SELECT COUNT(*) AS n FROM storefront_reviews r JOIN storefronts s ON s.id = r.storefront_id WHERE {filter}"
    );
    let total: i64 = sqlx::query(&count_sql)
        .bind(customer.as_str().to_owned())
        .bind(q.status.map(|s| s.as_db().to_owned()))
        .bind(q.storefront_id.map(str::to_owned))
        .bind(q.account_id.map(str::to_owned))
        .bind(pattern.clone())
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let rows = sqlx::query_as::<_, ReviewRow>(&format!(
        "SELECT {COLUMNS} FROM storefront_reviews r JOIN storefronts s ON s.id = r.storefront_id WHERE {filter} \
         ORDER BY r.submitted_at DESC, r.id DESC LIMIT {} OFFSET {}",
        q.take, q.skip
    ))
    .bind(customer.as_str().to_owned())
    .bind(q.status.map(|s| s.as_db().to_owned()))
    .bind(q.storefront_id.map(str::to_owned))
    .bind(q.account_id.map(str::to_owned))
    .bind(pattern.clone())
    .fetch_all(&db.pool)
    .await?;
    Ok((rows, total))
}

pub async fn history(db: &Db, review_id: &str) -> anyhow::Result<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT seq, event, at, actor, note, revision FROM storefront_review_history WHERE review_id = $1 ORDER BY seq",
    )
    .bind(review_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({
                "event": r.try_get::<String, _>("event")?,
                "at": r.try_get::<String, _>("at")?,
                "by": r.try_get::<Option<String>, _>("actor")?,
                "note": r.try_get::<Option<String>, _>("note")?,
                "submission": r.try_get::<i64, _>("revision")?,
            }))
        })
        .collect()
}

/// The packages the buyer assigned a creative to (the library keeps them, additive).
pub async fn packages(db: &Db, account_id: &str, creative_id: &str) -> anyhow::Result<Vec<String>> {
    let row = sqlx::query(
        "SELECT assignments FROM storefront_creatives WHERE account_id = $1 AND creative_id = $2",
    )
    .bind(account_id)
    .bind(creative_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(vec![]) };
    let list: Vec<Value> = crate::store::db::from_json(&row.try_get::<String, _>("assignments")?)?;
    Ok(list
        .iter()
        .filter_map(|a| a["package_id"].as_str().map(str::to_owned))
        .collect())
}

/// The label of the API key that made a request (`decided_by`), or its id when unlabelled.
pub async fn key_name(db: &Db, key: &str) -> anyhow::Result<Option<String>> {
    let row = sqlx::query("SELECT id, label FROM api_keys WHERE key_hash = $1")
        .bind(crate::store::customers::hash_key(key))
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .map(|r| -> sqlx::Result<String> {
            let label: Option<String> = r.try_get("label")?;
            Ok(label
                .filter(|l| !l.trim().is_empty())
                .unwrap_or(r.try_get("id")?))
        })
        .transpose()?)
}
