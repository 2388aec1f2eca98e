//! `/campaigns/:id/creative-sessions`: drafts from source assets, refine, approve, finalize.
//! Thin: the gestures live in `crate::sessions`.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::creatives::{read_upload, single};
use super::owned::campaign as load_campaign;
use super::pagination::page;
use super::query::ApiQuery;
use super::{views, ApiJson, CurrentCustomer, Id};
use crate::error::ApiResult;
use crate::ids::{CampaignId, SessionId, VariantId};
use crate::ingest::spool;
use crate::sessions::{self, FinalizeRequest, RefineRequest};
use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit = DefaultBodyLimit::max(spool::body_limit(&state.limits) as usize);
    Router::new()
        .route(
            "/campaigns/{campaign_id}/creative-sessions",
            post(create).get(list).layer(upload_limit),
        )
        .route(
            "/campaigns/{campaign_id}/creative-sessions/{session_id}",
            get(show).delete(remove),
        )
        .route(
            "/campaigns/{campaign_id}/creative-sessions/{session_id}/refine",
            post(refine),
        )
        .route(
            "/campaigns/{campaign_id}/creative-sessions/{session_id}/variants/{variant_id}/approve",
            post(approve),
        )
        .route(
            "/campaigns/{campaign_id}/creative-sessions/{session_id}/finalize",
            post(finalize),
        )
}

#[utoipa::path(
    post,
    operation_id = "creative_sessions_create",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions",
    tag = "creative-sessions",
    summary = "Start a creative session: drafts for the formats the campaign misses",
    description = "Multipart (`metadata` JSON part + the source files it names) or a JSON body (URL sources only). \
`metadata`: `brief {channel, audience, goal, message}`, `source_assets[] {filename | url, role, locked_asset, can_transform, \
preservation_notes, source, rights {status, holder?, expires_at?}, render_crop?, subject_bounds?, mask?}`, `headline`, `body`, \
`cta`, `target_format_ids` (default: the campaign's missing formats), `adapter` (`builtin` or `creative_agent:<sales_agent_id>`).",
    params(("campaign_id" = String, Path, description = "campaign id")),
    request_body(content = super::responses::CreativeUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The session with its draft variants", body = crate::sessions::model::Session), super::responses::Always, super::responses::NotFound, super::responses::Upload, super::responses::AgentFailed),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    req: Request,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let upload = read_upload(&state, req).await?;
    let session = sessions::create(&state, &customer.0, &campaign, upload).await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

/// A refinement's answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct RefineAnswer {
    /// The new variants, branching from the one refined.
    variants: Vec<crate::sessions::model::Variant>,
    /// The instructions the feedback was understood as.
    understood: Vec<String>,
    /// Phrases the adapter did not understand (nothing was done for them).
    not_understood: Vec<String>,
    session: crate::sessions::model::Session,
}

/// A finalize's answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct FinalizeAnswer<'a> {
    /// The manifests saved, as `GET /campaigns/:id/creatives/:creative_id` shows them.
    manifests: Vec<views::ManifestView<'a>>,
    /// Advisory warnings, recorded with each manifest's lineage.
    review_notes: Vec<String>,
    session: crate::sessions::model::Session,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    take: Option<String>,
    skip: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "creative_sessions_list",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions",
    tag = "creative-sessions",
    summary = "A campaign's creative sessions",
    params(
        ("campaign_id" = String, Path, description = "campaign id"),
        ("take" = Option<i64>, Query, description = "page size"),
        ("skip" = Option<i64>, Query, description = "offset"),
    ),
    responses((status = 200, description = "A page of sessions", body = super::views::Page<Vec<crate::sessions::model::Session>>), super::responses::Always, super::responses::NotFound, super::responses::BadQuery),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let p = page(q.take.as_deref(), q.skip.as_deref())?;
    let (items, total) = sessions::list(&state, &customer.0, &campaign, p.take, p.skip).await?;
    Ok(Json(views::Page {
        campaign_id: Some(&campaign.campaign_id),
        items,
        skip: p.skip,
        take: p.take,
        total,
    })
    .into_response())
}

#[utoipa::path(
    get,
    operation_id = "creative_sessions_show",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}",
    tag = "creative-sessions",
    summary = "One creative session",
    params(("campaign_id" = String, Path, description = "campaign id"), ("session_id" = String, Path, description = "session id")),
    responses((status = 200, description = "The session", body = crate::sessions::model::Session), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(session_id): Id<SessionId>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let (session, _) = sessions::load(&state, &customer.0, &campaign, session_id.as_str()).await?;
    Ok(Json(session).into_response())
}

