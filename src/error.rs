//! The API's one error type and the only place that knows HTTP status codes.
//!
//! Every failure a client can see is a variant here, rendered as
//! `{"error": {"code", "message", "field"?, "details"?}}` with a stable `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    /// A seller webhook whose `token` is not the one registered for its job.
    #[error("missing or invalid webhook token")]
    BadWebhookToken,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Validation {
        message: String,
        field: Option<String>,
    },
    #[error("file '{filename}' is larger than the limit of {limit} bytes")]
    FileTooLarge { filename: String, limit: u64 },
    /// The client took too long to send its request (a stalled or trickling body), or the whole
    /// request outlasted the service's limit.
    #[error("the request took too long: {0}")]
    RequestTimeout(&'static str),
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("too many files: at most {limit} per request")]
    TooManyFiles { limit: usize },
    #[error("file '{filename}' has an unsupported type{}", .detected.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    UnsupportedMediaType {
        filename: String,
        detected: Option<String>,
    },
    #[error("Content-Type must be {expected}")]
    UnsupportedContentType { expected: &'static str },
    #[error("malformed multipart body: {0}")]
    InvalidMultipart(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request is sound but the resource's state forbids it now (e.g. removing a campaign
    /// with media buys); the message says what stands in the way.
    #[error("{0}")]
    Conflict(String),
    /// The resource's status forbids the gesture (a review already decided); the message names
    /// the current status.
    #[error("{0}")]
    InvalidState(String),
    /// A name that matches several resources; `choices` lists them so the caller can pick one.
    #[error("{message}")]
    Ambiguous { message: String, choices: Value },
    /// A creative session's finalize stopped by its hard checks; `reasons` lists every one.
    #[error("{message}")]
    FinalizeBlocked {
        message: String,
        reasons: Vec<String>,
    },
    #[error("the sales agent failed: {0}")]
    Upstream(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A rate limit refused the request; the client may try again after `retry_after_secs`.
    #[error("too many requests: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            field: None,
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A failure to write because the disk (spool, local store) is full or over quota: the request
    /// was fine and may succeed later, so it is a 507 the client can act on, not a 500. Found
    /// wherever it sits in the cause chain, so every write path is covered by this one place.
    fn storage_full(&self) -> bool {
        match self {
            ApiError::Internal(e) => e.chain().any(is_storage_full),
            _ => false,
        }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        if self.storage_full() {
            return "INSUFFICIENT_STORAGE";
        }
        match self {
            ApiError::Unauthorized | ApiError::BadWebhookToken => "UNAUTHORIZED",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Validation { .. } => "VALIDATION_ERROR",
            ApiError::FileTooLarge { .. } => "FILE_TOO_LARGE",
            ApiError::BodyTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::RequestTimeout(_) => "REQUEST_TIMEOUT",
            ApiError::TooManyFiles { .. } => "TOO_MANY_FILES",
            ApiError::UnsupportedMediaType { .. } => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::InvalidMultipart(_) => "INVALID_MULTIPART",
            ApiError::UnsupportedContentType { .. } => "UNSUPPORTED_CONTENT_TYPE",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::InvalidState(_) => "INVALID_STATE",
            ApiError::Ambiguous { .. } => "AMBIGUOUS",
            ApiError::FinalizeBlocked { .. } => "FINALIZE_BLOCKED",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Upstream(_) => "AGENT_ERROR",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    pub fn status(&self) -> StatusCode {
        if self.storage_full() {
            return StatusCode::INSUFFICIENT_STORAGE;
        }
        match self {
            ApiError::Unauthorized | ApiError::BadWebhookToken => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation { .. }
            | ApiError::TooManyFiles { .. }
            | ApiError::InvalidMultipart(_) => StatusCode::BAD_REQUEST,
            ApiError::FileTooLarge { .. } | ApiError::BodyTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType { .. } | ApiError::UnsupportedContentType { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) | ApiError::InvalidState(_) | ApiError::Ambiguous { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::FinalizeBlocked { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn field_name(&self) -> Option<String> {
        match self {
            ApiError::Validation { field, .. } => field.clone(),
            ApiError::FileTooLarge { .. } | ApiError::UnsupportedMediaType { .. } => {
                Some("files".into())
            }
            ApiError::TooManyFiles { .. } => Some("files".into()),
            _ => None,
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::FileTooLarge { filename, limit } => {
                Some(json!({ "filename": filename, "limit_bytes": limit }))
            }
            ApiError::BodyTooLarge { limit } => Some(json!({ "limit_bytes": limit })),
            ApiError::TooManyFiles { limit } => Some(json!({ "limit": limit })),
            ApiError::RateLimited { retry_after_secs } => {
                Some(json!({ "retry_after": retry_after_secs }))
            }
            ApiError::Ambiguous { choices, .. } => Some(json!({ "choices": choices })),
            ApiError::FinalizeBlocked { reasons, .. } => Some(json!({ "reasons": reasons })),
            ApiError::UnsupportedMediaType { filename, detected } => {
                Some(json!({ "filename": filename, "detected": detected }))
            }
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            // The cause goes to the log (with the request id span), never to the client.
            tracing::error!(error = ?e, "internal error");
        }
        let message = if self.storage_full() {
            "the service has no disk space left to store this request; try again later".to_owned()
        } else {
            self.to_string()
        };
        let mut error = json!({ "code": self.code(), "message": message });
        if let Some(field) = self.field_name() {
            error["field"] = json!(field);
        }
        if let Some(details) = self.details() {
            error["details"] = details;
        }
        let mut response = (self.status(), axum::Json(json!({ "error": error }))).into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::RateLimited { retry_after_secs } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}

/// A request body that stalled past the idle limit (tower-http's body time-out), anywhere in the
/// cause chain: every body reader maps it to `408 REQUEST_TIMEOUT` through this one test.
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// ENOSPC or EDQUOT, as an `io::Error` anywhere (the local store wraps them in its own errors).
pub fn is_storage_full(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|io| {
        io.kind() == std::io::ErrorKind::StorageFull
            || io.kind() == std::io::ErrorKind::QuotaExceeded
            || matches!(io.raw_os_error(), Some(28) | Some(122))
    })
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<object_store::Error> for ApiError {
    fn from(e: object_store::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::validation(format!("invalid JSON body: {}", r.body_text()))
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::validation(format!("invalid query string: {}", r.body_text()))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_anywhere_in_the_chain_is_507() {
        let full = std::io::Error::from_raw_os_error(28);
        let e = ApiError::Internal(anyhow::Error::new(full).context("writing to the object store"));
        assert_eq!(e.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(e.code(), "INSUFFICIENT_STORAGE");
        let other = ApiError::Internal(anyhow::Error::new(std::io::Error::from_raw_os_error(13)));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
