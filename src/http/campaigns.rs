//! `/campaigns`: a campaign, its advertiser and the products it bought.

use super::owned::campaign as load;
use super::query::ApiQuery;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::pagination::page;
use super::{views, ApiJson, CurrentCustomer, Id};
use crate::adcp::types::FormatId;
use crate::error::{ApiError, ApiResult};
use crate::ids::{CampaignId, SalesAgentId};
use crate::manifest::metadata::{MAX_LIST, MAX_NAME};
use crate::state::AppState;
use crate::store::campaigns::{self, Campaign, FormatKindRequirement, Product};
use crate::store::db::now;
use crate::store::{creatives, removal, sales_agents};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", post(create).get(list))
        .route(
            "/campaigns/{campaign_id}",
            get(show).patch(update).delete(remove),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCampaign {
    name: String,
    brand_domain: String,
    #[serde(default)]
    products: Vec<NewProduct>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewProduct {
    product_id: String,
    sales_agent_id: String,
    /// AdCP format-id objects.
    #[serde(default)]
    format_ids: Vec<FormatId>,
    /// AdCP canonical-kind requirements.
    #[serde(default)]
    format_kinds: Vec<FormatKindRequirement>,
    #[serde(default)]
    budget: Option<f64>,
    #[serde(default)]
    pricing_option_id: Option<String>,
}

/// An RFC 3339 instant, normalised to UTC with milliseconds (the form every timestamp is kept in).
fn check_instant(field: &str, raw: &str) -> ApiResult<String> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .map_err(|_| {
            ApiError::field(
                field,
                format!("'{raw}' is not an RFC 3339 date-time (e.g. 2026-12-01T00:00:00Z)"),
            )
        })
}

/// The flight: `start_time` is RFC 3339 or `asap`, `end_time` RFC 3339 and after the start.
fn check_flight(c: &mut Campaign, start: Option<String>, end: Option<String>) -> ApiResult<()> {
    if let Some(s) = start {
        c.start_time = Some(if s.trim() == "asap" {
            "asap".into()
        } else {
            check_instant("start_time", &s)?
        });
    }
    if let Some(e) = end {
        c.end_time = Some(check_instant("end_time", &e)?);
    }
    if let (Some(s), Some(e)) = (&c.start_time, &c.end_time) {
        let start_after_end = s != "asap" && s >= e;
        if start_after_end || (s == "asap" && e.as_str() <= now().as_str()) {
            return Err(ApiError::field(
                "end_time",
                "end_time must come after start_time",
            ));
        }
    }
    Ok(())
}

/// A registrable domain in lower case, e.g. `acme.com` (no scheme, no path).
fn check_domain(raw: &str) -> ApiResult<String> {
    let d = raw.trim().to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) {
        return Err(ApiError::field(
            "brand_domain",
            format!("'{raw}' is not a domain name (e.g. acme.com)"),
        ));
    }
    Ok(d)
}

