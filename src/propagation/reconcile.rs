//! Reconciliation: nothing a webhook says is the last word. A durable job re-reads one seller's view
//! of a campaign's creatives with AdCP `list_creatives` (`filters.creative_ids`, the account) and
//! records what it says. Enqueued after every verified webhook, on demand
//! (`POST /campaigns/:id/propagation/refresh`) and on a schedule for creatives a seller holds in
//! `processing` / `pending_review` (every `REVIEW_RECONCILE_SECS`, doubled per seller per failure).
//! A seller that does not offer `list_creatives` keeps what its sync and webhooks said.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;

use super::calls::CallError;
use super::review::{self, Source, StatusUpdate, STATUSES};
use crate::adcp::mcp::{McpClient, McpError};
use crate::ids::{CampaignId, CustomerId, SalesAgentId};
use crate::jobs::queue::{self, Job, NewJob};
use crate::jobs::{JobKind, Outcome};
use crate::outbound::Outbound;
use crate::store::db::now;
use crate::store::{campaigns, review as store, sales_agents, Db};

/// `list_creatives` pages and filters carry at most this many ids (AdCP pagination `maximum`).
const PAGE: usize = 100;

#[derive(Clone)]
pub struct Reconciler {
    pub db: Db,
    pub outbound: Outbound,
    /// The schedule's interval (before backoff).
    pub interval: Duration,
    pub max_attempts: u32,
}

/// What one reconciliation asks about.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Payload {
    /// `None`: every creative the seller has an entry for in the campaign.
    #[serde(default)]
    pub creative_ids: Option<Vec<String>>,
    /// Run by the schedule: its outcome moves the seller's next scheduled run (with backoff).
    #[serde(default)]
    pub scheduled: bool,
}

pub struct Reconcile(pub Reconciler);

impl JobKind for Reconcile {
    const NAME: &'static str = "reconcile_creatives";
    type Payload = Payload;

    fn run<'a>(&'a self, job: &'a Job, _: &'a str, payload: Payload) -> BoxFuture<'a, Outcome> {
        async move {
            let result = self.0.run(job, &payload).await;
            if payload.scheduled {
                if let Some(agent) = &job.sales_agent_id {
                    if let Err(e) = self.0.reschedule(agent, result.is_ok()).await {
                        tracing::warn!(error = %e, "could not reschedule the reconciliation");
                    }
                }
            }
            match result {
                Ok(n) => {
                    tracing::info!(job = %job.id, updated = n, "reconciled with list_creatives");
                    Outcome::Done
                }
                Err(e) if e.is_transient() => Outcome::Retry {
                    error: e.to_string(),
                    retry_after: e.retry_after(),
                },
                Err(e) => Outcome::failed(e.to_string()),
            }
        }
        .boxed()
    }
}

/// The AdCP account a campaign buys under at a seller: its seller-assigned id, else the brand as
/// its own operator.
pub fn account(account_id: Option<&str>, brand_domain: &str) -> Value {
    match account_id {
        Some(id) => json!({"account_id": id}),
        None => json!({"brand": {"domain": brand_domain}, "operator": brand_domain}),
    }
}

/// A `list_creatives` answer's creatives as status updates, checked against what
/// `creative/list-creatives-response.json` requires (an answer that does not fit is the seller's
/// error, and nothing of it is recorded); and the cursor of the next page, if any.
pub fn read_page(answer: &Value) -> Result<(Vec<StatusUpdate>, Option<String>), String> {
    if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
        if answer.get("creatives").is_none() && !errors.is_empty() {
            return Err(super::calls::summary(errors));
        }
    }
    for key in ["query_summary", "pagination", "creatives"] {
        if answer.get(key).is_none() {
            return Err(format!("the answer has no `{key}`, which AdCP requires"));
        }
    }
    let has_more = answer["pagination"]
        .get("has_more")
        .and_then(Value::as_bool)
        .ok_or("pagination.has_more is required")?;
    let items = answer["creatives"]
        .as_array()
        .ok_or("`creatives` is not an array")?;
    let mut out = Vec::with_capacity(items.len());
    for c in items {
        for key in [
            "creative_id",
            "name",
            "status",
            "created_date",
            "updated_date",
        ] {
            if c.get(key).is_none() {
                return Err(format!("a creative has no `{key}`, which AdCP requires"));
            }
        }
        let status = c["status"]
            .as_str()
            .filter(|s| STATUSES.contains(s))
            .ok_or("a creative's status is not an AdCP creative status")?;
        let id = c["creative_id"]
            .as_str()
            .ok_or("creative_id is not a string")?;
        // The response schema has no field for a reviewer's note; its items allow more properties,
        // and a seller that keeps one (a storefront's review queue) sends it as one of these.
        let reason = ["rejection_reason", "review_note", "note"]
            .iter()
            .find_map(|k| c.get(*k).and_then(Value::as_str))
            .or_else(|| c.pointer("/ext/rejection_reason").and_then(Value::as_str))
            .map(|s| {
                s.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(2000)
                    .collect()
            });
        out.push(StatusUpdate {
            creative_id: id.to_owned(),
            status: status.to_owned(),
            reason,
            platform_id: c
                .get("platform_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            changed_at: c
                .get("updated_date")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source: Source::ListCreatives,
        });
    }
    let cursor = answer["pagination"]
        .get("cursor")
        .and_then(Value::as_str)
        .filter(|_| has_more)
        .map(str::to_owned);
    if has_more && cursor.is_none() {
        return Err("has_more without a cursor".into());
    }
    Ok((out, cursor))
}

