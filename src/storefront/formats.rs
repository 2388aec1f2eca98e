//! `list_creative_formats` on a storefront: the underlying agent's formats (as the registry
//! fetched them), filtered as `creative/list-creative-formats-request.json` describes. Pure: the
//! caller loads the formats.

use serde::Deserialize;
use serde_json::Value;

use crate::adcp::types::{normalize_agent_url, FormatId};
use crate::store::search::fold;

use super::mcp::error::AdcpError;

/// The request fields this tool answers; others (AdCP requests are open) are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct FormatQuery {
    #[serde(default)]
    pub format_ids: Option<Vec<FormatId>>,
    #[serde(default)]
    pub asset_types: Option<Vec<String>>,
    #[serde(default)]
    pub min_width: Option<f64>,
    #[serde(default)]
    pub max_width: Option<f64>,
    #[serde(default)]
    pub min_height: Option<f64>,
    #[serde(default)]
    pub max_height: Option<f64>,
    #[serde(default)]
    pub is_responsive: Option<bool>,
    #[serde(default)]
    pub name_search: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
}

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

/// One page of the selection.
#[derive(Debug)]
pub struct Page<'a> {
    pub formats: Vec<&'a Value>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// Page size and offset from `pagination`. Format lists are public, so the cursor is a plain offset
/// (nothing to forge); a cursor we did not issue is refused.
pub fn page_bounds(p: Option<&Pagination>) -> Result<(usize, usize), AdcpError> {
    let size = match p.and_then(|p| p.max_results) {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => n as usize,
        Some(_) => {
            return Err(AdcpError::validation(
                "pagination.max_results",
                "max_results must be 1 to 100",
            ))
        }
    };
    let offset = match p.and_then(|p| p.cursor.as_deref()) {
        None => 0,
        Some(c) => c
            .strip_prefix("off:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| AdcpError::validation("pagination.cursor", "unknown cursor"))?,
    };
    Ok((size, offset))
}

fn same_format(a: &FormatId, format: &Value) -> bool {
    let id = &format["format_id"];
    id["id"].as_str() == Some(a.id.as_str())
        && id["agent_url"]
            .as_str()
            .and_then(|u| normalize_agent_url(u).ok())
            .zip(normalize_agent_url(&a.agent_url).ok())
            .is_some_and(|(x, y)| x == y)
}

/// Every asset type a format takes, group members included.
fn asset_types(format: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for a in format["assets"].as_array().into_iter().flatten() {
        if let Some(t) = a["asset_type"].as_str() {
            out.push(t);
        }
        for m in a["assets"].as_array().into_iter().flatten() {
            if let Some(t) = m["asset_type"].as_str() {
                out.push(t);
            }
        }
    }
    out
}

/// The format's category: its own legacy `type` when it declares one, else what its assets say.
fn kind(format: &Value) -> &str {
    if let Some(t) = format["type"].as_str() {
        return t;
    }
    let types = asset_types(format);
    if types.contains(&"video") || types.contains(&"vast") {
        "video"
    } else if types.contains(&"audio") || types.contains(&"daast") {
        "audio"
    } else {
        "display"
    }
}

/// (width, height) of each fixed-size render.
fn sizes(format: &Value) -> Vec<(f64, f64)> {
    format["renders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let d = &r["dimensions"];
            Some((d["width"].as_f64()?, d["height"].as_f64()?))
        })
        .collect()
}

/// Responsive: a render that declares itself fluid, or no fixed size at all.
fn is_responsive(format: &Value) -> bool {
    let renders = format["renders"].as_array();
    let fluid = renders.into_iter().flatten().any(|r| {
        let resp = &r["dimensions"]["responsive"];
        resp["width"].as_bool() == Some(true) || resp["height"].as_bool() == Some(true)
    });
    fluid || sizes(format).is_empty()
}

fn matches(q: &FormatQuery, f: &Value) -> bool {
    if let Some(ids) = &q.format_ids {
        if !ids.iter().any(|id| same_format(id, f)) {
            return false;
        }
    }
    if let Some(wanted) = &q.asset_types {
        let have = asset_types(f);
        if !wanted.iter().any(|w| have.contains(&w.as_str())) {
            return false;
        }
    }
    if let Some(k) = &q.kind {
        if kind(f) != k {
            return false;
        }
    }
    if let Some(r) = q.is_responsive {
        if is_responsive(f) != r {
            return false;
        }
    }
    if let Some(s) = &q.name_search {
        let name = fold(f["name"].as_str().unwrap_or_default());
        if !name.contains(&fold(s)) {
            return false;
        }
    }
    let bounded = q.min_width.is_some()
        || q.max_width.is_some()
        || q.min_height.is_some()
        || q.max_height.is_some();
    if bounded {
        let fits = sizes(f).into_iter().any(|(w, h)| {
            q.min_width.is_none_or(|m| w >= m)
                && q.max_width.is_none_or(|m| w <= m)
                && q.min_height.is_none_or(|m| h >= m)
                && q.max_height.is_none_or(|m| h <= m)
        });
        if !fits {
            return false;
        }
    }
    true
}

