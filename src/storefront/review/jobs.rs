//! What the review queue's two durable jobs carry, and how a job of each is made: shared by the
//! store (which enqueues them in the transaction of a decision) and the kinds that run them
//! ([`super::forward::Forward`], [`super::webhook::SendWebhook`]), so neither side imports the other.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::CustomerId;
use crate::jobs::queue::NewJob;

/// `jobs.kind` of the forwarding job (never rename one that may still be queued).
pub const FORWARD: &str = "storefront_forward";
/// `jobs.kind` of the buyer-webhook job.
pub const SEND_WEBHOOK: &str = "storefront_webhook";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardAction {
    /// Send the approved creative.
    Sync,
    /// Archive the revoked creative at the agent.
    Archive,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForwardJob {
    pub review_id: String,
    /// The submission the decision was made on: a job for an older one has nothing to do.
    pub revision: i64,
    pub action: ForwardAction,
    /// The agent queued the sync as this task: later runs poll it instead of sending again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WebhookJob {
    pub webhook_id: String,
}

/// The event a webhook carries, as generated once (the envelope is added at each send).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// The `creatives[]` item of the `sync_creatives` result.
    pub item: Value,
    pub message: String,
    pub timestamp: String,
    #[serde(default)]
    pub context: Option<Value>,
}

fn job(kind: &str, customer: CustomerId, payload: Value, max_attempts: u32) -> NewJob {
    NewJob {
        kind: kind.into(),
        customer,
        campaign: None,
        sales_agent: None,
        payload,
        max_attempts,
    }
}

/// A forwarding job (no lane: each approval is its own job, keyed by review and revision).
pub fn forward(
    customer: CustomerId,
    payload: &ForwardJob,
    max_attempts: u32,
) -> anyhow::Result<NewJob> {
    Ok(job(
        FORWARD,
        customer,
        serde_json::to_value(payload)?,
        max_attempts,
    ))
}

/// A buyer-webhook job.
pub fn send_webhook(
    customer: CustomerId,
    payload: &WebhookJob,
    max_attempts: u32,
) -> anyhow::Result<NewJob> {
    Ok(job(
        SEND_WEBHOOK,
        customer,
        serde_json::to_value(payload)?,
        max_attempts,
    ))
}
