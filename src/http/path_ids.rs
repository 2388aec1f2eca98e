//! Ids in request paths, parsed before a handler runs: a malformed id, or an id of another kind
//! (`cmp_…` where a creative id belongs), is the same `404 NOT_FOUND` as an unknown one, so a
//! handler receives only ids we could have issued and probing learns nothing from the difference.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::ids::{
    AccountId, AssetId, CampaignId, CreativeId, SalesAgentId, SessionId, StorefrontId, VariantId,
};

/// An id type as it appears in our routes: the `{param}` it is named by and what a 404 calls it.
pub trait PathId: Sized {
    /// The route parameter, the same on every route (`/campaigns/{campaign_id}/…`).
    const PARAM: &'static str;
    /// The resource a 404 names ("campaign not found").
    const WHAT: &'static str;
    fn parse(raw: &str) -> Option<Self>;
}

macro_rules! path_id {
    ($ty:ty, $param:literal, $what:literal) => {
        impl PathId for $ty {
            const PARAM: &'static str = $param;
            const WHAT: &'static str = $what;
            fn parse(raw: &str) -> Option<Self> {
                <$ty>::parse(raw)
            }
        }
    };
}

path_id!(CampaignId, "campaign_id", "campaign");
path_id!(CreativeId, "creative_id", "creative");
path_id!(SalesAgentId, "sales_agent_id", "sales agent");
path_id!(StorefrontId, "storefront_id", "storefront");
path_id!(AccountId, "account_id", "account");
path_id!(AssetId, "asset_id", "asset");
path_id!(SessionId, "session_id", "creative session");
path_id!(VariantId, "variant_id", "variant");

/// `Id(campaign_id): Id<CampaignId>`: the route's `{campaign_id}`, well-formed, or a 404. Several
/// may be taken; they are checked in the order the handler lists them (the parent first).
pub struct Id<T>(pub T);

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Axum fails this only when the path did not match a route with parameters, or a
        // parameter is not UTF-8 after percent-decoding: neither is an id we issued.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound(T::WHAT))?;
        let raw = params
            .iter()
            .find(|(name, _)| *name == T::PARAM)
            .map(|(_, value)| value);
        match raw {
            Some(raw) => T::parse(raw).map(Id).ok_or(ApiError::NotFound(T::WHAT)),
            // A handler mounted on a route without its parameter: our mistake, not the client's.
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "route has no {{{}}} parameter",
                T::PARAM
            ))),
        }
    }
}
