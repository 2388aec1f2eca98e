//! `/api/v2/storefront/creative-reviews`: the storefront owner's review queue. The operator lists
//! what waits, reads one submission (the creative exactly as the buyer sent it), approves or
//! rejects it, and revokes an approved one. The rules are in `storefront::review`; this file reads
//! requests and renders rows.

use super::query::ApiQuery;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::SessionActor;
use super::body::{json_body, ApiJson, JsonBytes};
use super::pagination;
use super::CurrentCustomer;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::db::{from_json, now};
use crate::storefront::review::deliveries::{self, WebhookRow};
use crate::storefront::review::reads;
use crate::storefront::review::store::{self, Decided, ReviewRow};
use crate::storefront::review::{self, Gesture, ReviewStatus};
use axum::Extension;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/creative-reviews", get(list))
        .route("/creative-reviews/{creative_id}", get(show))
        .route("/creative-reviews/{creative_id}/decide", post(decide))
        .route("/creative-reviews/{creative_id}/revoke", post(revoke))
}

/// The queue's `status` filter: one status, or `all`.
fn status_filter(raw: Option<&str>) -> ApiResult<Option<ReviewStatus>> {
    match raw.unwrap_or("pending") {
        "all" => Ok(None),
        s => ReviewStatus::from_db(s).map(Some).map_err(|_| {
            ApiError::field(
                "status",
                "status is pending, approved, rejected, revoked or all",
            )
        }),
    }
}

/// A row as the operator sees it. `submittedPayload` is the creative as the buyer sent it; webhook
/// credentials are never part of it (they are request-level, sealed apart), and any
/// `push_notification_config` a buyer tucked into the creative itself is left out too.
fn view(r: &ReviewRow, detail: Option<(Vec<Value>, Vec<WebhookRow>)>) -> ApiResult<Value> {
    let mut v = json!({
        "creative_id": r.creative_id,
        "review_id": r.id,
        "name": r.name,
        "storefront_id": r.storefront_id,
        "account_id": r.account_id,
        "status": r.status,
        "submission": r.revision,
        "submitted_at": r.submitted_at,
        "decided_at": r.decided_at,
        "decided_by": r.decided_by,
        "note": r.note,
        "forwarding": {
            "status": r.forward_status,
            "attempts": r.forward_attempts,
            "last_error": r.forward_error,
            "platform_id": r.platform_id,
            "agent_status": r.agent_status,
        },
    });
    if let Some((history, webhooks)) = detail {
        let mut payload: Value = from_json(&r.payload)?;
        if let Some(obj) = payload.as_object_mut() {
            obj.remove("push_notification_config");
            obj.remove("pushNotificationConfig");
        }
        v["submittedPayload"] = payload;
        v["history"] = json!(history);
        v["webhooks"] = webhooks
            .iter()
            .map(|w| {
                json!({"event": w.event, "status": w.status, "attempts": w.attempts,
                       "last_error": w.last_error, "delivered_at": w.delivered_at,
                       "idempotency_key": w.idempotency_key, "created_at": w.created_at})
            })
            .collect();
    }
    Ok(v)
}

#[utoipa::path(
    get,
    operation_id = "creative_reviews_list",
    path = "/api/v2/storefront/creative-reviews",
    tag = "creative-reviews",
    summary = "The review queue",
    params(("take" = Option<i64>, Query, minimum = 1, maximum = 250, description = "page size (default 50)"), ("skip" = Option<i64>, Query, minimum = 0, description = "items to skip"), ("status" = Option<String>, Query, description = "pending, approved, rejected, revoked or all"), ("search" = Option<String>, Query), ("storefront_id" = Option<String>, Query), ("account_id" = Option<String>, Query)),
    responses((status = 200, description = "The review queue", body = super::doc_shapes::ReviewPage), super::responses::Always, super::responses::BadQuery),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = pagination::page(
        q.get("take").map(String::as_str),
        q.get("skip").map(String::as_str),
    )?;
    let status = status_filter(q.get("status").map(String::as_str))?;
    let search = q.get("search").map(|s| s.trim()).filter(|s| !s.is_empty());
    let query = reads::Query {
        status,
        storefront_id: q.get("storefront_id").map(String::as_str),
        account_id: q.get("account_id").map(String::as_str),
        search,
        take: page.take,
        skip: page.skip,
    };
    let (rows, total) = reads::list(&state.db, &customer.0.id, &query).await?;
    let items = rows
        .iter()
        .map(|r| view(r, None))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({
        "items": items,
        "total": total,
        "take": page.take,
        "skip": page.skip,
    })))
}

