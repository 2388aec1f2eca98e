//! Sales agents: register, edit, refresh formats, see capabilities and the last error. The token
//! is write-only, as in the API: the page shows whether one is configured, never the token.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{json, Value};

use super::form::{Fields, Posted};
use super::page::{after, back_to, UiResult};
use super::session::Session;
use super::{enc, UiState};

pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let agents = state
        .api
        .get(&session.actor, "/api/v2/buyer/sales-agents?take=250")
        .await?;
    state.render(
        "sales_agents.html",
        &session,
        "sales-agents",
        &flash,
        json!({"agents": agents["items"]}),
    )
}

/// Pure: the API body from the form; on edit, a blank token keeps the stored one and
/// `remove_token` removes it.
pub fn agent_body(f: &Fields, editing: bool) -> Value {
    let mut body = json!({});
    for k in ["name", "endpoint_url"] {
        if let Some(v) = f.get(k) {
            body[k] = json!(v);
        } else if !editing {
            body[k] = json!("");
        }
    }
    if let Some(t) = f.get("token") {
        body["auth"] = json!({"token": t});
    } else if editing && f.get("remove_token") == Some("yes") {
        body["auth"] = Value::Null;
    }
    let library = match f.get("has_creative_library") {
        Some("true") => json!(true),
        Some("false") => json!(false),
        _ => json!("unknown"),
    };
    body["capabilities"] = json!({
        "has_creative_library": library,
        "supports_inline": f.get("supports_inline") == Some("yes"),
    });
    match f.get("account_id") {
        Some(a) => body["account_id"] = json!(a),
        None if editing => body["account_id"] = Value::Null,
        None => {}
    }
    body
}

pub async fn create(State(state): State<UiState>, form: Posted) -> UiResult {
    let body = agent_body(&form.fields, false);
    let outcome = state
        .api
        .submit(
            &form.session.actor,
            Method::POST,
            "/api/v2/buyer/sales-agents",
            Some(&body),
        )
        .await?;
    Ok(after(outcome, "/ui/sales-agents", |a| {
        let id = a["sales_agent_id"].as_str().unwrap_or_default();
        back_to(
            &format!("/ui/sales-agents/{id}"),
            Ok("Sales agent registered; its formats are being fetched."),
        )
    }))
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let agent = state
        .api
        .get(
            &session.actor,
            &format!("/api/v2/buyer/sales-agents/{}", enc(&id)),
        )
        .await?;
    let formats = match agent["endpoint_url"].as_str() {
        Some(_) => state
            .api
            .get(
                &session.actor,
                &format!(
                    "/api/v2/buyer/formats?take=250&agent={}",
                    enc(agent_url_of(&agent).as_str())
                ),
            )
            .await
            .ok(),
        None => None,
    };
    state.render(
        "sales_agent.html",
        &session,
        "sales-agents",
        &flash,
        json!({"agent": agent, "formats": formats.as_ref().map(|f| f["formats"].clone())}),
    )
}

/// The agent URL its formats are listed under: the endpoint's origin (formats name their agent).
fn agent_url_of(agent: &Value) -> String {
    agent["endpoint_url"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

pub async fn update(
    State(state): State<UiState>,
    Path(id): Path<String>,
    form: Posted,
) -> UiResult {
    let back = format!("/ui/sales-agents/{id}");
    let path = format!("/api/v2/buyer/sales-agents/{}", enc(&id));
    let body = agent_body(&form.fields, true);
    let outcome = state
        .api
        .submit(&form.session.actor, Method::PATCH, &path, Some(&body))
        .await?;
    Ok(after(outcome, &back, |_| {
        back_to(&back, Ok("Sales agent saved."))
    }))
}

pub async fn refresh(
    State(state): State<UiState>,
    Path(id): Path<String>,
    form: Posted,
) -> UiResult {
    let back = format!("/ui/sales-agents/{id}");
    let path = format!("/api/v2/buyer/sales-agents/{}/formats/refresh", enc(&id));
    let outcome = state
        .api
        .submit(&form.session.actor, Method::POST, &path, None)
        .await?;
    Ok(after(outcome, &back, |v| {
        let words = format!("Formats refreshed: {} known.", v["formats"]["count"]);
        back_to(&back, Ok(&words))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[test]
    fn a_blank_token_is_kept_on_edit() {
        let f = Fields::parse(&Bytes::from_static(b"name=S&endpoint_url=http%3A%2F%2Fa%2Fmcp&token=&has_creative_library=true&supports_inline=yes"));
        let b = agent_body(&f, true);
        assert!(b.get("auth").is_none());
        assert_eq!(
            b["capabilities"],
            json!({"has_creative_library": true, "supports_inline": true})
        );
        assert_eq!(b["account_id"], Value::Null);
        let b = agent_body(&f, false);
        assert!(b.get("account_id").is_none());
    }
}
