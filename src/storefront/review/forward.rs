//! Forwarding an approved creative to the storefront's underlying sales agent, as a durable job:
//! `sync_creatives` with the creative verbatim as the buyer submitted it, under the storefront's
//! own credentials for that agent, the buyer's account mapped to the agent's, and the buyer's
//! package assignments passed on. A revoke archives it there the same way. The job's idempotency
//! key is fixed when the approval (or revoke) is recorded and reused on every retry, so a retry
//! after a lost answer or a restart is recognised by the agent and applied once.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::jobs::{self, ForwardAction, ForwardJob};
use super::store::{self, AgentVerdict, ReviewRow};
use super::ReviewStatus;
use crate::adcp::mcp::McpClient;
use crate::ids::{AccountId, StorefrontId};
use crate::jobs::{Job, JobKind, Outcome};
use crate::outbound::Outbound;
use crate::propagation::calls::{self, CallError, Reply, SyncAnswer, TaskState};
use crate::store::db::{from_json, now, Db};
use crate::store::sales_agents::SalesAgent;
use crate::storefront::Account;

/// The job kind.
pub struct Forward {
    pub db: Db,
    pub outbound: Outbound,
    /// How long a run holds the job (renewed when it saves the agent's task id).
    pub lease: Duration,
    /// How often a task the agent queued is polled.
    pub task_poll: Duration,
    /// How long a queued task may stay unfinished before the forwarding gives up.
    pub task_timeout: Duration,
}

/// The agent's account for this buyer: the agent's own account id when the storefront registered
/// one, else the buyer's natural key (its first brand, operated by its operator or itself).
pub fn agent_account(agent_account_id: Option<&str>, buyer: &Account) -> Value {
    match agent_account_id {
        Some(id) => json!({"account_id": id}),
        None => {
            let brand = buyer.brand_domains.first().cloned().unwrap_or_default();
            json!({"brand": {"domain": brand}, "operator": buyer.operator.clone().unwrap_or(brand)})
        }
    }
}

/// The `sync_creatives` request the agent receives. `Sync` carries the creative exactly as
/// submitted; `Archive` the same creative with `status: "archived"` (AdCP has no archive task:
/// `core/creative-asset.json` lets a sync set a creative's status), scoped to it by
/// `creative_ids` so nothing else in the agent's library is touched.
pub fn request(
    action: ForwardAction,
    creative: &Value,
    account: Value,
    packages: &[String],
    idempotency_key: &str,
) -> Value {
    let creative_id = creative["creative_id"].clone();
    let mut req = json!({"idempotency_key": idempotency_key, "account": account});
    match action {
        ForwardAction::Sync => {
            req["creatives"] = json!([creative]);
            if !packages.is_empty() {
                req["assignments"] = packages
                    .iter()
                    .map(|p| json!({"creative_id": creative_id, "package_id": p}))
                    .collect();
            }
        }
        ForwardAction::Archive => {
            let mut archived = creative.clone();
            archived["status"] = json!("archived");
            req["creatives"] = json!([archived]);
            req["creative_ids"] = json!([creative_id]);
        }
    }
    req
}

/// What the agent's answer says about our creative.
pub fn verdict(
    answer: &SyncAnswer,
    creative_id: &str,
    platform_id: Option<String>,
) -> AgentVerdict {
    match answer
        .creatives
        .iter()
        .find(|c| c.creative_id == creative_id)
    {
        Some(c) if c.held() => AgentVerdict::Held {
            platform_id,
            agent_status: c.status.clone(),
        },
        Some(c) => AgentVerdict::Rejected {
            message: if c.errors.is_empty() {
                format!("the sales agent answered '{}' for this creative", c.action)
            } else {
                calls::summary(&c.errors)
            },
        },
        None => AgentVerdict::Rejected {
            message: "the sales agent's answer does not mention this creative".into(),
        },
    }
}

impl JobKind for Forward {
    const NAME: &'static str = jobs::FORWARD;
    type Payload = ForwardJob;

    fn run<'a>(&'a self, job: &'a Job, worker: &'a str, p: ForwardJob) -> BoxFuture<'a, Outcome> {
        async move {
            match self.attempt(job, worker, &p).await {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Retry {
                    error: format!("{e:#}"),
                    retry_after: None,
                },
            }
        }
        .boxed()
    }
}