#[derive(Deserialize)]
pub(super) struct Which {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    storefront_id: Option<String>,
}

/// The one row a creative id names among the customer's, or 404; several (the id exists in more
/// than one account) are a 409 naming them, to be narrowed with `?account_id=`.
async fn one(
    state: &AppState,
    customer: &CurrentCustomer,
    creative_id: &str,
    which: &Which,
) -> ApiResult<ReviewRow> {
    let mut rows = reads::find(
        &state.db,
        &customer.0.id,
        creative_id,
        which.account_id.as_deref(),
        which.storefront_id.as_deref(),
    )
    .await?;
    match rows.len() {
        0 => Err(ApiError::NotFound("creative review")),
        1 => Ok(rows.remove(0)),
        _ => Err(ApiError::Ambiguous {
            message: format!(
                "creative '{creative_id}' is in {} accounts; name one with ?account_id=",
                rows.len()
            ),
            choices: rows
                .iter()
                .map(|r| json!({"account_id": r.account_id, "storefront_id": r.storefront_id}))
                .collect(),
        }),
    }
}

async fn detail(state: &AppState, row: &ReviewRow) -> ApiResult<Value> {
    let history = reads::history(&state.db, &row.id).await?;
    let webhooks = deliveries::webhooks(&state.db, &row.id).await?;
    view(row, Some((history, webhooks)))
}

