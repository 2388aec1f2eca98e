//! Delivery: per-creative and per-day figures as server-drawn SVG bar charts, the table of
//! seller-reported against measured figures, and the CSV download (the API's own CSV).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, Request};
use axum::response::Response;
use serde_json::{json, Value};

use super::page::{UiError, UiResult};
use super::session::Session;
use super::{enc, UiState};

/// The report's period, as the page's form gives it (the API judges the dates).
fn period(q: &HashMap<String, String>) -> String {
    ["start", "end"]
        .iter()
        .filter_map(|k| {
            q.get(*k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("&{k}={}", enc(v)))
        })
        .collect()
}

/// Chart geometry.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 40.0;

/// Pure: bars for `metric` of each row (`key`: a creative id or a day, named by `label`), scaled to
/// the chart: seller-reported and measured side by side. Answers the bars and the axis maximum.
pub fn bars(rows: &[Value], metric: &str, label: impl Fn(&str) -> String) -> Value {
    let measured = format!("measured_{metric}");
    let values: Vec<(String, f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                label(r["key"].as_str().unwrap_or("–")),
                r[metric].as_f64().unwrap_or(0.0),
                r[&measured].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let max = values
        .iter()
        .flat_map(|(_, a, b)| [*a, *b])
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = values.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / n;
    let bar = (slot * 0.4).min(40.0);
    let plot = HEIGHT - BOTTOM;
    let items: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, (label, seller, ours))| {
            let x = LEFT + slot * i as f64 + slot * 0.1;
            let hs = seller / max * (plot - 10.0);
            let ho = ours / max * (plot - 10.0);
            json!({
                "label": label, "seller": seller, "measured": ours,
                "x": x, "w": bar, "xs2": x + bar,
                "ys": plot - hs, "hs": hs, "yo": plot - ho, "ho": ho,
                "tx": x + bar, "ty": HEIGHT - BOTTOM + 14.0,
                "short": short(label),
            })
        })
        .collect();
    json!({"items": items, "max": max, "width": WIDTH, "height": HEIGHT, "plot": plot, "left": LEFT})
}

/// Pure: an axis label that fits under its bar: the first 10 characters, with an ellipsis.
fn short(label: &str) -> String {
    if label.chars().count() <= 10 {
        label.to_owned()
    } else {
        format!("{}…", label.chars().take(9).collect::<String>())
    }
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> UiResult {
    let base = format!("/api/v2/buyer/campaigns/{}", enc(&campaign_id));
    let campaign = state.api.get(&session.actor, &base).await?;
    let p = period(&q);
    let by_creative = state
        .api
        .get(
            &session.actor,
            &format!("{base}/delivery?group_by=creative{p}"),
        )
        .await?;
    let by_day = state
        .api
        .get(&session.actor, &format!("{base}/delivery?group_by=day{p}"))
        .await?;
    // Creatives by name, not id.
    let list = state
        .api
        .get(&session.actor, &format!("{base}/creativeManifest?take=250"))
        .await?;
    let names: HashMap<String, String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some((
                m["creative_id"].as_str()?.to_owned(),
                m["name"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let empty = Vec::new();
    let creative_rows = by_creative["rows"].as_array().unwrap_or(&empty);
    let day_rows = by_day["rows"].as_array().unwrap_or(&empty);
    state.render(
        "delivery.html",
        &session,
        "campaigns",
        &q,
        json!({
            "campaign": campaign,
            "report": by_creative,
            "by_day": by_day,
            "chart_creative": bars(creative_rows, "impressions", name),
            "chart_day": bars(day_rows, "impressions", |d| d.get(5..).unwrap_or(d).to_owned()),
            "names": names,
            "start": q.get("start"), "end": q.get("end"),
            "csv_q": p.trim_start_matches('&'),
        }),
    )
}

/// The API's CSV (`Accept: text/csv`), as a download.
pub async fn csv(
    State(state): State<UiState>,
    session: Session,
    Path(campaign_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> UiResult<Response> {
    let group = q.get("group_by").map(String::as_str).unwrap_or("creative");
    let path = format!(
        "/api/v2/buyer/campaigns/{}/delivery?group_by={}{}",
        enc(&campaign_id),
        enc(group),
        period(&q)
    );
    let req = Request::get(path)
        .header(header::ACCEPT, "text/csv")
        .body(Body::empty())
        .map_err(anyhow::Error::new)?;
    let res = state.api.send(&session.actor, req).await;
    if !res.status().is_success() {
        return Err(UiError::Api(super::api::refusal(res).await?));
    }
    let mut res = res;
    let name = format!("attachment; filename=\"delivery-{campaign_id}-{group}.csv\"")
        .replace(|c: char| !c.is_ascii_graphic() && c != ' ', "_");
    if let Ok(v) = HeaderValue::from_str(&name) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_figure() {
        let rows = vec![
            json!({"key": "2027-01-01", "impressions": 100.0, "measured_impressions": 50}),
            json!({"key": "2027-01-02", "impressions": null, "measured_impressions": 200}),
        ];
        let b = bars(&rows, "impressions", |d| format!("day {d}"));
        assert_eq!(b["max"], json!(200.0));
        assert_eq!(b["items"][1]["hs"], json!(0.0));
        assert_eq!(b["items"][1]["ho"], json!(150.0));
        assert_eq!(b["items"][0]["label"], "day 2027-01-01");
        assert_eq!(b["items"][0]["short"], "day 2027-…");
        assert_eq!(bars(&[], "impressions", str::to_owned)["max"], json!(1.0));
    }
}
