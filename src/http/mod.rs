//! The HTTP face: one file per resource, each with its own `router()`.

pub mod auth;
mod body;
mod campaigns;
mod cdn;
mod coverage;
mod creative_reviews;
mod creative_sessions;
mod creatives;
pub(crate) mod delivery;
mod doc_shapes;
mod formats;
mod health;
pub mod job_view;
mod metrics;
pub mod openapi;
pub mod owned;
mod pagination;
mod path_ids;
mod propagation;
mod query;
pub mod rate_limit;
pub mod responses;
mod sales_agents;
mod storefronts;
mod tracking;
mod views;
mod webhook_test;
mod webhooks;

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::response::IntoResponse;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;

use crate::error::ApiError;
use crate::state::AppState;

pub use auth::{CurrentCustomer, SessionActor};
pub use body::ApiJson;
pub use path_ids::Id;

/// Answers `408 REQUEST_TIMEOUT` when the request is not answered within `limit`. The handler is
/// dropped at that point, as when a client hangs up: each write path already survives that (work
/// that must finish is spawned or queued, uploads are recorded pending until they commit).
async fn within_time_limit(
    State(limit): State<Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::RequestTimeout("no answer within the request time limit").into_response()
        }
    }
}

/// The JSON API behind a key: what buyers and storefront owners call.
fn api_routes(state: &AppState) -> Router<AppState> {
    let buyer = Router::new()
        .merge(campaigns::router())
        .merge(sales_agents::router())
        .merge(creatives::router(state))
        .merge(creative_sessions::router(state))
        .merge(webhook_test::router())
        .merge(coverage::router(state))
        .merge(propagation::router())
        .merge(delivery::router())
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
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let body_idle = Duration::from_secs(state.config.body_idle_timeout_secs.max(1));
    let request_limit = Duration::from_secs(state.config.request_timeout_secs.max(1));
    // The web UI calls the same API routes in-process, as its signed-in customer (src/ui/).
    let api_in_process = api_routes(&state).with_state(state.clone());
    api_routes(&state)
        .merge(crate::ui::router(state.clone(), api_in_process))
        .merge(cdn::router())
        .merge(tracking::router(&state))
        .merge(webhooks::router())
        .merge(crate::storefront::mcp::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        // Slow clients: a body pausing longer than `body_idle` fails its read (408 where it is
        // read), and no request may take longer than `request_limit` from headers to answer.
        .layer(RequestBodyTimeoutLayer::new(body_idle))
        .layer(axum::middleware::from_fn_with_state(
            request_limit,
            within_time_limit,
        ))
        // Inside the trace layer, so the matched route is known (per route, never the raw path);
        // outside the time limits, so their 408s are counted.
        .layer(axum::middleware::from_fn(metrics::record))
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
