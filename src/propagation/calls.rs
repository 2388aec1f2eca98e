//! The three AdCP tasks propagation sends, and what their answers mean. An answer that fits none of
//! its schema's shapes is the seller's error, reported like any other, never trusted.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::adcp::mcp::{McpClient, McpError};

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Agent(#[from] McpError),
    /// The AdCP error branch: the seller refused the operation.
    #[error("the seller refused: {}", summary(.0))]
    Refused(Vec<Value>),
    #[error("the seller's answer does not fit the AdCP schema: {0}")]
    Invalid(String),
    /// The seller queued the task (`status: submitted`); this service does not follow tasks yet.
    #[error(
        "the seller queued the task as {0} and answers asynchronously, which is not supported"
    )]
    Submitted(String),
}

/// `CODE: message; CODE: message` from AdCP errors.
pub fn summary(errors: &[Value]) -> String {
    errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.get("code").and_then(Value::as_str).unwrap_or("ERROR"),
                e.get("message").and_then(Value::as_str).unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl CallError {
    /// Whether the same request may succeed later: network trouble, 5xx/429, or AdCP errors the
    /// seller marks `recovery: transient`. Refusals of the request itself are final.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Agent(e) => e.is_transient(),
            CallError::Refused(errors) => {
                !errors.is_empty()
                    && errors
                        .iter()
                        .all(|e| e.get("recovery").and_then(Value::as_str) == Some("transient"))
            }
            CallError::Invalid(_) | CallError::Submitted(_) => false,
        }
    }

    /// How long the seller asked us to wait (`Retry-After`, or `retry_after` on AdCP errors,
    /// clamped to 1..3600 s as the spec says).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Agent(e) => e.retry_after(),
            CallError::Refused(errors) => errors
                .iter()
                .filter_map(|e| e.get("retry_after").and_then(Value::as_f64))
                .map(|s| Duration::from_secs_f64(s.clamp(1.0, 3600.0)))
                .max(),
            _ => None,
        }
    }
}

/// A tool answered with `isError` carries its AdCP errors in the payload; treat it as a refusal.
async fn call(client: &mut McpClient, tool: &str, args: Value) -> Result<Value, CallError> {
    match client.call_tool(tool, args).await {
        Ok(v) => Ok(v),
        Err(McpError::Tool(payload)) => match payload.get("errors").and_then(Value::as_array) {
            Some(errors) if !errors.is_empty() => Err(CallError::Refused(errors.clone())),
            _ => Err(McpError::Tool(payload).into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// The error and submitted branches every mutating task shares.
fn branch(answer: &Value) -> Result<(), CallError> {
    if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
        let is_success_shape = answer.get("creatives").is_some()
            || answer.get("media_buy_id").is_some()
            || answer.get("status").and_then(Value::as_str) == Some("submitted");
        if !is_success_shape {
            return Err(CallError::Refused(errors.clone()));
        }
    }
    if answer.get("status").and_then(Value::as_str) == Some("submitted") {
        let task = answer.get("task_id").and_then(Value::as_str).unwrap_or("?");
        return Err(CallError::Submitted(task.to_owned()));
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(answer: Value) -> Result<T, CallError> {
    serde_json::from_value(answer).map_err(|e| CallError::Invalid(e.to_string()))
}

/// One creative in a `sync_creatives` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct CreativeResult {
    pub creative_id: String,
    pub action: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub errors: Vec<Value>,
}

impl CreativeResult {
    /// The seller holds the creative after this sync.
    pub fn held(&self) -> bool {
        matches!(self.action.as_str(), "created" | "updated" | "unchanged")
    }
}

#[derive(Deserialize)]
struct SyncAnswer {
    creatives: Vec<CreativeResult>,
}

pub async fn sync_creatives(
    client: &mut McpClient,
    args: Value,
) -> Result<Vec<CreativeResult>, CallError> {
    let answer = call(client, "sync_creatives", args).await?;
    branch(&answer)?;
    Ok(parse::<SyncAnswer>(answer)?.creatives)
}

#[derive(Debug, Clone, Deserialize)]
pub struct PackageResult {
    pub package_id: String,
    #[serde(default)]
    pub product_id: Option<String>,
}

/// A media buy as `create_media_buy` / `update_media_buy` confirm it.
#[derive(Debug, Clone, Deserialize)]
pub struct BuyResult {
    pub media_buy_id: String,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub media_buy_status: Option<String>,
    /// `packages` on create, `affected_packages` on update.
    #[serde(default, alias = "affected_packages")]
    pub packages: Vec<PackageResult>,
}

pub async fn create_media_buy(client: &mut McpClient, args: Value) -> Result<BuyResult, CallError> {
    let answer = call(client, "create_media_buy", args).await?;
    branch(&answer)?;
    parse(answer)
}

pub async fn update_media_buy(client: &mut McpClient, args: Value) -> Result<BuyResult, CallError> {
    let answer = call(client, "update_media_buy", args).await?;
    branch(&answer)?;
    parse(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_branches_are_refusals_and_only_transient_ones_retry() {
        let refused = branch(&json!({"errors": [{"code": "INVALID_REQUEST", "message": "no"}]}));
        let Err(e @ CallError::Refused(_)) = refused else {
            panic!("{refused:?}")
        };
        assert!(!e.is_transient());
        assert_eq!(e.to_string(), "the seller refused: INVALID_REQUEST: no");
        let busy = CallError::Refused(vec![
            json!({"code": "RATE_LIMITED", "message": "slow down", "recovery": "transient", "retry_after": 7}),
        ]);
        assert!(busy.is_transient());
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(7)));
        assert!(matches!(
            branch(&json!({"status": "submitted", "task_id": "t1"})),
            Err(CallError::Submitted(t)) if t == "t1"
        ));
        assert!(branch(
            &json!({"media_buy_id": "mb", "errors": [{"code": "W", "message": "advisory"}]})
        )
        .is_ok());
    }

    #[test]
    fn answers_that_do_not_fit_are_invalid() {
        assert!(matches!(
            parse::<BuyResult>(json!({"revision": 1})),
            Err(CallError::Invalid(_))
        ));
        let b: BuyResult = parse(json!({"media_buy_id": "mb_1", "revision": 2,
            "affected_packages": [{"package_id": "p1", "product_id": "x"}]}))
        .unwrap();
        assert_eq!(b.packages[0].package_id, "p1");
    }
}
