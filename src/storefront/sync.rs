//! `sync_creatives` decisions: the request's shape, each creative checked against the storefront's
//! formats, and the per-creative outcome (created / updated / unchanged / failed / deleted) under
//! the validation mode. Pure: the tool loads the formats and the account's current creatives and
//! writes what the plan says.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::mcp::error::AdcpError;
use super::ReviewMode;

pub const MAX_CREATIVES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationMode {
    /// Any invalid creative fails the whole sync; nothing is written.
    #[default]
    Strict,
    /// Valid creatives are applied, invalid ones fail alone.
    Lenient,
}

#[derive(Debug, Deserialize)]
pub struct Assignment {
    pub creative_id: String,
    pub package_id: String,
}

/// The fields of a `sync_creatives` request the storefront reads (AdCP requests are open).
#[derive(Debug, Deserialize)]
pub struct SyncRequest {
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub account: Option<Value>,
    pub creatives: Vec<Value>,
    #[serde(default)]
    pub creative_ids: Option<Vec<String>>,
    #[serde(default)]
    pub assignments: Option<Vec<Assignment>>,
    #[serde(default)]
    pub delete_missing: bool,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub validation_mode: ValidationMode,
    #[serde(default)]
    pub push_notification_config: Option<Value>,
    #[serde(default, rename = "pushNotificationConfig")]
    pub push_notification_config_camel: Option<Value>,
    /// Echoed in the answer and in the review webhooks of this sync's creatives.
    #[serde(default)]
    pub context: Option<Value>,
}

impl SyncRequest {
    /// Request-level rules: a failure here refuses the whole request (nothing is answered per creative).
    pub fn check(&self) -> Result<(), AdcpError> {
        if self.creatives.is_empty() || self.creatives.len() > MAX_CREATIVES {
            return Err(AdcpError::validation(
                "creatives",
                format!("a sync carries 1 to {MAX_CREATIVES} creatives"),
            ));
        }
        if self.delete_missing && self.creative_ids.is_some() {
            return Err(AdcpError::validation(
                "delete_missing",
                "delete_missing cannot be combined with creative_ids (the scope would be ambiguous)",
            ));
        }
        if let Some(ids) = &self.creative_ids {
            if ids.is_empty() || ids.len() > MAX_CREATIVES {
                return Err(AdcpError::validation(
                    "creative_ids",
                    format!("creative_ids holds 1 to {MAX_CREATIVES} ids"),
                ));
            }
        }
        Ok(())
    }

    pub fn push_config(&self) -> Option<&Value> {
        self.push_notification_config
            .as_ref()
            .or(self.push_notification_config_camel.as_ref())
    }
}

/// A creative that passed its checks, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub creative_id: String,
    pub name: String,
    pub format_key: String,
    pub tags: Vec<String>,
    pub payload: Value,
    pub content_hash: String,
}

/// A creative as the library holds it now.
#[derive(Debug, Clone)]
pub struct Current {
    pub creative_id: String,
    pub payload: Value,
    pub content_hash: String,
    pub status: String,
    /// The reviewer's (or the sales agent's) note on a rejected creative.
    pub review_note: Option<String>,
}

#[derive(Debug)]
pub enum Outcome {
    Created(Checked),
    Updated(Checked, Vec<String>),
    Unchanged {
        creative_id: String,
        status: String,
    },
    Failed {
        creative_id: String,
        errors: Vec<AdcpError>,
    },
    /// Archived by `delete_missing`.
    Deleted(String),
}