impl Reconciler {
    /// Reconciles `job`'s seller and campaign; the number of entries updated.
    async fn run(&self, job: &Job, payload: &Payload) -> Result<usize, CallError> {
        let invalid = |m: String| CallError::Invalid(m);
        let (Some(campaign_id), Some(agent_id)) = (&job.campaign_id, &job.sales_agent_id) else {
            return Err(invalid("job names no campaign or seller".into()));
        };
        let customer = CustomerId::from_db(job.customer_id.clone());
        let storage = |e: anyhow::Error| McpError::Transport(format!("storage: {e:#}"));
        let Some(campaign) = campaigns::get(
            &self.db,
            &customer,
            &CampaignId::from_db(campaign_id.clone()),
        )
        .await
        .map_err(storage)?
        else {
            return Ok(0);
        };
        let Some(agent) = sales_agents::get(
            &self.db,
            &customer,
            &SalesAgentId::from_db(agent_id.clone()),
        )
        .await
        .map_err(|e| storage(e.into()))?
        else {
            return Ok(0);
        };
        let tools = &agent.capabilities.advertised_tools;
        if !tools.is_empty() && !tools.iter().any(|t| t == "list_creatives") {
            return Ok(0);
        }
        let ids = match &payload.creative_ids {
            Some(ids) => ids.clone(),
            None => {
                let held = crate::store::syncs::held(&self.db, &campaign.campaign_id, &agent.id)
                    .await
                    .map_err(|e| storage(e.into()))?;
                let mut ids: Vec<String> = held.into_keys().collect();
                ids.sort();
                ids
            }
        };
        if ids.is_empty() {
            return Ok(0);
        }
        let mut client = McpClient::connect(
            &self.outbound,
            &agent.endpoint_url,
            agent.auth_token.as_ref(),
        )
        .await?;
        let acct = account(agent.account_id.as_deref(), &campaign.brand_domain);
        let mut updated = 0;
        for chunk in ids.chunks(PAGE) {
            let mut cursor: Option<String> = None;
            loop {
                let mut pagination = json!({"max_results": PAGE});
                if let Some(c) = &cursor {
                    pagination["cursor"] = json!(c);
                }
                let request = json!({"account": acct, "filters": {"creative_ids": chunk},
                    "pagination": pagination});
                let answer = match client.call_tool("list_creatives", request).await {
                    Ok(a) => a,
                    // Not offered after all (tools never listed): its statuses stay as they are.
                    Err(McpError::Tool(_) | McpError::Rpc { .. }) if tools.is_empty() => {
                        return Ok(0)
                    }
                    Err(e) => return Err(e.into()),
                };
                let (updates, next) = read_page(&answer).map_err(invalid)?;
                for u in updates.iter().filter(|u| chunk.contains(&u.creative_id)) {
                    if store::apply(&self.db.pool, campaign_id, agent_id, u)
                        .await
                        .map_err(|e| storage(e.into()))?
                    {
                        updated += 1;
                    }
                }
                match next {
                    Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                    _ => break,
                }
            }
        }
        Ok(updated)
    }

