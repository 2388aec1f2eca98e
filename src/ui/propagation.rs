//! Propagation: what executing will send to whom (the API's dry run), execute, then each seller's
//! transport, status, media buy, creatives, errors, retries and next attempt, refreshed live by the
//! page's script while jobs run.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{json, Value};

use super::form::Posted;
use super::page::{after, back_to, UiError, UiResult};
use super::session::Session;
use super::{enc, UiState};

/// Pure: whether anything is still moving (the page keeps refreshing until nothing is).
pub fn unsettled(propagation: &Value) -> bool {
    propagation["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|j| {
            matches!(
                j["status"].as_str(),
                Some("pending" | "running" | "waiting" | "retrying")
            )
        })
}

async fn context(state: &UiState, session: &Session, campaign_id: &str) -> Result<Value, UiError> {
    let base = format!("/api/v2/buyer/campaigns/{}", enc(campaign_id));
    let campaign = state.api.get(&session.actor, &base).await?;
    let propagation = state
        .api
        .get(&session.actor, &format!("{base}/propagation"))
        .await?;
    let preview = state
        .api
        .get(&session.actor, &format!("{base}/execute/preview"))
        .await?;
    // Each creative's action and review status per seller, as the manifests record them.
    let list = state
        .api
        .get(&session.actor, &format!("{base}/creativeManifest?take=100"))
        .await?;
    let mut creatives = Vec::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let Some(id) = item["creative_id"].as_str() else {
            continue;
        };
        let m = state
            .api
            .get(&session.actor, &format!("{base}/creatives/{}", enc(id)))
            .await?;
        creatives.push(
            json!({"creative_id": id, "name": m["name"], "agents": m["sync_status"]["agents"]}),
        );
    }
    Ok(json!({
        "creatives": creatives,
        "campaign": campaign,
        "propagation": propagation,
        "preview": preview,
        "live": unsettled(&propagation),
    }))
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let ctx = context(&state, &session, &campaign_id).await?;
    state.render("propagation.html", &session, "campaigns", &flash, ctx)
}

pub async fn live(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
) -> UiResult {
    let ctx = context(&state, &session, &campaign_id).await?;
    state.render(
        "propagation_live.html",
        &session,
        "campaigns",
        &HashMap::new(),
        ctx,
    )
}

pub async fn execute(
    State(state): State<UiState>,
    Path(campaign_id): Path<String>,
    form: Posted,
) -> UiResult {
    let back = format!("/ui/campaigns/{campaign_id}/propagation");
    let path = format!("/api/v2/buyer/campaigns/{}/execute", enc(&campaign_id));
    let outcome = state
        .api
        .submit(&form.session.actor, Method::POST, &path, None)
        .await?;
    Ok(after(outcome, &back, |report| {
        let s = &report["summary"];
        let words = format!(
            "Executed: {} seller(s): {} succeeded, {} failed, {} retrying, {} waiting, {} skipped.",
            s["sellers"], s["succeeded"], s["failed"], s["retrying"], s["waiting"], s["skipped"]
        );
        back_to(&back, Ok(&words))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_moving_jobs_keep_the_page_live() {
        assert!(!unsettled(
            &json!({"jobs": [{"status": "succeeded"}, {"status": "dead"}]})
        ));
        assert!(unsettled(
            &json!({"jobs": [{"status": "succeeded"}, {"status": "pending"}]})
        ));
        assert!(!unsettled(&json!({})));
    }
}
