//! The storefront operator's review queue (pending first, filters, counts) and review page: the
//! submitted payload, a sandboxed rendering of its assets, approve / reject with a note / revoke,
//! and the forwarding and webhook delivery status.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{json, Value};

use super::form::Posted;
use super::page::{after, back_to, UiResult};
use super::session::Session;
use super::{enc, UiState};

const STATUSES: [&str; 4] = ["pending", "approved", "rejected", "revoked"];

/// Pure: the queue as shown: pending rows first, then the rest in the API's order (newest first).
pub fn pending_first(items: &[Value]) -> Vec<Value> {
    let mut v = items.to_vec();
    v.sort_by_key(|i| i["status"] != "pending");
    v
}

/// Pure: the narrowing query (`account_id`, `storefront_id`) carried to a row's page and gestures.
fn which(q: &HashMap<String, String>) -> String {
    ["account_id", "storefront_id"]
        .iter()
        .filter_map(|k| {
            q.get(*k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", enc(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> UiResult {
    let status = q.get("status").map(String::as_str).unwrap_or("pending");
    let mut filters = String::new();
    for k in ["storefront_id", "search"] {
        if let Some(v) = q.get(k).filter(|v| !v.trim().is_empty()) {
            filters.push_str(&format!("&{k}={}", enc(v.trim())));
        }
    }
    let base = "/api/v2/storefront/creative-reviews";
    let answer = state
        .api
        .get(
            &session.actor,
            &format!("{base}?status={}&take=100{filters}", enc(status)),
        )
        .await?;
    let mut counts = serde_json::Map::new();
    for s in STATUSES {
        // The listed status's count is the list's own total.
        if s == status {
            counts.insert(s.into(), answer["total"].clone());
            continue;
        }
        let n = state
            .api
            .get(
                &session.actor,
                &format!("{base}?status={s}&take=1{filters}"),
            )
            .await?;
        counts.insert(s.into(), n["total"].clone());
    }
    let storefronts = state
        .api
        .get(&session.actor, "/api/v2/storefront/storefronts?take=250")
        .await?;
    let items = pending_first(answer["items"].as_array().map(Vec::as_slice).unwrap_or(&[]));
    state.render(
        "reviews.html",
        &session,
        "reviews",
        &q,
        json!({
            "items": items, "total": answer["total"], "counts": counts, "status": status,
            "statuses": STATUSES.iter().chain(&["all"]).collect::<Vec<_>>(),
            "storefronts": storefronts["items"], "storefront_id": q.get("storefront_id"),
            "search": q.get("search"),
        }),
    )
}

/// Pure: the assets of an AdCP creative payload to show in the sandboxed rendering: each with its
/// slot, type, and URL or text.
pub fn renderable_assets(payload: &Value) -> Vec<Value> {
    let Some(assets) = payload["assets"].as_object() else {
        return Vec::new();
    };
    assets
        .iter()
        .map(|(slot, a)| {
            json!({
                "slot": slot,
                "asset_type": a["asset_type"],
                "url": a["url"].as_str().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
                "content": a["content"].as_str().or(a["text"].as_str()),
                "width": a["width"], "height": a["height"],
            })
        })
        .collect()
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(creative_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> UiResult {
    let w = which(&q);
    let row = state
        .api
        .get(
            &session.actor,
            &format!(
                "/api/v2/storefront/creative-reviews/{}?{w}",
                enc(&creative_id)
            ),
        )
        .await?;
    let assets = renderable_assets(&row["submittedPayload"]);
    // The rendering is a document of its own, put in a sandboxed frame's `srcdoc` (escaped there
    // as any attribute value): the buyer's assets never run in the UI's origin.
    let render_doc = state
        .pages
        .get_template("review_render.html")?
        .render(json!({"assets": assets}))?;
    state.render(
        "review.html",
        &session,
        "reviews",
        &q,
        json!({"row": row, "render_doc": render_doc, "which": w}),
    )
}

async fn gesture(
    state: &UiState,
    session: &Session,
    creative_id: &str,
    q: &HashMap<String, String>,
    action: &str,
    body: Value,
    done: &str,
) -> UiResult {
    let w = which(q);
    let back = format!("/ui/reviews/{creative_id}?{w}");
    let path = format!(
        "/api/v2/storefront/creative-reviews/{}/{action}?{w}",
        enc(creative_id)
    );
    let outcome = state
        .api
        .submit(&session.actor, Method::POST, &path, Some(&body))
        .await?;
    Ok(after(outcome, &back, |_| back_to(&back, Ok(done))))
}

pub async fn decide(
    State(state): State<UiState>,
    Path(creative_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Posted { session, fields: f }: Posted,
) -> UiResult {
    let decision = match f.get("decision") {
        Some("approved") => "approved",
        Some("rejected") => "rejected",
        _ => {
            return Ok(back_to(
                &format!("/ui/reviews/{creative_id}?{}", which(&q)),
                Err("Choose approve or reject."),
            ))
        }
    };
    let mut body = json!({"decision": decision});
    if let Some(note) = f.get("note") {
        body["note"] = json!(note);
    }
    let done = if decision == "approved" {
        "Approved."
    } else {
        "Rejected."
    };
    gesture(&state, &session, &creative_id, &q, "decide", body, done).await
}

pub async fn revoke(
    State(state): State<UiState>,
    Path(creative_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Posted { session, fields: f }: Posted,
) -> UiResult {
    let body = match f.get("note") {
        Some(note) => json!({"note": note}),
        None => json!({}),
    };
    gesture(
        &state,
        &session,
        &creative_id,
        &q,
        "revoke",
        body,
        "Approval revoked.",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_rows_come_first() {
        let items = vec![
            json!({"status": "approved", "n": 1}),
            json!({"status": "pending", "n": 2}),
            json!({"status": "rejected", "n": 3}),
        ];
        let sorted: Vec<_> = pending_first(&items)
            .iter()
            .map(|i| i["n"].clone())
            .collect();
        assert_eq!(sorted, vec![json!(2), json!(1), json!(3)]);
    }

    #[test]
    fn only_web_urls_are_rendered() {
        let p = json!({"assets": {"hero": {"asset_type": "image", "url": "javascript:alert(1)"},
                                   "logo": {"asset_type": "image", "url": "https://cdn.example/a.png"}}});
        let a = renderable_assets(&p);
        assert_eq!(a[0]["url"], Value::Null);
        assert_eq!(a[1]["url"], "https://cdn.example/a.png");
    }
}