pub fn content_hash(payload: &Value) -> String {
    let canonical = serde_jcs::to_string(payload).unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// `agent_url#id` of a format id, the key creatives and formats are matched on.
pub fn format_key(format_id: &Value) -> Option<String> {
    let url = format_id["agent_url"].as_str()?;
    let id = format_id["id"].as_str()?;
    let url = crate::adcp::types::normalize_agent_url(url).ok()?;
    Some(format!("{url}#{id}"))
}

fn err(field: String, message: impl Into<String>) -> AdcpError {
    AdcpError::validation(field, message)
}

/// Checks one creative (`creatives[i]`) against the storefront's formats (keyed by
/// [`format_key`]): identity, name, a known format, and every required asset slot present with the
/// right type and, for images, a size the slot allows. All errors are collected, each naming its path.
pub fn check_creative(
    i: usize,
    raw: &Value,
    formats: &HashMap<String, Value>,
) -> Result<Checked, (String, Vec<AdcpError>)> {
    let at = |f: &str| format!("creatives[{i}].{f}");
    let id = raw["creative_id"].as_str().unwrap_or_default().to_owned();
    let mut errors = Vec::new();
    if id.is_empty() || id.len() > 255 {
        errors.push(err(
            at("creative_id"),
            "creative_id must be 1 to 255 characters",
        ));
    }
    let name = raw["name"].as_str().unwrap_or_default().trim().to_owned();
    if name.is_empty() || name.chars().count() > 255 {
        errors.push(err(at("name"), "name must be 1 to 255 characters"));
    }
    let assets = raw["assets"].as_object();
    if assets.is_none() {
        errors.push(err(
            at("assets"),
            "assets must be an object keyed by asset_id",
        ));
    }
    let tags: Vec<String> = match &raw["tags"] {
        Value::Null => vec![],
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => {
            errors.push(err(at("tags"), "tags must be an array of strings"));
            vec![]
        }
    };
    let format_key = match (&raw["format_id"], raw["format_kind"].as_str()) {
        (Value::Null, Some(kind)) => Some(format!("kind:{kind}")),
        (fid @ Value::Object(_), None) => match format_key(fid).filter(|k| formats.contains_key(k))
        {
            Some(k) => {
                if let (Some(format), Some(assets)) = (formats.get(&k), assets) {
                    check_slots(i, format, assets, &mut errors);
                }
                Some(k)
            }
            None => {
                errors.push(
                    AdcpError::new(
                        "FORMAT_NOT_SUPPORTED",
                        super::mcp::error::Recovery::Correctable,
                        "this format is not one of the storefront's formats (see list_creative_formats)",
                    )
                    .with_field(at("format_id")),
                );
                None
            }
        },
        _ => {
            errors.push(err(
                at("format_id"),
                "exactly one of format_id and format_kind is required",
            ));
            None
        }
    };
    match format_key {
        Some(format_key) if errors.is_empty() => Ok(Checked {
            creative_id: id,
            name,
            format_key,
            tags,
            content_hash: content_hash(raw),
            payload: raw.clone(),
        }),
        _ => Err((id, errors)),
    }
}

/// Every required individual slot of `format` present in `assets`, of its type and size.
fn check_slots(i: usize, format: &Value, assets: &Map<String, Value>, errors: &mut Vec<AdcpError>) {
    for slot in format["assets"].as_array().into_iter().flatten() {
        let (Some(slot_id), Some(kind)) = (slot["asset_id"].as_str(), slot["asset_type"].as_str())
        else {
            continue;
        };
        let path = format!("creatives[{i}].assets.{slot_id}");
        let Some(asset) = assets.get(slot_id) else {
            if slot["required"].as_bool() == Some(true) {
                errors.push(err(
                    path,
                    format!("the format requires a {kind} asset here"),
                ));
            }
            continue;
        };
        // A slot may carry one asset or several.
        let items: Vec<&Value> = match asset {
            Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        for (n, item) in items.into_iter().enumerate() {
            let path = if asset.is_array() {
                format!("{path}[{n}]")
            } else {
                path.clone()
            };
            if item["asset_type"].as_str().is_some_and(|t| t != kind) {
                errors.push(err(
                    format!("{path}.asset_type"),
                    format!("this slot takes {kind}"),
                ));
                continue;
            }
            let req = &slot["requirements"];
            for (dim, lo, hi) in [
                ("width", "min_width", "max_width"),
                ("height", "min_height", "max_height"),
            ] {
                let Some(v) = item[dim].as_f64() else {
                    continue;
                };
                let below = req[lo].as_f64().is_some_and(|m| v < m);
                let above = req[hi].as_f64().is_some_and(|m| v > m);
                if below || above {
                    errors.push(err(
                        format!("{path}.{dim}"),
                        format!("{dim} {v} is outside what the slot allows"),
                    ));
                }
            }
            for (lo, hi) in [("min_duration_ms", "max_duration_ms")] {
                let Some(v) = item["duration_ms"].as_f64() else {
                    continue;
                };
                if req[lo].as_f64().is_some_and(|m| v < m)
                    || req[hi].as_f64().is_some_and(|m| v > m)
                {
                    errors.push(err(
                        format!("{path}.duration_ms"),
                        "duration is outside what the slot allows",
                    ));
                }
            }
        }
    }
}

/// Top-level fields whose value differs between two payloads, sorted.
pub fn changes(old: &Value, new: &Value) -> Vec<String> {
    let empty = Map::new();
    let (o, n) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<String> = o
        .keys()
        .chain(n.keys())
        .filter(|k| o.get(*k) != n.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The outcome of each creative. `checked` is in request order (already limited to `creative_ids`);
/// `current` the account's creatives with those ids; `live` every non-archived id of the account
/// (for `delete_missing`).
pub fn plan(
    checked: Vec<Result<Checked, (String, Vec<AdcpError>)>>,
    current: &HashMap<String, Current>,
    live: &[String],
    delete_missing: bool,
    mode: ValidationMode,
) -> Vec<Outcome> {
    let mut seen = HashSet::new();
    let mut out: Vec<Outcome> = checked
        .into_iter()
        .map(|c| match c {
            Err((creative_id, errors)) => {
                seen.insert(creative_id.clone());
                Outcome::Failed {
                    creative_id,
                    errors,
                }
            }
            Ok(c) if !seen.insert(c.creative_id.clone()) => Outcome::Failed {
                errors: vec![AdcpError::validation(
                    "creatives",
                    format!("creative_id '{}' appears twice in this sync", c.creative_id),
                )],
                creative_id: c.creative_id,
            },
            Ok(c) => match current.get(&c.creative_id) {
                None => Outcome::Created(c),
                Some(cur) if cur.content_hash == c.content_hash && cur.status != "archived" => {
                    Outcome::Unchanged {
                        creative_id: c.creative_id,
                        status: cur.status.clone(),
                    }
                }
                Some(cur) => {
                    let mut ch = changes(&cur.payload, &c.payload);
                    if cur.status == "archived" {
                        ch.push("status".into());
                    }
                    Outcome::Updated(c, ch)
                }
            },
        })
        .collect();
    let failed = out.iter().any(|o| matches!(o, Outcome::Failed { .. }));
    if failed && mode == ValidationMode::Strict {
        return out
            .into_iter()
            .map(|o| match o {
                Outcome::Failed { .. } => o,
                other => Outcome::Failed {
                    creative_id: outcome_id(&other).to_owned(),
                    errors: vec![AdcpError::validation(
                        "creatives",
                        "not applied: another creative in this strict sync failed validation",
                    )],
                },
            })
            .collect();
    }
    if delete_missing {
        out.extend(
            live.iter()
                .filter(|id| !seen.contains(*id))
                .map(|id| Outcome::Deleted(id.clone())),
        );
    }
    out
}

pub fn outcome_id(o: &Outcome) -> &str {
    match o {
        Outcome::Created(c) | Outcome::Updated(c, _) => &c.creative_id,
        Outcome::Unchanged { creative_id, .. } | Outcome::Failed { creative_id, .. } => creative_id,
        Outcome::Deleted(id) => id,
    }
}

/// The status a created or updated creative gets.
pub fn new_status(mode: ReviewMode) -> &'static str {
    match mode {
        ReviewMode::Manual => "pending_review",
        ReviewMode::Auto => "approved",
    }
}

/// A `creatives[]` entry of the answer. Failed and deleted items carry no `status` (the schema
/// forbids it).
pub fn answer_item(o: &Outcome, mode: ReviewMode) -> Value {
    match o {
        Outcome::Created(c) => {
            json!({"creative_id": c.creative_id, "action": "created", "status": new_status(mode)})
        }
        Outcome::Updated(c, ch) => {
            json!({"creative_id": c.creative_id, "action": "updated", "status": new_status(mode), "changes": ch})
        }
        Outcome::Unchanged {
            creative_id,
            status,
        } => {
            json!({"creative_id": creative_id, "action": "unchanged", "status": status})
        }
        Outcome::Failed {
            creative_id,
            errors,
        } => json!({
            "creative_id": creative_id, "action": "failed",
            "errors": errors.iter().map(AdcpError::to_value).collect::<Vec<_>>(),
        }),
        Outcome::Deleted(id) => json!({"creative_id": id, "action": "deleted"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats() -> HashMap<String, Value> {
        let f = json!({"format_id": {"agent_url": "https://s.example", "id": "box"}, "name": "Box",
            "assets": [{"item_type": "individual", "asset_id": "hero", "asset_type": "image", "required": true,
                        "requirements": {"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}},
                       {"item_type": "individual", "asset_id": "click", "asset_type": "url", "required": false}]});
        HashMap::from([("https://s.example#box".to_owned(), f)])
    }

    fn creative(id: &str, w: u32) -> Value {
        json!({"creative_id": id, "name": format!("C {id}"), "format_id": {"agent_url": "https://s.example/", "id": "box"},
               "assets": {"hero": {"asset_type": "image", "url": "https://cdn.example/a.png", "width": w, "height": 250}}})
    }

    fn check_all(cs: &[Value]) -> Vec<Result<Checked, (String, Vec<AdcpError>)>> {
        let f = formats();
        cs.iter()
            .enumerate()
            .map(|(i, c)| check_creative(i, c, &f))
            .collect()
    }

    #[test]
    fn slots_are_checked_and_errors_name_the_asset_path() {
        let f = formats();
        assert!(check_creative(0, &creative("a", 300), &f).is_ok());
        let (_, errs) = check_creative(2, &creative("a", 728), &f).unwrap_err();
        assert_eq!(
            errs[0].field.as_deref(),
            Some("creatives[2].assets.hero.width")
        );
        let mut missing = creative("b", 300);
        missing["assets"] = json!({});
        let (id, errs) = check_creative(0, &missing, &f).unwrap_err();
        assert_eq!(id, "b");
        assert_eq!(errs[0].field.as_deref(), Some("creatives[0].assets.hero"));
        let mut wrong = creative("c", 300);
        wrong["assets"]["hero"]["asset_type"] = json!("video");
        let (_, errs) = check_creative(0, &wrong, &f).unwrap_err();
        assert_eq!(
            errs[0].field.as_deref(),
            Some("creatives[0].assets.hero.asset_type")
        );
        let mut unknown = creative("d", 300);
        unknown["format_id"]["id"] = json!("nope");
        let (_, errs) = check_creative(0, &unknown, &f).unwrap_err();
        assert_eq!(errs[0].code, "FORMAT_NOT_SUPPORTED");
    }

    #[test]
    fn created_updated_unchanged() {
        let cs = check_all(&[
            creative("new", 300),
            creative("same", 300),
            creative("changed", 300),
        ]);
        let mut changed_old = creative("changed", 300);
        changed_old["name"] = json!("Old name");
        let cur = |c: Value, status: &str| Current {
            creative_id: c["creative_id"].as_str().unwrap().into(),
            content_hash: content_hash(&c),
            payload: c,
            status: status.into(),
            review_note: None,
        };
        let current = HashMap::from([
            ("same".to_owned(), cur(creative("same", 300), "approved")),
            ("changed".to_owned(), cur(changed_old, "approved")),
        ]);
        let out = plan(cs, &current, &[], false, ValidationMode::Strict);
        assert!(matches!(&out[0], Outcome::Created(_)));
        assert!(matches!(&out[1], Outcome::Unchanged { status, .. } if status == "approved"));
        assert!(matches!(&out[2], Outcome::Updated(_, ch) if ch == &vec!["name".to_owned()]));
    }

    #[test]
    fn strict_fails_everything_lenient_only_the_bad_one() {
        let cs = || check_all(&[creative("good", 300), creative("bad", 1)]);
        let strict = plan(cs(), &HashMap::new(), &[], false, ValidationMode::Strict);
        assert!(strict.iter().all(|o| matches!(o, Outcome::Failed { .. })));
        let lenient = plan(cs(), &HashMap::new(), &[], false, ValidationMode::Lenient);
        assert!(matches!(&lenient[0], Outcome::Created(_)));
        assert!(matches!(&lenient[1], Outcome::Failed { .. }));
        let item = answer_item(&lenient[1], ReviewMode::Auto);
        assert!(item.get("status").is_none());
    }

    #[test]
    fn delete_missing_archives_the_rest_and_duplicates_fail() {
        let out = plan(
            check_all(&[creative("a", 300), creative("a", 300)]),
            &HashMap::new(),
            &["a".into(), "old".into()],
            true,
            ValidationMode::Lenient,
        );
        assert!(matches!(&out[1], Outcome::Failed { .. }));
        assert!(matches!(&out[2], Outcome::Deleted(id) if id == "old"));
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn request_rules() {
        let req = |v: Value| serde_json::from_value::<SyncRequest>(v).unwrap();
        let many: Vec<Value> = (0..101).map(|i| creative(&i.to_string(), 300)).collect();
        assert_eq!(
            req(json!({"creatives": many}))
                .check()
                .unwrap_err()
                .field
                .as_deref(),
            Some("creatives")
        );
        let both = req(
            json!({"creatives": [creative("a", 300)], "creative_ids": ["a"], "delete_missing": true}),
        );
        assert_eq!(both.check().unwrap_err().code, "VALIDATION_ERROR");
    }
}
