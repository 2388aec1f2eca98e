//! `/sales-agents`: the sellers a customer buys from, with their AdCP endpoint and capabilities.
//! The auth token is write-only: it is never returned.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::owned::sales_agent as load;
use super::{views, ApiJson, CurrentCustomer, Id};
use crate::error::{ApiError, ApiResult};
use crate::formats::fetch;
use crate::ids::SalesAgentId;
use crate::manifest::metadata::{check_url, MAX_NAME};
use crate::state::AppState;
use crate::store::db::now;
use crate::store::removal;
use crate::store::sales_agents::{self, Capabilities, LibrarySupport, SalesAgent, Secret};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sales-agents", post(create).get(list))
        .route(
            "/sales-agents/{sales_agent_id}",
            get(show).patch(update).delete(remove),
        )
        .route(
            "/sales-agents/{sales_agent_id}/formats/refresh",
            post(refresh_formats),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSalesAgent {
    name: String,
    endpoint_url: String,
    #[serde(default)]
    auth: Option<AuthInput>,
    #[serde(default)]
    capabilities: Option<CapabilitiesInput>,
    /// The seller's account id for this buyer, when it assigned one (else the brand is the account).
    #[serde(default)]
    account_id: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthInput {
    token: String,
    #[serde(default)]
    scheme: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CapabilitiesInput {
    #[serde(default)]
    #[schema(value_type = Option<Object>)] // true, false or "unknown"
    has_creative_library: Option<LibrarySupport>,
    #[serde(default)]
    supports_inline: Option<bool>,
}

#[utoipa::path(
    post,
    operation_id = "sales_agents_create",
    path = "/api/v2/buyer/sales-agents",
    tag = "sales-agents",
    summary = "Register a sales agent",
    request_body(content = NewSalesAgent, content_type = "application/json"),
    responses((status = 201, description = "Register a sales agent", body = super::views::SalesAgentView), super::responses::Always, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    ApiJson(input): ApiJson<NewSalesAgent>,
) -> ApiResult<Response> {
    let name = check_name(&input.name)?;
    check_url(&input.endpoint_url, "endpoint_url")?;
    let (auth_scheme, auth_token) = match input.auth {
        Some(a) => check_auth(a)?,
        None => (None, None),
    };
    let caps = input.capabilities.unwrap_or_default();
    let account_id = input.account_id.map(|a| check_account(&a)).transpose()?;
    let at = now();
    let agent = SalesAgent {
        id: SalesAgentId::new(),
        name,
        endpoint_url: input.endpoint_url,
        auth_scheme,
        auth_token,
        capabilities: Capabilities {
            has_creative_library: caps.has_creative_library.unwrap_or_default(),
            supports_inline: caps.supports_inline.unwrap_or(true),
            advertised_tools: vec![],
            probed_at: None,
        },
        account_id,
        formats: Default::default(),
        created_at: at.clone(),
        updated_at: at,
    };
    sales_agents::insert(&state.db, &customer.0.id, &agent).await?;
    // Its formats are fetched in the background; the refresher retries if the seller is away.
    let (db, outbound, fetching) = (state.db.clone(), state.outbound.clone(), agent.clone());
    tokio::spawn(async move {
        if let Err(e) = fetch::refresh(&db, &outbound, &fetching).await {
            tracing::info!(agent = %fetching.id, error = %e, "first format fetch failed");
        }
    });
    Ok((StatusCode::CREATED, Json(views::sales_agent(&agent))).into_response())
}

fn check_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::field("name", "name must be 1 to 255 characters"));
    }
    Ok(name)
}

fn check_auth(a: AuthInput) -> ApiResult<(Option<String>, Option<Secret>)> {
    let scheme = a
        .scheme
        .unwrap_or_else(|| "bearer".into())
        .to_ascii_lowercase();
    if scheme != "bearer" {
        return Err(ApiError::field("auth.scheme", "only 'bearer' is supported"));
    }
    if a.token.trim().is_empty() || a.token.len() > 4096 {
        return Err(ApiError::field(
            "auth.token",
            "token must be 1 to 4096 characters",
        ));
    }
    Ok((Some(scheme), Some(Secret::new(a.token))))
}

fn check_account(raw: &str) -> ApiResult<String> {
    let account = raw.trim().to_owned();
    if account.is_empty() || account.chars().count() > MAX_NAME {
        return Err(ApiError::field(
            "account_id",
            "account_id must be 1 to 255 characters",
        ));
    }
    Ok(account)
}

/// A field a PATCH may clear: absent (keep), `null` (remove) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SalesAgentChange {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    endpoint_url: Option<String>,
    /// `null` removes the credentials.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable)]
    auth: Option<Option<AuthInput>>,
    #[serde(default)]
    capabilities: Option<CapabilitiesInput>,
    /// `null` removes the account id (the brand becomes the account again).
    #[serde(default, deserialize_with = "present")]
    account_id: Option<Option<String>>,
}