async fn check_products(
    state: &AppState,
    customer: &CurrentCustomer,
    input: Vec<NewProduct>,
) -> ApiResult<Vec<Product>> {
    if input.len() > MAX_LIST {
        return Err(ApiError::field(
            "products",
            format!("at most {MAX_LIST} products"),
        ));
    }
    let mut products: Vec<Product> = Vec::with_capacity(input.len());
    for (i, p) in input.into_iter().enumerate() {
        let field = |f: &str| format!("products[{i}].{f}");
        let product_id = p.product_id.trim().to_owned();
        if product_id.is_empty() || product_id.chars().count() > MAX_NAME {
            return Err(ApiError::field(
                field("product_id"),
                "product_id must be 1 to 255 characters",
            ));
        }
        if products.iter().any(|q| q.product_id == product_id) {
            return Err(ApiError::field(
                field("product_id"),
                format!("product '{product_id}' is listed twice"),
            ));
        }
        let agent = SalesAgentId::parse(&p.sales_agent_id);
        let known = match &agent {
            Some(id) => sales_agents::get(&state.db, &customer.0.id, id)
                .await?
                .is_some(),
            None => false,
        };
        let (Some(sales_agent_id), true) = (agent, known) else {
            return Err(ApiError::field(
                field("sales_agent_id"),
                format!("unknown sales agent '{}'", p.sales_agent_id),
            ));
        };
        let mut format_ids: Vec<FormatId> = Vec::new();
        for (j, f) in p.format_ids.into_iter().enumerate() {
            let f = f
                .normalized()
                .map_err(|m| ApiError::field(format!("products[{i}].format_ids[{j}]"), m))?;
            if !format_ids.contains(&f) {
                format_ids.push(f);
            }
        }
        if let Some(b) = p.budget {
            if !b.is_finite() || b < 0.0 {
                return Err(ApiError::field(
                    field("budget"),
                    "budget must be a number of at least 0",
                ));
            }
        }
        let pricing_option_id = p.pricing_option_id.map(|s| s.trim().to_owned());
        if pricing_option_id
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.chars().count() > MAX_NAME)
        {
            return Err(ApiError::field(
                field("pricing_option_id"),
                "pricing_option_id must be 1 to 255 characters",
            ));
        }
        products.push(Product {
            product_id,
            sales_agent_id,
            format_ids,
            format_kinds: p.format_kinds,
            budget: p.budget,
            pricing_option_id,
        });
    }
    Ok(products)
}

#[utoipa::path(
    post,
    operation_id = "campaigns_create",
    path = "/api/v2/buyer/campaigns",
    tag = "campaigns",
    summary = "Create a campaign",
    request_body(content = NewCampaign, content_type = "application/json"),
    responses((status = 201, description = "Create a campaign", body = super::views::CampaignView), super::responses::Always, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    ApiJson(input): ApiJson<NewCampaign>,
) -> ApiResult<(StatusCode, Response)> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::field("name", "name must be 1 to 255 characters"));
    }
    let at = now();
    let mut campaign = Campaign {
        campaign_id: CampaignId::new(),
        name,
        brand_domain: check_domain(&input.brand_domain)?,
        products: check_products(&state, &customer, input.products).await?,
        start_time: None,
        end_time: None,
        created_at: at.clone(),
        updated_at: at,
    };
    check_flight(&mut campaign, input.start_time, input.end_time)?;
    campaigns::insert(&state.db, &customer.0.id, &campaign).await?;
    Ok((
        StatusCode::CREATED,
        with_coverage(&state, &customer, &campaign).await?,
    ))
}

#[derive(Deserialize)]
pub(super) struct ListParams {
    take: Option<String>,
    skip: Option<String>,
    search: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "campaigns_list",
    path = "/api/v2/buyer/campaigns",
    tag = "campaigns",
    summary = "List campaigns",
    params(("take" = Option<i64>, Query, minimum = 1, maximum = 250, description = "page size (default 50)"), ("skip" = Option<i64>, Query, minimum = 0, description = "items to skip"), ("search" = Option<String>, Query, description = "name or brand domain contains (case-insensitive)")),
    responses((status = 200, description = "List campaigns", body = super::views::Page<Vec<super::views::CampaignView>>), super::responses::Always, super::responses::BadQuery),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    let p = page(q.take.as_deref(), q.skip.as_deref())?;
    let (items, total) = match q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => campaigns::search(&state.db, &customer.0.id, s, p.take, p.skip).await?,
        None => campaigns::list(&state.db, &customer.0.id, p.take, p.skip).await?,
    };
    Ok(Json(views::Page {
        campaign_id: None,
        items: items
            .iter()
            .map(|c| views::campaign(c, None))
            .collect::<Vec<_>>(),
        skip: p.skip,
        take: p.take,
        total,
    })
    .into_response())
}

