//! A buyer account's creative library, its sync idempotency keys and sealed push configs in the
//! database. A sync's writes, its idempotency answer and its push config commit in one transaction:
//! whatever an answer acknowledges is visible to the next read, and a crash leaves nothing half done.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{FromRow, Row};

use super::idempotency::Stored;
use super::library::Listed;
use super::list_sql::ListSql;
use super::sync::{Current, Outcome};
use crate::ids::AccountId;
use crate::store::db::{from_json, to_json, Backend, Db};
use crate::store::search::fold;

#[derive(FromRow)]
struct CurrentRow {
    creative_id: String,
    payload: String,
    content_hash: String,
    status: String,
    review_note: Option<String>,
}

/// The account's creatives with these ids.
pub async fn current(
    db: &Db,
    account: &AccountId,
    ids: &[String],
) -> anyhow::Result<HashMap<String, Current>> {
    let mut out = HashMap::new();
    // One query per chunk keeps the bind count far below every engine's limit.
    for chunk in ids.chunks(100) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT creative_id, payload, content_hash, status, review_note FROM storefront_creatives \
             WHERE account_id = $1 AND creative_id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, CurrentRow>(&sql).bind(account.as_str().to_owned());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&db.pool).await? {
            out.insert(
                r.creative_id.clone(),
                Current {
                    creative_id: r.creative_id,
                    payload: from_json(&r.payload)?,
                    content_hash: r.content_hash,
                    status: r.status,
                    review_note: r.review_note,
                },
            );
        }
    }
    Ok(out)
}

/// Ids of the account's creatives that are not archived (what `delete_missing` may archive).
pub async fn live_ids(db: &Db, account: &AccountId) -> sqlx::Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT creative_id FROM storefront_creatives WHERE account_id = $1 AND status <> 'archived' ORDER BY creative_id",
    )
    .bind(account.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get("creative_id")).collect()
}

/// Every creative id of the account, archived ones included (delivery can be asked of them).
pub async fn live_and_archived_ids(
    db: &Db,
    account: &AccountId,
) -> sqlx::Result<std::collections::HashSet<String>> {
    let rows = sqlx::query("SELECT creative_id FROM storefront_creatives WHERE account_id = $1")
        .bind(account.as_str().to_owned())
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| r.try_get("creative_id")).collect()
}

/// The outcome of claiming an idempotency key.
pub enum Claim {
    /// The key is ours: run the request, then [`apply`] with the answer or [`release`].
    Fresh,
    /// The key was seen (and not expired).
    Seen(Stored),
}

/// Claims `key` for a request with `hash`. Expired keys are forgotten first; an in-flight claim
/// older than `in_flight_max` is taken to have died with its process and is dropped too.
pub async fn claim(
    db: &Db,
    account: &AccountId,
    key: &str,
    hash: &str,
    now: &str,
    expires_at: &str,
    in_flight_before: &str,
) -> sqlx::Result<Claim> {
    sqlx::query(
        "DELETE FROM storefront_idempotency WHERE account_id = $1 AND idempotency_key = $2 \
         AND (expires_at < $3 OR (state = 'in_flight' AND created_at < $4))",
    )
    .bind(account.as_str().to_owned())
    .bind(key)
    .bind(now)
    .bind(in_flight_before)
    .execute(&db.pool)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO storefront_idempotency (account_id, idempotency_key, request_hash, state, response, created_at, expires_at) \
         VALUES ($1, $2, $3, 'in_flight', NULL, $4, $5) ON CONFLICT (account_id, idempotency_key) DO NOTHING",
    )
    .bind(account.as_str().to_owned())
    .bind(key)
    .bind(hash)
    .bind(now)
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    let row = sqlx::query(
        "SELECT request_hash, state, response FROM storefront_idempotency WHERE account_id = $1 AND idempotency_key = $2",
    )
    .bind(account.as_str().to_owned())
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        // Released between our insert and read: the caller may simply retry; treat as in flight.
        return Ok(Claim::Seen(Stored::InFlight {
            request_hash: hash.to_owned(),
        }));
    };
    let request_hash: String = row.try_get("request_hash")?;
    let state: String = row.try_get("state")?;
    let response: Option<String> = row.try_get("response")?;
    Ok(Claim::Seen(match (state.as_str(), response) {
        ("done", Some(response)) => Stored::Done {
            request_hash,
            response,
        },
        ("in_flight", _) => Stored::InFlight { request_hash },
        (other, _) => {
            return Err(sqlx::Error::Decode(
                format!("unknown idempotency state '{other}'").into(),
            ))
        }
    }))
}

