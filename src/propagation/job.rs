//! What a propagation job carries and tells: its payload (what to send and how far it got), the
//! report of what the seller answered, and how a run fails. The run itself is in `run.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calls::{CallError, Task};
use crate::adcp::mcp::McpError;
use crate::jobs::Outcome;

/// `sync_creatives` and inline packages carry at most this many creatives (AdCP `maxItems`).
pub const BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Library,
    Inline,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Library => "library",
            Transport::Inline => "inline",
        }
    }

    pub fn parse(s: &str) -> Option<Transport> {
        match s {
            "library" => Some(Transport::Library),
            "inline" => Some(Transport::Inline),
            _ => None,
        }
    }
}

/// Why the job exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Execute,
    Created,
    Updated,
    Deleted,
}

/// A job's payload: what to send, and how far it got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload {
    pub reason: Reason,
    /// Creatives to (re)send through `sync_creatives`; `None` means all the seller needs, fixed
    /// at the first attempt so batches keep their contents and keys across retries.
    #[serde(default)]
    pub creative_ids: Option<Vec<String>>,
    /// Sync batches the seller has confirmed.
    #[serde(default)]
    pub done_batches: usize,
    /// How the job carries the creatives: decided at its first run, replaced by `inline` if it
    /// falls back; retries keep to it.
    #[serde(default)]
    pub transport: Option<Transport>,
    #[serde(default)]
    pub fallback_reason: Option<String>,
    /// The `create_media_buy` request as first sent (without its key), resent unchanged.
    #[serde(default)]
    pub create_request: Option<Value>,
    /// A task the seller queued and has not finished: the next run polls it instead of sending.
    #[serde(default)]
    pub pending_task: Option<PendingTask>,
}

/// A queued seller task, and which step of the job it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingTask {
    /// `s{n}` (sync batch n), `buy` (create) or `update`.
    pub step: String,
    #[serde(flatten)]
    pub task: Task,
    /// When the seller first queued it; the timeout counts from here.
    pub since: String,
}

impl Payload {
    pub fn new(reason: Reason, creative_ids: Option<Vec<String>>) -> Payload {
        Payload {
            reason,
            creative_ids,
            done_batches: 0,
            transport: None,
            fallback_reason: None,
            create_request: None,
            pending_task: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SellerStatus {
    Succeeded,
    /// Failed for now; the job retries.
    Retrying,
    Failed,
    /// Nothing to send: the campaign buys nothing from this seller any more.
    Skipped,
    /// Another job for this seller is still under way.
    InProgress,
    /// The seller queued the request (`seller_task`); the job follows it up.
    Waiting,
}

/// One creative as the seller answered for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreativeReport {
    pub creative_id: String,
    #[schema(required = true)]
    pub action: Option<String>,
    #[schema(required = true)]
    pub status: Option<String>,
    pub errors: Vec<Value>,
}

/// What happened at one seller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SellerReport {
    pub sales_agent_id: String,
    #[schema(required = true)]
    pub name: Option<String>,
    pub status: SellerStatus,
    #[schema(required = true)]
    pub transport: Option<Transport>,
    #[schema(required = true)]
    pub fallback_reason: Option<String>,
    #[schema(required = true)]
    pub media_buy_id: Option<String>,
    #[schema(required = true)]
    pub media_buy_status: Option<String>,
    pub creatives_sent: usize,
    pub creatives: Vec<CreativeReport>,
    #[schema(required = true)]
    pub error: Option<String>,
    /// The task the seller queued, while the job waits for it.
    #[schema(value_type = Option<Object>, required = true)]
    pub seller_task: Option<Task>,
    /// The job as `propagation` shows it (its view).
    #[schema(value_type = Option<Object>, required = true)]
    pub job: Option<Value>,
}

impl SellerReport {
    pub fn new(agent: &str) -> SellerReport {
        SellerReport {
            sales_agent_id: agent.to_owned(),
            name: None,
            status: SellerStatus::Succeeded,
            transport: None,
            fallback_reason: None,
            media_buy_id: None,
            media_buy_status: None,
            creatives_sent: 0,
            creatives: Vec::new(),
            error: None,
            seller_task: None,
            job: None,
        }
    }
}

/// Why a run stopped short of done; `?` carries it out of the run, and [`RunError::outcome`] turns
/// it into the job's [`crate::jobs::Outcome`].
#[derive(Debug)]
pub enum RunError {
    /// Not a failure: the seller queued a task, and the job waits for it.
    Waiting(Task),
    /// Another worker holds the job now: stop, change nothing more.
    LeaseLost,
    /// Worth another try (a 503, a time-out, our own storage), not before `retry_after`.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Failed for good (a refusal, a campaign that cannot be bought).
    Permanent(String),
}

impl RunError {
    pub fn permanent(message: impl Into<String>) -> RunError {
        RunError::Permanent(message.into())
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, RunError::Transient { .. })
    }

    /// What people are told about it.
    pub fn message(&self) -> String {
        match self {
            RunError::Waiting(task) => format!(
                "waiting for the seller's task {} ({}){}",
                task.task_id,
                task.status,
                task.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            RunError::LeaseLost => "the job's lease was taken over by another worker".into(),
            RunError::Transient { message, .. } | RunError::Permanent(message) => message.clone(),
        }
    }

    /// The job's outcome; a queued task is looked at again after `task_poll`.
    pub fn outcome(self, task_poll: Duration) -> Outcome {
        match self {
            RunError::Waiting(_) => Outcome::Waiting {
                note: self.message(),
                recheck_in: task_poll,
            },
            RunError::LeaseLost => Outcome::LeaseLost,
            RunError::Transient {
                message,
                retry_after,
            } => Outcome::Retry {
                error: message,
                retry_after,
            },
            RunError::Permanent(error) => Outcome::Failed { error },
        }
    }
}

impl From<CallError> for RunError {
    fn from(e: CallError) -> Self {
        if e.is_transient() {
            RunError::Transient {
                retry_after: e.retry_after(),
                message: e.to_string(),
            }
        } else {
            RunError::Permanent(e.to_string())
        }
    }
}

impl From<McpError> for RunError {
    fn from(e: McpError) -> Self {
        CallError::from(e).into()
    }
}

/// Our own storage failing is worth another try.
impl From<anyhow::Error> for RunError {
    fn from(e: anyhow::Error) -> Self {
        RunError::Transient {
            message: format!("storage: {e:#}"),
            retry_after: None,
        }
    }
}

impl From<sqlx::Error> for RunError {
    fn from(e: sqlx::Error) -> Self {
        anyhow::Error::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_a_run_stops_is_its_own_job_outcome() {
        let poll = Duration::from_secs(5);
        let task: Task = serde_json::from_value(serde_json::json!(
            {"task_id": "t1", "status": "submitted", "message": "IO to sign"}
        ))
        .unwrap();
        assert_eq!(
            RunError::Waiting(task).outcome(poll),
            Outcome::Waiting {
                note: "waiting for the seller's task t1 (submitted): IO to sign".into(),
                recheck_in: poll
            }
        );
        assert_eq!(RunError::LeaseLost.outcome(poll), Outcome::LeaseLost);
        let busy = RunError::Transient {
            message: "HTTP 503".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert!(busy.is_transient());
        assert_eq!(
            busy.outcome(poll),
            Outcome::Retry {
                error: "HTTP 503".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        let refused = RunError::permanent("refused");
        assert!(!refused.is_transient());
        assert_eq!(refused.outcome(poll), Outcome::failed("refused"));
    }
}
