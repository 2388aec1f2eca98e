//! Creative manifests under a campaign: create (multipart), list, show, update (multipart), delete.

use super::query::ApiQuery;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::owned::campaign as load_campaign;
use super::pagination::{flag, page};
use super::{views, CurrentCustomer, Id};
use crate::error::{ApiError, ApiResult};
use crate::ids::{CampaignId, CreativeId};
use crate::ingest::{self, spool};
use crate::manifest::model::Manifest;
use crate::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::creatives::{self, ListQuery};

pub fn router(state: &AppState) -> Router<AppState> {
    // Uploads are bounded part by part (size, count) while they stream; this bounds the whole body.
    let upload_limit = DefaultBodyLimit::max(spool::body_limit(&state.limits) as usize);
    Router::new()
        .route(
            "/campaigns/{campaign_id}/creatives/create",
            post(create).layer(upload_limit),
        )
        .route("/campaigns/{campaign_id}/creativeManifest", get(list))
        .route(
            "/campaigns/{campaign_id}/creatives/{creative_id}/preview",
            post(preview),
        )
        .route(
            "/campaigns/{campaign_id}/creatives/{creative_id}",
            get(show).put(update).delete(remove).layer(upload_limit),
        )
}

/// Reads the request body as an upload: multipart (`metadata` + `files`), or a JSON body that is the
/// metadata alone.
pub(super) async fn read_upload(state: &AppState, req: Request) -> ApiResult<spool::Upload> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::InvalidMultipart(e.body_text()))?;
        spool::read(multipart, state.limits, &state.config.spool_dir()).await
    } else if content_type.starts_with("application/json") {
        let (parts, body) = req.into_parts();
        let body = super::body::read(&parts.headers, body).await?;
        let text = String::from_utf8(body.0.to_vec())
            .map_err(|_| ApiError::field("metadata", "metadata is not UTF-8"))?;
        Ok(spool::Upload {
            metadata: Some(text),
            files: vec![],
        })
    } else {
        Err(ApiError::UnsupportedContentType {
            expected: "multipart/form-data or application/json",
        })
    }
}

pub(super) async fn load_manifest(
    state: &AppState,
    customer: &CurrentCustomer,
    campaign_id: &CampaignId,
    creative_id: &CreativeId,
) -> ApiResult<(Campaign, Manifest)> {
    let campaign = load_campaign(state, customer, campaign_id).await?;
    let mut manifest = creatives::get(
        &state.db,
        &customer.0.id,
        &campaign.campaign_id,
        creative_id,
    )
    .await?
    .ok_or(ApiError::NotFound("creative"))?;
    // The full manifest carries each seller's word on it.
    manifest.sync_status.agents =
        Some(crate::store::syncs::for_creative(&state.db, &manifest.creative_id).await?);
    Ok((campaign, manifest))
}

#[utoipa::path(
    post,
    operation_id = "creatives_create",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/create",
    tag = "creatives",
    summary = "Upload a creative",
    params(("campaign_id" = String, Path, description = "campaign id")),
    request_body(content = super::responses::CreativeUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "Upload a creative", body = super::views::ManifestView), super::responses::Always, super::responses::NotFound, super::responses::Upload),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    // The campaign is checked before a byte of the body is read.
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let upload = read_upload(&state, req).await?;
    let manifest = ingest::create(&state, &customer.0, &campaign, upload).await?;
    Ok((
        StatusCode::CREATED,
        Json(single(&state, &campaign, &manifest).await?),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct ListParams {
    take: Option<String>,
    skip: Option<String>,
    search: Option<String>,
    #[serde(rename = "includeFrequencyCaps")]
    include_frequency_caps: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "creatives_list",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creativeManifest",
    tag = "creatives",
    summary = "List a campaign's creative manifests",
    params(("campaign_id" = String, Path, description = "campaign id"), ("take" = Option<i64>, Query, minimum = 1, maximum = 250, description = "page size (default 50)"), ("skip" = Option<i64>, Query, minimum = 0, description = "items to skip"), ("search" = Option<String>, Query, description = "name search"), ("includeFrequencyCaps" = Option<bool>, Query, description = "include frequency caps")),
    responses((status = 200, description = "List a campaign's creative manifests", body = super::views::Page<Vec<crate::store::creatives::Summary>>), super::responses::Always, super::responses::NotFound, super::responses::BadQuery),
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
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > 255) {
        return Err(ApiError::field(
            "search",
            "search is at most 255 characters",
        ));
    }
    let query = ListQuery {
        take: p.take,
        skip: p.skip,
        search,
        include_frequency_caps: flag(q.include_frequency_caps.as_deref(), "includeFrequencyCaps")?,
    };
    let (mut items, total) =
        creatives::list(&state.db, &customer.0.id, &campaign.campaign_id, &query).await?;
    // The store keeps the preview's key; clients get its URL.
    for item in &mut items {
        item.preview_url = item
            .preview_url
            .take()
            .map(|k| state.objects.public_url(&k));
    }
    Ok(Json(views::Page {
        campaign_id: Some(&campaign.campaign_id),
        items: views::Sorted(items),
        skip: p.skip,
        take: p.take,
        total,
    })
    .into_response())
}

#[utoipa::path(
    get,
    operation_id = "creatives_show",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}",
    tag = "creatives",
    summary = "Show a creative manifest",
    params(("campaign_id" = String, Path, description = "campaign id"), ("creative_id" = String, Path, description = "creative id")),
    responses((status = 200, description = "Show a creative manifest", body = super::views::ManifestView), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(creative_id): Id<CreativeId>,
) -> ApiResult<impl IntoResponse> {
    let (campaign, manifest) = load_manifest(&state, &customer, &campaign_id, &creative_id).await?;
    Ok(Json(single(&state, &campaign, &manifest).await?).into_response())
}