impl Forward {
    async fn attempt(&self, job: &Job, worker: &str, p: &ForwardJob) -> anyhow::Result<Outcome> {
        let Some(row) = super::reads::get(&self.db, &p.review_id).await? else {
            return Ok(Outcome::Done); // the storefront or account was deleted
        };
        let wanted = match p.action {
            ForwardAction::Sync => ReviewStatus::Approved,
            ForwardAction::Archive => ReviewStatus::Revoked,
        };
        if row.revision != p.revision || row.status()? != wanted {
            // Superseded by a new submission (or revoked before it was sent): nothing to send.
            return Ok(Outcome::Done);
        }
        let (agent, account) = match self.agent_and_account(&row).await? {
            Some(found) => found,
            None => {
                let error = "the storefront's sales agent or the buyer account no longer exists";
                store::record_forward_failure(&self.db, &row, job.attempts, true, error, &now())
                    .await?;
                return Ok(Outcome::failed(error));
            }
        };
        let creative: Value = from_json(&row.payload)?;
        let packages = super::reads::packages(&self.db, &row.account_id, &row.creative_id).await?;
        let agent_account = agent_account(agent.account_id.as_deref(), &account);
        let answer = match &p.task_id {
            Some(task_id) => self.poll(&agent, task_id, &agent_account).await,
            None => {
                let args = request(
                    p.action,
                    &creative,
                    agent_account,
                    &packages,
                    &job.idempotency_key,
                );
                self.send(&agent, args).await
            }
        };
        match answer {
            Ok(Reply::Done(raw)) => {
                let (answer, platform_id) = match read_answer(raw, &row.creative_id) {
                    Ok(read) => read,
                    Err(e) => return self.failed(job, &row, e).await,
                };
                let v = verdict(&answer, &row.creative_id, platform_id);
                store::record_forwarded(&self.db, &row, p.action, job.attempts, v, &now()).await?;
                Ok(Outcome::Done)
            }
            Ok(Reply::Queued(task)) => {
                let age = chrono::DateTime::parse_from_rfc3339(&job.created_at)
                    .map(|t| chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                    .ok()
                    .and_then(|d| d.to_std().ok())
                    .unwrap_or_default();
                if age > self.task_timeout {
                    let error = format!(
                        "the sales agent's task {} stayed {} past the time allowed",
                        task.task_id, task.status
                    );
                    store::record_forward_failure(
                        &self.db,
                        &row,
                        job.attempts,
                        true,
                        &error,
                        &now(),
                    )
                    .await?;
                    return Ok(Outcome::failed(error));
                }
                // Kept in the payload, so the next run (in any process) polls the task instead
                // of sending again.
                if p.task_id.as_deref() != Some(task.task_id.as_str()) {
                    let saved = ForwardJob {
                        task_id: Some(task.task_id.clone()),
                        ..p.clone()
                    };
                    let held = crate::jobs::queue::save_payload(
                        &self.db,
                        job,
                        worker,
                        &serde_json::to_value(&saved)?,
                        self.lease,
                    )
                    .await?;
                    if !held {
                        return Ok(Outcome::LeaseLost);
                    }
                }
                let v = AgentVerdict::Queued {
                    task_id: task.task_id.clone(),
                    status: task.status.clone(),
                };
                store::record_forwarded(&self.db, &row, p.action, job.attempts, v, &now()).await?;
                Ok(Outcome::Waiting {
                    note: format!("the sales agent's task {} is {}", task.task_id, task.status),
                    recheck_in: self.task_poll,
                })
            }
            Err(e) => self.failed(job, &row, e).await,
        }
    }

    /// A failed attempt: retried when the error is transient and attempts remain, else dead; the
    /// row says which, with the error.
    async fn failed(&self, job: &Job, row: &ReviewRow, e: CallError) -> anyhow::Result<Outcome> {
        let error = e.to_string();
        let transient = e.is_transient();
        let dead = !transient || job.attempts >= job.max_attempts;
        store::record_forward_failure(&self.db, row, job.attempts, dead, &error, &now()).await?;
        Ok(if transient {
            Outcome::Retry {
                error,
                retry_after: e.retry_after(),
            }
        } else {
            Outcome::failed(error)
        })
    }

    async fn agent_and_account(
        &self,
        row: &ReviewRow,
    ) -> anyhow::Result<Option<(SalesAgent, Account)>> {
        let customer = row.customer();
        let sf = StorefrontId::from_db(row.storefront_id.clone());
        let Some(storefront) = crate::storefront::store::get(&self.db, &customer, &sf).await?
        else {
            return Ok(None);
        };
        let account = crate::storefront::store::get_account(
            &self.db,
            &sf,
            &AccountId::from_db(row.account_id.clone()),
        )
        .await?;
        let agent =
            crate::store::sales_agents::get(&self.db, &customer, &storefront.sales_agent_id)
                .await?;
        Ok(agent.zip(account))
    }

    /// Sends the request: the agent's answer as sent, or the task it queued.
    async fn send(&self, agent: &SalesAgent, args: Value) -> Result<Reply<Value>, CallError> {
        let mut client = McpClient::connect(
            &self.outbound,
            &agent.endpoint_url,
            agent.auth_token.as_ref(),
        )
        .await?;
        let raw = calls::send_raw(&mut client, "sync_creatives", args).await?;
        // A queued answer is a task to poll; anything else is read by [`read_answer`].
        match calls::completed::<SyncAnswer>(raw.clone()) {
            Ok(Reply::Queued(task)) => Ok(Reply::Queued(task)),
            _ => Ok(Reply::Done(raw)),
        }
    }

    /// Asks the agent how the task it queued stands.
    async fn poll(
        &self,
        agent: &SalesAgent,
        task_id: &str,
        account: &Value,
    ) -> Result<Reply<Value>, CallError> {
        let mut client = McpClient::connect(
            &self.outbound,
            &agent.endpoint_url,
            agent.auth_token.as_ref(),
        )
        .await?;
        match calls::task_status(&mut client, task_id, Some(account)).await? {
            TaskState::Completed(result) => Ok(Reply::Done(result)),
            TaskState::Unfinished(task) => Ok(Reply::Queued(task)),
        }
    }
}

/// The agent's `sync_creatives` answer read as AdCP defines it, with the `platform_id` it gave our
/// creative (which the shared answer type does not carry).
fn read_answer(raw: Value, creative_id: &str) -> Result<(SyncAnswer, Option<String>), CallError> {
    let platform_id = raw["creatives"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["creative_id"] == creative_id))
        .and_then(|c| c["platform_id"].as_str())
        .map(str::to_owned);
    match calls::completed::<SyncAnswer>(raw)? {
        Reply::Done(a) => Ok((a, platform_id)),
        Reply::Queued(t) => Err(CallError::Invalid(format!(
            "a completed task answered '{}' again",
            t.status
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::StorefrontId;

    fn buyer(operator: Option<&str>) -> Account {
        Account {
            id: AccountId::new(),
            storefront_id: StorefrontId::new(),
            name: "Acme".into(),
            brand_domains: vec!["acme.com".into()],
            operator: operator.map(str::to_owned),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn the_account_is_the_agents_or_the_buyers_natural_key() {
        assert_eq!(
            agent_account(Some("agent-acct"), &buyer(None)),
            json!({"account_id": "agent-acct"})
        );
        assert_eq!(
            agent_account(None, &buyer(None)),
            json!({"brand": {"domain": "acme.com"}, "operator": "acme.com"})
        );
        assert_eq!(
            agent_account(None, &buyer(Some("agency.com")))["operator"],
            "agency.com"
        );
    }

    #[test]
    fn a_sync_carries_the_creative_verbatim_and_the_assignments() {
        let creative = json!({"creative_id": "c1", "name": "C", "assets": {"x": {"asset_type": "url", "url": "https://a.example"}}, "ext": {"k": [1, 2]}});
        let req = request(
            ForwardAction::Sync,
            &creative,
            json!({"account_id": "a"}),
            &["p1".into()],
            "cmx-0123456789abcdef",
        );
        assert_eq!(req["creatives"][0], creative);
        assert_eq!(
            req["assignments"],
            json!([{"creative_id": "c1", "package_id": "p1"}])
        );
        assert_eq!(req["idempotency_key"], "cmx-0123456789abcdef");
        assert!(req.get("creative_ids").is_none());
        let none = request(ForwardAction::Sync, &creative, json!({}), &[], "k");
        assert!(none.get("assignments").is_none());
    }

    #[test]
    fn the_agents_answer_says_held_or_rejected_with_its_message() {
        let raw = json!({"creatives": [
            {"creative_id": "other", "action": "created", "status": "approved", "platform_id": "p-other"},
            {"creative_id": "c1", "action": "created", "status": "pending_review", "platform_id": "p-1"}]});
        let (answer, platform_id) = read_answer(raw, "c1").unwrap();
        assert_eq!(platform_id.as_deref(), Some("p-1"));
        assert!(matches!(
            verdict(&answer, "c1", platform_id),
            AgentVerdict::Held { platform_id: Some(p), agent_status: Some(s) } if p == "p-1" && s == "pending_review"
        ));
        let raw = json!({"creatives": [{"creative_id": "c1", "action": "failed",
            "errors": [{"code": "CREATIVE_REJECTED", "message": "too loud"}]}]});
        let (answer, _) = read_answer(raw, "c1").unwrap();
        assert!(matches!(
            verdict(&answer, "c1", None),
            AgentVerdict::Rejected { message } if message == "CREATIVE_REJECTED: too loud"
        ));
        assert!(matches!(
            verdict(&answer, "missing", None),
            AgentVerdict::Rejected { .. }
        ));
        // The error branch is a refusal of the whole request, not a verdict on the creative.
        assert!(matches!(
            read_answer(
                json!({"errors": [{"code": "ACCOUNT_NOT_FOUND", "message": "no"}]}),
                "c1"
            ),
            Err(CallError::Refused(_))
        ));
    }

    #[test]
    fn an_archive_is_scoped_to_the_creative() {
        let creative = json!({"creative_id": "c1", "name": "C", "assets": {}});
        let req = request(
            ForwardAction::Archive,
            &creative,
            json!({}),
            &["p1".into()],
            "k",
        );
        assert_eq!(req["creatives"][0]["status"], "archived");
        assert_eq!(req["creative_ids"], json!(["c1"]));
        assert!(req.get("assignments").is_none());
    }
}
