//! Durable jobs: the queue in the metadata database (`queue`), the kinds of job and the one list
//! of them (`kinds`), and the worker that claims due jobs, runs them by kind and records how each
//! run ended (`worker`).
//!
//! Adding a kind: implement [`JobKind`] beside the domain it serves (its name, payload type and
//! run), and add one `.with(...)` line to `services::job_kinds`. Enqueue it with [`queue::NewJob::of`].

pub mod kinds;
pub mod queue;
pub mod worker;

use std::time::Duration;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use kinds::Kinds;
pub use queue::{Job, JobStatus, NewJob};
pub use worker::Worker;

/// How one run of a job ended; the worker records it (see [`Worker::finish`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished: the job succeeds.
    Done,
    /// Not a failure: someone else (a seller's queued task) has to finish first. The job is due
    /// again after `recheck_in`, and the attempt this run took is given back.
    Waiting { note: String, recheck_in: Duration },
    /// Another worker holds the job now: nothing more is written.
    LeaseLost,
    /// Worth another try: due again after the backoff (never before `retry_after`), or dead once
    /// its attempts are spent.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Failed for good: the job is dead, with `error` kept for people to see.
    Failed { error: String },
}

impl Outcome {
    pub fn failed(error: impl Into<String>) -> Outcome {
        Outcome::Failed {
            error: error.into(),
        }
    }
}

/// A kind of job: its stored name, the payload it carries, and how one run goes.
pub trait JobKind: Send + Sync + 'static {
    /// Stored in `jobs.kind`; never rename one that may still be queued.
    const NAME: &'static str;
    type Payload: Serialize + DeserializeOwned + Send;

    /// Runs `job` (held by `worker`, its payload already decoded).
    fn run<'a>(
        &'a self,
        job: &'a Job,
        worker: &'a str,
        payload: Self::Payload,
    ) -> BoxFuture<'a, Outcome>;
}