#[utoipa::path(
    put,
    operation_id = "creatives_update",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}",
    tag = "creatives",
    summary = "Replace a creative",
    params(("campaign_id" = String, Path, description = "campaign id"), ("creative_id" = String, Path, description = "creative id")),
    request_body(content = super::responses::CreativeUpload, content_type = "multipart/form-data"),
    responses((status = 200, description = "Replace a creative", body = super::views::ManifestView), super::responses::Always, super::responses::NotFound, super::responses::Upload),
    security(("bearer" = []))
)]
pub(super) async fn update(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(creative_id): Id<CreativeId>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let (campaign, current) = load_manifest(&state, &customer, &campaign_id, &creative_id).await?;
    let upload = read_upload(&state, req).await?;
    let manifest = ingest::update(&state, &customer.0, &campaign, current, upload).await?;
    Ok(Json(single(&state, &campaign, &manifest).await?).into_response())
}

/// One manifest as its own answers show it (create, read, update): with its delivery `performance`.
pub(super) async fn single<'a>(
    state: &AppState,
    campaign: &Campaign,
    manifest: &'a crate::manifest::model::Manifest,
) -> ApiResult<views::ManifestView<'a>> {
    let mut view = views::manifest(manifest, &state.objects);
    view.performance =
        Some(super::delivery::performance(state, campaign, manifest.creative_id.as_str()).await?);
    Ok(view)
}

/// Asks the formats' agents for previews, re-renders the service's own preview page (which shows
/// theirs, sandboxed), and answers with both. An agent's failure is a `preview_errors[]` entry.
#[utoipa::path(
    post,
    operation_id = "creatives_preview",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}/preview",
    tag = "creatives",
    summary = "Preview a creative",
    params(("campaign_id" = String, Path, description = "campaign id"), ("creative_id" = String, Path, description = "creative id")),
    responses((status = 200, description = "Preview a creative", body = super::views::Preview), super::responses::Always, super::responses::NotFound, super::responses::Storage),
    security(("bearer" = []))
)]
pub(super) async fn preview(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(creative_id): Id<CreativeId>,
) -> ApiResult<Response> {
    let (_, mut current) = load_manifest(&state, &customer, &campaign_id, &creative_id).await?;
    let (agents, errors) = crate::previews::from_agents(&state, &customer.0, &current).await?;
    current.agent_previews = agents;
    current.preview_errors = errors;
    let key = ingest::refresh_preview(&state, &customer.0, &current).await?;
    let url = key.as_deref().map(|k| state.objects.public_url(k));
    Ok(Json(views::Preview {
        creative_id: current.creative_id.clone(),
        preview_errors: &current.preview_errors,
        preview_url: url.clone(),
        previews: views::Previews {
            agents: &current.agent_previews,
            local: views::LocalPreview { url },
        },
    })
    .into_response())
}

#[utoipa::path(
    delete,
    operation_id = "creatives_remove",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}",
    tag = "creatives",
    summary = "Delete a creative",
    params(("campaign_id" = String, Path, description = "campaign id"), ("creative_id" = String, Path, description = "creative id")),
    responses((status = 204, description = "Delete a creative"), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(creative_id): Id<CreativeId>,
) -> ApiResult<StatusCode> {
    let (_, current) = load_manifest(&state, &customer, &campaign_id, &creative_id).await?;
    ingest::delete(&state, &customer.0, &current).await?;
    Ok(StatusCode::NO_CONTENT)
}