#[utoipa::path(
    get,
    operation_id = "creative_reviews_show",
    path = "/api/v2/storefront/creative-reviews/{creative_id}",
    tag = "creative-reviews",
    summary = "Show a review",
    params(("creative_id" = String, Path, description = "creative id"), ("account_id" = Option<String>, Query, description = "narrows an id found in several accounts"), ("storefront_id" = Option<String>, Query, description = "narrows an id found in several storefronts")),
    responses((status = 200, description = "Show a review", body = super::doc_shapes::CreativeReview), super::responses::Always, super::responses::NotFound, super::responses::Conflict, super::responses::BadQuery),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Path(creative_id): Path<String>,
    ApiQuery(which): ApiQuery<Which>,
) -> ApiResult<Json<Value>> {
    let row = one(&state, &customer, &creative_id, &which).await?;
    Ok(Json(detail(&state, &row).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Decision {
    decision: Verdict,
    #[serde(default)]
    note: Option<String>,
}

/// What an operator may decide; `revoked` is not one (an approved creative is pulled with /revoke).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Approved,
    Rejected,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Revoke {
    #[serde(default)]
    note: Option<String>,
}

/// What names who made a request: its key header, or the web UI session it came through.
#[derive(Clone, Copy)]
struct Who<'a> {
    headers: &'a HeaderMap,
    session: Option<&'a SessionActor>,
}

/// Who decided: the label of the key the request came with (its id when unlabelled); for a web UI
/// session, the label of the key it signed in with.
async fn actor(state: &AppState, who: Who<'_>) -> ApiResult<String> {
    let Who { headers, session } = who;
    if let Some(session) = session {
        return Ok(session.key_label.clone());
    }
    let key = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    reads::key_name(&state.db, key)
        .await?
        .ok_or(ApiError::Unauthorized)
}

async fn apply(
    state: &AppState,
    customer: &CurrentCustomer,
    who: Who<'_>,
    creative_id: &str,
    which: &Which,
    gesture: Gesture,
    note: Option<&str>,
) -> ApiResult<Json<Value>> {
    let note = review::check_note(note).map_err(|m| ApiError::field("note", m))?;
    let row = one(state, customer, creative_id, which).await?;
    let from = row.status()?;
    let to = review::transition(from, gesture)
        .map_err(|refused| ApiError::InvalidState(refused.message(gesture)))?;
    let by = actor(state, who).await?;
    let attempts = state.config.job_max_attempts.max(1);
    match store::decide(
        &state.db,
        &row,
        from,
        to,
        &by,
        note.as_deref(),
        &now(),
        attempts,
    )
    .await?
    {
        Decided::Done => {
            // Ids and statuses only: notes and payloads are the buyer's and the operator's text.
            tracing::info!(review = %row.id, storefront = %row.storefront_id, from = from.as_db(),
                to = to.as_db(), "creative review decided");
        }
        Decided::Lost => {
            // Someone else decided first (or the buyer submitted anew): say what it is now.
            let current = reads::get(&state.db, &row.id)
                .await?
                .ok_or(ApiError::NotFound("creative review"))?;
            let refused = review::Refused {
                current: current.status()?,
            };
            let message = if current.revision != row.revision {
                "the buyer submitted a new version meanwhile; review it again".to_owned()
            } else {
                refused.message(gesture)
            };
            return Err(ApiError::InvalidState(message));
        }
    }
    let row = reads::get(&state.db, &row.id)
        .await?
        .ok_or(ApiError::NotFound("creative review"))?;
    Ok(Json(detail(state, &row).await?))
}

#[utoipa::path(
    post,
    operation_id = "creative_reviews_decide",
    path = "/api/v2/storefront/creative-reviews/{creative_id}/decide",
    tag = "creative-reviews",
    summary = "Approve or reject",
    params(("creative_id" = String, Path, description = "creative id"), ("account_id" = Option<String>, Query, description = "narrows an id found in several accounts"), ("storefront_id" = Option<String>, Query, description = "narrows an id found in several storefronts")),
    request_body(content = Decision, content_type = "application/json"),
    responses((status = 200, description = "Approve or reject", body = super::doc_shapes::CreativeReview), super::responses::Always, super::responses::NotFound, super::responses::Conflict, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn decide(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    headers: HeaderMap,
    session: Option<Extension<SessionActor>>,
    Path(creative_id): Path<String>,
    ApiQuery(which): ApiQuery<Which>,
    ApiJson(input): ApiJson<Decision>,
) -> ApiResult<Json<Value>> {
    let gesture = match input.decision {
        Verdict::Approved => Gesture::Approve,
        Verdict::Rejected => Gesture::Reject,
    };
    apply(
        &state,
        &customer,
        Who {
            headers: &headers,
            session: session.as_deref(),
        },
        &creative_id,
        &which,
        gesture,
        input.note.as_deref(),
    )
    .await
}

#[utoipa::path(
    post,
    operation_id = "creative_reviews_revoke",
    path = "/api/v2/storefront/creative-reviews/{creative_id}/revoke",
    tag = "creative-reviews",
    summary = "Revoke an approval",
    params(("creative_id" = String, Path, description = "creative id"), ("account_id" = Option<String>, Query, description = "narrows an id found in several accounts"), ("storefront_id" = Option<String>, Query, description = "narrows an id found in several storefronts")),
    request_body(content = Revoke, content_type = "application/json"),
    responses((status = 200, description = "Revoke an approval", body = super::doc_shapes::CreativeReview), super::responses::Always, super::responses::NotFound, super::responses::Conflict, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    headers: HeaderMap,
    session: Option<Extension<SessionActor>>,
    Path(creative_id): Path<String>,
    ApiQuery(which): ApiQuery<Which>,
    body: JsonBytes,
) -> ApiResult<Json<Value>> {
    let input: Revoke = if body.0.is_empty() {
        Revoke { note: None }
    } else {
        json_body(&body)?
    };
    apply(
        &state,
        &customer,
        Who {
            headers: &headers,
            session: session.as_deref(),
        },
        &creative_id,
        &which,
        Gesture::Revoke,
        input.note.as_deref(),
    )
    .await
}
