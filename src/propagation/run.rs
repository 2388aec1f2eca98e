//! One propagation job: bring one seller up to date with a campaign's manifests.
//!
//! Library sellers get `sync_creatives` (batches of at most 100) and then packages whose
//! `creative_assignments` name the creatives they confirmed; other sellers get the creatives inline
//! on each package. The media buy is created on the first run and updated afterwards.
//!
//! Idempotency: every key derives from the job's key, fixed when the job was made. AdCP sellers
//! answer a reused key with different content by `IDEMPOTENCY_CONFLICT`, so:
//! - `create_media_buy` is frozen in the job before it is first sent and resent byte for byte with
//!   one key: a create whose answer was lost is never made twice;
//! - `sync_creatives` and `update_media_buy` (upserts and replacements, harmless to repeat) carry
//!   the job key plus a digest of their content: a retry of the same content repeats its key, and
//!   content changed meanwhile (a manifest edited between attempts) goes out as the new request it is.
//!
//! Finished sync batches are checkpointed in the job, so a retry does not send them again.
//!
//! A seller may queue any of these tasks (`submitted`, e.g. while a person signs the IO). The job
//! then keeps the task id and waits, without spending an attempt; each later run asks the seller
//! (`get_task_status`) instead of sending again, and goes on from the task's result once it is
//! completed. A task that ends otherwise fails the job; one that outlasts the timeout is given up.
//! Each request also registers a webhook (`push_notification_config`): a seller that calls it
//! wakes the job at once, and the job then asks the seller, so the webhook's body is never trusted.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::calls::{self, CallError, Reply, TaskState};
use super::digest;
use super::packages::{self, Change};
use super::selection::{self, Selection};
use super::transport::{plan, Plan};
use crate::adcp::creative;
use crate::adcp::mcp::McpClient;
use crate::adcp::types::{FormatId, FormatRef};
use crate::formats::fetch;
use crate::formats::Registry;
use crate::ids::{CampaignId, CustomerId, SalesAgentId};
use crate::jobs::queue::{self, Job};
use crate::jobs::Outcome as JobOutcome;
use crate::manifest::model::Manifest;
use crate::outbound::Outbound;
use crate::store::campaigns::{self, Campaign};
use crate::store::db::now;
use crate::store::media_buys::{self, MediaBuy};
use crate::store::sales_agents::{self, LibrarySupport, SalesAgent};
use crate::store::syncs::{self, Outcome};
use crate::store::{creatives, Db, Objects};

pub use super::job::{
    CreativeReport, Payload, PendingTask, Reason, RunError, SellerReport, SellerStatus, Transport,
    BATCH,
};

/// What propagation needs, shared by the API (first attempts) and the workers (the rest).
#[derive(Clone)]
pub struct Propagator {
    pub db: Db,
    pub objects: Objects,
    pub outbound: Outbound,
    pub lease: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How often a task the seller queued is polled.
    pub task_poll: Duration,
    /// How long a queued task may take before the job gives up on it.
    pub task_timeout: Duration,
    /// Where sellers send task webhooks, and the key of their tokens.
    pub webhooks: Webhooks,
}

/// The service's webhook for seller tasks: `{base}/adcp/webhooks/{job_id}`, authenticated by a
/// token derived from the job id (so nothing secret is stored with the job).
#[derive(Clone)]
pub struct Webhooks {
    pub base: String,
    pub signer: std::sync::Arc<crate::manifest::tracking::Signer>,
}

/// Everything one run works from, loaded once.
struct Ctx<'a> {
    p: &'a Propagator,
    job: &'a Job,
    worker: &'a str,
    campaign: Campaign,
    agent: SalesAgent,
    manifests: Vec<Manifest>,
    registry: Registry,
    /// The HMAC-SHA256 secret of this job's webhook registration.
    webhook_secret: String,
}

