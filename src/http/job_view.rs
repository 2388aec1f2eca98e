//! A propagation job as the API shows it (the job list of a campaign, execute's and refresh's
//! answers).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::jobs::queue::{Job, JobStatus};
use crate::propagation::job::{Reason, Transport};

/// A propagation job as the buyer sees it: what it sends, where it stands, what went wrong.
#[derive(Serialize, ToSchema)]
pub struct JobView<'a> {
    attempts: i64,
    created_at: &'a str,
    #[schema(required = true)]
    creative_count: Option<usize>,
    #[schema(value_type = Option<String>, required = true)]
    fallback_reason: Option<&'a Value>,
    idempotency_key: &'a str,
    job_id: &'a str,
    kind: &'a str,
    #[schema(required = true)]
    last_error: Option<&'a str>,
    max_attempts: i64,
    #[schema(required = true)]
    next_attempt_at: Option<&'a str>,
    #[schema(value_type = Option<Reason>, required = true)]
    reason: Option<&'a Value>,
    #[schema(required = true)]
    sales_agent_id: Option<&'a str>,
    /// The seller queued this job's request; the job polls it (see `propagation::run`).
    #[schema(value_type = Option<Object>, required = true)]
    seller_task: Option<&'a Value>,
    status: &'a JobStatus,
    #[schema(value_type = Option<Transport>, required = true)]
    transport: Option<&'a Value>,
    updated_at: &'a str,
}

pub fn job(j: &Job) -> JobView<'_> {
    let payload = &j.payload;
    JobView {
        attempts: j.attempts,
        created_at: &j.created_at,
        creative_count: payload
            .get("creative_ids")
            .and_then(Value::as_array)
            .map(Vec::len),
        fallback_reason: payload.get("fallback_reason"),
        idempotency_key: &j.idempotency_key,
        job_id: &j.id,
        kind: &j.kind,
        last_error: j.last_error.as_deref(),
        max_attempts: j.max_attempts,
        next_attempt_at: (j.status == JobStatus::Pending).then_some(j.next_attempt_at.as_str()),
        reason: payload.get("reason"),
        sales_agent_id: j.sales_agent_id.as_deref(),
        seller_task: payload.get("pending_task"),
        status: &j.status,
        transport: payload.get("transport"),
        updated_at: &j.updated_at,
    }
}