/// The campaign with its format coverage, always computed from the manifests as they are now.
async fn with_coverage(
    state: &AppState,
    customer: &CurrentCustomer,
    c: &Campaign,
) -> ApiResult<Response> {
    let cov = super::coverage::campaign_coverage(state, customer, c).await?;
    let mut view = views::campaign(c, Some(cov));
    // Each seller's review decisions over the campaign's creatives.
    view.sellers =
        Some(crate::store::review::seller_totals(&state.db, c.campaign_id.as_str()).await?);
    Ok(Json(view).into_response())
}

#[utoipa::path(
    get,
    operation_id = "campaigns_show",
    path = "/api/v2/buyer/campaigns/{campaign_id}",
    tag = "campaigns",
    summary = "Show a campaign",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, description = "Show a campaign", body = super::views::CampaignView), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<Response> {
    let campaign = load(&state, &customer, &campaign_id).await?;
    with_coverage(&state, &customer, &campaign).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CampaignChanges {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    brand_domain: Option<String>,
    #[serde(default)]
    products: Option<Vec<NewProduct>>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
}

/// Changes name, advertiser, products or flight ("omit to keep"; `products` replaces the list).
#[utoipa::path(
    patch,
    operation_id = "campaigns_update",
    path = "/api/v2/buyer/campaigns/{campaign_id}",
    tag = "campaigns",
    summary = "Update a campaign",
    params(("campaign_id" = String, Path, description = "campaign id")),
    request_body(content = CampaignChanges, content_type = "application/json"),
    responses((status = 200, description = "Update a campaign", body = super::views::CampaignView), super::responses::Always, super::responses::NotFound, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn update(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    ApiJson(changes): ApiJson<CampaignChanges>,
) -> ApiResult<Response> {
    let mut campaign = load(&state, &customer, &campaign_id).await?;
    if let Some(name) = changes.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(ApiError::field("name", "name must be 1 to 255 characters"));
        }
        campaign.name = name;
    }
    if let Some(d) = changes.brand_domain {
        campaign.brand_domain = check_domain(&d)?;
    }
    if let Some(p) = changes.products {
        campaign.products = check_products(&state, &customer, p).await?;
    }
    check_flight(&mut campaign, changes.start_time, changes.end_time)?;
    campaign.updated_at = now();
    campaigns::update(&state.db, &customer.0.id, &campaign).await?;
    with_coverage(&state, &customer, &campaign).await
}

/// Removes the campaign with its manifests (rows and stored objects), unless a media buy was made
/// for it or one of its jobs is unfinished (409 saying which).
#[utoipa::path(
    delete,
    operation_id = "campaigns_remove",
    path = "/api/v2/buyer/campaigns/{campaign_id}",
    tag = "campaigns",
    summary = "Delete a campaign",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 204, description = "Delete a campaign"), super::responses::Always, super::responses::NotFound, super::responses::Conflict),
    security(("bearer" = []))
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<CampaignId>,
) -> ApiResult<StatusCode> {
    match removal::remove_campaign(&state.db, &customer.0.id, &id).await? {
        None => Err(ApiError::NotFound("campaign")),
        Some(Err(why)) => Err(ApiError::Conflict(why)),
        Some(Ok(removed)) => {
            // As a single manifest's delete does: a pixel hit for these ids is no longer recorded
            // (it would be an event of a creative that no longer exists).
            for creative in &removed.creative_ids {
                state.known.remove(creative);
            }
            let keys = removed.object_keys;
            // Each key was recorded pending in the removal's transaction: one that cannot be
            // deleted now stays pending, and the janitor finishes it.
            for key in &keys {
                let deleted: anyhow::Result<()> = async {
                    if !creatives::object_in_use(&state.db, key).await? {
                        state.objects.delete(key).await?;
                    }
                    creatives::clear_pending_now(&state.db, std::slice::from_ref(key)).await?;
                    Ok(())
                }
                .await;
                if let Err(e) = deleted {
                    tracing::warn!(error = %e, key, "object not removed now; left to the janitor");
                }
            }
            Ok(StatusCode::NO_CONTENT)
        }
    }
}