#[utoipa::path(
    post,
    operation_id = "creative_sessions_refine",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}/refine",
    tag = "creative-sessions",
    summary = "Refine a variant in words: new variants branching from it",
    description = "The built-in adapter understands: bigger logo, smaller logo, more prominent product, less busy, \
darker background, lighter background, shorter headline. Phrases outside the set come back in `not_understood`; \
feedback with no understood phrase is a 400 naming them.",
    params(("campaign_id" = String, Path, description = "campaign id"), ("session_id" = String, Path, description = "session id")),
    request_body = RefineRequest,
    responses((status = 201, description = "The new variants and what was understood", body = RefineAnswer), super::responses::Always, super::responses::NotFound, super::responses::JsonBody, super::responses::Conflict, super::responses::AgentFailed, super::responses::Storage),
    security(("bearer" = []))
)]
pub(super) async fn refine(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(session_id): Id<SessionId>,
    ApiJson(body): ApiJson<RefineRequest>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let r = sessions::refine(&state, &customer.0, &campaign, session_id.as_str(), body).await?;
    let variants = r
        .variants
        .iter()
        .filter_map(|id| r.session.variant(id).cloned())
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(RefineAnswer {
            variants,
            understood: r.understood,
            not_understood: r.not_understood,
            session: r.session,
        }),
    )
        .into_response())
}

#[utoipa::path(
    post,
    operation_id = "creative_sessions_approve",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}/variants/{variant_id}/approve",
    tag = "creative-sessions",
    summary = "Approve a draft variant (finalize takes approved variants)",
    params(
        ("campaign_id" = String, Path, description = "campaign id"),
        ("session_id" = String, Path, description = "session id"),
        ("variant_id" = String, Path, description = "variant id"),
    ),
    responses((status = 200, description = "The session", body = crate::sessions::model::Session), super::responses::Always, super::responses::NotFound, super::responses::Conflict),
    security(("bearer" = []))
)]
pub(super) async fn approve(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(session_id): Id<SessionId>,
    Id(variant_id): Id<VariantId>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let s = sessions::approve(
        &state,
        &customer.0,
        &campaign,
        session_id.as_str(),
        variant_id.as_str(),
    )
    .await?;
    Ok(Json(s).into_response())
}

#[utoipa::path(
    post,
    operation_id = "creative_sessions_finalize",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}/finalize",
    tag = "creative-sessions",
    summary = "Finalize an approved variant into manifest(s) through the upload path",
    description = "`format_ids` finalizes the variant's direction for several formats (seller-specific versions \
sharing its lineage). Hard checks (readiness, asset fidelity, rights, format) block with 422 FINALIZE_BLOCKED and \
`details.reasons`; advisory warnings become `review_notes`.",
    params(("campaign_id" = String, Path, description = "campaign id"), ("session_id" = String, Path, description = "session id")),
    request_body = FinalizeRequest,
    responses((status = 201, description = "The manifests saved", body = FinalizeAnswer), super::responses::Always, super::responses::NotFound, super::responses::JsonBody, super::responses::Conflict, super::responses::Blocked, super::responses::AgentFailed, super::responses::Storage),
    security(("bearer" = []))
)]
pub(super) async fn finalize(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(session_id): Id<SessionId>,
    ApiJson(body): ApiJson<FinalizeRequest>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let f = sessions::finalize(&state, &customer.0, &campaign, session_id.as_str(), body).await?;
    let mut manifests = Vec::new();
    for m in &f.manifests {
        manifests.push(single(&state, &campaign, m).await?);
    }
    Ok((
        StatusCode::CREATED,
        Json(FinalizeAnswer {
            manifests,
            review_notes: f.review_notes,
            session: f.session,
        }),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    operation_id = "creative_sessions_delete",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}",
    tag = "creative-sessions",
    summary = "Discard a session and its drafts (finalized manifests stay)",
    params(("campaign_id" = String, Path, description = "campaign id"), ("session_id" = String, Path, description = "session id")),
    responses((status = 204, description = "Discarded"), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(session_id): Id<SessionId>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    sessions::discard(&state, &customer.0, &campaign, session_id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