    async fn reschedule(&self, agent: &str, ok: bool) -> anyhow::Result<()> {
        let failures = if ok {
            0
        } else {
            store::failures(&self.db, agent).await?.saturating_add(1)
        };
        let wait = review::backoff(self.interval, failures);
        let at = chrono::Utc::now() + chrono::Duration::from_std(wait)?;
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        store::schedule_next(&self.db, agent, &at, failures).await?;
        Ok(())
    }
}

/// A reconciliation of `agent`'s view of `campaign`, in the propagation lane (after any sync under
/// way there).
pub fn new_job(
    customer: CustomerId,
    campaign: CampaignId,
    agent: SalesAgentId,
    payload: &Payload,
    max_attempts: u32,
) -> anyhow::Result<NewJob> {
    Ok(NewJob::of::<Reconcile>(customer, payload, max_attempts)?.in_lane(campaign, agent))
}

/// The schedule's tick: a reconciliation for each campaign and seller with undecided creatives
/// whose seller is due, unless one is already queued there. The seller's next run is pushed back
/// at once, so a slow job is not queued twice. Returns the number queued.
pub async fn schedule_due(r: &Reconciler) -> anyhow::Result<usize> {
    let due = store::undecided_due(&r.db, &now()).await?;
    let mut queued = 0;
    let mut sellers = std::collections::BTreeSet::new();
    for (customer, campaign, agent, ids) in due {
        let waiting: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = $1 AND campaign_id = $2 AND sales_agent_id = $3 \
             AND status IN ('pending', 'running')",
        )
        .bind(Reconcile::NAME)
        .bind(&campaign)
        .bind(&agent)
        .fetch_one(&r.db.pool)
        .await?
        .try_get("n")?;
        let waiting = waiting > 0;
        sellers.insert(agent.clone());
        if waiting {
            continue;
        }
        let job = new_job(
            CustomerId::from_db(customer),
            CampaignId::from_db(campaign),
            SalesAgentId::from_db(agent),
            &Payload {
                creative_ids: Some(ids),
                scheduled: true,
            },
            r.max_attempts,
        )?;
        queue::enqueue(&r.db.pool, job).await?;
        queued += 1;
    }
    for agent in sellers {
        let failures = store::failures(&r.db, &agent).await?;
        let at =
            chrono::Utc::now() + chrono::Duration::from_std(review::backoff(r.interval, failures))?;
        store::schedule_next(
            &r.db,
            &agent,
            &at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            failures,
        )
        .await?;
    }
    Ok(queued)
}

/// Runs [`schedule_due`] every `tick` until aborted.
pub fn spawn_scheduler(r: Reconciler, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = schedule_due(&r).await {
                tracing::warn!(error = %e, "scheduling reconciliations failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, status: &str) -> Value {
        json!({"creative_id": id, "name": id, "status": status,
            "created_date": "2026-12-01T00:00:00Z", "updated_date": "2026-12-02T00:00:00Z"})
    }

    #[test]
    fn pages_are_read_and_checked() {
        let mut rejected = item("b", "rejected");
        rejected["rejection_reason"] = json!("no\nalcohol");
        let answer = json!({"query_summary": {}, "pagination": {"has_more": true, "cursor": "p2"},
            "creatives": [item("a", "approved"), rejected]});
        let (updates, next) = read_page(&answer).unwrap();
        assert_eq!(next.as_deref(), Some("p2"));
        assert_eq!(updates[1].reason.as_deref(), Some("no alcohol"));
        assert_eq!(
            updates[0].changed_at.as_deref(),
            Some("2026-12-02T00:00:00Z")
        );
        let last = json!({"query_summary": {}, "pagination": {"has_more": false}, "creatives": []});
        assert_eq!(read_page(&last).unwrap().1, None);
        for broken in [
            json!({"pagination": {"has_more": false}, "creatives": []}),
            json!({"query_summary": {}, "pagination": {"has_more": true}, "creatives": []}),
            json!({"query_summary": {}, "pagination": {"has_more": false}, "creatives": [item("a", "great")]}),
            json!({"query_summary": {}, "pagination": {"has_more": false}, "creatives": [{"creative_id": "a", "status": "approved"}]}),
        ] {
            assert!(read_page(&broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn the_account_is_the_sellers_id_or_the_brand_itself() {
        assert_eq!(
            account(Some("acc"), "b.example"),
            json!({"account_id": "acc"})
        );
        assert_eq!(
            account(None, "b.example"),
            json!({"brand": {"domain": "b.example"}, "operator": "b.example"})
        );
    }
}
