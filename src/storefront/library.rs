//! `list_creatives` vocabulary: the query of `core/creative-filters.json`, the opaque cursor that
//! is signed for one account and sort (a client cannot forge or move it), projections. The query
//! becomes SQL in [`super::list_sql`], so a page costs an index walk, not the whole account.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::mcp::error::AdcpError;

/// A creative as the list sees it (no payload).
#[derive(Debug, Clone)]
pub struct Listed {
    pub creative_id: String,
    pub name: String,
    pub format_key: String,
    pub status: String,
    pub tags: Vec<String>,
    pub assignments: Vec<Value>,
    pub review_note: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub statuses: Option<Vec<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub tags_any: Option<Vec<String>>,
    #[serde(default)]
    pub name_contains: Option<String>,
    #[serde(default)]
    pub creative_ids: Option<Vec<String>>,
    #[serde(default)]
    pub created_after: Option<String>,
    #[serde(default)]
    pub created_before: Option<String>,
    #[serde(default)]
    pub updated_after: Option<String>,
    #[serde(default)]
    pub updated_before: Option<String>,
    #[serde(default)]
    pub format_ids: Option<Vec<Value>>,
    #[serde(default)]
    pub unassigned: Option<bool>,
    #[serde(default)]
    pub assigned_to_packages: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    CreatedDate,
    UpdatedDate,
    Name,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Default, Deserialize)]
pub struct Sort {
    #[serde(default)]
    pub field: SortField,
    #[serde(default)]
    pub direction: Direction,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub filters: Filters,
    #[serde(default)]
    pub sort: Sort,
    #[serde(default)]
    pub pagination: Option<super::formats::Pagination>,
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default)]
    pub include_assignments: Option<bool>,
}

/// A timestamp filter as stored text (RFC 3339 UTC, milliseconds), so text order is time order.
pub(super) fn instant(v: &Option<String>, field: &str) -> Result<Option<String>, AdcpError> {
    v.as_deref()
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .map_err(|_| {
                    AdcpError::validation(format!("filters.{field}"), "not an RFC 3339 date-time")
                })
        })
        .transpose()
}

/// Where the next page starts: after (sort value, creative id), for one account and sort.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct Position {
    pub a: String,
    pub f: SortField,
    pub d: Direction,
    pub k: String,
    pub i: String,
}

/// Signs and opens cursors with a key only the service holds.
pub struct CursorKey(pub [u8; 32]);

impl CursorKey {
    fn mac(&self, body: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub(super) fn seal(&self, p: &Position) -> String {
        let body = hex::encode(serde_json::to_vec(p).unwrap_or_default());
        let sig = self.mac(&body);
        format!("{body}.{sig}")
    }

    pub(super) fn open(&self, cursor: &str) -> Option<Position> {
        let (body, sig) = cursor.split_once('.')?;
        // Constant-time comparison through the MAC type.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(body.as_bytes());
        mac.verify_slice(&hex::decode(sig).ok()?).ok()?;
        serde_json::from_slice(&hex::decode(body).ok()?).ok()
    }
}

pub(super) fn filters_applied(f: &Filters) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |on: bool, name| {
        if on {
            out.push(name)
        }
    };
    add(f.statuses.is_some(), "statuses");
    add(f.tags.is_some(), "tags");
    add(f.tags_any.is_some(), "tags_any");
    add(f.name_contains.is_some(), "name_contains");
    add(f.creative_ids.is_some(), "creative_ids");
    add(f.created_after.is_some(), "created_after");
    add(f.created_before.is_some(), "created_before");
    add(f.updated_after.is_some(), "updated_after");
    add(f.updated_before.is_some(), "updated_before");
    add(f.format_ids.is_some(), "format_ids");
    add(f.unassigned.is_some(), "unassigned");
    add(f.assigned_to_packages.is_some(), "assigned_to_packages");
    out
}

/// The format reference of a stored format key (`agent_url#id` or `kind:<kind>`).
pub fn format_ref(key: &str) -> (&'static str, Value) {
    match key.strip_prefix("kind:") {
        Some(kind) => ("format_kind", json!(kind)),
        None => {
            let (url, id) = key.rsplit_once('#').unwrap_or((key, ""));
            ("format_id", json!({"agent_url": url, "id": id}))
        }
    }
}

/// A `creatives[]` entry: the schema's required fields always, the optional ones unless `fields`
/// leaves them out (the schema requires the identity fields, so a projection cannot drop them).
pub fn item(
    c: &Listed,
    assets: Option<&Value>,
    fields: Option<&[String]>,
    include_assignments: bool,
) -> Value {
    let wants = |f: &str| fields.is_none_or(|fs| fs.iter().any(|x| x == f));
    let mut m = Map::new();
    m.insert("creative_id".into(), json!(c.creative_id));
    m.insert("name".into(), json!(c.name));
    m.insert("status".into(), json!(c.status));
    m.insert("created_date".into(), json!(c.created_at));
    m.insert("updated_date".into(), json!(c.updated_at));
    let (k, v) = format_ref(&c.format_key);
    m.insert(k.into(), v);
    if wants("tags") {
        m.insert("tags".into(), json!(c.tags));
    }
    if include_assignments && wants("assignments") {
        m.insert(
            "assignments".into(),
            json!({"assignment_count": c.assignments.len(), "assigned_packages": c.assignments}),
        );
    }
    if fields.is_none() {
        if let Some(a) = assets {
            m.insert("assets".into(), a.clone());
        }
    }
    // The reviewer's (or the sales agent's) note on a rejected creative. The list item schema has
    // no review field but is open (`additionalProperties: true`); `rejection_reason` is the name
    // AdCP itself uses for it (`enums/creative-approval-status.json`: "rejected … see
    // rejection_reason for required fixes"; `core/media-buy.json` has the same field), so a buyer
    // finds it where the spec points.
    if let (Some(note), "rejected") = (&c.review_note, c.status.as_str()) {
        m.insert("rejection_reason".into(), json!(note));
    }
    Value::Object(m)
}
