//! The manifest page: sandboxed preview, assets, the HTML processing report, trackers, edit,
//! validate against a chosen format, delete. Adding or replacing files goes through the page's
//! script to the API's own update (multipart), like the campaign's upload area.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{json, Value};

use super::form::{Fields, Posted};
use super::page::{after, back_to, UiError, UiResult};
use super::session::Session;
use super::{enc, UiState};

fn api_path(campaign_id: &str, creative_id: &str) -> String {
    format!(
        "/api/v2/buyer/campaigns/{}/creatives/{}",
        enc(campaign_id),
        enc(creative_id)
    )
}

fn page_path(campaign_id: &str, creative_id: &str) -> String {
    format!("/ui/campaigns/{campaign_id}/creatives/{creative_id}")
}

async fn context(
    state: &UiState,
    session: &Session,
    campaign_id: &str,
    creative_id: &str,
) -> Result<Value, UiError> {
    let manifest = state
        .api
        .get(&session.actor, &api_path(campaign_id, creative_id))
        .await?;
    let campaign = state
        .api
        .get(
            &session.actor,
            &format!("/api/v2/buyer/campaigns/{}", enc(campaign_id)),
        )
        .await?;
    // Formats to validate against: the campaign's, then the manifest's targets, each once.
    let mut choices: Vec<Value> = Vec::new();
    for f in campaign["creativeFormats"]["required"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            manifest["target_format_ids"]
                .as_array()
                .into_iter()
                .flatten(),
        )
    {
        if f["id"].is_string() && !choices.contains(f) {
            choices.push(f.clone());
        }
    }
    let choices: Vec<Value> = choices
        .iter()
        .map(|f| json!({"value": format!("{}|{}", f["agent_url"].as_str().unwrap_or(""), f["id"].as_str().unwrap_or("")), "format": f}))
        .collect();
    let clickthrough = manifest["assets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["url_type"] == "CLICKTHROUGH")
        .and_then(|a| a["url"].as_str())
        .map(str::to_owned);
    Ok(json!({
        "manifest": manifest,
        "campaign": campaign,
        "choices": choices,
        "clickthrough": clickthrough,
        "asset_types": ["IMAGE", "VIDEO", "AUDIO", "HTML", "JAVASCRIPT", "CSS", "VAST", "LOGO", "FONT", "TEXT"],
    }))
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path((campaign_id, creative_id)): Path<(String, String)>,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let ctx = context(&state, &session, &campaign_id, &creative_id).await?;
    state.render("manifest.html", &session, "campaigns", &flash, ctx)
}

/// Pure: the API's update body from the edit form: rename, message, clickthrough, assets to delete
/// and assets to reclassify (`reclassify_<asset_id>` = a new type).
pub fn update_body(f: &Fields) -> Value {
    let mut body = json!({});
    if let Some(n) = f.get("name") {
        body["name"] = json!(n);
    }
    if let Some(m) = f.get("message") {
        body["message"] = json!(m);
    }
    if let Some(c) = f.get("clickthrough") {
        body["url_asset"] = json!({"url": c});
    }
    let deletes = f.all("delete_asset_id");
    if !deletes.is_empty() {
        body["delete_asset_ids"] = json!(deletes);
    }
    let reclassify: Vec<Value> = f
        .all("reclassify")
        .into_iter()
        .filter_map(|v| v.split_once('|'))
        .filter(|(_, t)| !t.is_empty())
        .map(|(asset_id, asset_type)| json!({"asset_id": asset_id, "asset_type": asset_type}))
        .collect();
    if !reclassify.is_empty() {
        body["reclassify_assets"] = json!(reclassify);
    }
    body
}

pub async fn update(
    State(state): State<UiState>,
    Path((campaign_id, creative_id)): Path<(String, String)>,
    form: Posted,
) -> UiResult {
    let back = page_path(&campaign_id, &creative_id);
    let path = api_path(&campaign_id, &creative_id);
    let body = update_body(&form.fields);
    let outcome = state
        .api
        .submit(&form.session.actor, Method::PUT, &path, Some(&body))
        .await?;
    Ok(after(outcome, &back, |_| {
        back_to(&back, Ok("Manifest saved."))
    }))
}

pub async fn validate(
    State(state): State<UiState>,
    Path((campaign_id, creative_id)): Path<(String, String)>,
    Posted { session, fields: f }: Posted,
) -> UiResult {
    let mut request = json!({"creative_id": creative_id});
    if let Some((agent_url, id)) = f.get("target").and_then(|t| t.split_once('|')) {
        request["target_format_ids"] = json!([{"agent_url": agent_url, "id": id}]);
    }
    let path = format!(
        "/api/v2/buyer/campaigns/{}/creatives/validate",
        enc(&campaign_id)
    );
    // A dry run: the results show on the page itself (nothing was stored to redirect to).
    let results = match state
        .api
        .submit(&session.actor, Method::POST, &path, Some(&request))
        .await?
    {
        Ok(v) => v,
        Err(e) => {
            return Ok(back_to(
                &page_path(&campaign_id, &creative_id),
                Err(&e.in_words()),
            ))
        }
    };
    let mut ctx = context(&state, &session, &campaign_id, &creative_id).await?;
    ctx["validation"] = results;
    ctx["validated_target"] = json!(f.get("target"));
    state.render("manifest.html", &session, "campaigns", &HashMap::new(), ctx)
}

pub async fn remove(
    State(state): State<UiState>,
    Path((campaign_id, creative_id)): Path<(String, String)>,
    form: Posted,
) -> UiResult {
    let back = page_path(&campaign_id, &creative_id);
    if form.fields.get("confirm") != Some("yes") {
        return Ok(back_to(&back, Err("Tick the box to confirm the deletion.")));
    }
    let path = api_path(&campaign_id, &creative_id);
    let outcome = state
        .api
        .submit(&form.session.actor, Method::DELETE, &path, None)
        .await?;
    Ok(after(outcome, &back, |_| {
        back_to(
            &format!("/ui/campaigns/{campaign_id}"),
            Ok("Manifest deleted."),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[test]
    fn the_edit_form_becomes_the_update_body() {
        let f = Fields::parse(&Bytes::from_static(
            b"name=New&clickthrough=https%3A%2F%2Facme.com&delete_asset_id=ast_1&reclassify=ast_2%7CLOGO&reclassify=ast_3%7C",
        ));
        assert_eq!(
            update_body(&f),
            json!({"name": "New", "url_asset": {"url": "https://acme.com"}, "delete_asset_ids": ["ast_1"],
                   "reclassify_assets": [{"asset_id": "ast_2", "asset_type": "LOGO"}]})
        );
    }
}
