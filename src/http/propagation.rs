//! `/campaigns/:id/execute` (propagate the campaign to its sellers) and `/campaigns/:id/propagation`
//! (its media buys and jobs).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::owned::campaign as load;
use super::{views, CurrentCustomer, Id};
use crate::error::{ApiError, ApiResult};
use crate::ids::{CampaignId, SalesAgentId};
use crate::jobs::queue::{self, Enqueued, Job, NewJob};
use crate::propagation::run::{Payload, Reason, SellerReport, SellerStatus};
use crate::propagation::{reconcile, Propagate};
use crate::services::propagator;
use crate::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::media_buys;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{campaign_id}/execute", post(execute))
        .route("/campaigns/{campaign_id}/execute/preview", get(preview))
        .route("/campaigns/{campaign_id}/propagation", get(show))
        .route(
            "/campaigns/{campaign_id}/propagation/refresh",
            post(refresh),
        )
}

/// What a media buy needs from the campaign, checked before anything is sent.
fn check_executable(c: &Campaign) -> ApiResult<()> {
    if c.products.is_empty() {
        return Err(ApiError::field(
            "products",
            "the campaign has no products: nothing to buy",
        ));
    }
    for (field, v) in [("start_time", &c.start_time), ("end_time", &c.end_time)] {
        if v.is_none() {
            return Err(ApiError::field(
                field,
                format!("executing needs the campaign's {field} (set it with PATCH)"),
            ));
        }
    }
    for (i, p) in c.products.iter().enumerate() {
        if p.budget.is_none() {
            return Err(ApiError::field(
                format!("products[{i}].budget"),
                format!("product {} needs a budget to be bought", p.product_id),
            ));
        }
        if p.pricing_option_id.is_none() {
            return Err(ApiError::field(
                format!("products[{i}].pricing_option_id"),
                format!(
                    "product {} needs the seller's pricing_option_id to be bought",
                    p.product_id
                ),
            ));
        }
    }
    Ok(())
}

/// A job as a report carries it (`SellerReport::job` is a plain JSON value).
fn job_value(j: &Job) -> serde_json::Result<Value> {
    serde_json::to_value(views::job(j))
}

