//! The web UI for buyers and storefront operators: server-rendered pages under `/ui`, one
//! stylesheet and one small script (upload progress, live refresh). Every action goes through the
//! JSON API in-process (see `api`), so the pages hold no rule of their own.

mod api;
mod campaigns;
mod creatives;
pub mod csrf;
mod delivery;
pub mod error;
mod form;
pub mod page;
mod propagation;
mod reviews;
mod sales_agents;
pub mod session;
mod sign_in;
mod storefronts;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::Router;
use minijinja::Environment;

use crate::state::AppState;

/// What the UI's handlers need: the app (for sessions), the API to act through, the templates.
#[derive(Clone)]
pub struct UiState {
    pub app: AppState,
    pub api: api::Api,
    pub pages: Arc<Environment<'static>>,
}

impl UiState {
    /// Renders a signed-in page (`page::render` with this state's templates).
    fn render(
        &self,
        name: &str,
        session: &session::Session,
        nav: &str,
        flash: &std::collections::HashMap<String, String>,
        ctx: serde_json::Value,
    ) -> page::UiResult {
        page::render(&self.pages, name, Some(session), nav, flash, ctx)
    }
}

pub fn router(app: AppState, api_in_process: Router) -> Router<AppState> {
    let state = UiState {
        app,
        api: api::Api::new(api_in_process),
        pages: page::environment(),
    };
    let ui = Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/campaigns") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/campaigns") }))
        .route("/ui/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .route("/ui/static/style.css", get(style))
        .route("/ui/static/app.js", get(script))
        .route("/ui/api/{*rest}", any(api::proxy))
        .route(
            "/ui/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route("/ui/campaigns/new", get(campaigns::new_form))
        .route("/ui/campaigns/{campaign_id}", get(campaigns::show))
        .route("/ui/campaigns/{campaign_id}/live", get(campaigns::live))
        .route(
            "/ui/campaigns/{campaign_id}/edit",
            get(campaigns::edit_form).post(campaigns::update),
        )
        .route(
            "/ui/campaigns/{campaign_id}/delete",
            post(campaigns::remove),
        )
        .route(
            "/ui/campaigns/{campaign_id}/creatives/{creative_id}",
            get(creatives::show),
        )
        .route(
            "/ui/campaigns/{campaign_id}/creatives/{creative_id}/edit",
            post(creatives::update),
        )
        .route(
            "/ui/campaigns/{campaign_id}/creatives/{creative_id}/validate",
            post(creatives::validate),
        )
        .route(
            "/ui/campaigns/{campaign_id}/creatives/{creative_id}/delete",
            post(creatives::remove),
        )
        .route(
            "/ui/campaigns/{campaign_id}/propagation",
            get(propagation::show),
        )
        .route(
            "/ui/campaigns/{campaign_id}/propagation/live",
            get(propagation::live),
        )
        .route(
            "/ui/campaigns/{campaign_id}/execute",
            post(propagation::execute),
        )
        .route("/ui/campaigns/{campaign_id}/delivery", get(delivery::show))
        .route(
            "/ui/campaigns/{campaign_id}/delivery.csv",
            get(delivery::csv),
        )
        .route("/ui/reviews", get(reviews::list))
        .route("/ui/reviews/{creative_id}", get(reviews::show))
        .route("/ui/reviews/{creative_id}/decide", post(reviews::decide))
        .route("/ui/reviews/{creative_id}/revoke", post(reviews::revoke))
        .route(
            "/ui/storefronts",
            get(storefronts::list).post(storefronts::create),
        )
        .route("/ui/storefronts/{storefront_id}", get(storefronts::show))
        .route(
            "/ui/storefronts/{storefront_id}/edit",
            post(storefronts::update),
        )
        .route(
            "/ui/storefronts/{storefront_id}/delete",
            post(storefronts::remove),
        )
        .route(
            "/ui/storefronts/{storefront_id}/accounts",
            post(storefronts::create_account),
        )
        .route(
            "/ui/storefronts/{storefront_id}/accounts/{account_id}/delete",
            post(storefronts::delete_account),
        )
        .route(
            "/ui/sales-agents",
            get(sales_agents::list).post(sales_agents::create),
        )
        .route("/ui/sales-agents/{sales_agent_id}", get(sales_agents::show))
        .route(
            "/ui/sales-agents/{sales_agent_id}/edit",
            post(sales_agents::update),
        )
        .route(
            "/ui/sales-agents/{sales_agent_id}/refresh",
            post(sales_agents::refresh),
        )
        .layer(axum::middleware::from_fn(page::headers))
        .with_state(state);
    Router::new().merge(ui)
}

/// A path segment or query value, percent-encoded (ids come from URLs the browser sent).
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const STYLE: &str = include_str!("../../templates/ui/style.css");
const SCRIPT: &str = include_str!("../../templates/ui/app.js");

async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}
