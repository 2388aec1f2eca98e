//! The resources a request's path names, loaded for the signed-in customer: another customer's is
//! the same 404 as a missing one.

use super::auth::CurrentCustomer;
use crate::error::{ApiError, ApiResult};
use crate::ids::{CampaignId, SalesAgentId, StorefrontId};
use crate::state::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::store::sales_agents::{self, SalesAgent};
use crate::storefront::{store as storefronts, Storefront};

/// A campaign of this customer (a malformed id never gets here: [`Id`](super::Id) answered 404
/// already).
pub async fn campaign(
    state: &AppState,
    customer: &CurrentCustomer,
    id: &CampaignId,
) -> ApiResult<Campaign> {
    campaigns::get(&state.db, &customer.0.id, id)
        .await?
        .ok_or(ApiError::NotFound("campaign"))
}

/// A sales agent of this customer.
pub async fn sales_agent(
    state: &AppState,
    customer: &CurrentCustomer,
    id: &SalesAgentId,
) -> ApiResult<SalesAgent> {
    sales_agents::get(&state.db, &customer.0.id, id)
        .await?
        .ok_or(ApiError::NotFound("sales agent"))
}

/// A storefront of this customer (its owner).
pub async fn storefront(
    state: &AppState,
    customer: &CurrentCustomer,
    id: &StorefrontId,
) -> ApiResult<Storefront> {
    storefronts::get(&state.db, &customer.0.id, id)
        .await?
        .ok_or(ApiError::NotFound("storefront"))
}