/// Runs the first attempt for each seller now, side by side, and answers what each seller said.
/// Each attempt is a claimed job: if this request dies, a worker takes it over; a failed attempt
/// is retried by the workers with the same idempotency keys.
#[utoipa::path(
    post,
    operation_id = "propagation_execute",
    path = "/api/v2/buyer/campaigns/{campaign_id}/execute",
    tag = "propagation",
    summary = "Propagate the campaign's creatives to its sellers",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, description = "Propagate the campaign's creatives to its sellers", body = super::views::Executed), super::responses::Always, super::responses::NotFound, super::responses::Incomplete),
    security(("bearer" = []))
)]
pub(super) async fn execute(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<Response> {
    let campaign = load(&state, &customer, &campaign_id).await?;
    check_executable(&campaign)?;
    let mut sellers: Vec<SalesAgentId> = Vec::new();
    for p in &campaign.products {
        if !sellers.contains(&p.sales_agent_id) {
            sellers.push(p.sales_agent_id.clone());
        }
    }
    let p = propagator(&state);
    // The API runs each first attempt itself, and records it as any worker would.
    let jobs = crate::services::worker(&state);
    let worker = format!("api-{}", uuid::Uuid::now_v7().simple());
    let mut tasks = Vec::new();
    for seller in sellers {
        let (p, jobs, worker, campaign_id, customer_id) = (
            p.clone(),
            jobs.clone(),
            worker.clone(),
            campaign.campaign_id.clone(),
            customer.0.id.clone(),
        );
        // Spawned so that a client hanging up does not cut an attempt short.
        tasks.push(tokio::spawn(async move {
            if let Some(j) = queue::unfinished(&p.db, &campaign_id, &seller).await? {
                let mut r = SellerReport::new(seller.as_str());
                r.status = SellerStatus::InProgress;
                r.job = Some(job_value(&j)?);
                return anyhow::Ok(r);
            }
            // One execute per campaign and seller at a time, whichever replica it reaches: a
            // second one joins the first (answers with its job) instead of queueing a duplicate
            // that would resend everything under another key once the first one's hold ran out.
            let dedup = format!("execute:{campaign_id}:{seller}");
            let queued = match queue::enqueue_held_once(
                &p.db,
                NewJob::of::<Propagate>(
                    customer_id,
                    &Payload::new(Reason::Execute, None),
                    p.max_attempts,
                )?
                .in_lane(campaign_id, seller.clone())
                .once_open(dedup),
                p.lease,
            )
            .await?
            {
                Enqueued::New(job) => job,
                Enqueued::Joined(job) => {
                    let mut r = SellerReport::new(seller.as_str());
                    r.status = SellerStatus::InProgress;
                    r.job = Some(job_value(&job)?);
                    return Ok(r);
                }
            };
            // Another execute got in first: this one runs after it, on a worker.
            let Some(job) = queue::claim_id(&p.db, &queued.id, &worker, p.lease).await? else {
                let mut r = SellerReport::new(seller.as_str());
                r.status = SellerStatus::InProgress;
                r.job = Some(job_value(&queued)?);
                return Ok(r);
            };
            let payload: Payload = serde_json::from_value(job.payload.clone())?;
            let queued_for = crate::jobs::worker::queue_age(&job);
            let (mut report, outcome) = p.run(&job, &worker, payload).await;
            jobs.finish_counted(&job, &worker, &outcome, queued_for)
                .await?;
            report.job = queue::get(&p.db, &job.id)
                .await?
                .as_ref()
                .map(job_value)
                .transpose()?;
            Ok(report)
        }));
    }
    let mut reports = Vec::new();
    for t in tasks {
        let r = t
            .await
            .map_err(|e| anyhow::anyhow!("propagation task: {e}"))??;
        reports.push(r);
    }
    let count = |s: SellerStatus| reports.iter().filter(|r| r.status == s).count();
    let summary = views::ExecuteSummary {
        failed: count(SellerStatus::Failed),
        in_progress: count(SellerStatus::InProgress),
        retrying: count(SellerStatus::Retrying),
        sellers: reports.len(),
        skipped: count(SellerStatus::Skipped),
        succeeded: count(SellerStatus::Succeeded),
        waiting: count(SellerStatus::Waiting),
    };
    Ok(Json(views::Executed {
        campaign_id: &campaign.campaign_id,
        sellers: views::Sorted(&reports),
        summary,
    })
    .into_response())
}

/// What `execute` would send to whom, without sending anything: per seller, how the creatives
/// would travel and each product's creatives with the format each goes as (the same selection and
/// transport rules execute uses), and whether the campaign can be executed at all.
#[utoipa::path(
    get,
    operation_id = "propagation_preview",
    path = "/api/v2/buyer/campaigns/{campaign_id}/execute/preview",
    tag = "propagation",
    summary = "What executing would send to whom (a dry run: nothing is sent)",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, description = "Per seller: transport and packages with their creatives", body = super::doc_shapes::ExecutePreview), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn preview(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<Json<Value>> {
    use crate::adcp::types::{FormatId, FormatRef};
    use crate::propagation::{selection, transport};
    let campaign = load(&state, &customer, &campaign_id).await?;
    let blocker = check_executable(&campaign).err().map(|e| match e {
        ApiError::Validation { message, field } => json!({"message": message, "field": field}),
        other => json!({"message": other.to_string()}),
    });
    let manifests =
        crate::store::creatives::for_campaign(&state.db, &customer.0.id, &campaign.campaign_id)
            .await?;
    let registry = crate::formats::Registry::for_customer(&state.db, &customer.0.id).await?;
    let spec_of = |id: &FormatId| registry.spec_of(id);
    let mut sellers: Vec<SalesAgentId> = Vec::new();
    for p in &campaign.products {
        if !sellers.contains(&p.sales_agent_id) {
            sellers.push(p.sales_agent_id.clone());
        }
    }
    let mut out = Vec::new();
    for seller in sellers {
        let agent = crate::store::sales_agents::get(&state.db, &customer.0.id, &seller).await?;
        let sel = selection::select(&campaign, &seller, &manifests, &spec_of);
        let transport = match agent.as_ref().map(|a| transport::plan(&a.capabilities)) {
            Some(Ok(transport::Plan::Library { fallback_inline })) => {
                json!({"transport": "library", "fallback_inline": fallback_inline})
            }
            Some(Ok(transport::Plan::Inline)) => json!({"transport": "inline"}),
            Some(Err(e)) => json!({"transport": null, "problem": e.to_string()}),
            None => json!({"transport": null, "problem": "the sales agent no longer exists"}),
        };
        let packages: Vec<Value> = sel
            .packages
            .iter()
            .map(|pk| {
                json!({
                    "product_id": pk.product.product_id,
                    "creatives": pk.creatives.iter().map(|(i, f)| {
                        let m = &manifests[*i];
                        let format = match f {
                            FormatRef::Id(id) => json!({"format_id": id}),
                            FormatRef::Kind(k) => json!({"format_kind": k}),
                        };
                        json!({"creative_id": m.creative_id, "name": m.name, "as": format})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        out.push(json!({
            "sales_agent_id": seller,
            "name": agent.as_ref().map(|a| a.name.clone()),
            "endpoint_url": agent.as_ref().map(|a| a.endpoint_url.clone()),
            "plan": transport,
            "creatives": sel.needed().count(),
            "packages": packages,
        }));
    }
    Ok(Json(json!({
        "campaign_id": campaign.campaign_id,
        "executable": blocker.is_none(),
        "blocker": blocker,
        "sellers": out,
    })))
}

#[utoipa::path(
    get,
    operation_id = "propagation_show",
    path = "/api/v2/buyer/campaigns/{campaign_id}/propagation",
    tag = "propagation",
    summary = "Propagation jobs and media buys",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, description = "Propagation jobs and media buys", body = super::views::Propagation), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<Response> {
    let campaign = load(&state, &customer, &campaign_id).await?;
    // Jobs first: a job records its buy before it is marked done, so a finished job read here has
    // its buy in the read that follows (the other order could show a done job without its buy).
    let jobs = queue::for_campaign(&state.db, &customer.0.id, &campaign.campaign_id).await?;
    let buys = media_buys::for_campaign(&state.db, &campaign.campaign_id).await?;
    Ok(Json(views::Propagation {
        campaign_id: &campaign.campaign_id,
        jobs: jobs.iter().map(views::job).collect(),
        media_buys: views::Sorted(&buys),
    })
    .into_response())
}

/// Asks every seller holding the campaign's creatives for their current status (`list_creatives`),
/// as durable jobs; answers the jobs queued (202). See `propagation::reconcile`.
#[utoipa::path(
    post,
    operation_id = "propagation_refresh",
    path = "/api/v2/buyer/campaigns/{campaign_id}/propagation/refresh",
    tag = "propagation",
    summary = "Ask every seller holding the campaign's creatives for their current status (durable jobs)",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 202, description = "The jobs queued", body = super::doc_shapes::PropagationRefresh), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn refresh(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let campaign = load(&state, &customer, &campaign_id).await?;
    let sellers: Vec<String> = sqlx::query(
        "SELECT DISTINCT sales_agent_id FROM creative_syncs WHERE campaign_id = $1 ORDER BY sales_agent_id",
    )
    .bind(campaign.campaign_id.as_str().to_owned())
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(|r| sqlx::Row::try_get(r, "sales_agent_id"))
    .collect::<Result<_, _>>()?;
    let mut jobs = Vec::new();
    for seller in sellers {
        let job = reconcile::new_job(
            customer.0.id.clone(),
            campaign.campaign_id.clone(),
            SalesAgentId::from_db(seller),
            &reconcile::Payload::default(),
            state.config.job_max_attempts.max(1),
        )?;
        let queued = queue::enqueue(&state.db.pool, job).await?;
        jobs.push(job_value(&queued).map_err(anyhow::Error::from)?);
    }
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(serde_json::json!({"campaign_id": campaign.campaign_id, "jobs": jobs})),
    ))
}
