//! Buyer webhook deliveries in the database: one row per event (its body as generated, its key,
//! each attempt's outcome), and the push config of the sync that asked for them, credentials
//! opened only here, for the send.

use serde_json::Value;
use sqlx::{FromRow, Row};

use crate::store::db::Db;
#[derive(Debug, Clone, FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub review_id: String,
    pub account_id: String,
    pub push_key: String,
    pub event: String,
    pub idempotency_key: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

const WEBHOOK_COLUMNS: &str =
    "id, review_id, account_id, push_key, event, idempotency_key, body, status, attempts, \
     last_error, delivered_at, created_at";

pub async fn webhooks(db: &Db, review_id: &str) -> anyhow::Result<Vec<WebhookRow>> {
    Ok(sqlx::query_as::<_, WebhookRow>(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM storefront_review_webhooks WHERE review_id = $1 ORDER BY created_at, id"
    ))
    .bind(review_id)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn webhook(db: &Db, id: &str) -> anyhow::Result<Option<WebhookRow>> {
    Ok(sqlx::query_as::<_, WebhookRow>(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM storefront_review_webhooks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Records one delivery attempt: `delivered`, `retrying` or `failed`.
pub async fn record_webhook(
    db: &Db,
    id: &str,
    status: &str,
    attempts: i64,
    error: Option<&str>,
    delivered_at: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE storefront_review_webhooks SET status = $1, attempts = $2, last_error = $3, delivered_at = $4 WHERE id = $5",
    )
    .bind(status)
    .bind(attempts)
    .bind(error.map(|e| e.chars().take(2000).collect::<String>()))
    .bind(delivered_at)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A sync's push config: its URL, the config without credentials, and the credentials opened.
pub struct Push {
    pub url: String,
    pub config: Value,
    pub credentials: Option<String>,
}

pub async fn push_config(db: &Db, account_id: &str, key: &str) -> anyhow::Result<Option<Push>> {
    let row = sqlx::query(
        "SELECT url, config, credentials FROM storefront_push_configs WHERE account_id = $1 AND idempotency_key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let sealed: Option<String> = row.try_get("credentials")?;
    Ok(Some(Push {
        url: row.try_get("url")?,
        config: crate::store::db::from_json(&row.try_get::<String, _>("config")?)?,
        credentials: sealed.map(|s| db.open(&s)).transpose()?,
    }))
}
