//! The resources a request's path names, loaded for the signed-in customer: another customer's is
//! the same 404 as a missing one.

use super::auth::CurrentCustomer;
use crate::error::{ApiError, ApiResult};
use crate::ids::CampaignId;
use crate::state::AppState;
use crate::store::campaigns::{self, Campaign};

/// Loads a campaign of this customer; another customer's is a 404 as a missing one is (a malformed
/// id never gets here: [`Id`] answered 404 already).
pub async fn campaign(
    state: &AppState,
    customer: &CurrentCustomer,
    id: &CampaignId,
) -> ApiResult<Campaign> {
    campaigns::get(&state.db, &customer.0.id, id)
        .await?
        .ok_or(ApiError::NotFound("campaign"))
}
