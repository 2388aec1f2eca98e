//! The trackers the service hosts: `/t/imp` (a 1x1 GIF) and `/t/clk` (a redirect to the original
//! clickthrough, only for links the service signed: no open redirect). Both record an event.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{views, CurrentCustomer, Id};
use crate::error::{ApiError, ApiResult};
use crate::ids::{CampaignId, CreativeId};
use crate::manifest::tracking::{
    check_click, click_dedup_key, parse_hit, redirect_location, ClickLink,
};
use crate::state::AppState;
use crate::store::creatives;
use crate::tracking::events;

/// The smallest transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/t/imp", get(impression))
        .route("/t/clk", get(click))
        // Public: anyone may hit them, so each client address has its own bucket.
        .route_layer(axum::middleware::from_fn_with_state(
            state.rate_limits.clone(),
            super::rate_limit::per_client,
        ))
}

/// Delivery of one creative, under the buyer API.
pub fn buyer_router() -> Router<AppState> {
    Router::new().route(
        "/campaigns/{campaign_id}/creatives/{creative_id}/delivery",
        get(delivery),
    )
}

async fn impression(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let mut hit = parse_hit(q.as_deref().unwrap_or_default());
    // The same pixel answers VAST's ClickTracking ping, marked `ev=click`.
    let kind = match hit.macros.remove("ev").as_deref() {
        Some("click") => "click",
        _ => "impression",
    };
    // Only creatives that exist: a made-up id costs a set lookup, never a row.
    let known = hit
        .creative_id
        .as_deref()
        .and_then(CreativeId::parse)
        .filter(|cr| state.known.contains(cr.as_str()));
    if let Some(cr) = known {
        state.events.record(
            cr.to_string(),
            hit.campaign_id.clone(),
            kind,
            hit.macros,
            None,
        );
    }
    // A pixel always answers with the pixel: a broken image on a publisher's page helps no one.
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
            ),
        ],
        PIXEL,
    )
        .into_response()
}

async fn click(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    request: Parts,
) -> ApiResult<Response> {
    let query = q.unwrap_or_default();
    let mut hit = parse_hit(&query);
    match check_click(&hit, &state.signer) {
        ClickLink::Signed => {}
        // A link served before campaigns were signed: its `cmp` could be anything, so the click is
        // counted (and `{CAMPAIGN_ID}` filled) with the campaign the creative belongs to.
        ClickLink::CampaignUnsigned => {
            let creative = hit.creative_id.as_deref().unwrap_or_default();
            hit.campaign_id = creatives::campaign_of(&state.db, creative).await?;
        }
        ClickLink::Forged => {
            return Err(ApiError::field(
                "sig",
                "this click link is not one the service signed; not redirecting",
            ))
        }
    }
    let target = redirect_location(&hit)
        .ok_or_else(|| ApiError::field("rurl", "the click destination is not a valid URL"))?;
    let location = HeaderValue::from_str(&target)
        .map_err(|_| ApiError::field("rurl", "the click destination is not a valid URL"))?;
    if let Some(cr) = hit.creative_id.clone() {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let dedup = click_dedup_key(&query, &client_of(&request), unix);
        state.events.record(
            cr,
            hit.campaign_id.clone(),
            "click",
            hit.macros.clone(),
            Some(dedup),
        );
    }
    Ok((
        StatusCode::FOUND,
        [
            (LOCATION, location),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// What tells one browser from another for click de-duplication: the peer address, the first
/// `X-Forwarded-For` hop (behind a load balancer every peer is the balancer) and the user agent.
/// None of it is trusted for anything else; a client varying it only gets its own clicks counted.
fn client_of(request: &Parts) -> String {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let peer = request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let forwarded = header("x-forwarded-for")
        .split(',')
        .next()
        .unwrap_or_default()
        .trim();
    format!("{peer}|{forwarded}|{}", header("user-agent"))
}

#[utoipa::path(
    get,
    operation_id = "tracking_delivery",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}/delivery",
    tag = "tracking",
    summary = "Delivery counts of a creative",
    params(("campaign_id" = String, Path, description = "campaign id"), ("creative_id" = String, Path, description = "creative id")),
    responses((status = 200, description = "Delivery counts of a creative", body = crate::tracking::events::Delivery), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn delivery(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(creative_id): Id<CreativeId>,
) -> ApiResult<Json<views::Sorted<events::Delivery>>> {
    let (_, m) =
        super::creatives::load_manifest(&state, &customer, &campaign_id, &creative_id).await?;
    let d = events::delivery(&state.db, m.creative_id.as_str()).await?;
    Ok(Json(views::Sorted(d)))
}
