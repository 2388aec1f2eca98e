//! The review queue's writes: a sync's submissions, decisions, and what forwarding learns, each
//! with its history and the jobs it calls for in the transaction of the change (a crash leaves a
//! decision with its jobs, or neither).

use serde_json::Value;
use sqlx::{AnyConnection, FromRow, Row};

use super::jobs::{self, Event, ForwardAction, ForwardJob, WebhookJob};
use super::{ReviewStatus, DEFAULT_REJECTION};
use crate::ids::CustomerId;
use crate::jobs::queue;
use crate::store::db::{to_json, Db};
use crate::store::search::fold;
use crate::storefront::sync::Outcome;

/// Webhook jobs are bounded by time (a day, see [`super::webhook`]), not by a count; this is only
/// a backstop far above what a day of capped backoff uses.
pub const WEBHOOK_MAX_ATTEMPTS: u32 = 100_000;

#[derive(Debug, Clone, FromRow)]
pub struct ReviewRow {
    pub id: String,
    pub customer_id: String,
    pub storefront_id: String,
    pub account_id: String,
    pub creative_id: String,
    pub name: String,
    pub payload: String,
    pub content_hash: String,
    pub revision: i64,
    pub status: String,
    pub submitted_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    pub push_key: Option<String>,
    pub context: Option<String>,
    pub forward_status: Option<String>,
    pub forward_attempts: i64,
    pub forward_error: Option<String>,
    pub platform_id: Option<String>,
    pub agent_status: Option<String>,
    pub updated_at: String,
}

impl ReviewRow {
    pub fn status(&self) -> anyhow::Result<ReviewStatus> {
        ReviewStatus::from_db(&self.status).map_err(anyhow::Error::msg)
    }

    pub fn customer(&self) -> CustomerId {
        CustomerId::from_db(self.customer_id.clone())
    }
}

pub(super) const COLUMNS: &str = "r.id, s.customer_id, r.storefront_id, r.account_id, r.creative_id, r.name, r.payload, \
     r.content_hash, r.revision, r.status, r.submitted_at, r.decided_at, r.decided_by, r.note, r.push_key, \
     r.context, r.forward_status, r.forward_attempts, r.forward_error, r.platform_id, r.agent_status, r.updated_at";

/// What a sync submits to the queue, beside its library writes.
pub struct Submission<'a> {
    pub customer: &'a CustomerId,
    pub storefront_id: &'a str,
    pub account_id: &'a str,
    pub manual: bool,
    /// The sync's push config key, when it carried one.
    pub push_key: Option<&'a str>,
    pub context: Option<&'a Value>,
    pub forward_attempts: u32,
}

fn job_id(id: &str) -> String {
    format!("{id}_{}", uuid::Uuid::now_v7().simple())
}

async fn append_history(
    conn: &mut AnyConnection,
    review_id: &str,
    event: &str,
    at: &str,
    actor: Option<&str>,
    note: Option<&str>,
    revision: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO storefront_review_history (review_id, seq, event, at, actor, note, revision) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM storefront_review_history WHERE review_id = $1), \
         $2, $3, $4, $5, $6)",
    )
    .bind(review_id)
    .bind(event)
    .bind(at)
    .bind(actor)
    .bind(note)
    .bind(revision)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every created or updated creative of a sync is a new submission: pending in manual mode; in
