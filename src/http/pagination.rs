//! `take` / `skip` query parameters, checked with clear errors.

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_TAKE: i64 = 50;
pub const MAX_TAKE: i64 = 250;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub take: i64,
    pub skip: i64,
}

pub fn page(take: Option<&str>, skip: Option<&str>) -> ApiResult<Page> {
    let take = match take {
        None => DEFAULT_TAKE,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=MAX_TAKE).contains(&n) => n,
            _ => {
                return Err(ApiError::field(
                    "take",
                    format!("take must be a whole number from 1 to {MAX_TAKE}"),
                ))
            }
        },
    };
    let skip = match skip {
        None => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                return Err(ApiError::field(
                    "skip",
                    "skip must be a whole number, 0 or more",
                ))
            }
        },
    };
    Ok(Page { take, skip })
}

pub fn flag(value: Option<&str>, field: &str) -> ApiResult<bool> {
    match value {
        None => Ok(false),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(ApiError::field(
            field,
            format!("{field} must be true or false"),
        )),
    }
}
