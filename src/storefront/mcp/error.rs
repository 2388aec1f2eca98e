//! AdCP errors on the MCP face (`core/error.json`): the one place an [`ApiError`] becomes an
//! `adcp_error`, so a failure means the same on the REST and the MCP face.

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;

/// How a buyer agent recovers (`core/error.json` `recovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    Transient,
    Correctable,
    Terminal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdcpError {
    /// One of `enums/error-code.json`.
    pub code: &'static str,
    pub message: String,
    pub recovery: Recovery,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds before a retry can succeed (in-flight idempotency keys, unavailable agents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AdcpError {
    pub fn new(code: &'static str, recovery: Recovery, message: impl Into<String>) -> Self {
        AdcpError {
            code,
            message: message.into(),
            recovery,
            field: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("VALIDATION_ERROR", Recovery::Correctable, message).with_field(field)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("INVALID_REQUEST", Recovery::Correctable, message)
    }

    pub fn reference_not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("REFERENCE_NOT_FOUND", Recovery::Correctable, message).with_field(field)
    }

    pub fn to_value(&self) -> Value {
        json!(self)
    }
}

impl From<ApiError> for AdcpError {
    fn from(e: ApiError) -> Self {
        let message = e.to_string();
        let (code, recovery) = match &e {
            ApiError::Unauthorized | ApiError::BadWebhookToken => {
                ("AUTH_REQUIRED", Recovery::Terminal)
            }
            ApiError::NotFound(_) => ("REFERENCE_NOT_FOUND", Recovery::Correctable),
            // AdCP's own code (enums/error-code.json): the state changed under the request.
            ApiError::Conflict(_) | ApiError::Ambiguous { .. } => {
                ("CONFLICT", Recovery::Correctable)
            }
            ApiError::InvalidState(_) | ApiError::FinalizeBlocked { .. } => {
                ("INVALID_STATE", Recovery::Correctable)
            }
            ApiError::Validation { .. } => ("VALIDATION_ERROR", Recovery::Correctable),
            ApiError::FileTooLarge { .. }
            | ApiError::BodyTooLarge { .. }
            | ApiError::TooManyFiles { .. }
            | ApiError::UnsupportedMediaType { .. }
            | ApiError::UnsupportedContentType { .. }
            | ApiError::InvalidMultipart(_)
            | ApiError::MethodNotAllowed => ("INVALID_REQUEST", Recovery::Correctable),
            ApiError::RateLimited { .. } => ("RATE_LIMITED", Recovery::Transient),
            // The buyer may send it again, faster or smaller.
            ApiError::Upstream(_) | ApiError::Unavailable(_) | ApiError::RequestTimeout(_) => {
                ("SERVICE_UNAVAILABLE", Recovery::Transient)
            }
            ApiError::Internal(cause) => {
                // The cause goes to the log, never to the buyer.
                tracing::error!(error = ?cause, "internal error on the MCP face");
                ("SERVICE_UNAVAILABLE", Recovery::Transient)
            }
        };
        let field = match &e {
            ApiError::Validation { field, .. } => field.clone(),
            _ => None,
        };
        let retry_after = match &e {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        AdcpError {
            code,
            message,
            recovery,
            field,
            retry_after,
        }
    }
}

impl From<sqlx::Error> for AdcpError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(e).into()
    }
}

/// What a tool answers: its AdCP response (schema-valid, `status` included) or an AdCP error.
pub type ToolResult = Result<Value, AdcpError>;

/// Parses `args` into a tool's request type, naming the field at fault.
pub fn parse_args<T: serde::de::DeserializeOwned>(args: &Value) -> Result<T, AdcpError> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "arguments".to_owned()
        } else {
            path
        };
        AdcpError::validation(field, e.inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_their_meaning_and_field() {
        let e: AdcpError = ApiError::field("creatives[0].name", "too long").into();
        assert_eq!(e.code, "VALIDATION_ERROR");
        assert_eq!(e.recovery, Recovery::Correctable);
        assert_eq!(e.field.as_deref(), Some("creatives[0].name"));
        let e: AdcpError = ApiError::Internal(anyhow::anyhow!("db password in here")).into();
        assert_eq!(e.code, "SERVICE_UNAVAILABLE");
        assert!(!e.message.contains("password"));
        let v = AdcpError::reference_not_found("format_ids[0]", "x").to_value();
        assert_eq!(v["recovery"], "correctable");
        assert!(v.get("retry_after").is_none());
    }
}