/// The page of `formats` the query asks for. A `format_ids` entry the agent does not offer is
/// `REFERENCE_NOT_FOUND` naming it: an empty answer would read as "no such format exists".
pub fn select<'a>(formats: &'a [Value], q: &FormatQuery) -> Result<Page<'a>, AdcpError> {
    if let Some(ids) = &q.format_ids {
        if let Some(i) = ids
            .iter()
            .position(|id| !formats.iter().any(|f| same_format(id, f)))
        {
            return Err(AdcpError::reference_not_found(
                format!("format_ids[{i}]"),
                format!("format '{}' is not offered here", ids[i].id),
            ));
        }
    }
    let (size, offset) = page_bounds(q.pagination.as_ref())?;
    let all: Vec<&Value> = formats.iter().filter(|f| matches(q, f)).collect();
    let total = all.len();
    let end = offset.saturating_add(size).min(total);
    let page: Vec<&Value> = all.get(offset.min(total)..end).unwrap_or_default().to_vec();
    let has_more = end < total;
    Ok(Page {
        formats: page,
        has_more,
        next_cursor: has_more.then(|| format!("off:{end}")),
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn formats() -> Vec<Value> {
        vec![
            json!({"format_id": {"agent_url": "https://ca.example", "id": "display_300x250"}, "name": "Medium Rectangle",
                   "renders": [{"role": "primary", "dimensions": {"width": 300, "height": 250}}],
                   "assets": [{"item_type": "individual", "asset_id": "img", "asset_type": "image", "required": true}]}),
            json!({"format_id": {"agent_url": "https://ca.example", "id": "display_728x90"}, "name": "Leaderboard",
                   "renders": [{"role": "primary", "dimensions": {"width": 728, "height": 90}}],
                   "assets": [{"item_type": "individual", "asset_id": "tag", "asset_type": "html", "required": true}]}),
            json!({"format_id": {"agent_url": "https://ca.example", "id": "video_15s"}, "name": "Video 15s",
                   "assets": [{"item_type": "individual", "asset_id": "v", "asset_type": "video", "required": true}]}),
            json!({"format_id": {"agent_url": "https://ca.example", "id": "native"}, "name": "Native card",
                   "renders": [{"role": "primary", "dimensions": {"responsive": {"width": true, "height": false}, "height": 200}}],
                   "assets": [{"item_type": "repeatable_group", "asset_group_id": "cards", "assets": [{"asset_id": "t", "asset_type": "text"}]}]}),
        ]
    }

    fn ids(page: &Page) -> Vec<String> {
        page.formats
            .iter()
            .map(|f| f["format_id"]["id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn query(v: Value) -> FormatQuery {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn filters_combine() {
        let f = formats();
        let got = |v: Value| ids(&select(&f, &query(v)).unwrap());
        assert_eq!(got(json!({"type": "video"})), ["video_15s"]);
        assert_eq!(
            got(json!({"asset_types": ["text", "html"]})),
            ["display_728x90", "native"]
        );
        assert_eq!(
            got(json!({"min_width": 300, "max_height": 250})),
            ["display_300x250", "display_728x90"]
        );
        assert_eq!(got(json!({"max_width": 300})), ["display_300x250"]);
        assert_eq!(got(json!({"is_responsive": true})), ["video_15s", "native"]);
        assert_eq!(got(json!({"name_search": "LEADER"})), ["display_728x90"]);
        assert_eq!(
            got(
                json!({"format_ids": [{"agent_url": "https://CA.example/", "id": "native"}], "unknown": 1})
            ),
            ["native"]
        );
    }

    #[test]
    fn an_unknown_format_id_is_named() {
        let f = formats();
        let err = select(
            &f,
            &query(json!({"format_ids": [{"agent_url": "https://ca.example", "id": "native"}, {"agent_url": "https://ca.example", "id": "nope"}]})),
        )
        .unwrap_err();
        assert_eq!(err.code, "REFERENCE_NOT_FOUND");
        assert_eq!(err.field.as_deref(), Some("format_ids[1]"));
    }

    #[test]
    fn pages_cover_everything_once() {
        let f = formats();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = query(json!({"pagination": {"max_results": 3, "cursor": cursor}}));
            let page = select(&f, &q).unwrap();
            assert_eq!(page.total, 4);
            seen.extend(ids(&page));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 4);
        assert!(select(&f, &query(json!({"pagination": {"cursor": "x"}}))).is_err());
        assert!(select(&f, &query(json!({"pagination": {"max_results": 101}}))).is_err());
        assert!(select(&f, &query(json!({"pagination": {"max_results": 0}}))).is_err());
    }
}
