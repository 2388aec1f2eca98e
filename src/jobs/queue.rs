//! A durable job queue in the metadata database.
//!
//! Claiming is one statement: on PostgreSQL the candidate row is locked with `FOR UPDATE SKIP
//! LOCKED`, so many workers never take the same job; on SQLite writes are serialised, so the same
//! statement is atomic there too. A claim is a lease: if its worker dies, the job is taken over once
//! the lease expires. The idempotency key is fixed at creation and reused on every attempt, so a
//! seller that saw an attempt whose answer was lost recognises the retry.

use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use anyhow::Context;

use super::JobKind;
use crate::ids::{CampaignId, CustomerId, SalesAgentId};
use crate::store::db::{from_json, now, to_json, Backend, Db};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    Succeeded,
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }

    /// A stored status; one this code does not know (written by a newer version, or by hand) is an
    /// error, never read as another status.
    pub fn parse(s: &str) -> anyhow::Result<JobStatus> {
        match s {
            "pending" => Ok(JobStatus::Pending),
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "dead" => Ok(JobStatus::Dead),
            other => anyhow::bail!("unknown job status '{other}'"),
        }
    }
}

pub struct NewJob {
    pub kind: String,
    pub customer: CustomerId,
    pub campaign: Option<CampaignId>,
    pub sales_agent: Option<SalesAgentId>,
    pub payload: Value,
    pub max_attempts: u32,
    /// Jobs with the same key are one job while unfinished (see [`enqueue_held_once`]).
    pub dedup_key: Option<String>,
}

/// What [`enqueue_held_once`] did.
#[derive(Debug)]
pub enum Enqueued {
    /// The job was added (held for its creator).
    New(Job),
    /// An unfinished job with the same dedup key already existed: this is it, untouched.
    Joined(Job),
}

impl NewJob {
    /// A job of kind `K` carrying `payload`, with no lane (see [`NewJob::in_lane`]).
    pub fn of<K: JobKind>(
        customer: CustomerId,
        payload: &K::Payload,
        max_attempts: u32,
    ) -> anyhow::Result<NewJob> {
        NewJob::named(K::NAME, customer, payload, max_attempts)
    }

    /// A job of the kind named `kind`: for code that enqueues a kind it must not import (the
    /// kind imports it), sharing the name as a constant with the kind's `NAME`.
    pub fn named(
        kind: &str,
        customer: CustomerId,
        payload: &impl serde::Serialize,
        max_attempts: u32,
    ) -> anyhow::Result<NewJob> {
        Ok(NewJob {
            kind: kind.into(),
            customer,
            campaign: None,
            sales_agent: None,
            payload: serde_json::to_value(payload).context("job payload")?,
            max_attempts,
            dedup_key: None,
        })
    }

    /// While unfinished, the job is the only one keyed `key` (see [`enqueue_held_once`]).
    #[must_use]
    pub fn once_open(mut self, key: String) -> NewJob {
        self.dedup_key = Some(key);
        self
    }

