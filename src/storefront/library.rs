//! `list_creatives` decisions: filters of `core/creative-filters.json`, sort, keyset pages behind an
//! opaque cursor that is signed for one account (a client cannot forge or move it to another),
//! projections and summaries. Pure: the tool loads the account's rows.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::mcp::error::AdcpError;
use super::sync::format_key;

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
fn instant(v: &Option<String>, field: &str) -> Result<Option<String>, AdcpError> {
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

struct Compiled<'a> {
    f: &'a Filters,
    created_after: Option<String>,
    created_before: Option<String>,
    updated_after: Option<String>,
    updated_before: Option<String>,
    format_keys: Option<Vec<String>>,
}

impl Compiled<'_> {
    fn matches(&self, c: &Listed) -> bool {
        let f = self.f;
        let status_ok = match &f.statuses {
            Some(s) => s.contains(&c.status),
            // Archived creatives only when asked for.
            None => c.status != "archived",
        };
        let package_ids = || {
            c.assignments
                .iter()
                .filter_map(|a| a["package_id"].as_str())
        };
        status_ok
            && f.tags
                .as_ref()
                .is_none_or(|t| t.iter().all(|t| c.tags.contains(t)))
            && f.tags_any
                .as_ref()
                .is_none_or(|t| t.iter().any(|t| c.tags.contains(t)))
            && f.name_contains
                .as_ref()
                .is_none_or(|n| c.name.to_lowercase().contains(&n.to_lowercase()))
            && f.creative_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&c.creative_id))
            && self
                .created_after
                .as_ref()
                .is_none_or(|t| c.created_at > *t)
            && self
                .created_before
                .as_ref()
                .is_none_or(|t| c.created_at < *t)
            && self
                .updated_after
                .as_ref()
                .is_none_or(|t| c.updated_at > *t)
            && self
                .updated_before
                .as_ref()
                .is_none_or(|t| c.updated_at < *t)
            && self
                .format_keys
                .as_ref()
                .is_none_or(|k| k.contains(&c.format_key))
            && f.unassigned.is_none_or(|u| u == c.assignments.is_empty())
            && f.assigned_to_packages
                .as_ref()
                .is_none_or(|p| package_ids().any(|id| p.iter().any(|w| w == id)))
    }
}

fn sort_key(c: &Listed, field: SortField) -> &str {
    match field {
        SortField::CreatedDate => &c.created_at,
        SortField::UpdatedDate => &c.updated_at,
        SortField::Name => &c.name,
        SortField::Status => &c.status,
    }
}

/// The order of a page: the sort field, then the creative id (unique), in the direction asked.
fn order(a: (&str, &str), b: (&str, &str), dir: Direction) -> Ordering {
    let o = a.0.cmp(b.0).then_with(|| a.1.cmp(b.1));
    match dir {
        Direction::Asc => o,
        Direction::Desc => o.reverse(),
    }
}

/// Where the next page starts: after (sort value, creative id), for one account and sort.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Position {
    a: String,
    f: SortField,
    d: Direction,
    k: String,
    i: String,
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

    fn seal(&self, p: &Position) -> String {
        let body = hex::encode(serde_json::to_vec(p).unwrap_or_default());
        let sig = self.mac(&body);
        format!("{body}.{sig}")
    }

    fn open(&self, cursor: &str) -> Option<Position> {
        let (body, sig) = cursor.split_once('.')?;
        // Constant-time comparison through the MAC type.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(body.as_bytes());
        mac.verify_slice(&hex::decode(sig).ok()?).ok()?;
        serde_json::from_slice(&hex::decode(body).ok()?).ok()
    }
}

pub struct Page {
    pub items: Vec<Listed>,
    pub has_more: bool,
    pub cursor: Option<String>,
    pub total_matching: usize,
    pub status_summary: BTreeMap<String, usize>,
    pub format_summary: BTreeMap<String, usize>,
    pub filters_applied: Vec<&'static str>,
}

fn filters_applied(f: &Filters) -> Vec<&'static str> {
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