/// Changes what the buyer set; a changed endpoint or token has its formats fetched again.
#[utoipa::path(
    patch,
    operation_id = "sales_agents_update",
    path = "/api/v2/buyer/sales-agents/{sales_agent_id}",
    tag = "sales-agents",
    summary = "Update a sales agent",
    params(("sales_agent_id" = String, Path, description = "sales agent id")),
    request_body(content = SalesAgentChange, content_type = "application/json"),
    responses((status = 200, description = "Update a sales agent", body = super::views::SalesAgentView), super::responses::Always, super::responses::NotFound, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn update(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<SalesAgentId>,
    ApiJson(change): ApiJson<SalesAgentChange>,
) -> ApiResult<Response> {
    let mut agent = load(&state, &customer, &id).await?;
    let before = (agent.endpoint_url.clone(), agent.auth_token.clone());
    if let Some(name) = &change.name {
        agent.name = check_name(name)?;
    }
    if let Some(url) = change.endpoint_url {
        check_url(&url, "endpoint_url")?;
        agent.endpoint_url = url;
    }
    match change.auth {
        None => {}
        Some(None) => (agent.auth_scheme, agent.auth_token) = (None, None),
        Some(Some(a)) => (agent.auth_scheme, agent.auth_token) = check_auth(a)?,
    }
    if let Some(caps) = change.capabilities {
        if let Some(library) = caps.has_creative_library {
            agent.capabilities.has_creative_library = library;
        }
        if let Some(inline) = caps.supports_inline {
            agent.capabilities.supports_inline = inline;
        }
    }
    match change.account_id {
        None => {}
        Some(None) => agent.account_id = None,
        Some(Some(a)) => agent.account_id = Some(check_account(&a)?),
    }
    agent.updated_at = now();
    if !sales_agents::update(&state.db, &customer.0.id, &agent).await? {
        return Err(ApiError::NotFound("sales agent"));
    }
    if (agent.endpoint_url.clone(), agent.auth_token.clone()) != before {
        let (db, outbound, fetching) = (state.db.clone(), state.outbound.clone(), agent.clone());
        tokio::spawn(async move {
            if let Err(e) = fetch::refresh(&db, &outbound, &fetching).await {
                tracing::info!(agent = %fetching.id, error = %e, "format fetch after a change failed");
            }
        });
    }
    Ok(Json(views::sales_agent(&load(&state, &customer, &id).await?)).into_response())
}

/// Removes the agent, unless a campaign names it, a media buy was made with it, or a job for it is
/// unfinished (409 saying which).
#[utoipa::path(
    delete,
    operation_id = "sales_agents_remove",
    path = "/api/v2/buyer/sales-agents/{sales_agent_id}",
    tag = "sales-agents",
    summary = "Delete a sales agent",
    params(("sales_agent_id" = String, Path, description = "sales agent id")),
    responses((status = 204, description = "Delete a sales agent"), super::responses::Always, super::responses::NotFound, super::responses::Conflict),
    security(("bearer" = []))
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<SalesAgentId>,
) -> ApiResult<StatusCode> {
    match removal::remove_sales_agent(&state.db, &customer.0.id, &id).await? {
        None => Err(ApiError::NotFound("sales agent")),
        Some(Err(why)) => Err(ApiError::Conflict(why)),
        Some(Ok(())) => Ok(StatusCode::NO_CONTENT),
    }
}

#[utoipa::path(
    get,
    operation_id = "sales_agents_list",
    path = "/api/v2/buyer/sales-agents",
    tag = "sales-agents",
    summary = "List sales agents",
    responses((status = 200, description = "List sales agents", body = super::views::List<super::views::SalesAgentView>), super::responses::Always),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    customer: CurrentCustomer,
) -> ApiResult<Response> {
    let agents = sales_agents::list(&state.db, &customer.0.id).await?;
    Ok(Json(views::List::of(
        agents.iter().map(views::sales_agent).collect(),
    ))
    .into_response())
}

/// Fetches the agent's formats now (AdCP `list_creative_formats`) and answers with the outcome.
#[utoipa::path(
    post,
    operation_id = "sales_agents_refresh_formats",
    path = "/api/v2/buyer/sales-agents/{sales_agent_id}/formats/refresh",
    tag = "sales-agents",
    summary = "Refresh the agent's formats",
    params(("sales_agent_id" = String, Path, description = "sales agent id")),
    responses((status = 200, description = "Refresh the agent's formats", body = super::views::SalesAgentView), super::responses::Always, super::responses::NotFound, super::responses::AgentFailed),
    security(("bearer" = []))
)]
pub(super) async fn refresh_formats(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<SalesAgentId>,
) -> ApiResult<Response> {
    let agent = load(&state, &customer, &id).await?;
    match fetch::refresh(&state.db, &state.outbound, &agent).await {
        // Read it again: the refresh may have recorded what the agent said about itself.
        Ok(_) => Ok(Json(views::sales_agent(&load(&state, &customer, &id).await?)).into_response()),
        Err(fetch::FetchError::Agent(e)) => Err(ApiError::Upstream(e.to_string())),
        Err(fetch::FetchError::Store(e)) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    operation_id = "sales_agents_show",
    path = "/api/v2/buyer/sales-agents/{sales_agent_id}",
    tag = "sales-agents",
    summary = "Show a sales agent",
    params(("sales_agent_id" = String, Path, description = "sales agent id")),
    responses((status = 200, description = "Show a sales agent", body = super::views::SalesAgentView), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<SalesAgentId>,
) -> ApiResult<Response> {
    let agent = load(&state, &customer, &id).await?;
    Ok(Json(views::sales_agent(&agent)).into_response())
}
