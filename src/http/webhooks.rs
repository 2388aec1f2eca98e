//! `POST /adcp/webhooks/:jobId`: where sellers report on tasks they queued (AdCP push
//! notifications, `mcp-webhook-payload`). Not behind the buyer's API key: the payload's `token`,
//! derived from the job id, authenticates it. A webhook only wakes the job; the job then asks the
//! seller (`get_task_status`), so nothing in the body is trusted beyond the task it names.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::views::WebhookProcessed;
use super::ApiJson;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::propagation::wake_for_task;

pub fn router() -> Router<AppState> {
    Router::new().route("/adcp/webhooks/{job_id}", post(seller_webhook))
}

async fn seller_webhook(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    ApiJson(payload): ApiJson<Value>,
) -> ApiResult<Json<WebhookProcessed>> {
    let token = payload.get("token").and_then(Value::as_str).unwrap_or("");
    if !state.signer.verify_webhook_token(&job_id, token) {
        crate::metrics::webhook("received", "bad_token");
        return Err(ApiError::BadWebhookToken);
    }
    let task_id = payload.get("task_id").and_then(Value::as_str);
    let Some(woken) = wake_for_task(&state.db, &job_id, task_id).await? else {
        crate::metrics::webhook("received", "unknown_job");
        return Err(ApiError::NotFound("job"));
    };
    crate::metrics::webhook("received", if woken { "woke_job" } else { "ignored" });
    Ok(Json(WebhookProcessed {
        status: "processed",
        woken,
    }))
}