impl Propagator {
    /// Runs `job` (held by `worker`, carrying `payload`); the report says what the seller
    /// answered, even on failure.
    pub async fn run(
        &self,
        job: &Job,
        worker: &str,
        payload: Payload,
    ) -> (SellerReport, JobOutcome) {
        let mut report = SellerReport::new(job.sales_agent_id.as_deref().unwrap_or(""));
        let result = self.run_inner(job, worker, payload, &mut report).await;
        match &result {
            Ok(()) => {}
            Err(RunError::Waiting(task)) => {
                report.status = SellerStatus::Waiting;
                report.seller_task = Some(task.clone());
            }
            Err(e) => {
                report.status = if e.is_transient() && job.attempts < job.max_attempts {
                    SellerStatus::Retrying
                } else {
                    SellerStatus::Failed
                };
                report.error = Some(e.message());
            }
        }
        (report, self.outcome(result))
    }

    fn outcome(&self, result: Result<(), RunError>) -> JobOutcome {
        match result {
            Ok(()) => JobOutcome::Done,
            Err(e) => e.outcome(self.task_poll),
        }
    }

    async fn run_inner(
        &self,
        job: &Job,
        worker: &str,
        mut payload: Payload,
        report: &mut SellerReport,
    ) -> Result<(), RunError> {
        let (Some(campaign_id), Some(agent_id)) = (&job.campaign_id, &job.sales_agent_id) else {
            return Err(RunError::permanent("job names no campaign or seller"));
        };
        let customer = CustomerId::from_db(job.customer_id.clone());
        let campaign_id = CampaignId::from_db(campaign_id.clone());
        let agent_id = SalesAgentId::from_db(agent_id.clone());
        let campaign = campaigns::get(&self.db, &customer, &campaign_id)
            .await?
            .ok_or_else(|| RunError::permanent("the campaign no longer exists"))?;
        let mut agent = sales_agents::get(&self.db, &customer, &agent_id)
            .await?
            .ok_or_else(|| RunError::permanent("the sales agent no longer exists"))?;
        report.name = Some(agent.name.clone());
        if agent.capabilities.has_creative_library == LibrarySupport::Unknown
            && agent.capabilities.probed_at.is_none()
        {
            // Ask it (get_adcp_capabilities, with its formats); unreachable leaves it unknown.
            if let Err(e) = fetch::refresh(&self.db, &self.outbound, &agent).await {
                tracing::info!(agent = %agent.id, error = %e, "capability probe failed");
            }
            if let Some(a) = sales_agents::get(&self.db, &customer, &agent_id).await? {
                agent = a;
            }
        }
        let manifests = creatives::for_campaign(&self.db, &customer, &campaign_id).await?;
        let registry = Registry::for_customer(&self.db, &customer).await?;
        let webhook_secret = crate::store::review::registration_secret(
            &self.db,
            &job.id,
            customer.as_str(),
            campaign.campaign_id.as_str(),
            agent.id.as_str(),
        )
        .await?;
        let ctx = Ctx {
            p: self,
            job,
            worker,
            campaign,
            agent,
            manifests,
            registry,
            webhook_secret,
        };
        ctx.propagate(&mut payload, report).await
    }
}

