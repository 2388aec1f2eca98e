//! `GET /campaigns/:id/delivery?start=&end=&group_by=creative|seller|day`: the per-creative
//! performance report (seller-reported beside measured, discrepancy %, totals per currency, `as_of`
//! per seller), as JSON or, with `Accept: text/csv`, the same rows as CSV. `POST
//! /campaigns/:id/delivery/refresh` queues a fetch from every seller now.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::owned::campaign as load;
use super::query::ApiQuery;
use super::{CurrentCustomer, Id};
use crate::delivery::report::{self, GroupBy};
use crate::error::{ApiError, ApiResult};
use crate::ids::CampaignId;
use crate::state::AppState;
use crate::store::{delivery as store, media_buys};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{campaign_id}/delivery", get(show))
        .route("/campaigns/{campaign_id}/delivery/refresh", post(refresh))
}

#[derive(Deserialize)]
pub(super) struct Params {
    start: Option<String>,
    end: Option<String>,
    group_by: Option<String>,
}

fn date(field: &str, raw: Option<&str>, default: NaiveDate) -> ApiResult<NaiveDate> {
    match raw {
        None | Some("") => Ok(default),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| ApiError::field(field, "a date as YYYY-MM-DD")),
    }
}

#[utoipa::path(
    get,
    operation_id = "delivery_report",
    path = "/api/v2/buyer/campaigns/{campaign_id}/delivery",
    tag = "delivery",
    summary = "Delivery by creative, seller or day: seller-reported beside measured, totals per currency",
    params(
        ("campaign_id" = String, Path, description = "campaign id"),
        ("start" = Option<String>, Query, description = "first day, YYYY-MM-DD (default: 29 days before end)"),
        ("end" = Option<String>, Query, description = "last day, YYYY-MM-DD (default: today)"),
        ("group_by" = Option<String>, Query, description = "creative (default), seller or day"),
    ),
    responses(
        (status = 200, description = "The report; `Accept: text/csv` gives the same rows as CSV", content(
            (super::doc_shapes::DeliveryReport = "application/json"),
            (String = "text/csv"),
        )),
        super::responses::Always, super::responses::NotFound, super::responses::BadQuery
    ),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    ApiQuery(q): ApiQuery<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let campaign = load(&state, &customer, &campaign_id).await?;
    let today = chrono::Utc::now().date_naive();
    let end = date("end", q.end.as_deref(), today)?;
    let start = date(
        "start",
        q.start.as_deref(),
        end - chrono::Duration::days(29),
    )?;
    if start > end {
        return Err(ApiError::field("start", "start must not be after end"));
    }
    if (end - start).num_days() > 366 {
        return Err(ApiError::field("start", "a report covers at most 366 days"));
    }
    let group = match q.group_by.as_deref() {
        None | Some("") => GroupBy::Creative,
        Some(g) => GroupBy::parse(g)
            .ok_or_else(|| ApiError::field("group_by", "creative, seller or day"))?,
    };
    let (cid, s, e) = (
        campaign.campaign_id.as_str(),
        start.to_string(),
        end.to_string(),
    );
    let seller_of = seller_of_buys(&state, &campaign).await?;
    let (rows, totals) = if group == GroupBy::Creative {
        // Summed to the report's grain in SQL: a row per creative and currency comes back.
        let (sellers, measured) =
            store::creative_report(&state.db, cid, (&s, &e), &seller_of).await?;
        report::assemble(group, &sellers, &measured)
    } else {
        let span = store::Span {
            campaign: cid,
            start: &s,
            end: &e,
            grain: match group {
                GroupBy::Seller => store::Grain::Seller,
                _ => store::Grain::Day,
            },
        };
        let sellers = store::seller_rows(&state.db, &span).await?;
        let measured = store::measured_rows(&state.db, &span).await?;
        report::build(group, &sellers, &measured, &seller_of)
    };
    let wants_csv = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let mut out = report::csv_header(group);
        out.push('\n');
        for r in &rows {
            out.push_str(&report::csv_line(r));
            out.push('\n');
        }
        return Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    let as_of = store::as_of(&state.db, cid).await?;
    Ok(Json(json!({
        "campaign_id": campaign.campaign_id,
        "start": s,
        "end": e,
        "group_by": group.name(),
        "rows": rows,
        "totals": totals,
        "as_of": as_of,
    }))
    .into_response())
}

#[utoipa::path(
    post,
    operation_id = "delivery_refresh",
    path = "/api/v2/buyer/campaigns/{campaign_id}/delivery/refresh",
    tag = "delivery",
    summary = "Fetch the campaign's delivery from its sellers now (durable jobs)",
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 202, description = "The jobs queued", body = super::doc_shapes::DeliveryRefresh), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn refresh(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let campaign = load(&state, &customer, &campaign_id).await?;
    let jobs = crate::delivery::enqueue_fetches(
        &state.db,
        Some(campaign.campaign_id.as_str()),
        state.config.job_max_attempts.max(1),
    )
    .await?;
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"campaign_id": campaign.campaign_id, "jobs": ids})),
    ))
}

/// Each of the campaign's media buys and the seller it was made with: tracker counts name a buy.
async fn seller_of_buys(
    state: &AppState,
    campaign: &crate::store::campaigns::Campaign,
) -> ApiResult<HashMap<String, String>> {
    Ok(media_buys::for_campaign(&state.db, &campaign.campaign_id)
        .await?
        .into_iter()
        .map(|b| (b.media_buy_id, b.sales_agent_id))
        .collect())
}

/// A manifest's `performance`: its totals per currency over the last 7 days and over the flight to
/// date (from the flight's start, or 90 days back without one), seller-reported beside measured.
pub async fn performance(
    state: &AppState,
    campaign: &crate::store::campaigns::Campaign,
    creative: &str,
) -> ApiResult<serde_json::Value> {
    let today = chrono::Utc::now().date_naive();
    let flight_start = campaign
        .start_time
        .as_deref()
        .and_then(|s| s.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today - chrono::Duration::days(90));
    let seller_of = seller_of_buys(state, campaign).await?;
    let mut out = serde_json::Map::new();
    for (name, start) in [
        ("last_7_days", today - chrono::Duration::days(6)),
        ("flight_to_date", flight_start.min(today)),
    ] {
        let (s, e) = (start.to_string(), today.to_string());
        let cid = campaign.campaign_id.as_str();
        let span = store::Span {
            campaign: cid,
            start: &s,
            end: &e,
            grain: store::Grain::Creative(Some(creative)),
        };
        let sellers = store::seller_rows(&state.db, &span).await?;
        let measured = store::measured_rows(&state.db, &span).await?;
        let (_, totals) = report::build(GroupBy::Creative, &sellers, &measured, &seller_of);
        out.insert(name.into(), json!({"start": s, "end": e, "totals": totals}));
    }
    Ok(serde_json::Value::Object(out))
}
