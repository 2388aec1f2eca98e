//! The three AdCP tasks propagation sends, what their answers mean, and how a task the seller
//! queued is followed up. An answer that fits none of its schema's shapes is the seller's error,
//! reported like any other, never trusted.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
    /// A task the seller queued ended without completing (`failed`, `rejected`, `canceled`...).
    #[error("the seller's task {task_id} ended {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    TaskEnded {
        task_id: String,
        status: String,
        detail: Option<String>,
    },
}

/// A task the seller accepted but has not finished: it answered `submitted` (a person has to act,
/// e.g. sign an IO), `working` or `input-required`, with the `task_id` to poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A seller's answer to a task that changes something: done now, or queued for later.
#[derive(Debug)]
pub enum Reply<T> {
    Done(T),
    Queued(Task),
}

/// Task statuses (AdCP `enums/task-status.json`) with which a seller answers a call it queued;
/// polls may also say `unknown`, which is not finished either.
const QUEUED: [&str; 3] = ["submitted", "working", "input-required"];

/// `CODE: message; CODE: message` from AdCP errors, each [`printable`].
pub fn summary(errors: &[Value]) -> String {
    errors
        .iter()
        .map(|e| {
            printable(&format!(
                "{}: {}",
                e.get("code").and_then(Value::as_str).unwrap_or("ERROR"),
                e.get("message").and_then(Value::as_str).unwrap_or("")
            ))
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
            CallError::Invalid(_) | CallError::TaskEnded { .. } => false,
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
/// (Counted in the metrics by [`McpClient::call_tool`].)
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

/// The error and queued branches every mutating task shares: `Some(task)` when the seller queued it.
fn branch(answer: &Value) -> Result<Option<Task>, CallError> {
    let status = answer.get("status").and_then(Value::as_str);
    let queued = status.filter(|s| QUEUED.contains(s));
    // AdCP's three branches exclude each other: a queued task may carry advisory errors, a success
    // none, and a refusal no success artifact.
    if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
        if queued.is_none() {
            let artifact = ["creatives", "media_buy_id", "packages", "affected_packages"]
                .into_iter()
                .find(|k| answer.get(k).is_some());
            if let Some(artifact) = artifact {
                return Err(CallError::Invalid(format!(
                    "the answer carries both `{artifact}` and `errors`, which fits no AdCP answer"
                )));
            }
            return Err(CallError::Refused(errors.clone()));
        }
    }
    let Some(status) = queued else {
        return Ok(None);
    };
    let task_id = answer
        .get("task_id")
        .and_then(Value::as_str)
        // Kept, logged and sent back: a bounded, printable handle or nothing.
        .filter(|t| !t.is_empty() && t.len() <= 255 && !t.chars().any(char::is_control))
        .ok_or_else(|| {
            CallError::Invalid(format!("a '{status}' answer without a usable task_id"))
        })?;
    Ok(Some(Task {
        task_id: task_id.to_owned(),
        status: status.to_owned(),
        message: message_of(answer),
    }))
}

/// The seller's human-readable note, made [`printable`].
fn message_of(v: &Value) -> Option<String> {
    v.get("message").and_then(Value::as_str).map(printable)
}

/// Seller text, bounded and without control characters: it is shown to people and logged, never
/// interpreted, and must not forge log lines.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect()
}

fn parse<T: serde::de::DeserializeOwned>(answer: Value) -> Result<T, CallError> {
    serde_json::from_value(answer).map_err(|e| CallError::Invalid(e.to_string()))
}

/// The success branch of a mutating task's AdCP answer, as its response schema defines it.
pub trait Answer: serde::de::DeserializeOwned {
    /// The task (MCP tool) this answers.
    const TOOL: &'static str;
    /// Keys the schema requires (present, even where it allows them to be null).
    const REQUIRED: &'static [&'static str];

    /// What else the schema asks of a value serde accepted.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// An answer of a mutating task, read as `T` unless the seller refused or queued it.
fn reply<T: Answer>(answer: Value) -> Result<Reply<T>, CallError> {
    if let Some(task) = branch(&answer)? {
        return Ok(Reply::Queued(task));
    }
    require(&answer, T::REQUIRED)?;
    let t: T = parse(answer)?;
    t.check().map_err(CallError::Invalid)?;
    Ok(Reply::Done(t))
}

/// Every key of `required` is in `answer` (possibly null), as its AdCP response schema demands.
fn require(answer: &Value, required: &[&str]) -> Result<(), CallError> {
    match required.iter().find(|k| answer.get(**k).is_none()) {
        Some(missing) => Err(CallError::Invalid(format!(
            "the answer has no `{missing}`, which AdCP requires"
        ))),
        None => Ok(()),
    }
}

/// Calls `tool` and gives its answer as sent (an `isError` result with AdCP errors is a
/// refusal); read it with [`completed`]. For callers that need fields the typed answer drops.
pub async fn send_raw(client: &mut McpClient, tool: &str, args: Value) -> Result<Value, CallError> {
    call(client, tool, args).await
}

/// Sends the task `T` answers and reads its answer.
pub async fn send<T: Answer>(client: &mut McpClient, args: Value) -> Result<Reply<T>, CallError> {
    reply(call(client, T::TOOL, args).await?)
}

/// Where a queued task stands, from the seller's `get_task_status`.
#[derive(Debug)]
pub enum TaskState {
    /// Still under way; the status and message as the seller gives them now.
    Unfinished(Task),
    /// Completed: the task's result, the same payload the call would have answered.
    Completed(Value),
}

#[derive(Deserialize)]
struct TaskStatusAnswer {
    task_id: String,
    status: String,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<TaskError>,
}

#[derive(Deserialize)]
struct TaskError {
    code: String,
    message: String,
}

/// Asks the seller how task `task_id` stands, with its result once completed. Uses the 3.x tool
/// `get_task_status`, or its legacy name `tasks/get` for a seller that only offers that.
/// A creative agent's build has no account (`None`).
pub async fn task_status(
    client: &mut McpClient,
    task_id: &str,
    account: Option<&Value>,
) -> Result<TaskState, CallError> {
    let mut args = json!({"task_id": task_id, "include_result": true});
    if let Some(a) = account {
        args["account"] = a.clone();
    }
    let answer = match call(client, "get_task_status", args.clone()).await {
        Err(CallError::Agent(McpError::Tool(_) | McpError::Rpc { .. })) => {
            call(client, "tasks/get", args).await?
        }
        other => other?,
    };
    if answer.get("task_id").is_none() {
        if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
            return Err(CallError::Refused(errors.clone()));
        }
    }
    // protocol/get-task-status-response.json
    require(
        &answer,
        &[
            "task_id",
            "task_type",
            "protocol",
            "status",
            "created_at",
            "updated_at",
        ],
    )?;
    let message = message_of(&answer);
    let a: TaskStatusAnswer = parse(answer)?;
    if a.task_id != task_id {
        return Err(CallError::Invalid(format!(
            "asked about task {task_id}, answered about {}",
            a.task_id
        )));
    }
    match a.status.as_str() {
        "completed" => a.result.map(TaskState::Completed).ok_or_else(|| {
            CallError::Invalid(format!(
                "task {task_id} is completed but its result is missing"
            ))
        }),
        s if QUEUED.contains(&s) || s == "unknown" => Ok(TaskState::Unfinished(Task {
            task_id: a.task_id,
            status: a.status,
            message,
        })),
        // A failed task's result is its task's error branch: a refusal like any other, which
        // may be transient.
        "failed" if a.error.is_none() => match a
            .result
            .as_ref()
            .and_then(|r| r.get("errors"))
            .and_then(Value::as_array)
        {
            Some(errors) if !errors.is_empty() => Err(CallError::Refused(errors.clone())),
            _ => Err(CallError::TaskEnded {
                task_id: a.task_id,
                status: a.status,
                detail: message,
            }),
        },
        _ => Err(CallError::TaskEnded {
            detail: a
                .error
                .map(|e| printable(&format!("{}: {}", e.code, e.message)))
                .or(message),
            task_id: a.task_id,
            status: a.status,
        }),
    }
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
    #[serde(default)]
    pub platform_id: Option<String>,
}