/// auto mode approved at once and queued for forwarding.
pub async fn on_sync(
    conn: &mut AnyConnection,
    s: &Submission<'_>,
    outcomes: &[Outcome],
    now: &str,
) -> anyhow::Result<()> {
    let status = if s.manual {
        ReviewStatus::Pending
    } else {
        ReviewStatus::Approved
    };
    let context = s.context.map(to_json);
    for o in outcomes {
        let c = match o {
            Outcome::Created(c) | Outcome::Updated(c, _) => c,
            Outcome::Deleted(id) => {
                // The buyer archived a creative that still waits: it leaves the queue (a decided
                // one keeps its row, the record of the decision).
                sqlx::query(
                    "DELETE FROM storefront_reviews WHERE account_id = $1 AND creative_id = $2 AND status = 'pending'",
                )
                .bind(s.account_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
                continue;
            }
            _ => continue,
        };
        let existing = sqlx::query(
            "SELECT id, revision FROM storefront_reviews WHERE account_id = $1 AND creative_id = $2",
        )
        .bind(s.account_id)
        .bind(&c.creative_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (decided_at, decided_by) = if s.manual {
            (None, None)
        } else {
            (Some(now), Some("auto"))
        };
        let forward_status = (!s.manual).then_some("queued");
        let (id, revision) = match existing {
            Some(row) => {
                let id: String = row.try_get("id")?;
                let revision: i64 = row.try_get::<i64, _>("revision")? + 1;
                sqlx::query(
                    "UPDATE storefront_reviews SET name = $1, payload = $2, content_hash = $3, revision = $4, \
                     status = $5, submitted_at = $6, decided_at = $7, decided_by = $8, note = NULL, push_key = $9, \
                     context = $10, forward_status = $11, forward_attempts = 0, forward_error = NULL, \
                     platform_id = NULL, agent_status = NULL, updated_at = $6, name_folded = $13 WHERE id = $12",
                )
                .bind(&c.name)
                .bind(to_json(&c.payload))
                .bind(&c.content_hash)
                .bind(revision)
                .bind(status.as_db())
                .bind(now)
                .bind(decided_at)
                .bind(decided_by)
                .bind(s.push_key)
                .bind(context.clone())
                .bind(forward_status)
                .bind(&id)
                .bind(fold(&c.name))
                .execute(&mut *conn)
                .await?;
                (id, revision)
            }
            None => {
                let id = job_id("rev");
                sqlx::query(
                    "INSERT INTO storefront_reviews (id, storefront_id, account_id, creative_id, name, payload, \
                     content_hash, revision, status, submitted_at, decided_at, decided_by, note, push_key, context, \
                     forward_status, forward_attempts, forward_error, platform_id, agent_status, updated_at, \
                     name_folded, creative_id_folded) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, NULL, $12, $13, $14, 0, NULL, NULL, NULL, $9, \
                     $15, $16)",
                )
                .bind(&id)
                .bind(s.storefront_id)
                .bind(s.account_id)
                .bind(&c.creative_id)
                .bind(&c.name)
                .bind(to_json(&c.payload))
                .bind(&c.content_hash)
                .bind(status.as_db())
                .bind(now)
                .bind(decided_at)
                .bind(decided_by)
                .bind(s.push_key)
                .bind(context.clone())
                .bind(forward_status)
                .bind(fold(&c.name))
                .bind(fold(&c.creative_id))
                .execute(&mut *conn)
                .await?;
                (id, 1)
            }
        };
        append_history(conn, &id, "submitted", now, None, None, revision).await?;
        if !s.manual {
            append_history(conn, &id, "approved", now, Some("auto"), None, revision).await?;
            enqueue_forward(
                conn,
                s.customer,
                &id,
                revision,
                ForwardAction::Sync,
                s.forward_attempts,
            )
            .await?;
        }
    }
    Ok(())
}

async fn enqueue_forward(
    conn: &mut AnyConnection,
    customer: &CustomerId,
    review_id: &str,
    revision: i64,
    action: ForwardAction,
    max_attempts: u32,
) -> anyhow::Result<()> {
    let payload = ForwardJob {
        review_id: review_id.to_owned(),
        revision,
        action,
        task_id: None,
    };
    queue::enqueue(
        &mut *conn,
        jobs::forward(customer.clone(), &payload, max_attempts)?,
    )
    .await?;
    Ok(())
}

async fn enqueue_webhook(
    conn: &mut AnyConnection,
    row: &ReviewRow,
    event: &str,
    item: Value,
    message: String,
    now: &str,
) -> anyhow::Result<()> {
    let Some(push_key) = &row.push_key else {
        return Ok(());
    };
    let id = job_id("whk");
    let body = Event {
        item,
        message,
        timestamp: now.to_owned(),
        context: row
            .context
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok()),
    };
    sqlx::query(
        "INSERT INTO storefront_review_webhooks (id, review_id, account_id, push_key, event, idempotency_key, body, \
         status, attempts, last_error, delivered_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, NULL, NULL, $8)",
    )
    .bind(&id)
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(push_key)
    .bind(event)
    // A random key per event (AdCP: cryptographically random, reused on every retry).
    .bind(format!("whk_{}", uuid::Uuid::new_v4().simple()))
    .bind(to_json(&body))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    queue::enqueue(
        &mut *conn,
        jobs::send_webhook(
            row.customer(),
            &WebhookJob { webhook_id: id },
            WEBHOOK_MAX_ATTEMPTS,
        )?,
    )
    .await?;
    Ok(())
}

/// How a decision attempt ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Decided {
    Done,
    /// The row was no longer in the status (or submission) the decision was made on: another
    /// operator or a new submission came first.
    Lost,
}

