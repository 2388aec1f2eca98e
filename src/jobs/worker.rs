//! The worker loop: claim a due job, run it by kind, record the outcome with backoff. `serve` runs
//! one in process; `worker` runs one alone; on PostgreSQL any number share the queue.

use std::time::Duration;

use super::queue::{self, Job, JobStatus};
use super::{Kinds, Outcome};
use crate::store::Db;

/// How long a claimed job waited since it was due (0 when taken over from an expired lease early).
/// How long `job` had been due when it was claimed (read before its run).
pub fn queue_age(job: &Job) -> Duration {
    chrono::DateTime::parse_from_rfc3339(&job.next_attempt_at)
        .ok()
        .and_then(|due| {
            (chrono::Utc::now() - due.with_timezone(&chrono::Utc))
                .to_std()
                .ok()
        })
        .unwrap_or_default()
}

/// What a worker needs: the queue, its lease and retry policy, and the kinds it runs.
#[derive(Clone)]
pub struct Worker {
    pub db: Db,
    pub kinds: Kinds,
    pub lease: Duration,
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

impl Worker {
    /// Records how a run of `job` (held by `worker`) ended: done, waiting, due again after a
    /// backoff, or dead. `Running` when the lease was lost meanwhile: the worker holding the job
    /// now records its outcome.
    pub async fn finish(
        &self,
        job: &Job,
        worker: &str,
        outcome: &Outcome,
    ) -> anyhow::Result<JobStatus> {
        let recorded = match outcome {
            Outcome::Done => queue::succeed(&self.db, job, worker)
                .await?
                .then_some(JobStatus::Succeeded),
            Outcome::LeaseLost => None,
            Outcome::Waiting { recheck_in, .. } => queue::wait(&self.db, job, worker, *recheck_in)
                .await?
                .then_some(JobStatus::Pending),
            Outcome::Retry { error, retry_after } => {
                let attempt = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                let delay = queue::backoff(attempt, self.retry_base, self.retry_cap, *retry_after);
                queue::fail(&self.db, job, worker, error, true, delay).await?
            }
            Outcome::Failed { error } => {
                queue::fail(&self.db, job, worker, error, false, Duration::ZERO).await?
            }
        };
        Ok(recorded.unwrap_or(JobStatus::Running))
    }

    /// [`Worker::finish`], and the run counted in the metrics: every run is, whoever ran it (a
    /// worker, or the API running a first attempt itself).
    pub async fn finish_counted(
        &self,
        job: &Job,
        worker: &str,
        outcome: &Outcome,
        queued_for: Duration,
    ) -> anyhow::Result<JobStatus> {
        let status = self.finish(job, worker, outcome).await?;
        crate::metrics::job_run(&job.kind, status.as_str(), job.attempts, queued_for);
        Ok(status)
    }

    /// Claims and runs one due job; false when none was due.
    pub async fn run_one(&self, worker: &str) -> anyhow::Result<bool> {
        let Some(job) = queue::claim(&self.db, worker, self.lease).await? else {
            return Ok(false);
        };
        let queued_for = queue_age(&job);
        let outcome = self.kinds.run(&job, worker).await;
        let status = self
            .finish_counted(&job, worker, &outcome, queued_for)
            .await?;
        let (id, kind, attempt) = (&job.id, &job.kind, job.attempts);
        match &outcome {
            Outcome::Done => tracing::info!(job = %id, %kind, attempt, "job done"),
            Outcome::Waiting { note, .. } => {
                tracing::info!(job = %id, %kind, status = %note, "job waits")
            }
            Outcome::LeaseLost => tracing::warn!(job = %id, %kind, "job's lease was taken over"),
            Outcome::Retry { error, .. } | Outcome::Failed { error } => {
                tracing::warn!(job = %id, %kind, attempt, ?status, %error, "job failed")
            }
        }
        Ok(true)
    }

    /// Runs jobs until stopped, polling every `poll` when idle.
    pub fn spawn(self, poll: Duration) -> Running {
        let worker = format!("worker-{}", uuid::Uuid::now_v7().simple());
        let db = self.db.clone();
        let name = worker.clone();
        let task = tokio::spawn(async move {
            tracing::info!(%worker, "job worker started");
            loop {
                match self.run_one(&worker).await {
                    Ok(true) => {}
                    Ok(false) => tokio::time::sleep(poll).await,
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "job worker: queue unavailable");
                        tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
                    }
                }
            }
        });
        Running { task, name, db }
    }
}

/// A spawned worker.
pub struct Running {
    task: tokio::task::JoinHandle<()>,
    name: String,
    db: Db,
}

impl Running {
    /// Stops the worker and gives back the leases it holds, so another worker takes its jobs at
    /// once rather than when the leases run out.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        match queue::release(&self.db, &self.name).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "job leases given back"),
            Err(e) => {
                tracing::warn!(error = %e, "could not give job leases back; they expire on their own")
            }
        }
    }

    /// Stops the worker without touching its leases (a test of expiring leases).
    pub fn abort(&self) {
        self.task.abort();
    }
}
