//! The worker loop: claim a due job, run it, record the outcome with backoff. `serve` runs one in
//! process; `worker` runs one alone; on PostgreSQL any number share the queue.

use std::time::Duration;

use serde_json::Value;

use super::queue::{self, Job, JobStatus};
use super::run::{Propagator, RunError, KIND};
use crate::store::Db;

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

impl Propagator {
    /// Records how a run of `job` ended: done, due again after a backoff, or dead. `Running` when
    /// the lease was lost meanwhile: the worker holding the job now records its outcome.
    pub async fn finish(
        &self,
        job: &Job,
        worker: &str,
        result: &Result<(), RunError>,
    ) -> anyhow::Result<JobStatus> {
        let recorded = match result {
            Ok(()) => queue::succeed(&self.db, job, worker)
                .await?
                .then_some(JobStatus::Succeeded),
            Err(e) if e.lease_lost => None,
            Err(e) if e.waiting_for.is_some() => queue::wait(&self.db, job, worker, self.task_poll)
                .await?
                .then_some(JobStatus::Pending),
            Err(e) => {
                let attempt = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                let delay = queue::backoff(attempt, self.retry_base, self.retry_cap, e.retry_after);
                queue::fail(&self.db, job, worker, &e.message, e.transient, delay).await?
            }
        };
        Ok(recorded.unwrap_or(JobStatus::Running))
    }

    /// Claims and runs one due job; false when none was due.
    pub async fn run_one(&self, worker: &str) -> anyhow::Result<bool> {
        let Some(job) = queue::claim(&self.db, worker, self.lease).await? else {
            return Ok(false);
        };
        let result = if job.kind == KIND {
            self.run(&job, worker).await.1
        } else {
            Err(RunError::permanent(format!(
                "unknown job kind '{}'",
                job.kind
            )))
        };
        let status = self.finish(&job, worker, &result).await?;
        match &result {
            Ok(()) => tracing::info!(job = %job.id, attempt = job.attempts, "propagation job done"),
            Err(e) if e.waiting_for.is_some() => {
                tracing::info!(job = %job.id, status = %e.message, "propagation job waits for the seller")
            }
            Err(e) => {
                tracing::warn!(job = %job.id, attempt = job.attempts, ?status, error = %e.message, "propagation job failed")
            }
        }
        Ok(true)
    }

    /// Runs jobs until the task is dropped, polling every `poll` when idle.
    pub fn spawn_worker(self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let worker = format!("worker-{}", uuid::Uuid::now_v7().simple());
        tokio::spawn(async move {
            tracing::info!(%worker, "propagation worker started");
            loop {
                match self.run_one(&worker).await {
                    Ok(true) => {}
                    Ok(false) => tokio::time::sleep(poll).await,
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "propagation worker: queue unavailable");
                        tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
                    }
                }
            }
        })
    }
}
