//! `/api/v2/storefront/storefronts`: a customer's storefronts and their buyer accounts. The
//! storefront owner's key manages them; buyer agents use the account keys on the MCP face.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::owned::storefront as load;
use super::{views, ApiJson, CurrentCustomer, Id};
use crate::error::{ApiError, ApiResult};
use crate::ids::{AccountId, SalesAgentId, StorefrontId};
use crate::state::AppState;
use crate::store::db::now;
use crate::store::sales_agents;
use crate::storefront::{self, store, Account, ReviewMode, Storefront};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/storefronts", post(create).get(list))
        .route(
            "/storefronts/{storefront_id}",
            get(show).patch(patch).delete(remove),
        )
        .route(
            "/storefronts/{storefront_id}/accounts",
            post(create_account).get(list_accounts),
        )
        .route(
            "/storefronts/{storefront_id}/accounts/{account_id}",
            get(show_account).delete(remove_account),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewStorefront {
    name: String,
    sales_agent_id: String,
    review_mode: ReviewMode,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StorefrontPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    review_mode: Option<ReviewMode>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAccount {
    name: String,
    brand_domains: Vec<String>,
    #[serde(default)]
    operator: Option<String>,
}

fn view<'a>(state: &AppState, s: &'a Storefront) -> views::StorefrontView<'a> {
    views::storefront(&state.tracker_base, s)
}

#[utoipa::path(
    post,
    operation_id = "storefronts_create",
    path = "/api/v2/storefront/storefronts",
    tag = "storefronts",
    summary = "Create a storefront",
    request_body(content = NewStorefront, content_type = "application/json"),
    responses((status = 201, description = "Create a storefront", body = super::views::StorefrontView), super::responses::Always, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn create(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    ApiJson(input): ApiJson<NewStorefront>,
) -> ApiResult<Response> {
    let name = storefront::check_name(&input.name, "name")?;
    // Another customer's agent answers exactly like one that does not exist.
    let agent_id = SalesAgentId::parse(&input.sales_agent_id);
    let agent = match agent_id {
        Some(id) => sales_agents::get(&state.db, &customer.0.id, &id).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::field("sales_agent_id", "no such sales agent"))?;
    let at = now();
    let s = Storefront {
        id: StorefrontId::new(),
        customer_id: customer.0.id.clone(),
        sales_agent_id: agent.id,
        name,
        review_mode: input.review_mode,
        created_at: at.clone(),
        updated_at: at,
    };
    store::insert(&state.db, &s).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &s))).into_response())
}

#[utoipa::path(
    get,
    operation_id = "storefronts_list",
    path = "/api/v2/storefront/storefronts",
    tag = "storefronts",
    summary = "List storefronts",
    responses((status = 200, description = "List storefronts", body = super::views::List<super::views::StorefrontView>), super::responses::Always),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    customer: CurrentCustomer,
) -> ApiResult<Response> {
    let all = store::list(&state.db, &customer.0.id).await?;
    Ok(Json(views::List::of(
        all.iter().map(|s| view(&state, s)).collect(),
    ))
    .into_response())
}

#[utoipa::path(
    get,
    operation_id = "storefronts_show",
    path = "/api/v2/storefront/storefronts/{storefront_id}",
    tag = "storefronts",
    summary = "Show a storefront",
    params(("storefront_id" = String, Path, description = "storefront id")),
    responses((status = 200, description = "Show a storefront", body = super::views::StorefrontView), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
) -> ApiResult<Response> {
    let s = load(&state, &customer, &id).await?;
    Ok(Json(view(&state, &s)).into_response())
}