impl Ctx<'_> {
    fn account(&self) -> Value {
        match &self.agent.account_id {
            Some(id) => json!({"account_id": id}),
            // A brand buying directly is its own operator.
            None => json!({
                "brand": {"domain": self.campaign.brand_domain},
                "operator": self.campaign.brand_domain,
            }),
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.job.idempotency_key)
    }

    /// `request` with the webhook a seller that queues it may call (AdCP `push_notification_config`).
    /// Added after the key's digest, and the same on every attempt.
    fn with_push(&self, mut request: Value, step: &str) -> Value {
        let job = &self.job.id;
        request["push_notification_config"] = json!({
            "url": format!("{}/adcp/webhooks/{job}", self.p.webhooks.base),
            "operation_id": format!("{job}.{step}"),
            "token": self.p.webhooks.signer.webhook_token(job),
            // AdCP's legacy HMAC-SHA256 (the credentials string is the key): the seller signs each
            // webhook, and `http/webhooks.rs` verifies the raw bytes before reading them.
            "authentication": {"schemes": ["HMAC-SHA256"], "credentials": self.webhook_secret},
        });
        request
    }

    /// `request` with its idempotency key: the job's, `step`, and a digest of the content.
    fn keyed(&self, step: &str, mut request: Value) -> Value {
        let digest = Sha256::digest(request.to_string().as_bytes());
        request["idempotency_key"] =
            json!(self.key(&format!("{step}.{}", hex::encode(&digest[..8]))));
        request
    }

    /// Keeps the job's progress, and its lease: a long run must not be taken over mid-way.
    async fn checkpoint(&self, payload: &Payload) -> Result<(), RunError> {
        let held = queue::save_payload(
            &self.p.db,
            self.job,
            self.worker,
            &json!(payload),
            self.p.lease,
        )
        .await?;
        if held {
            Ok(())
        } else {
            Err(RunError::LeaseLost)
        }
    }

    /// The answer to `step` from the seller's queued task, if the job is waiting on one for this
    /// step: `None` means the step has yet to be sent. A task that ended (completed with an error,
    /// rejected, timed out) is forgotten, so a retry sends the step afresh; a failed poll keeps it.
    async fn poll<T: calls::Answer>(
        &self,
        client: &mut McpClient,
        payload: &mut Payload,
        step: &str,
    ) -> Result<Option<Reply<T>>, RunError> {
        let Some(pending) = payload.pending_task.as_ref().filter(|p| p.step == step) else {
            return Ok(None);
        };
        let waited = chrono::DateTime::parse_from_rfc3339(&pending.since)
            .map(|t| chrono::Utc::now().signed_duration_since(t))
            .ok()
            .and_then(|d| d.to_std().ok())
            .unwrap_or_default();
        let ended = if waited > self.p.task_timeout {
            RunError::permanent(format!(
                "the seller's task {} is still {} after {} s; given up (SELLER_TASK_TIMEOUT_SECS)",
                pending.task.task_id,
                pending.task.status,
                waited.as_secs()
            ))
        } else {
            let state =
                calls::task_status(client, &pending.task.task_id, Some(&self.account())).await;
            let answer = match state {
                Ok(TaskState::Unfinished(task)) => return Ok(Some(Reply::Queued(task))),
                Ok(TaskState::Completed(result)) => calls::completed(result),
                // No answer about the task (network, HTTP, RPC): ask again next time.
                Err(e @ CallError::Agent(_)) => return Err(e.into()),
                Err(e) => Err(e),
            };
            match answer {
                Ok(reply) => return Ok(Some(reply)),
                Err(e) => e.into(),
            }
        };
        payload.pending_task = None;
        self.checkpoint(payload).await?;
        Err(ended)
    }

    /// One step of the job: `request` sent as `T`'s task (with the webhook registered), unless the
    /// seller already queued it, then its task is polled instead; the result, or a job that waits.
    async fn exchange<T: calls::Answer>(
        &self,
        client: &mut McpClient,
        payload: &mut Payload,
        step: &str,
        request: Value,
    ) -> Result<T, RunError> {
        let reply = match self.poll(client, payload, step).await? {
            Some(reply) => reply,
            None => calls::send::<T>(client, self.with_push(request, step)).await?,
        };
        self.settle(payload, step, reply).await
    }

    /// What `step`'s answer leads to: its result, or (queued) a job that keeps the task and waits.
    async fn settle<T>(
        &self,
        payload: &mut Payload,
        step: &str,
        reply: Reply<T>,
    ) -> Result<T, RunError> {
        match reply {
            Reply::Done(t) => {
                if payload.pending_task.take().is_some() {
                    self.checkpoint(payload).await?;
                }
                Ok(t)
            }
            Reply::Queued(task) => {
                let since = match &payload.pending_task {
                    Some(p) if p.step == step && p.task.task_id == task.task_id => p.since.clone(),
                    _ => now(),
                };
                payload.pending_task = Some(PendingTask {
                    step: step.to_owned(),
                    task: task.clone(),
                    since,
                });
                self.checkpoint(payload).await?;
                Err(RunError::Waiting(task))
            }
        }
    }

    fn build(&self, i: usize, format: &FormatRef) -> Value {
        let spec = match format {
            FormatRef::Id(id) => self.registry.spec_of(id),
            FormatRef::Kind(_) => None,
        };
        creative::build(&self.manifests[i], &self.p.objects, format, spec).creative
    }

    async fn propagate(
        &self,
        payload: &mut Payload,
        report: &mut SellerReport,
    ) -> Result<(), RunError> {
        let spec_of = |id: &FormatId| self.registry.spec_of(id);
        let sel = selection::select(&self.campaign, &self.agent.id, &self.manifests, &spec_of);
        if sel.packages.is_empty() {
            report.status = SellerStatus::Skipped;
            return Ok(());
        }
        let existing =
            media_buys::get(&self.p.db, &self.campaign.campaign_id, &self.agent.id).await?;
        let changed: Option<HashSet<String>> = payload
            .creative_ids
            .as_ref()
            .map(|ids| ids.iter().cloned().collect());
        // A new creative no product of this seller needs: nothing to tell it.
        if payload.reason == Reason::Created
            && existing.is_some()
            && !sel.needed().any(|i| {
                changed
                    .as_ref()
                    .is_none_or(|c| c.contains(self.manifests[i].creative_id.as_str()))
            })
        {
            report.status = SellerStatus::Skipped;
            return Ok(());
        }
        if payload.reason == Reason::Execute && payload.creative_ids.is_none() {
            self.only_changed(&sel, payload).await?;
        }
        let planned =
            plan(&self.agent.capabilities).map_err(|e| RunError::permanent(e.to_string()));
        let mut transport = match (payload.transport, &planned) {
            (Some(t), _) => t,
            (None, Ok(Plan::Library { .. })) => Transport::Library,
            (None, Ok(Plan::Inline)) => Transport::Inline,
            (None, Err(e)) => return Err(RunError::permanent(e.message())),
        };
        // Decided once per job, and kept with it: `/propagation` shows every job's transport, and
        // its retries go the same way (a fallback to inline replaces it).
        if payload.transport.is_none() {
            payload.transport = Some(transport);
            self.checkpoint(payload).await?;
        }
        report.transport = Some(transport);
        report.fallback_reason = payload.fallback_reason.clone();
        let mut client = McpClient::connect(
            &self.p.outbound,
            &self.agent.endpoint_url,
            self.agent.auth_token.as_ref(),
        )
        .await?;
        if transport == Transport::Library {
            if let Err(e) = self.sync(&mut client, &sel, payload, report).await {
                let can_fall_back = matches!(
                    planned,
                    Ok(Plan::Library {
                        fallback_inline: true
                    })
                );
                // Waiting on a queued sync is not a failed sync; nor is one a retry may still get
                // through (a 503, a time-out after which the seller may have synced): the job tries
                // the library again and goes inline only when attempts run out.
                let retry_left = e.is_transient() && self.job.attempts < self.job.max_attempts;
                let stopped = matches!(e, RunError::LeaseLost | RunError::Waiting(_));
                if !can_fall_back || stopped || retry_left {
                    return Err(e);
                }
                tracing::info!(agent = %self.agent.id, error = %e.message(), "sync_creatives failed; sending inline");
                transport = Transport::Inline;
                payload.transport = Some(transport);
                payload.fallback_reason = Some(format!("sync_creatives failed: {}", e.message()));
                self.checkpoint(payload).await?;
                report.transport = Some(transport);
                report.fallback_reason = payload.fallback_reason.clone();
            }
        }
        self.buy(&mut client, &sel, transport, existing, payload, report)
            .await
    }

    /// The digest of creative `id` as this job would send it (`None`: the seller does not need it).
    fn digest_now(&self, sel: &Selection<'_>, id: &str) -> Option<String> {
        let i = self
            .manifests
            .iter()
            .position(|m| m.creative_id.as_str() == id)?;
        let format = sel.formats[i].as_ref()?;
        Some(digest::content_digest(&self.build(i, format)))
    }

    /// An execute sends what the seller does not hold as it is now: where the seller confirmed
    /// creatives before (an earlier execute, a re-sync), the job is narrowed to the others, fixed
    /// in the payload like any job's list. Nothing confirmed yet: left as all.
    async fn only_changed(
        &self,
        sel: &Selection<'_>,
        payload: &mut Payload,
    ) -> Result<(), RunError> {
        let held =
            syncs::held_digests(&self.p.db, &self.campaign.campaign_id, &self.agent.id).await?;
        if held.is_empty() {
            return Ok(());
        }
        let needed: Vec<(String, String)> = sel
            .needed()
            .filter_map(|i| {
                let format = sel.formats[i].as_ref()?;
                Some((
                    self.manifests[i].creative_id.to_string(),
                    digest::content_digest(&self.build(i, format)),
                ))
            })
            .collect();
        payload.creative_ids = Some(digest::changed(needed, &held));
        self.checkpoint(payload).await
    }

    /// Sends the creatives to the seller's library in batches, checkpointing each.
    async fn sync(
        &self,
        client: &mut McpClient,
        sel: &Selection<'_>,
        payload: &mut Payload,
        report: &mut SellerReport,
    ) -> Result<(), RunError> {
        let ids = match &payload.creative_ids {
            Some(ids) => ids.clone(),
            None => {
                let all: Vec<String> = sel
                    .needed()
                    .map(|i| self.manifests[i].creative_id.to_string())
                    .collect();
                payload.creative_ids = Some(all.clone());
                self.checkpoint(payload).await?;
                all
            }
        };
        let index: HashMap<&str, usize> = self
            .manifests
            .iter()
            .enumerate()
            .map(|(i, m)| (m.creative_id.as_str(), i))
            .collect();
        let account = self.account();
        for (n, chunk) in ids.chunks(BATCH).enumerate().skip(payload.done_batches) {
            // Deleted since, or no longer needed by this seller: left out.
            let built: Vec<(&str, Value)> = chunk
                .iter()
                .filter_map(|id| index.get(id.as_str()).map(|&i| (id.as_str(), i)))
                .filter_map(|(id, i)| sel.formats[i].as_ref().map(|f| (id, self.build(i, f))))
                .collect();
            let digests: HashMap<&str, String> = built
                .iter()
                .map(|(id, c)| (*id, digest::content_digest(c)))
                .collect();
            let creatives: Vec<Value> = built.into_iter().map(|(_, c)| c).collect();
            if !creatives.is_empty() {
                let sent = creatives.len();
                let step = format!("s{n}");
                let request =
                    self.keyed(&step, json!({"account": account, "creatives": creatives}));
                let results = self
                    .exchange::<calls::SyncAnswer>(client, payload, &step, request)
                    .await?
                    .creatives;
                let outcomes: Vec<Outcome> = results
                    .iter()
                    .map(|r| {
                        let review = super::review::from_sync_item(
                            &r.as_value(),
                            super::review::Source::Sync,
                        );
                        Outcome {
                            creative_id: r.creative_id.clone(),
                            confirmed: r.held(),
                            action: Some(r.action.clone()),
                            status: review.as_ref().map(|u| u.status.clone()),
                            errors: r.errors.clone(),
                            reason: review.as_ref().and_then(|u| u.reason.clone()),
                            platform_id: review.and_then(|u| u.platform_id),
                            digest: digests.get(r.creative_id.as_str()).cloned(),
                        }
                    })
                    .collect();
                syncs::record(
                    &self.p.db,
                    &self.campaign.campaign_id,
                    &self.agent.id,
                    Transport::Library.as_str(),
                    &outcomes,
                )
                .await?;
                report.creatives_sent += sent;
                report
                    .creatives
                    .extend(
                        outcomes
                            .into_iter()
                            .zip(&results)
                            .map(|(o, r)| CreativeReport {
                                creative_id: o.creative_id,
                                action: o.action,
                                // As the seller answered it (the stored status may be derived).
                                status: r.status.clone(),
                                errors: o.errors,
                            }),
                    );
            }
            payload.done_batches = n + 1;
            self.checkpoint(payload).await?;
        }
        Ok(())
    }

    /// Creates the media buy, or updates its packages to what the campaign wants now: what each
    /// package holds is decided by [`packages::after_job`]; this sends it and records it.
    async fn buy(
        &self,
        client: &mut McpClient,
        sel: &Selection<'_>,
        transport: Transport,
        existing: Option<MediaBuy>,
        payload: &mut Payload,
        report: &mut SellerReport,
    ) -> Result<(), RunError> {
        // Creatives whose content this job carries (None: all of them).
        let changed: Option<HashSet<String>> = payload
            .creative_ids
            .as_ref()
            .map(|ids| ids.iter().cloned().collect());
        let held: HashMap<String, Transport> =
            syncs::held(&self.p.db, &self.campaign.campaign_id, &self.agent.id)
                .await?
                .into_iter()
                .filter_map(|(id, t)| Transport::parse(&t).map(|t| (id, t)))
                .collect();
        let ids: Vec<String> = self
            .manifests
            .iter()
            .map(|m| m.creative_id.to_string())
            .collect();
        let outcomes = packages::after_job(
            existing.as_ref(),
            sel,
            &ids,
            &held,
            transport,
            changed.as_ref(),
        );
        report_too_many(sel, &outcomes, report);
        let result = match &existing {
            None => {
                let request = match &payload.create_request {
                    Some(frozen) => frozen.clone(),
                    None => {
                        let request = self.create_request(sel, &outcomes)?;
                        payload.create_request = Some(request.clone());
                        self.checkpoint(payload).await?;
                        request
                    }
                };
                let mut args = request;
                args["idempotency_key"] = json!(self.key("buy"));
                self.exchange::<calls::NewBuy>(client, payload, "buy", args)
                    .await?
                    .0
            }
            Some(buy) => {
                let Some(args) = self.update_request(buy, sel, &outcomes)? else {
                    report.media_buy_id = Some(buy.media_buy_id.clone());
                    report.media_buy_status = buy.status.clone();
                    return Ok(());
                };
                let request = self.keyed("update", args);
                self.exchange::<calls::BuyResult>(client, payload, "update", request)
                    .await?
            }
        };
        let at = now();
        let saved = MediaBuy {
            sales_agent_id: self.agent.id.to_string(),
            media_buy_id: result.media_buy_id.clone(),
            revision: result
                .revision
                .or(existing.as_ref().and_then(|b| b.revision)),
            status: result
                .media_buy_status()
                .or(existing.as_ref().and_then(|b| b.status.clone())),
            transport: packages::buy_transport(&outcomes, existing.as_ref(), transport)
                .as_str()
                .to_owned(),
            packages: packages::recorded(existing.as_ref(), &result.packages, &outcomes),
            created_at: existing
                .as_ref()
                .map_or(at.clone(), |b| b.created_at.clone()),
            updated_at: at,
        };
        let customer = CustomerId::from_db(self.job.customer_id.clone());
        media_buys::save(&self.p.db, &customer, &self.campaign.campaign_id, &saved).await?;
        self.record_inline(sel, packages::inline_sent(&outcomes), report)
            .await?;
        report.media_buy_id = Some(saved.media_buy_id);
        report.media_buy_status = saved.status;
        Ok(())
    }

    /// The `update_media_buy` request (without its key) that brings `buy`'s packages to
    /// `outcomes`; None when nothing changes.
    fn update_request(
        &self,
        buy: &MediaBuy,
        sel: &Selection<'_>,
        outcomes: &[packages::Outcome],
    ) -> Result<Option<Value>, RunError> {
        let mut updates = Vec::new();
        let mut new_packages = Vec::new();
        for (pp, o) in sel.packages.iter().zip(outcomes) {
            match (o.change, &o.package_id) {
                (Change::Unchanged, _) => {}
                (Change::New, _) | (_, None) => new_packages.push(self.new_package(pp.product, o)?),
                (
                    Change::Update {
                        assignments: a,
                        inline: i,
                    },
                    Some(package_id),
                ) => {
                    let mut u = json!({"package_id": package_id});
                    if a {
                        u["creative_assignments"] = assignments(&o.holding.library);
                    }
                    if i {
                        u["creatives"] = json!(self.build_all(&o.inline));
                    }
                    updates.push(u);
                }
            }
        }
        if updates.is_empty() && new_packages.is_empty() {
            return Ok(None);
        }
        let mut args = json!({"account": self.account(), "media_buy_id": buy.media_buy_id});
        if !updates.is_empty() {
            args["packages"] = json!(updates);
        }
        if !new_packages.is_empty() {
            args["new_packages"] = json!(new_packages);
        }
        Ok(Some(args))
    }

    /// Records the creatives the seller took inline (its answer is for the whole buy, so each
    /// counts as confirmed), and reports them.
    async fn record_inline(
        &self,
        sel: &Selection<'_>,
        sent: Vec<String>,
        report: &mut SellerReport,
    ) -> Result<(), RunError> {
        if sent.is_empty() {
            return Ok(());
        }
        let outcomes: Vec<Outcome> = sent
            .iter()
            .map(|id| Outcome {
                digest: self.digest_now(sel, id),
                ..Outcome::inline(id.clone())
            })
            .collect();
        syncs::record(
            &self.p.db,
            &self.campaign.campaign_id,
            &self.agent.id,
            Transport::Inline.as_str(),
            &outcomes,
        )
        .await?;
        report.creatives_sent += sent.len();
        report
            .creatives
            .extend(sent.into_iter().map(|id| CreativeReport {
                creative_id: id,
                action: None,
                status: None,
                errors: Vec::new(),
            }));
        Ok(())
    }

    /// The inline creatives of a package, built for the formats they go out as.
    fn build_all(&self, inline: &[(usize, FormatRef)]) -> Vec<Value> {
        inline.iter().map(|(i, f)| self.build(*i, f)).collect()
    }

    /// The `create_media_buy` request (without its key): the flight, the brand, and a package
    /// per product with its creatives.
    fn create_request(
        &self,
        sel: &Selection<'_>,
        outcomes: &[packages::Outcome],
    ) -> Result<Value, RunError> {
        let (Some(start), Some(end)) = (&self.campaign.start_time, &self.campaign.end_time) else {
            return Err(RunError::permanent(
                "the campaign has no flight (start_time and end_time)",
            ));
        };
        let mut packages = Vec::new();
        for (pp, o) in sel.packages.iter().zip(outcomes) {
            packages.push(self.new_package(pp.product, o)?);
        }
        Ok(json!({
            "account": self.account(),
            "brand": {"domain": self.campaign.brand_domain},
            "start_time": start,
            "end_time": end,
            "packages": packages,
        }))
    }

    /// A package request for `product`: its budget and pricing, and what it holds, by reference
    /// and inline.
    fn new_package(
        &self,
        product: &campaigns::Product,
        holds: &packages::Outcome,
    ) -> Result<Value, RunError> {
        let (Some(budget), Some(pricing)) = (product.budget, &product.pricing_option_id) else {
            return Err(RunError::permanent(format!(
                "product {} has no budget or pricing_option_id",
                product.product_id
            )));
        };
        let mut p = json!({
            "product_id": product.product_id,
            "budget": budget,
            "pricing_option_id": pricing,
        });
        if !product.format_ids.is_empty() {
            p["format_ids"] = json!(product.format_ids);
        }
        if !holds.holding.library.is_empty() {
            p["creative_assignments"] = assignments(&holds.holding.library);
        }
        if !holds.inline.is_empty() {
            p["creatives"] = json!(self.build_all(&holds.inline));
        }
        Ok(p)
    }
}

/// Reports the creatives a package could not carry inline past AdCP's cap.
fn report_too_many(sel: &Selection<'_>, outcomes: &[packages::Outcome], report: &mut SellerReport) {
    for (pp, o) in sel.packages.iter().zip(outcomes) {
        report
            .creatives
            .extend(o.too_many.iter().map(|id| CreativeReport {
                creative_id: id.clone(),
                action: Some("failed".into()),
                status: None,
                errors: vec![json!({"code": "TOO_MANY_CREATIVES", "message": format!(
                    "package for product {} carries at most {BATCH} inline creatives",
                    pp.product.product_id
                )})],
            }));
    }
}

fn assignments(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"creative_id": id})).collect())
}
