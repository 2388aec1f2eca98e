//! The AdCP creative agent adapter: a registered creative agent's `build_creative` /
//! `preview_creative` produce and refine the drafts.

use super::adapter::Adapter;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

pub const PREFIX: &str = "creative_agent:";

pub fn resolve(_state: &AppState, agent: &str) -> ApiResult<Box<dyn Adapter>> {
    Err(ApiError::field(
        "adapter",
        format!("creative agent '{agent}' is not available"),
    ))
}
