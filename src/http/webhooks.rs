//! `POST /adcp/webhooks/:jobId`: where sellers report on what a propagation job registered (AdCP
//! push notifications): task events (`core/mcp-webhook-payload.json`) and creative lifecycle events
//! (`creative/creative-status-changed-webhook.json`). Not behind the buyer's API key. In order:
//! 1. the body is capped at 1 MiB before anything else (413);
//! 2. it is authenticated from its raw bytes: where the registration asked for HMAC-SHA256, by
//!    AdCP's legacy signature with its secret (±300 s) and nothing else (an unsigned event carrying
//!    the echoed token is refused); a registration made before secrets, by the echoed token derived
//!    from the job id (401 either way);
//!    then duplicate JSON keys are refused (400);
//! 3. the event's `idempotency_key` is recorded durably, in the transaction that applies it: a
//!    replay answers 200 `duplicate` and changes nothing;
//! 4. review decisions (`result.creatives[]`, `creative.status_changed`) update that seller's entry
//!    per creative, and a reconciliation (`list_creatives`) is queued: nothing in a webhook is the
//!    last word. A task event also wakes the job waiting for that task, which then asks the seller.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::body::json_body;
use super::body::JsonBytes;
use super::views::WebhookProcessed;
use crate::adcp::webhook_hmac::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::error::{ApiError, ApiResult};
use crate::ids::{CampaignId, CustomerId, SalesAgentId};
use crate::jobs::queue;
use crate::propagation::reconcile;
use crate::propagation::review::{self, AuthError, Event, Registered};
use crate::propagation::wake_for_task;
use crate::state::AppState;
use crate::store::review as store;

pub fn router() -> Router<AppState> {
    Router::new().route("/adcp/webhooks/{job_id}", post(seller_webhook))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn seller_webhook(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    headers: HeaderMap,
    body: JsonBytes,
) -> ApiResult<Json<WebhookProcessed>> {
    let registration = store::registration(&state.db, &job_id).await?;
    let token_matches = |raw: &[u8]| {
        serde_json::from_slice::<Value>(raw)
            .ok()
            .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|t| state.signer.verify_webhook_token(&job_id, &t))
    };
    // A stored registration is one that asked for HMAC-SHA256 (with its secret); one without
    // (registered before secrets were kept) has only the token.
    let registered = match &registration {
        Some(r) => Registered::Hmac(&r.secret),
        None => Registered::Token,
    };
    match review::authenticate(
        registered,
        header(&headers, TIMESTAMP_HEADER),
        header(&headers, SIGNATURE_HEADER),
        &body.0,
        chrono::Utc::now().timestamp(),
        token_matches,
    ) {
        Ok(_) => {}
        Err(AuthError::Hmac(crate::adcp::webhook_hmac::VerifyError::Malformed)) => {
            return Err(ApiError::field(
                "body",
                "the signature is valid, the body is not: one JSON value with unique keys is expected",
            ));
        }
        Err(e) => {
            tracing::info!(job = %job_id, reason = %e, "seller webhook refused");
            crate::metrics::webhook("received", "bad_token");
            return Err(ApiError::BadWebhookToken);
        }
    }
    let payload: Value = json_body(&body)?;
    let event = review::read_event(&payload).map_err(|m| ApiError::field("idempotency_key", m))?;
    // Whom the registration speaks for: kept with it, or (registered before secrets) the job's lane.
    let lane = match &registration {
        Some(r) => Some((
            r.customer_id.clone(),
            r.campaign_id.clone(),
            r.sales_agent_id.clone(),
        )),
        None => queue::get(&state.db, &job_id).await?.and_then(|j| {
            Some((
                j.customer_id.clone(),
                j.campaign_id.clone()?,
                j.sales_agent_id.clone()?,
            ))
        }),
    };
    let Some((customer, campaign, agent)) = lane else {
        crate::metrics::webhook("received", "unknown_job");
        return Err(ApiError::NotFound("job"));
    };

    let updates = event.updates();
    let mut tx = state.db.begin_write().await?;
    if !store::first_time(&mut tx, &job_id, event.idempotency_key()).await? {
        crate::metrics::webhook("received", "duplicate");
        return Ok(Json(WebhookProcessed {
            status: "duplicate",
            updated: None,
            woken: false,
        }));
    }
    let mut applied = Vec::new();
    for u in &updates {
        if store::apply(&mut *tx, &campaign, &agent, u).await? {
            applied.push(u.creative_id.clone());
        }
    }
    if !applied.is_empty() {
        let job = reconcile::new_job(
            CustomerId::from_db(customer),
            CampaignId::from_db(campaign),
            SalesAgentId::from_db(agent),
            &reconcile::Payload {
                creative_ids: Some(applied.clone()),
                scheduled: false,
            },
            state.config.job_max_attempts.max(1),
        )?;
        queue::enqueue(&mut *tx, job).await?;
    }
    tx.commit().await?;

    let woken = match &event {
        Event::Task { task_id, .. } => wake_for_task(&state.db, &job_id, task_id.as_deref())
            .await?
            .unwrap_or(false),
        Event::StatusChanged { .. } => false,
    };
    crate::metrics::webhook(
        "received",
        if woken || !applied.is_empty() {
            "applied"
        } else {
            "ignored"
        },
    );
    Ok(Json(WebhookProcessed {
        status: "processed",
        updated: Some(applied),
        woken,
    }))
}
