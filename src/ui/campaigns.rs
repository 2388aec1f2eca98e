//! Campaign pages: the list (search, paging), create and edit, and the campaign itself: format
//! coverage, the manifests as a grid and the upload area.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{json, Value};

use super::form::{Fields, Posted};
use super::page::{after, back_to, format_label, UiError, UiResult};
use super::session::Session;
use super::{enc, UiState};

const PAGE_SIZE: i64 = 20;

pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> UiResult {
    let page: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let search = q.get("search").map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut path = format!(
        "/api/v2/buyer/campaigns?take={PAGE_SIZE}&skip={}",
        (page - 1) * PAGE_SIZE
    );
    if let Some(s) = search {
        path.push_str(&format!("&search={}", enc(s)));
    }
    let answer = state.api.get(&session.actor, &path).await?;
    let total = answer["total"].as_i64().unwrap_or(0);
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let search_q = search
        .map(|s| format!("&search={}", enc(s)))
        .unwrap_or_default();
    state.render(
        "campaigns.html",
        &session,
        "campaigns",
        &q,
        json!({
            "campaigns": answer["items"], "total": total, "page": page, "pages": pages,
            "search": search, "search_q": search_q,
        }),
    )
}

/// What the campaign form offers: the customer's sales agents and the formats to pick from.
async fn form_choices(state: &UiState, session: &Session) -> Result<Value, UiError> {
    let agents = state
        .api
        .get(&session.actor, "/api/v2/buyer/sales-agents?take=250")
        .await?;
    let formats = state
        .api
        .get(&session.actor, "/api/v2/buyer/formats?take=250")
        .await?;
    // Grouped by the agent that defines them (the standard set, then each seller's), as the
    // registry lists them.
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for f in formats["formats"].as_array().into_iter().flatten() {
        let fid = &f["format_id"];
        let agent = fid["agent_url"].as_str().unwrap_or("").to_owned();
        let option = json!({
            "value": format!("{agent}|{}", fid["id"].as_str().unwrap_or("")),
            "label": f["name"].as_str().or(fid["id"].as_str()).unwrap_or(""),
        });
        match groups.iter_mut().find(|(a, _)| *a == agent) {
            Some((_, options)) => options.push(option),
            None => groups.push((agent, vec![option])),
        }
    }
    let formats: Vec<Value> = groups
        .into_iter()
        .map(|(agent, options)| json!({"agent": agent, "options": options}))
        .collect();
    Ok(json!({"agents": agents["items"], "formats": formats}))
}

pub async fn new_form(
    State(state): State<UiState>,
    session: Session,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let mut ctx = form_choices(&state, &session).await?;
    ctx["campaign"] = json!({"products": [{}]});
    ctx["action"] = json!("/ui/campaigns");
    state.render("campaign_form.html", &session, "campaigns", &flash, ctx)
}

pub async fn edit_form(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let mut campaign = state
        .api
        .get(
            &session.actor,
            &format!("/api/v2/buyer/campaigns/{}", enc(&campaign_id)),
        )
        .await?;
    let mut ctx = form_choices(&state, &session).await?;
    // Each product's formats as the form's values, and one blank row to add a product.
    if let Some(products) = campaign["products"].as_array_mut() {
        for p in products.iter_mut() {
            let chosen: Vec<String> = p["format_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}|{}",
                        f["agent_url"].as_str().unwrap_or(""),
                        f["id"].as_str().unwrap_or("")
                    )
                })
                .collect();
            p["chosen"] = json!(chosen);
        }
        products.push(json!({}));
    }
    ctx["campaign"] = campaign;
    ctx["action"] = json!(format!("/ui/campaigns/{campaign_id}/edit"));
    ctx["editing"] = json!(true);
    state.render("campaign_form.html", &session, "campaigns", &flash, ctx)
}

