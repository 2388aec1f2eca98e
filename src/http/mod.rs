//! The HTTP face: one file per resource, each with its own `router()`.

mod auth;
mod body;
mod campaigns;
mod cdn;
mod coverage;
mod creative_reviews;
mod creatives;
mod formats;
mod health;
pub mod openapi;
mod pagination;
mod path_ids;
mod propagation;
mod query;
mod sales_agents;
mod storefronts;
mod tracking;
mod views;
mod webhook_test;
mod webhooks;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;

use crate::app::AppState;
use crate::error::ApiError;

pub use auth::CurrentCustomer;
pub use body::ApiJson;
pub use path_ids::Id;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let buyer = Router::new()
        .merge(campaigns::router())
        .merge(sales_agents::router())
        .merge(creatives::router(&state))
        .merge(webhook_test::router())
        .merge(coverage::router(&state))
        .merge(propagation::router())
        .merge(formats::router())
        .merge(tracking::buyer_router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let storefront_owner = Router::new()
        .merge(storefronts::router())
        .merge(creative_reviews::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    Router::new()
        .nest("/api/v2/buyer", buyer)
        .nest("/api/v2/storefront", storefront_owner)
        .merge(cdn::router())
        .merge(tracking::router())
        .merge(webhooks::router())
        .merge(crate::storefront::mcp::router())
        .merge(health::router())
        .merge(openapi::router())
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str)
                        .unwrap_or("-");
                    // The URI is not logged whole: tracker links carry user data in their query.
                    // `customer` is filled in by the auth layer once the key is known.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), route,
                customer = tracing::field::Empty)
                })
                // One line per request at info: the span's fields plus status and latency.
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
