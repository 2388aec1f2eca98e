//! The tools' `inputSchema`: an AdCP 3.1.19 request schema from the repository (embedded by
//! build.rs) made self-contained. Each referenced file goes under `$defs` and every `$ref` points
//! there, because MCP clients get one schema per tool and cannot fetch `/schemas/3.1.19/…`.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_json::{Map, Value};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/adcp_schemas.rs"));
}

const PREFIX: &str = "/schemas/3.1.19/";

/// The `$defs` key of an embedded file: its path, which cannot collide with a schema's own
/// `$defs` names (those have no `/`... and JSON pointers escape it as `~1`).
fn def_key(path: &str) -> String {
    format!("adcp:{path}")
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Rewrites `v`'s references for a document that will sit at `#/$defs/<own>` (or at the root when
/// `own` is `None`), collecting the files it references.
fn rewrite(v: &mut Value, own: Option<&str>, found: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == "$ref" {
                    if let Value::String(r) = child {
                        if let Some(rest) = r.strip_prefix(PREFIX) {
                            let (file, frag) = rest.split_once('#').unwrap_or((rest, ""));
                            found.insert(file.to_owned());
                            *r = format!("#/$defs/{}{}", pointer_escape(&def_key(file)), frag);
                        } else if let (Some(frag), Some(own)) = (r.strip_prefix('#'), own) {
                            *r = format!("#/$defs/{}{frag}", pointer_escape(&def_key(own)));
                        }
                    }
                } else {
                    rewrite(child, own, found);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite(c, own, found)),
        _ => {}
    }
}

fn file(path: &str) -> Option<Value> {
    embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .and_then(|(_, text)| serde_json::from_str(text).ok())
}

/// `root` (a path below the schema folder) with every file it references inlined under `$defs`.
/// `None` if it is not one of the embedded files.
pub fn bundle(root: &str) -> Option<Value> {
    let mut doc = file(root)?;
    let mut found = BTreeSet::new();
    rewrite(&mut doc, None, &mut found);
    let mut defs = Map::new();
    let mut todo: Vec<String> = found.iter().cloned().collect();
    while let Some(p) = todo.pop() {
        let key = def_key(&p);
        if defs.contains_key(&key) {
            continue;
        }
        let mut sub = file(&p)?;
        let mut more = BTreeSet::new();
        rewrite(&mut sub, Some(&p), &mut more);
        if let Value::Object(m) = &mut sub {
            m.remove("$id");
            m.remove("$schema");
        }
        defs.insert(key, sub);
        todo.extend(more.into_iter().filter(|f| !defs.contains_key(&def_key(f))));
    }
    let obj = doc.as_object_mut()?;
    obj.remove("$id");
    let own = obj
        .entry("$defs")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(own) = own {
        own.extend(defs);
    }
    Some(doc)
}

/// The bundled schema of `root`, built once per process.
pub fn input_schema(root: &'static str) -> &'static Value {
    static CACHE: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    static EMPTY: OnceLock<Value> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        super::tools::TOOLS
            .iter()
            .filter_map(|t| bundle(t.input_schema).map(|s| (t.input_schema, s)))
            .collect()
    });
    cache.get(root).unwrap_or_else(|| {
        EMPTY.get_or_init(|| serde_json::json!({"type": "object", "additionalProperties": true}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| match (k.as_str(), c) {
                ("$ref", Value::String(r)) => out.push(r.clone()),
                _ => refs(c, out),
            }),
            Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }

    #[test]
    fn every_tool_schema_is_self_contained_and_every_ref_resolves() {
        for tool in super::super::tools::TOOLS {
            let doc = bundle(tool.input_schema).expect(tool.input_schema);
            assert_eq!(doc["type"], "object", "{}", tool.name);
            let mut all = Vec::new();
            refs(&doc, &mut all);
            for r in all {
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("external {r}"));
                assert!(doc.pointer(pointer).is_some(), "{}: {r} dangles", tool.name);
            }
        }
    }

    #[test]
    fn sync_creatives_schema_keeps_its_required_fields() {
        let doc = bundle("creative/sync-creatives-request.json").unwrap();
        let required = doc["required"].as_array().unwrap();
        assert!(required.iter().any(|r| r == "creatives"));
        assert!(required.iter().any(|r| r == "idempotency_key"));
    }

    #[test]
    fn unknown_roots_are_none() {
        assert!(bundle("nope.json").is_none());
    }
}