/// Pure: the campaign body the JSON API takes, from the form (rows numbered 0..).
pub fn campaign_body(f: &Fields) -> Value {
    let mut products = Vec::new();
    for i in 0..50 {
        // A row without a product id is the form's blank "add a product" row.
        let Some(product_id) = f.get(&format!("product_id_{i}")) else {
            continue;
        };
        let format_ids: Vec<Value> = f
            .all(&format!("formats_{i}"))
            .into_iter()
            .filter_map(|v| v.split_once('|'))
            .map(|(agent_url, id)| json!({"agent_url": agent_url, "id": id}))
            .collect();
        let mut p = json!({
            "product_id": product_id,
            "sales_agent_id": f.get(&format!("sales_agent_id_{i}")).unwrap_or(""),
            "format_ids": format_ids,
        });
        if let Some(b) = f.get(&format!("budget_{i}")) {
            // A budget that is not a number goes on as text, for the API to name the field.
            p["budget"] = b
                .parse::<f64>()
                .map(|n| json!(n))
                .unwrap_or_else(|_| json!(b));
        }
        if let Some(po) = f.get(&format!("pricing_option_id_{i}")) {
            p["pricing_option_id"] = json!(po);
        }
        products.push(p);
    }
    let mut body = json!({
        "name": f.get("name").unwrap_or(""),
        "brand_domain": f.get("brand_domain").unwrap_or(""),
        "products": products,
    });
    if let Some(s) = f.get("start_time") {
        body["start_time"] = json!(to_rfc3339(s));
    }
    if let Some(e) = f.get("end_time") {
        body["end_time"] = json!(to_rfc3339(e));
    }
    body
}

/// Pure: a `datetime-local` value (`2027-01-01T00:00`) as RFC 3339 UTC; anything else as given
/// (`asap`, or already RFC 3339), for the API to judge.
pub fn to_rfc3339(v: &str) -> String {
    if v.len() == 16 && v.as_bytes().get(10) == Some(&b'T') {
        format!("{v}:00Z")
    } else {
        v.to_owned()
    }
}

pub async fn create(State(state): State<UiState>, form: Posted) -> UiResult {
    let body = campaign_body(&form.fields);
    let outcome = state
        .api
        .submit(
            &form.session.actor,
            Method::POST,
            "/api/v2/buyer/campaigns",
            Some(&body),
        )
        .await?;
    Ok(after(outcome, "/ui/campaigns/new", |c| {
        let id = c["campaign_id"].as_str().unwrap_or_default();
        back_to(&format!("/ui/campaigns/{id}"), Ok("Campaign created."))
    }))
}

pub async fn update(
    State(state): State<UiState>,
    Path(campaign_id): Path<String>,
    form: Posted,
) -> UiResult {
    let path = format!("/api/v2/buyer/campaigns/{}", enc(&campaign_id));
    let body = campaign_body(&form.fields);
    let outcome = state
        .api
        .submit(&form.session.actor, Method::PATCH, &path, Some(&body))
        .await?;
    Ok(after(
        outcome,
        &format!("/ui/campaigns/{campaign_id}/edit"),
        |_| {
            back_to(
                &format!("/ui/campaigns/{campaign_id}"),
                Ok("Campaign saved."),
            )
        },
    ))
}

pub async fn remove(
    State(state): State<UiState>,
    Path(campaign_id): Path<String>,
    form: Posted,
) -> UiResult {
    let path = format!("/api/v2/buyer/campaigns/{}", enc(&campaign_id));
    let outcome = state
        .api
        .submit(&form.session.actor, Method::DELETE, &path, None)
        .await?;
    Ok(after(
        outcome,
        &format!("/ui/campaigns/{campaign_id}"),
        |_| back_to("/ui/campaigns", Ok("Campaign deleted.")),
    ))
}

/// Everything the campaign page and its live fragment show.
async fn campaign_context(
    state: &UiState,
    session: &Session,
    campaign_id: &str,
) -> Result<Value, UiError> {
    let base = format!("/api/v2/buyer/campaigns/{}", enc(campaign_id));
    let campaign = state.api.get(&session.actor, &base).await?;
    let templates = state
        .api
        .get(&session.actor, &format!("{base}/creatives/templates"))
        .await?;
    let list = state
        .api
        .get(&session.actor, &format!("{base}/creativeManifest?take=60"))
        .await?;
    // The full manifests: the grid shows each seller's review status and reason.
    let mut manifests = Vec::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let Some(id) = item["creative_id"].as_str() else {
            continue;
        };
        let m = state
            .api
            .get(&session.actor, &format!("{base}/creatives/{}", enc(id)))
            .await?;
        manifests.push(m);
    }
    let agents = state
        .api
        .get(&session.actor, "/api/v2/buyer/sales-agents?take=250")
        .await?;
    let agent_names: HashMap<String, Value> = agents["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["sales_agent_id"].as_str()?.to_owned(), a["name"].clone())))
        .collect();
    // Each missing format: which product needs it, and what would cover it.
    let mut missing = Vec::new();
    for f in campaign["creativeFormats"]["missing"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let needed_by: Vec<Value> = templates["campaign_products"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["missing"].as_array().is_some_and(|m| m.contains(f)))
            .map(|p| p["product_id"].clone())
            .collect();
        let hint = match (f["agent_url"].as_str(), f["id"].as_str()) {
            (Some(agent), Some(id)) => {
                let path = format!("/api/v2/buyer/formats/{}/{}", enc(agent), enc(id));
                match state.api.get(&session.actor, &path).await {
                    Ok(format) => cover_hint(&format),
                    Err(_) => String::new(),
                }
            }
            // A `format_kind` requirement: its kind and parameters say what covers it.
            _ => format_label(f),
        };
        missing.push(json!({"format": f, "needed_by": needed_by, "hint": hint}));
    }
    Ok(json!({
        "campaign": campaign,
        "coverage": campaign["creativeFormats"],
        "missing": missing,
        "manifests": manifests,
        "total_manifests": list["total"],
        "agent_names": agent_names,
        "max_file_bytes": state.app.config.max_file_bytes,
    }))
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let ctx = campaign_context(&state, &session, &campaign_id).await?;
    state.render("campaign.html", &session, "campaigns", &flash, ctx)
}