impl CreativeResult {
    /// The item as the seller sent it (the fields read here).
    pub fn as_value(&self) -> Value {
        json!({"creative_id": self.creative_id, "action": self.action, "status": self.status,
            "errors": self.errors, "platform_id": self.platform_id})
    }

    /// The seller holds the creative after this sync.
    pub fn held(&self) -> bool {
        matches!(self.action.as_str(), "created" | "updated" | "unchanged")
    }
}

#[derive(Debug, Deserialize)]
pub struct SyncAnswer {
    pub creatives: Vec<CreativeResult>,
}

impl Answer for SyncAnswer {
    const TOOL: &'static str = "sync_creatives";
    const REQUIRED: &'static [&'static str] = &["creatives"];

    fn check(&self) -> Result<(), String> {
        // enums/creative-action.json
        const ACTIONS: &[&str] = &["created", "updated", "unchanged", "failed", "deleted"];
        match self
            .creatives
            .iter()
            .find(|c| !ACTIONS.contains(&c.action.as_str()))
        {
            Some(c) => Err(format!(
                "creative {}: action '{}' is not an AdCP creative action",
                printable(&c.creative_id),
                printable(&c.action)
            )),
            None => Ok(()),
        }
    }
}

/// A completed task's result, read as its task's answer (which may itself be the error branch).
pub fn completed<T: Answer>(result: Value) -> Result<Reply<T>, CallError> {
    reply(result)
}

#[derive(Debug, Clone, Deserialize)]
pub struct PackageResult {
    pub package_id: String,
    #[serde(default)]
    pub product_id: Option<String>,
}

