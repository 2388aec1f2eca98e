//! Propagation of manifests to sales agents over AdCP: which manifests each seller gets, the AdCP
//! calls, and one job's run. It is one kind of durable job ([`Propagate`]; the queue and worker are
//! in `crate::jobs`).

pub mod calls;
pub mod digest;
pub mod job;
pub mod packages;
pub mod reconcile;
pub mod review;
pub mod run;
pub mod selection;
pub mod transport;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use crate::ids::{CampaignId, CreativeId, CustomerId, SalesAgentId};
use crate::jobs::queue::{self, Job, JobStatus, NewJob};
use crate::jobs::{JobKind, Outcome};
use crate::store::Db;
use run::{Payload, Propagator, Reason};

/// The job kind that brings one seller up to date with a campaign (see `run.rs`).
pub struct Propagate(pub Propagator);

impl JobKind for Propagate {
    const NAME: &'static str = "propagate";
    type Payload = Payload;

    fn run<'a>(
        &'a self,
        job: &'a Job,
        worker: &'a str,
        payload: Payload,
    ) -> BoxFuture<'a, Outcome> {
        async move { self.0.run(job, worker, payload).await.1 }.boxed()
    }
}

/// A seller's webhook about job `job_id` (its token already checked): if the job waits for that
/// task, it is due now; the run that follows asks the seller how the task stands. False when the
/// job waits for no such task (already done, or a stale or repeated webhook).
pub async fn wake_for_task(
    db: &Db,
    job_id: &str,
    task_id: Option<&str>,
) -> anyhow::Result<Option<bool>> {
    let Some(job) = queue::get(db, job_id).await? else {
        return Ok(None);
    };
    let waits_for = job
        .payload
        .get("pending_task")
        .and_then(|t| t.get("task_id"))
        .and_then(Value::as_str);
    let matches = waits_for.is_some() && (task_id.is_none() || task_id == waits_for);
    if job.status != JobStatus::Pending || !matches {
        return Ok(Some(false));
    }
    Ok(Some(queue::due_now(db, &job).await?))
}

/// Queues a re-sync of `creative` to every seller of the campaign that has a media buy or a
/// propagation under way, in the transaction that changes the creative: both commit, or neither.
pub async fn enqueue_resync(
    tx: &mut Transaction<'_, Any>,
    customer: &CustomerId,
    campaign: &CampaignId,
    creative: &CreativeId,
    reason: Reason,
    max_attempts: u32,
) -> anyhow::Result<usize> {
    let sellers: Vec<String> = sqlx::query(
        "SELECT sales_agent_id FROM media_buys WHERE campaign_id = $1 \
         UNION SELECT sales_agent_id FROM jobs WHERE campaign_id = $1 AND kind = $2 \
           AND status IN ('pending', 'running') AND sales_agent_id IS NOT NULL",
    )
    .bind(campaign.as_str().to_owned())
    .bind(Propagate::NAME)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.try_get("sales_agent_id"))
    .collect::<Result<_, _>>()?;
    for seller in &sellers {
        queue::enqueue(
            &mut **tx,
            NewJob::of::<Propagate>(
                customer.clone(),
                &Payload::new(reason, Some(vec![creative.to_string()])),
                max_attempts,
            )?
            .in_lane(campaign.clone(), SalesAgentId::from_db(seller.clone())),
        )
        .await?;
    }
    Ok(sellers.len())
}