    /// The job runs in the lane of `campaign` and `sales_agent`: one at a time, oldest first.
    #[must_use]
    pub fn in_lane(mut self, campaign: CampaignId, sales_agent: SalesAgentId) -> NewJob {
        self.campaign = Some(campaign);
        self.sales_agent = Some(sales_agent);
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub customer_id: String,
    pub campaign_id: Option<String>,
    pub sales_agent_id: Option<String>,
    pub payload: Value,
    pub idempotency_key: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_at: String,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, kind, customer_id, campaign_id, sales_agent_id, payload, idempotency_key, status, \
     attempts, max_attempts, next_attempt_at, lease_owner, lease_expires_at, last_error, created_at, updated_at";

fn from_row(r: &AnyRow) -> anyhow::Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        customer_id: r.try_get("customer_id")?,
        campaign_id: r.try_get("campaign_id")?,
        sales_agent_id: r.try_get("sales_agent_id")?,
        payload: from_json(&r.try_get::<String, _>("payload")?)?,
        idempotency_key: r.try_get("idempotency_key")?,
        status: JobStatus::parse(&r.try_get::<String, _>("status")?)
            .with_context(|| format!("job {}", r.try_get::<String, _>("id").unwrap_or_default()))?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_expires_at: r.try_get("lease_expires_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn at(offset: Duration) -> String {
    let t =
        chrono::Utc::now() + chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::zero());
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Adds a job, due now. Its idempotency key is made here, once. `ex` is the pool, or the
/// transaction of the change that calls for the job, so the two commit together.
pub async fn enqueue<'e, E>(ex: E, job: NewJob) -> anyhow::Result<Job>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    insert(ex, job, None).await
}

/// [`enqueue_held`], unless an unfinished job with the same `dedup_key` exists (or is being added
/// by someone else at this moment, on any replica): then that job, which this caller joins. The
/// database decides (a unique index over unfinished jobs' keys), so two racing callers never both
/// add one.
pub async fn enqueue_held_once(db: &Db, job: NewJob, hold: Duration) -> anyhow::Result<Enqueued> {
    let key = job
        .dedup_key
        .clone()
        .context("enqueue_held_once needs a dedup key")?;
    let NewJob {
        kind,
        customer,
        campaign,
        sales_agent,
        payload,
        max_attempts,
        dedup_key,
    } = job;
    // The open job may finish between a refused insert and the read that looks for it: then
    // there is room again, and the insert is tried anew (a few times; each round means another
    // job of this key ran to its end meanwhile).
    for _ in 0..5 {
        let attempt = NewJob {
            kind: kind.clone(),
            customer: customer.clone(),
            campaign: campaign.clone(),
            sales_agent: sales_agent.clone(),
            payload: payload.clone(),
            max_attempts,
            dedup_key: dedup_key.clone(),
        };
        if let Some(new) = insert_unless_open(&db.pool, attempt, hold).await? {
            return Ok(Enqueued::New(new));
        }
        let open = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE dedup_key = $1 AND status IN ('pending', 'running')"
        ))
        .bind(&key)
        .fetch_optional(&db.pool)
        .await?;
        if let Some(row) = open {
            return Ok(Enqueued::Joined(from_row(&row)?));
        }
    }
    anyhow::bail!("jobs keyed '{key}' keep finishing while one is being added")
}

/// Adds a job that only its creator may take for `hold` (it runs the first attempt at once, with
/// [`claim_id`]); should the creator die first, the job falls due to the workers when `hold` ends.
pub async fn enqueue_held(db: &Db, job: NewJob, hold: Duration) -> anyhow::Result<Job> {
    insert(&db.pool, job, Some(hold)).await
}

async fn insert<'e, E>(ex: E, job: NewJob, hold: Option<Duration>) -> anyhow::Result<Job>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    insert_row(ex, job, hold, "")
        .await?
        .context("a job insert returned no row")
}

/// Adds the job unless an unfinished job has its dedup key; `None` then.
async fn insert_unless_open<'e, E>(
    ex: E,
    job: NewJob,
    hold: Duration,
) -> anyhow::Result<Option<Job>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    insert_row(
        ex,
        job,
        Some(hold),
        " ON CONFLICT (dedup_key) WHERE status IN ('pending', 'running') DO NOTHING",
    )
    .await
}