/// Applies a decision made on `row` (read as `from`): one conditional UPDATE, so of two operators
/// deciding at once exactly one wins; with its history, the library's status, the forwarding job
/// and the buyer's webhook in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    db: &Db,
    row: &ReviewRow,
    from: ReviewStatus,
    to: ReviewStatus,
    actor: &str,
    note: Option<&str>,
    now: &str,
    forward_attempts: u32,
) -> anyhow::Result<Decided> {
    let mut tx = db.pool.begin().await?;
    let forward_status = match to {
        ReviewStatus::Approved => Some("queued"),
        ReviewStatus::Revoked => Some("archiving"),
        _ => row.forward_status.as_deref(),
    };
    // A revoke keeps the approval's decision fields in history; the row shows the latest gesture.
    let done = sqlx::query(
        "UPDATE storefront_reviews SET status = $1, decided_at = $2, decided_by = $3, note = $4, \
         forward_status = $5, updated_at = $2 WHERE id = $6 AND status = $7 AND revision = $8",
    )
    .bind(to.as_db())
    .bind(now)
    .bind(actor)
    .bind(note)
    .bind(forward_status)
    .bind(&row.id)
    .bind(from.as_db())
    .bind(row.revision)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(Decided::Lost);
    }
    append_history(
        &mut tx,
        &row.id,
        to.as_db(),
        now,
        Some(actor),
        note,
        row.revision,
    )
    .await?;
    let library_note = (to == ReviewStatus::Rejected).then(|| note.unwrap_or(DEFAULT_REJECTION));
    sqlx::query(
        "UPDATE storefront_creatives SET status = $1, review_note = $2, updated_at = $3 \
         WHERE account_id = $4 AND creative_id = $5 AND content_hash = $6",
    )
    .bind(to.library_status())
    .bind(library_note)
    .bind(now)
    .bind(&row.account_id)
    .bind(&row.creative_id)
    .bind(&row.content_hash)
    .execute(&mut *tx)
    .await?;
    match to {
        ReviewStatus::Approved => {
            enqueue_forward(
                &mut tx,
                &row.customer(),
                &row.id,
                row.revision,
                ForwardAction::Sync,
                forward_attempts,
            )
            .await?
        }
        ReviewStatus::Revoked => {
            enqueue_forward(
                &mut tx,
                &row.customer(),
                &row.id,
                row.revision,
                ForwardAction::Archive,
                forward_attempts,
            )
            .await?
        }
        _ => {}
    }
    let item = super::decision_item(&row.creative_id, to, note);
    let message = match to {
        ReviewStatus::Approved => format!("creative {} was approved", row.creative_id),
        ReviewStatus::Rejected => format!("creative {} was rejected", row.creative_id),
        // The revoke's note (why the seller pulled it) is for the buyer too: the archived item
        // itself has no place for it.
        ReviewStatus::Revoked => format!(
            "creative {} was revoked and archived{}",
            row.creative_id,
            note.map(|n| format!(": {n}")).unwrap_or_default()
        ),
        ReviewStatus::Pending => String::new(),
    };
    enqueue_webhook(&mut tx, row, to.as_db(), item, message, now).await?;
    tx.commit().await?;
    Ok(Decided::Done)
}