/// The coverage and the grid alone, for the page's script to swap in after uploads.
pub async fn live(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
) -> UiResult {
    let ctx = campaign_context(&state, &session, &campaign_id).await?;
    state.render(
        "campaign_live.html",
        &session,
        "campaigns",
        &HashMap::new(),
        ctx,
    )
}

/// Pure: what would cover an AdCP format, in words: each required asset's type and limits
/// (size, duration, file types), from the format's own definition.
pub fn cover_hint(format: &Value) -> String {
    let mut parts = Vec::new();
    for a in format["assets"].as_array().into_iter().flatten() {
        if a["required"] == json!(false) {
            continue;
        }
        let Some(kind) = a["asset_type"].as_str() else {
            continue;
        };
        let r = &a["requirements"];
        let mut words = vec![kind.to_owned()];
        let (w, h) = (
            r["width"].as_u64().or(r["min_width"].as_u64()),
            r["height"].as_u64().or(r["min_height"].as_u64()),
        );
        if let (Some(w), Some(h)) = (w, h) {
            words.push(format!("{w}×{h}"));
        }
        if let Some(d) = r["duration_ms"].as_u64().or(r["min_duration_ms"].as_u64()) {
            words.push(format!("{} s", d as f64 / 1000.0));
        }
        if let Some(ar) = r["aspect_ratio"].as_str() {
            words.push(format!("aspect {ar}"));
        }
        if let Some(types) = r["file_types"].as_array().or(r["formats"].as_array()) {
            let t: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            if !t.is_empty() {
                words.push(t.join("/"));
            }
        }
        parts.push(words.join(" "));
    }
    if parts.is_empty() {
        if let Some(r) = format["renders"].as_array().and_then(|r| r.first()) {
            let d = &r["dimensions"];
            if let (Some(w), Some(h)) = (d["width"].as_u64(), d["height"].as_u64()) {
                parts.push(format!("a creative of {w}×{h}"));
            }
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[test]
    fn the_form_becomes_the_api_body() {
        let f = Fields::parse(&Bytes::from_static(
            b"name=Autumn&brand_domain=acme.com&product_id_0=p1&sales_agent_id_0=sa_1&formats_0=https%3A%2F%2Fa%7Cd_300&formats_0=https%3A%2F%2Fa%7Cd_728&budget_0=500&pricing_option_id_0=cpm&product_id_1=&start_time=2027-01-01T00%3A00&end_time=asap",
        ));
        let b = campaign_body(&f);
        assert_eq!(b["products"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            b["products"][0]["format_ids"][1],
            json!({"agent_url": "https://a", "id": "d_728"})
        );
        assert_eq!(b["products"][0]["budget"], json!(500.0));
        assert_eq!(b["start_time"], "2027-01-01T00:00:00Z");
        assert_eq!(b["end_time"], "asap");
    }

    #[test]
    fn a_format_says_what_would_cover_it() {
        let f = json!({"assets": [
            {"asset_type": "image", "required": true, "requirements": {"width": 300, "height": 250, "file_types": ["png", "jpg"]}},
            {"asset_type": "text", "required": false}
        ]});
        assert_eq!(cover_hint(&f), "image 300×250 png/jpg");
        let v =
            json!({"assets": [{"asset_type": "video", "requirements": {"duration_ms": 15000}}]});
        assert_eq!(cover_hint(&v), "video 15 s");
        let r = json!({"renders": [{"dimensions": {"width": 728, "height": 90}}]});
        assert_eq!(cover_hint(&r), "a creative of 728×90");
    }
}