/// The page `q` asks for out of `all` (the account's creatives).
pub fn select(
    all: Vec<Listed>,
    q: &ListQuery,
    account: &str,
    key: &CursorKey,
) -> Result<Page, AdcpError> {
    let format_keys = q
        .filters
        .format_ids
        .as_ref()
        .map(|ids| ids.iter().filter_map(format_key).collect::<Vec<_>>());
    let compiled = Compiled {
        f: &q.filters,
        created_after: instant(&q.filters.created_after, "created_after")?,
        created_before: instant(&q.filters.created_before, "created_before")?,
        updated_after: instant(&q.filters.updated_after, "updated_after")?,
        updated_before: instant(&q.filters.updated_before, "updated_before")?,
        format_keys,
    };
    let (size, _) = super::formats::page_bounds(
        q.pagination
            .as_ref()
            .map(|p| super::formats::Pagination {
                max_results: p.max_results,
                cursor: None,
            })
            .as_ref(),
    )?;
    let (field, dir) = (q.sort.field, q.sort.direction);
    let after = match q.pagination.as_ref().and_then(|p| p.cursor.as_deref()) {
        None => None,
        Some(c) => {
            let p = key
                .open(c)
                .filter(|p| p.a == account && p.f == field && p.d == dir)
                .ok_or_else(|| AdcpError::validation("pagination.cursor", "unknown cursor"))?;
            Some(p)
        }
    };
    let mut matching: Vec<Listed> = all.into_iter().filter(|c| compiled.matches(c)).collect();
    matching.sort_by(|a, b| {
        order(
            (sort_key(a, field), &a.creative_id),
            (sort_key(b, field), &b.creative_id),
            dir,
        )
    });
    let mut status_summary = BTreeMap::new();
    let mut format_summary = BTreeMap::new();
    for c in &matching {
        *status_summary.entry(c.status.clone()).or_insert(0) += 1;
        let fid = c
            .format_key
            .rsplit(['#', ':'])
            .next()
            .unwrap_or_default()
            .to_owned();
        *format_summary.entry(fid).or_insert(0) += 1;
    }
    let total_matching = matching.len();
    let start = match &after {
        None => 0,
        Some(p) => matching.partition_point(|c| {
            order((sort_key(c, field), &c.creative_id), (&p.k, &p.i), dir) != Ordering::Greater
        }),
    };
    let rest = matching.split_off(start.min(matching.len()));
    let has_more = rest.len() > size;
    let items: Vec<Listed> = rest.into_iter().take(size).collect();
    let cursor = match (has_more, items.last()) {
        (true, Some(last)) => Some(key.seal(&Position {
            a: account.to_owned(),
            f: field,
            d: dir,
            k: sort_key(last, field).to_owned(),
            i: last.creative_id.clone(),
        })),
        _ => None,
    };
    Ok(Page {
        items,
        has_more,
        cursor,
        total_matching,
        status_summary,
        format_summary,
        filters_applied: filters_applied(&q.filters),
    })
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
    if let (Some(note), "rejected") = (&c.review_note, c.status.as_str()) {
        m.insert("rejection_reason".into(), json!(note));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(i: usize, status: &str) -> Listed {
        Listed {
            creative_id: format!("c{i:04}"),
            name: format!("Creative {}", i % 7),
            format_key: "https://s.example#box".into(),
            status: status.into(),
            tags: if i.is_multiple_of(2) {
                vec!["even".into()]
            } else {
                vec![]
            },
            assignments: vec![],
            review_note: None,
            // Many share a timestamp: the id breaks ties.
            created_at: format!("2026-01-01T00:00:{:02}.000Z", i / 10),
            updated_at: format!("2026-01-01T00:00:{:02}.000Z", i / 10),
        }
    }

    fn q(v: Value) -> ListQuery {
        serde_json::from_value(v).unwrap()
    }

    const KEY: CursorKey = CursorKey([7; 32]);

    #[test]
    fn pages_have_no_duplicates_or_gaps_in_every_sort() {
        let all: Vec<Listed> = (0..250).map(|i| listed(i, "approved")).collect();
        for sort in [
            json!({}),
            json!({"field": "name", "direction": "asc"}),
            json!({"field": "updated_date", "direction": "asc"}),
        ] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = select(
                    all.clone(),
                    &q(json!({"sort": sort, "pagination": {"max_results": 37, "cursor": cursor}})),
                    "acct",
                    &KEY,
                )
                .unwrap();
                seen.extend(page.items.iter().map(|c| c.creative_id.clone()));
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!((seen.len(), unique.len()), (250, 250), "{sort}");
        }
    }

    #[test]
    fn cursors_are_bound_to_account_and_sort_and_cannot_be_forged() {
        let all: Vec<Listed> = (0..10).map(|i| listed(i, "approved")).collect();
        let page = select(
            all.clone(),
            &q(json!({"pagination": {"max_results": 3}})),
            "acct",
            &KEY,
        )
        .unwrap();
        let c = page.cursor.unwrap();
        assert!(select(
            all.clone(),
            &q(json!({"pagination": {"cursor": c}})),
            "other",
            &KEY
        )
        .is_err());
        assert!(select(
            all.clone(),
            &q(json!({"sort": {"direction": "asc"}, "pagination": {"cursor": c}})),
            "acct",
            &KEY
        )
        .is_err());
        let (body, _) = c.split_once('.').unwrap();
        let forged = format!("{body}.{}", "0".repeat(64));
        assert!(select(
            all,
            &q(json!({"pagination": {"cursor": forged}})),
            "acct",
            &KEY
        )
        .is_err());
    }

    #[test]
    fn filters_and_archived_only_on_request() {
        let mut all: Vec<Listed> = (0..6).map(|i| listed(i, "approved")).collect();
        all.push(listed(6, "archived"));
        let ids = |v: Value| -> Vec<String> {
            select(all.clone(), &q(v), "a", &KEY)
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.creative_id)
                .collect()
        };
        assert_eq!(ids(json!({})).len(), 6);
        assert_eq!(
            ids(json!({"filters": {"statuses": ["archived"]}})),
            ["c0006"]
        );
        assert_eq!(
            ids(json!({"filters": {"tags": ["even"]}, "sort": {"direction": "asc"}})),
            ["c0000", "c0002", "c0004"]
        );
        assert_eq!(
            ids(json!({"filters": {"name_contains": "creative 5"}})),
            ["c0005"]
        );
        assert_eq!(
            ids(json!({"filters": {"creative_ids": ["c0001", "zzz"]}})),
            ["c0001"]
        );
        assert_eq!(ids(json!({"filters": {"unassigned": false}})).len(), 0);
        assert_eq!(
            ids(json!({"filters": {"created_after": "2026-01-01T00:00:00Z"}})).len(),
            0
        );
        assert!(select(
            all.clone(),
            &q(json!({"filters": {"created_after": "yesterday"}})),
            "a",
            &KEY
        )
        .is_err());
    }
}
