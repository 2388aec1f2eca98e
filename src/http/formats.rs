//! `/formats`: the standard formats and those the customer's sales agents publish, as AdCP `Format`s.

use super::query::ApiQuery;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::{views, CurrentCustomer};
use crate::adcp::types::{normalize_agent_url, FormatId};
use crate::error::{ApiError, ApiResult};
use crate::formats::builtin::STANDARD_AGENT_URL;
use crate::formats::{Entry, Registry};
use crate::state::AppState;
use crate::store::sales_agents;
use crate::store::search::fold;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/formats", get(list))
        .route("/formats/{agent_url}/{format_id}", get(show))
}

#[derive(Deserialize)]
pub(super) struct Filters {
    agent: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    width: Option<String>,
    height: Option<String>,
    search: Option<String>,
}

fn positive(v: Option<&str>, field: &str) -> ApiResult<Option<u32>> {
    v.map(|s| {
        s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::field(field, format!("{field} must be a positive whole number"))
        })
    })
    .transpose()
}

/// The size a format renders at (its render, else its image slot's fixed size).
fn size_of(e: &Entry) -> Option<(u32, u32)> {
    e.spec.render_size.or_else(|| {
        e.spec.slots.iter().find_map(|s| {
            let r = &s.requirements;
            match (r.min_width, r.max_width, r.min_height, r.max_height) {
                (Some(a), Some(b), Some(c), Some(d)) if a == b && c == d => Some((a, c)),
                _ => None,
            }
        })
    })
}

#[utoipa::path(
    get,
    operation_id = "formats_list",
    path = "/api/v2/buyer/formats",
    tag = "formats",
    summary = "List known creative formats",
    params(("agent" = Option<String>, Query, description = "agent URL"), ("type" = Option<String>, Query, description = "format type"), ("width" = Option<u64>, Query, minimum = 1, maximum = 4294967295.0, description = "render width in pixels"), ("height" = Option<u64>, Query, minimum = 1, maximum = 4294967295.0, description = "render height in pixels"), ("search" = Option<String>, Query)),
    responses((status = 200, description = "List known creative formats", body = super::views::Formats), super::responses::Always, super::responses::BadQuery),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    ApiQuery(f): ApiQuery<Filters>,
) -> ApiResult<Response> {
    let agent = f
        .agent
        .as_deref()
        .map(|a| normalize_agent_url(a).map_err(|m| ApiError::field("agent", m)))
        .transpose()?;
    if let Some(k) = f.kind.as_deref() {
        if !matches!(k, "display" | "video" | "audio" | "dooh") {
            return Err(ApiError::field(
                "type",
                "type must be display, video, audio or dooh",
            ));
        }
    }
    let width = positive(f.width.as_deref(), "width")?;
    let height = positive(f.height.as_deref(), "height")?;
    // Folded as every search folds (`store::search`), so it finds what the other lists find.
    let search = f.search.as_deref().map(fold);

    let registry = Registry::for_customer(&state.db, &customer.0.id).await?;
    let formats: Vec<&Value> = registry
        .entries()
        .filter(|e| {
            agent
                .as_ref()
                .is_none_or(|a| *a == e.spec.format_id.agent_url)
        })
        .filter(|e| f.kind.as_deref().is_none_or(|k| k == e.spec.category()))
        .filter(|e| {
            let size = size_of(e);
            width.is_none_or(|w| size.is_some_and(|s| s.0 == w))
                && height.is_none_or(|h| size.is_some_and(|s| s.1 == h))
        })
        .filter(|e| {
            search.as_ref().is_none_or(|q| {
                fold(&e.spec.name).contains(q) || fold(&e.spec.format_id.id).contains(q)
            })
        })
        .map(|e| &e.format)
        .collect();

    let registered = sales_agents::list(&state.db, &customer.0.id).await?;
    let agents = std::iter::once(views::FormatAgent::Standard {
        agent_url: STANDARD_AGENT_URL,
        source: "standard",
    })
    .chain(registered.iter().map(|a| views::FormatAgent::SalesAgent {
        endpoint_url: &a.endpoint_url,
        formats: views::Sorted(&a.formats),
        name: &a.name,
        sales_agent_id: &a.id,
        source: "sales_agent",
    }))
    .collect();
    Ok(Json(views::Formats {
        agents,
        total: formats.len(),
        formats,
    })
    .into_response())
}

#[utoipa::path(
    get,
    operation_id = "formats_show",
    path = "/api/v2/buyer/formats/{agent_url}/{format_id}",
    tag = "formats",
    summary = "Show one format",
    params(("agent_url" = String, Path, description = "the format agent URL, percent-encoded"), ("format_id" = String, Path, description = "format id")),
    responses((status = 200, description = "Show one format", body = super::doc_shapes::Format), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Path((agent_url, format_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let agent_url = normalize_agent_url(&agent_url).map_err(|_| ApiError::NotFound("format"))?;
    let registry = Registry::for_customer(&state.db, &customer.0.id).await?;
    let wanted = FormatId {
        agent_url,
        id: format_id,
        width: None,
        height: None,
        duration_ms: None,
    };
    let entry = registry.find(&wanted).ok_or(ApiError::NotFound("format"))?;
    Ok(Json(entry.format.clone()))
}