/// What the underlying agent did with a forwarded creative.
#[derive(Debug)]
pub enum AgentVerdict {
    /// It holds the creative (or archived it): its id and status for it.
    Held {
        platform_id: Option<String>,
        agent_status: Option<String>,
    },
    /// It queued the sync as a task of its own.
    Queued { task_id: String, status: String },
    /// It refused this creative.
    Rejected { message: String },
}

/// Records the agent's answer to a forwarding job of `revision`; an agent rejection also puts the
/// creative's library status to rejected with the agent's message and tells the buyer. Nothing is
/// written for a superseded revision.
pub async fn record_forwarded(
    db: &Db,
    row: &ReviewRow,
    action: ForwardAction,
    attempts: i64,
    verdict: AgentVerdict,
    now: &str,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    let (status, platform_id, agent_status, error) = match &verdict {
        AgentVerdict::Held {
            platform_id,
            agent_status,
        } => (
            match action {
                ForwardAction::Sync => "forwarded",
                ForwardAction::Archive => "archived",
            },
            platform_id.clone().or_else(|| row.platform_id.clone()),
            agent_status.clone(),
            None,
        ),
        AgentVerdict::Queued { task_id, status } => (
            "submitted",
            row.platform_id.clone(),
            Some(status.clone()),
            Some(format!("the agent queued task {task_id}")),
        ),
        AgentVerdict::Rejected { message } => (
            "rejected",
            row.platform_id.clone(),
            None,
            Some(message.clone()),
        ),
    };
    let done = sqlx::query(
        "UPDATE storefront_reviews SET forward_status = $1, forward_attempts = $2, forward_error = $3, \
         platform_id = $4, agent_status = $5, updated_at = $6 WHERE id = $7 AND revision = $8",
    )
    .bind(status)
    .bind(attempts)
    .bind(error)
    .bind(platform_id)
    .bind(agent_status)
    .bind(now)
    .bind(&row.id)
    .bind(row.revision)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(());
    }
    if let AgentVerdict::Rejected { message } = &verdict {
        append_history(
            &mut tx,
            &row.id,
            "agent_rejected",
            now,
            Some("sales agent"),
            Some(message),
            row.revision,
        )
        .await?;
        sqlx::query(
            "UPDATE storefront_creatives SET status = 'rejected', review_note = $1, updated_at = $2 \
             WHERE account_id = $3 AND creative_id = $4 AND content_hash = $5",
        )
        .bind(message)
        .bind(now)
        .bind(&row.account_id)
        .bind(&row.creative_id)
        .bind(&row.content_hash)
        .execute(&mut *tx)
        .await?;
        let item = super::rejected_item(&row.creative_id, message);
        let text = format!("the sales agent rejected creative {}", row.creative_id);
        enqueue_webhook(&mut tx, row, "agent_rejected", item, text, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records a failed forwarding attempt: retrying, or dead after the last one.
pub async fn record_forward_failure(
    db: &Db,
    row: &ReviewRow,
    attempts: i64,
    dead: bool,
    error: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE storefront_reviews SET forward_status = $1, forward_attempts = $2, forward_error = $3, updated_at = $4 \
         WHERE id = $5 AND revision = $6",
    )
    .bind(if dead { "dead" } else { "retrying" })
    .bind(attempts)
    .bind(error.chars().take(2000).collect::<String>())
    .bind(now)
    .bind(&row.id)
    .bind(row.revision)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Folds the names and creative ids of queue rows stored before the folded columns existed
/// (migration 0033).
pub async fn fill_folded(db: &Db) -> anyhow::Result<usize> {
    crate::store::search::fill_folded(
        db,
        "storefront_reviews",
        &["id"],
        &[
            ("name", "name_folded"),
            ("creative_id", "creative_id_folded"),
        ],
    )
    .await
}