async fn insert_row<'e, E>(
    ex: E,
    job: NewJob,
    hold: Option<Duration>,
    on_conflict: &str,
) -> anyhow::Result<Option<Job>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let id = format!("job_{}", uuid::Uuid::now_v7().simple());
    let key = format!("cmx-{}", uuid::Uuid::now_v7().simple());
    let t = now();
    let due = hold.map_or_else(|| t.clone(), at);
    let row = sqlx::query(&format!(
        "INSERT INTO jobs ({COLUMNS}, dedup_key) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $10, NULL, NULL, NULL, $9, $9, $11)\
         {on_conflict} RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&job.kind)
    .bind(job.customer.as_str().to_owned())
    .bind(job.campaign.as_ref().map(|c| c.as_str().to_owned()))
    .bind(job.sales_agent.as_ref().map(|s| s.as_str().to_owned()))
    .bind(to_json(&job.payload))
    .bind(&key)
    .bind(i64::from(job.max_attempts.max(1)))
    .bind(&t)
    .bind(due)
    .bind(job.dedup_key)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Takes the next due job (or one whose lease expired) for `worker`, for `lease`. Jobs of one
/// campaign and seller (a lane) run one at a time, oldest pending first: a re-sync never overtakes
/// the execute that creates the media buy it updates, and never runs beside a job of its lane that
/// is running, even a newer one (two executes may insert their jobs in either order). A running job
/// whose lease expired is taken over whatever waits behind it: it already holds the lane.
pub async fn claim(db: &Db, worker: &str, lease: Duration) -> anyhow::Result<Option<Job>> {
    claim_where(
        db,
        worker,
        lease,
        "((j.status = 'pending' AND j.next_attempt_at <= $3) OR (j.status = 'running' AND j.lease_expires_at < $3))",
        None,
    )
    .await
}

/// Takes job `id` for `worker` whether due or not, if it is pending, nothing of its lane runs and
/// no older job of its lane is pending.
pub async fn claim_id(
    db: &Db,
    id: &str,
    worker: &str,
    lease: Duration,
) -> anyhow::Result<Option<Job>> {
    claim_where(
        db,
        worker,
        lease,
        "j.status = 'pending' AND j.id = $4",
        Some(id),
    )
    .await
}

async fn claim_where(
    db: &Db,
    worker: &str,
    lease: Duration,
    condition: &str,
    id: Option<&str>,
) -> anyhow::Result<Option<Job>> {
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let t = now();
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
         updated_at = $3 WHERE id = (SELECT j.id FROM jobs j WHERE {condition} \
           AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.campaign_id = j.campaign_id \
             AND o.sales_agent_id = j.sales_agent_id AND o.id <> j.id \
             AND (o.status = 'running' OR (o.status = 'pending' AND j.status = 'pending' AND o.id < j.id))) \
           ORDER BY j.next_attempt_at, j.id LIMIT 1{lock}) \
         RETURNING {COLUMNS}"
    );
    let mut query = sqlx::query(&sql).bind(worker).bind(at(lease)).bind(&t);
    if let Some(id) = id {
        query = query.bind(id);
    }
    match query.fetch_optional(&db.pool).await {
        Ok(row) => row.as_ref().map(from_row).transpose(),
        // Two claims in one lane raced past the check above; the index `jobs_one_running_per_lane`
        // let one through. The other lane's job waits for its turn.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Gives back every job `worker` holds (at shutdown): due again now, so another worker takes it at
/// once instead of after its lease. The interrupted attempt stays counted; its idempotency key makes
/// the next attempt safe. Returns how many were given back.
pub async fn release(db: &Db, worker: &str) -> sqlx::Result<u64> {
    let t = now();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'pending', next_attempt_at = $1, lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $1 WHERE status = 'running' AND lease_owner = $2",
    )
    .bind(&t)
    .bind(worker)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the job done, if `worker` still holds it. False when the lease was taken over.
pub async fn succeed(db: &Db, job: &Job, worker: &str) -> sqlx::Result<bool> {
    let query = sqlx::query(
        "UPDATE jobs SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
         WHERE id = $2 AND status = 'running' AND lease_owner = $3",
    )
    .bind(now());
    if_held(db, query, job, worker).await
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Runs `query` (whose last two placeholders are the job id and the lease owner) on the job, if
/// `worker` still holds it; false when the lease was taken over.
async fn if_held(db: &Db, query: AnyQuery<'_>, job: &Job, worker: &str) -> sqlx::Result<bool> {
    let done = query
        .bind(job.id.clone())
        .bind(worker.to_owned())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records a failed attempt: the job is due again after `retry_in` when the error is transient and
/// attempts remain, else it is dead (kept, with its last error, for people to see). `None` when
/// the worker no longer held the job, and nothing was written.
pub async fn fail(
    db: &Db,
    job: &Job,
    worker: &str,
    error: &str,
    transient: bool,
    retry_in: Duration,
) -> sqlx::Result<Option<JobStatus>> {
    let status = if transient && job.attempts < job.max_attempts {
        JobStatus::Pending
    } else {
        JobStatus::Dead
    };
    let error: String = error.chars().take(2000).collect();
    let query = sqlx::query(
        "UPDATE jobs SET status = $1, next_attempt_at = $2, last_error = $3, lease_owner = NULL, \
         lease_expires_at = NULL, updated_at = $4 WHERE id = $5 AND status = 'running' AND lease_owner = $6",
    )
    .bind(status.as_str())
    .bind(at(retry_in))
    .bind(error)
    .bind(now());
    Ok(if_held(db, query, job, worker).await?.then_some(status))
}

/// Puts the job back to wait for the seller (a task it queued, kept in the payload) and look again
/// after `poll`. Waiting is not a failed attempt: the attempt this run took is given back.
pub async fn wait(db: &Db, job: &Job, worker: &str, poll: Duration) -> sqlx::Result<bool> {
    let query = sqlx::query(
        "UPDATE jobs SET status = 'pending', attempts = attempts - 1, next_attempt_at = $1, \
         lease_owner = NULL, lease_expires_at = NULL, updated_at = $2 \
         WHERE id = $3 AND status = 'running' AND lease_owner = $4",
    )
    .bind(at(poll))
    .bind(now());
    if_held(db, query, job, worker).await
}

/// Makes a pending job due now, if it is still as `job` read it; false when it changed meanwhile.
pub async fn due_now(db: &Db, job: &Job) -> sqlx::Result<bool> {
    let t = now();
    let done = sqlx::query(
        "UPDATE jobs SET next_attempt_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'pending' AND updated_at = $3",
    )
    .bind(&t)
    .bind(&job.id)
    .bind(&job.updated_at)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Replaces the job's payload (its progress, e.g. batches done) and renews the lease for `lease`,
/// if `worker` still holds it; false when another worker took it over.
pub async fn save_payload(
    db: &Db,
    job: &Job,
    worker: &str,
    payload: &Value,
    lease: Duration,
) -> sqlx::Result<bool> {
    let query = sqlx::query(
        "UPDATE jobs SET payload = $1, updated_at = $2, lease_expires_at = $3 \
         WHERE id = $4 AND status = 'running' AND lease_owner = $5",
    )
    .bind(to_json(payload))
    .bind(now())
    .bind(at(lease));
    if_held(db, query, job, worker).await
}

/// The oldest unfinished job of a campaign and seller, if any.
pub async fn unfinished(
    db: &Db,
    campaign: &CampaignId,
    agent: &SalesAgentId,
) -> anyhow::Result<Option<Job>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE campaign_id = $1 AND sales_agent_id = $2 \
         AND status IN ('pending', 'running') ORDER BY id LIMIT 1"
    ))
    .bind(campaign.as_str().to_owned())
    .bind(agent.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Job>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Delay before attempt `attempt + 1`: exponential from `base`, capped at `cap`, with full jitter
/// (a uniform share of it), and never less than the seller's `Retry-After`.
pub fn backoff(
    attempt: u32,
    base: Duration,
    cap: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(30)));
    let ceiling = exp.min(cap);
    let jittered = ceiling.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
    retry_after.map_or(jittered, |r| jittered.max(r.min(MAX_RETRY_AFTER)))
}

/// The longest a seller's `Retry-After` holds a job back: a day, whatever it asks (a typo of a
/// year must not park a job for good).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The jobs of a campaign, newest first.
pub async fn for_campaign(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
) -> anyhow::Result<Vec<Job>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE customer_id = $1 AND campaign_id = $2 ORDER BY created_at DESC, id DESC"
    ))
    .bind(customer.as_str().to_owned())
    .bind(campaign.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_and_an_unknown_one_is_an_error() {
        for s in [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Dead,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()).unwrap(), s);
        }
        let e = JobStatus::parse("paused").unwrap_err();
        assert!(e.to_string().contains("'paused'"), "{e}");
    }

    #[test]
    fn backoff_grows_caps_jitters_and_honours_retry_after() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(60));
        for attempt in 1..=10 {
            let d = backoff(attempt, base, cap, None);
            let ceiling = (base * 2u32.pow(attempt - 1)).min(cap);
            assert!(d <= ceiling && d >= ceiling / 2, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(40, base, cap, None) <= cap);
        assert_eq!(
            backoff(1, base, cap, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        assert_eq!(
            backoff(1, base, cap, Some(Duration::from_secs(u64::MAX))),
            MAX_RETRY_AFTER
        );
    }
}
