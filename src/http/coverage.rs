//! Format coverage of a campaign: `creativeFormats` on the campaign, the templates endpoint, and
//! the validate dry run.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::owned::campaign as load_campaign;
use super::views::{self, Sorted};
use super::{CurrentCustomer, Id};
use crate::adcp::types::FormatId;
use crate::error::{ApiError, ApiResult};
use crate::formats::templates::TEMPLATES;
use crate::formats::Registry;
use crate::ids::{CampaignId, CreativeId};
use crate::ingest;
use crate::manifest::coverage::{self, Coverage, ManifestFacts, Requirement};
use crate::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::creatives;

pub fn router(state: &AppState) -> Router<AppState> {
    // A multipart dry run streams its files to the spool like an upload, under the same limits; a
    // JSON body is capped small by `body::read`.
    let upload_limit =
        DefaultBodyLimit::max(crate::ingest::spool::body_limit(&state.limits) as usize);
    Router::new()
        .route("/templates", get(catalogue))
        .route(
            "/campaigns/{campaign_id}/creatives/templates",
            get(templates),
        )
        .route(
            "/campaigns/{campaign_id}/creatives/validate",
            post(validate).layer(upload_limit),
        )
}

/// Required, covered and missing formats of a campaign, from the properties recorded at upload.
pub async fn campaign_coverage(
    state: &AppState,
    customer: &CurrentCustomer,
    campaign: &Campaign,
) -> ApiResult<Coverage> {
    let registry = Registry::for_customer(&state.db, &customer.0.id).await?;
    let facts =
        creatives::facts_for_campaign(&state.db, &customer.0.id, &campaign.campaign_id).await?;
    Ok(coverage::coverage(
        campaign.requirements(),
        &|id: &FormatId| registry.spec_of(id),
        &facts,
    ))
}

/// The template catalogue alone, for choosing a `template_id` before any campaign exists.
#[utoipa::path(
    get,
    operation_id = "coverage_catalogue",
    path = "/api/v2/buyer/templates",
    tag = "coverage",
    summary = "The template catalogue",
    responses((status = 200, description = "The template catalogue", body = super::views::Catalogue), super::responses::Always),
    security(("bearer" = []))
)]
pub(super) async fn catalogue(_customer: CurrentCustomer) -> Json<views::Catalogue> {
    Json(views::Catalogue {
        templates: Sorted(TEMPLATES),
    })
}

#[utoipa::path(
    get,
    operation_id = "coverage_templates",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/templates",
    tag = "coverage",
    summary = "Templates the campaign's products need",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, description = "Templates the campaign's products need", body = super::views::CampaignTemplates), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn templates(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<Response> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let cov = campaign_coverage(&state, &customer, &campaign).await?;
    let products: Vec<views::ProductCoverage> = campaign
        .products
        .iter()
        .map(|p| {
            let reqs: Vec<Requirement> = p
                .format_ids
                .iter()
                .cloned()
                .map(Requirement::Format)
                .chain(p.format_kinds.iter().cloned().map(Requirement::Kind))
                .collect();
            let (covered, missing): (Vec<_>, Vec<_>) =
                reqs.into_iter().partition(|r| cov.covered.contains(r));
            views::ProductCoverage {
                covered: Sorted(covered),
                format_ids: Sorted(&p.format_ids),
                format_kinds: Sorted(&p.format_kinds),
                missing: Sorted(missing),
                product_id: &p.product_id,
                sales_agent_id: &p.sales_agent_id,
            }
        })
        .collect();
    Ok(Json(views::CampaignTemplates {
        campaign_format_ids: Sorted(campaign.format_ids()),
        campaign_products: products,
        templates: Sorted(TEMPLATES),
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateExisting {
    creative_id: String,
    #[serde(default)]
    target_format_ids: Option<Vec<FormatId>>,
}

/// Dry run: an existing manifest (`{"creative_id"}`) or a would-be manifest (the create request,
/// files included) against target formats (default: the campaign's). Nothing is stored.
#[utoipa::path(
    post,
    operation_id = "coverage_validate",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/validate",
    tag = "coverage",
    summary = "Dry-run validation of a creative against target formats",
    params(("campaign_id" = String, Path, description = "campaign id")),
    request_body(content((Object = "application/json"), (super::responses::CreativeUpload = "multipart/form-data"))),
    responses((status = 200, description = "Dry-run validation of a creative against target formats", body = super::views::Validated), super::responses::Always, super::responses::NotFound, super::responses::Upload),
    security(("bearer" = []))
)]
pub(super) async fn validate(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    req: Request,
) -> ApiResult<Json<views::Validated>> {
    let campaign = load_campaign(&state, &customer, &campaign_id).await?;
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (creative_id, facts, targets) = if is_json {
        let (parts, body) = req.into_parts();
        let body = super::body::read(&parts.headers, body).await?;
        let v: Value = super::body::json_body(&body)?;
        if v.get("creative_id").is_some() {
            let input: ValidateExisting = super::body::json_body(&body)?;
            let id = CreativeId::parse(&input.creative_id).ok_or(ApiError::NotFound("creative"))?;
            let m = creatives::get(&state.db, &customer.0.id, &campaign.campaign_id, &id)
                .await?
                .ok_or(ApiError::NotFound("creative"))?;
            (Some(id), ManifestFacts::of(&m), input.target_format_ids)
        } else {
            let upload = ingest::spool::Upload {
                metadata: Some(String::from_utf8_lossy(&body.0).into_owned()),
                files: vec![],
            };
            let (m, targets) = ingest::dry_run(&state, &campaign, upload).await?;
            (None, ManifestFacts::of(&m), targets)
        }
    } else {
        let upload = super::creatives::read_upload(&state, req).await?;
        let (m, targets) = ingest::dry_run(&state, &campaign, upload).await?;
        (None, ManifestFacts::of(&m), targets)
    };

    let registry = Registry::for_customer(&state.db, &customer.0.id).await?;
    let spec_of = |id: &FormatId| registry.spec_of(id);
    let targets: Vec<Requirement> = match targets {
        Some(ids) => ids.into_iter().map(Requirement::Format).collect(),
        None => campaign.requirements(),
    };
    let results: Vec<views::TargetResult> = targets
        .into_iter()
        .map(|target| {
            let violations = coverage::check_requirement(&target, &spec_of, &facts);
            views::TargetResult {
                status: if violations.is_empty() {
                    "validated_pass"
                } else {
                    "validated_fail"
                },
                target,
                violations,
            }
        })
        .collect();
    Ok(Json(views::Validated {
        creative_id,
        results: Sorted(results),
    }))
}