/// A media buy as `update_media_buy` confirms it (and, as [`NewBuy`], `create_media_buy`).
#[derive(Debug, Clone, Deserialize)]
pub struct BuyResult {
    pub media_buy_id: String,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    media_buy_status: Option<String>,
    /// AdCP 3.0 put the media buy's status at the top level; 3.1 deprecates that form (it is the
    /// task's status there) but allows it through the 3.1 window, with the same value.
    #[serde(default, rename = "status")]
    top_level_status: Option<String>,
    /// `packages` on create, `affected_packages` on update.
    #[serde(default, alias = "affected_packages")]
    pub packages: Vec<PackageResult>,
}

/// The values of `enums/media-buy-status.json` that a top-level `status` can only mean as the
/// media buy's: `completed`, `rejected` and `canceled` are task statuses too
/// (`enums/task-status.json`), and in a 3.1 answer the top-level `status` is the task's.
const MEDIA_BUY_ONLY_STATUSES: &[&str] =
    &["pending_creatives", "pending_start", "active", "paused"];

impl BuyResult {
    /// The media buy's status, from the 3.1 field or, from a 3.0 seller, the top-level `status`
    /// when it can only be a media-buy status.
    pub fn media_buy_status(&self) -> Option<String> {
        self.media_buy_status.clone().or_else(|| {
            self.top_level_status
                .as_deref()
                .filter(|s| MEDIA_BUY_ONLY_STATUSES.contains(s))
                .map(printable)
        })
    }
}

impl Answer for BuyResult {
    const TOOL: &'static str = "update_media_buy";
    const REQUIRED: &'static [&'static str] = &["media_buy_id", "revision"];
}

/// A media buy as `create_media_buy` makes it: its schema requires more than an update's answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct NewBuy(pub BuyResult);

impl Answer for NewBuy {
    const TOOL: &'static str = "create_media_buy";
    const REQUIRED: &'static [&'static str] =
        &["media_buy_id", "confirmed_at", "revision", "packages"];
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
            branch(&json!({"status": "submitted", "task_id": "t1", "message": "awaiting IO"})),
            Ok(Some(Task { task_id, status, message: Some(m) })) if task_id == "t1" && status == "submitted" && m == "awaiting IO"
        ));
        assert!(matches!(
            branch(&json!({"status": "working"})),
            Err(CallError::Invalid(m)) if m.contains("task_id")
        ));
        let Ok(Some(task)) = branch(&json!({"status": "submitted", "task_id": "t2",
            "message": format!("line one\nFAKE LOG LINE {}", "x".repeat(600))}))
        else {
            panic!("queued")
        };
        let message = task.message.unwrap();
        assert!(
            !message.contains('\n') && message.chars().count() == 500,
            "{message}"
        );
        // A synchronous success's `status` is the media buy's, not the task's.
        assert!(matches!(
            branch(&json!({"status": "active", "media_buy_id": "mb"})),
            Ok(None)
        ));
        // Success and errors together fit none of AdCP's exclusive branches; a queued task may
        // carry advisory errors.
        assert!(matches!(
            branch(
                &json!({"media_buy_id": "mb", "errors": [{"code": "W", "message": "advisory"}]})
            ),
            Err(CallError::Invalid(_))
        ));
        assert!(matches!(
            branch(
                &json!({"status": "submitted", "task_id": "t1", "errors": [{"code": "W", "message": "advisory"}]})
            ),
            Ok(Some(_))
        ));
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
        // The media buy's status in either release's shape; a task status is not one.
        for (answer, status) in [
            (
                json!({"media_buy_status": "active", "status": "completed"}),
                Some("active"),
            ),
            (json!({"status": "pending_start"}), Some("pending_start")),
            (json!({"status": "completed"}), None),
            (json!({"status": "submitted"}), None),
            (json!({}), None),
        ] {
            let mut answer = answer;
            answer["media_buy_id"] = json!("mb_1");
            let b: BuyResult = parse(answer.clone()).unwrap();
            assert_eq!(b.media_buy_status().as_deref(), status, "{answer}");
        }

        // What each task's response schema requires of its success branch.
        let made =
            json!({"media_buy_id": "mb_1", "confirmed_at": null, "revision": 1, "packages": []});
        assert!(matches!(reply::<NewBuy>(made.clone()), Ok(Reply::Done(_))));
        for key in ["confirmed_at", "revision", "packages"] {
            let mut short = made.clone();
            short.as_object_mut().unwrap().remove(key);
            match reply::<NewBuy>(short) {
                Err(CallError::Invalid(why)) => assert!(why.contains(key), "{why}"),
                other => panic!("{key}: {other:?}"),
            }
        }
        assert!(matches!(
            reply::<BuyResult>(json!({"media_buy_id": "mb_1"})),
            Err(CallError::Invalid(_))
        ));
        assert!(matches!(
            reply::<SyncAnswer>(json!({"creatives": [{"creative_id": "c1", "action": "created"}]})),
            Ok(Reply::Done(_))
        ));
        match reply::<SyncAnswer>(
            json!({"creatives": [{"creative_id": "c1", "action": "approved"}]}),
        ) {
            Err(CallError::Invalid(why)) => assert!(why.contains("approved"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