#[utoipa::path(
    patch,
    operation_id = "storefronts_patch",
    path = "/api/v2/storefront/storefronts/{storefront_id}",
    tag = "storefronts",
    summary = "Update a storefront",
    params(("storefront_id" = String, Path, description = "storefront id")),
    request_body(content = StorefrontPatch, content_type = "application/json"),
    responses((status = 200, description = "Update a storefront", body = super::views::StorefrontView), super::responses::Always, super::responses::NotFound, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn patch(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
    ApiJson(input): ApiJson<StorefrontPatch>,
) -> ApiResult<Response> {
    let mut s = load(&state, &customer, &id).await?;
    if let Some(name) = input.name {
        s.name = storefront::check_name(&name, "name")?;
    }
    if let Some(mode) = input.review_mode {
        s.review_mode = mode;
    }
    s.updated_at = now();
    store::update(&state.db, &s).await?;
    Ok(Json(view(&state, &s)).into_response())
}

#[utoipa::path(
    delete,
    operation_id = "storefronts_remove",
    path = "/api/v2/storefront/storefronts/{storefront_id}",
    tag = "storefronts",
    summary = "Delete a storefront",
    params(("storefront_id" = String, Path, description = "storefront id")),
    responses((status = 204, description = "Delete a storefront"), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
) -> ApiResult<StatusCode> {
    let s = load(&state, &customer, &id).await?;
    if !store::delete(&state.db, &customer.0.id, &s.id).await? {
        return Err(ApiError::NotFound("storefront"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    operation_id = "storefronts_create_account",
    path = "/api/v2/storefront/storefronts/{storefront_id}/accounts",
    tag = "storefronts",
    summary = "Create a buyer account",
    params(("storefront_id" = String, Path, description = "storefront id")),
    request_body(content = NewAccount, content_type = "application/json"),
    responses((status = 201, description = "Create a buyer account", body = super::views::AccountView), super::responses::Always, super::responses::NotFound, super::responses::JsonBody),
    security(("bearer" = []))
)]
pub(super) async fn create_account(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
    ApiJson(input): ApiJson<NewAccount>,
) -> ApiResult<Response> {
    let s = load(&state, &customer, &id).await?;
    let name = storefront::check_name(&input.name, "name")?;
    let brand_domains = storefront::check_brand_domains(&input.brand_domains)?;
    let operator = input
        .operator
        .map(|o| storefront::check_domain(&o, "operator"))
        .transpose()?;
    let at = now();
    let account = Account {
        id: AccountId::new(),
        storefront_id: s.id,
        name,
        brand_domains,
        operator,
        created_at: at.clone(),
        updated_at: at,
    };
    let key = storefront::generate_account_key();
    store::insert_account(&state.db, &account, &key).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::account(&account, Some(&key))),
    )
        .into_response())
}

#[utoipa::path(
    get,
    operation_id = "storefronts_list_accounts",
    path = "/api/v2/storefront/storefronts/{storefront_id}/accounts",
    tag = "storefronts",
    summary = "List buyer accounts",
    params(("storefront_id" = String, Path, description = "storefront id")),
    responses((status = 200, description = "List buyer accounts", body = super::views::List<super::views::AccountView>), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn list_accounts(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
) -> ApiResult<Response> {
    let s = load(&state, &customer, &id).await?;
    let all = store::list_accounts(&state.db, &s.id).await?;
    Ok(Json(views::List::of(
        all.iter().map(|a| views::account(a, None)).collect(),
    ))
    .into_response())
}

async fn load_account(
    state: &AppState,
    customer: &CurrentCustomer,
    id: &StorefrontId,
    account_id: &AccountId,
) -> ApiResult<Account> {
    let s = load(state, customer, id).await?;
    store::get_account(&state.db, &s.id, account_id)
        .await?
        .ok_or(ApiError::NotFound("account"))
}

#[utoipa::path(
    get,
    operation_id = "storefronts_show_account",
    path = "/api/v2/storefront/storefronts/{storefront_id}/accounts/{account_id}",
    tag = "storefronts",
    summary = "Show a buyer account",
    params(("storefront_id" = String, Path, description = "storefront id"), ("account_id" = String, Path, description = "account id")),
    responses((status = 200, description = "Show a buyer account", body = super::views::AccountView), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn show_account(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
    Id(account_id): Id<AccountId>,
) -> ApiResult<Response> {
    let a = load_account(&state, &customer, &id, &account_id).await?;
    Ok(Json(views::account(&a, None)).into_response())
}

#[utoipa::path(
    delete,
    operation_id = "storefronts_remove_account",
    path = "/api/v2/storefront/storefronts/{storefront_id}/accounts/{account_id}",
    tag = "storefronts",
    summary = "Delete a buyer account",
    params(("storefront_id" = String, Path, description = "storefront id"), ("account_id" = String, Path, description = "account id")),
    responses((status = 204, description = "Delete a buyer account"), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn remove_account(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(id): Id<StorefrontId>,
    Id(account_id): Id<AccountId>,
) -> ApiResult<StatusCode> {
    let a = load_account(&state, &customer, &id, &account_id).await?;
    if !store::delete_account(&state.db, &a.storefront_id, &a.id).await? {
        return Err(ApiError::NotFound("account"));
    }
    Ok(StatusCode::NO_CONTENT)
}