/// Forgets idempotency keys past their replay window (the janitor runs this); returns how many.
pub async fn forget_expired(db: &Db, now: &str) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM storefront_idempotency WHERE expires_at < $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Gives a claimed key back (the request failed: only successes are kept).
pub async fn release(db: &Db, account: &AccountId, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM storefront_idempotency WHERE account_id = $1 AND idempotency_key = $2 AND state = 'in_flight'",
    )
    .bind(account.as_str().to_owned())
    .bind(key)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A push-notification config as stored: credentials already sealed.
pub struct PushConfig {
    pub url: String,
    pub config: Value,
    pub sealed_credentials: Option<String>,
}

/// Everything a successful sync writes.
pub struct Write<'a> {
    pub account: &'a AccountId,
    pub outcomes: &'a [Outcome],
    pub status: &'a str,
    /// (creative_id, package_id) pairs, added to what is stored.
    pub assignments: &'a [(String, String)],
    pub now: &'a str,
    pub idempotency_key: &'a str,
    pub answer: &'a str,
    pub push: Option<PushConfig>,
    /// What the sync submits to the review queue (its new and changed creatives).
    pub review: super::review::store::Submission<'a>,
}

pub async fn apply(db: &Db, w: Write<'_>) -> anyhow::Result<()> {
    let account = w.account.as_str().to_owned();
    let mut tx = db.pool.begin().await?;
    for o in w.outcomes {
        match o {
            Outcome::Created(c) => {
                sqlx::query(
                    "INSERT INTO storefront_creatives (account_id, creative_id, name, format_key, payload, content_hash, tags, status, review_note, assignments, created_at, updated_at, name_folded) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, '[]', $9, $9, $10)",
                )
                .bind(&account)
                .bind(&c.creative_id)
                .bind(&c.name)
                .bind(&c.format_key)
                .bind(to_json(&c.payload))
                .bind(&c.content_hash)
                .bind(to_json(&c.tags))
                .bind(w.status)
                .bind(w.now)
                .bind(fold(&c.name))
                .execute(&mut *tx)
                .await?;
                replace_tags(&mut tx, &account, &c.creative_id, &c.tags).await?;
            }
            Outcome::Updated(c, _) => {
                sqlx::query(
                    "UPDATE storefront_creatives SET name = $1, format_key = $2, payload = $3, content_hash = $4, tags = $5, \
                     status = $6, review_note = NULL, updated_at = $7, name_folded = $8 WHERE account_id = $9 AND creative_id = $10",
                )
                .bind(&c.name)
                .bind(&c.format_key)
                .bind(to_json(&c.payload))
                .bind(&c.content_hash)
                .bind(to_json(&c.tags))
                .bind(w.status)
                .bind(w.now)
                .bind(fold(&c.name))
                .bind(&account)
                .bind(&c.creative_id)
                .execute(&mut *tx)
                .await?;
                replace_tags(&mut tx, &account, &c.creative_id, &c.tags).await?;
            }
            // An archived creative keeps its tags: `statuses: ["archived"]` with `tags` finds it.
            Outcome::Deleted(id) => {
                sqlx::query(
                    "UPDATE storefront_creatives SET status = 'archived', updated_at = $1 WHERE account_id = $2 AND creative_id = $3",
                )
                .bind(w.now)
                .bind(&account)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            Outcome::Unchanged { .. } | Outcome::Failed { .. } => {}
        }
    }
    // Assignments are additive: each (creative, package) once, with the date it was first assigned.
    for (creative, package) in w.assignments {
        let row = sqlx::query(
            "SELECT assignments FROM storefront_creatives WHERE account_id = $1 AND creative_id = $2",
        )
        .bind(&account)
        .bind(creative)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { continue };
        let mut list: Vec<Value> = from_json(&row.try_get::<String, _>("assignments")?)?;
        if list.iter().any(|a| a["package_id"] == package.as_str()) {
            continue;
        }
        list.push(serde_json::json!({"package_id": package, "assigned_date": w.now}));
        sqlx::query(
            "UPDATE storefront_creatives SET assignments = $1 WHERE account_id = $2 AND creative_id = $3",
        )
        .bind(to_json(&list))
        .bind(&account)
        .bind(creative)
        .execute(&mut *tx)
        .await?;
    }
    // The review queue's rows and jobs commit with the library: a creative the answer calls
    // pending_review is in the queue, and an auto-approved one is queued for forwarding.
    let push_key = w.push.is_some().then_some(w.idempotency_key);
    let review = super::review::store::Submission {
        push_key,
        ..w.review
    };
    super::review::store::on_sync(&mut tx, &review, w.outcomes, w.now).await?;
    if let Some(p) = w.push {
        sqlx::query(
            "INSERT INTO storefront_push_configs (account_id, idempotency_key, url, config, credentials, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, idempotency_key) DO NOTHING",
        )
        .bind(&account)
        .bind(w.idempotency_key)
        .bind(&p.url)
        .bind(to_json(&p.config))
        .bind(p.sealed_credentials)
        .bind(w.now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE storefront_idempotency SET state = 'done', response = $1 WHERE account_id = $2 AND idempotency_key = $3",
    )
    .bind(w.answer)
    .bind(&account)
    .bind(w.idempotency_key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Folds the names of creatives stored before `name_folded` existed (migration 0020).
pub async fn fill_name_folded(db: &Db) -> anyhow::Result<usize> {
    crate::store::search::fill_folded(
        db,
        "storefront_creatives",
        &["account_id", "creative_id"],
        &[("name", "name_folded")],
    )
    .await
}

/// The creative's rows in the tag table (what `tags` / `tags_any` read), made to match `tags`;
/// in the transaction that writes the creative, so the two never disagree.
async fn replace_tags(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: &str,
    creative_id: &str,
    tags: &[String],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM storefront_creative_tags WHERE account_id = $1 AND creative_id = $2")
        .bind(account)
        .bind(creative_id)
        .execute(&mut **tx)
        .await?;
    for tag in tags {
        // A tag listed twice is one row.
        sqlx::query(
            "INSERT INTO storefront_creative_tags (account_id, creative_id, tag) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(account)
        .bind(creative_id)
        .bind(tag)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct ListedRow {
    creative_id: String,
    name: String,
    format_key: String,
    status: String,
    tags: String,
    assignments: String,
    review_note: Option<String>,
    created_at: String,
    updated_at: String,
}

/// One page of `list_creatives` (`size + 1` rows at most, so the caller learns `has_more`) and
/// the matching rows grouped by (status, format_key) for the summaries: two queries, neither of
/// which brings the account's rows into memory. Both read one snapshot (one read-only transaction,
/// repeatable read on PostgreSQL, where read committed gives each statement its own), so the page
/// and `query_summary`'s total agree even while a sync commits between them.
pub async fn list(
    db: &Db,
    q: &ListSql,
) -> anyhow::Result<(Vec<Listed>, Vec<(String, String, i64)>)> {
    let mut page_sql = format!(
        "SELECT creative_id, name, format_key, status, tags, assignments, review_note, created_at, updated_at \
         FROM storefront_creatives WHERE {}",
        q.filter
    );
    if let Some((after, _)) = &q.after {
        page_sql.push_str(" AND ");
        page_sql.push_str(after);
    }
    page_sql.push_str(&format!(" ORDER BY {} LIMIT {}", q.order_by, q.size + 1));
    let mut page = sqlx::query_as::<_, ListedRow>(&page_sql);
    for v in q
        .binds
        .iter()
        .chain(q.after.iter().flat_map(|(_, binds)| binds.iter()))
    {
        page = page.bind(v.clone());
    }
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        // Must be the transaction's first statement. SQLite needs nothing: a transaction's reads
        // share the snapshot its first read took.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let rows = page.fetch_all(&mut *tx).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(Listed {
                creative_id: r.creative_id,
                name: r.name,
                format_key: r.format_key,
                status: r.status,
                tags: from_json(&r.tags)?,
                assignments: from_json(&r.assignments)?,
                review_note: r.review_note,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let count_sql = format!(
        "SELECT status, format_key, COUNT(*) AS n FROM storefront_creatives WHERE {} \
         GROUP BY status, format_key",
        q.filter
    );
    let mut count = sqlx::query(&count_sql);
    for v in &q.binds {
        count = count.bind(v.clone());
    }
    let groups = count
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("status")?,
                r.try_get("format_key")?,
                r.try_get("n")?,
            ))
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    tx.commit().await?;
    Ok((items, groups))
}

/// The stored payloads of these creatives (a page's assets).
pub async fn payloads(
    db: &Db,
    account: &AccountId,
    ids: &[String],
) -> anyhow::Result<HashMap<String, Value>> {
    Ok(current(db, account, ids)
        .await?
        .into_iter()
        .map(|(k, c)| (k, c.payload))
        .collect())
}
