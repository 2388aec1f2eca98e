//! Validation against the official AdCP schemas in `../shared/adcp-schemas/` (3.1.19).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Resource, Validator};
use serde_json::Value;

const BASE: &str = "json-schema:///schemas/3.1.19/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/adcp-schemas")
}

fn collect(dir: &Path, rel: &str, out: &mut Vec<(String, Value)>) {
    for entry in std::fs::read_dir(dir).expect("schema folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let rel_name = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            collect(&path, &rel_name, out);
        } else if name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).expect("schema file");
            if let Ok(v) = serde_json::from_str(&text) {
                out.push((rel_name, v));
            }
        }
    }
}

/// Every schema file, keyed by its path below the root. `$ref`s between them resolve from here.
fn documents() -> &'static Vec<(String, Value)> {
    static DOCS: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut out = Vec::new();
        collect(&root(), "", &mut out);
        out
    })
}

fn validator(rel: &str) -> Arc<Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(rel) {
        return v.clone();
    }
    let docs = documents();
    let schema = docs
        .iter()
        .find(|(p, _)| p == rel)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no schema {rel}"));
    let resources = docs.iter().filter(|(p, _)| p != rel).filter_map(|(p, v)| {
        Resource::from_contents(v.clone())
            .ok()
            .map(|r| (format!("{BASE}{p}"), r))
    });
    let built = jsonschema::options()
        .with_base_uri(format!("{BASE}{rel}"))
        .with_resources(resources)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling {rel}: {e}"));
    let built = Arc::new(built);
    cache.lock().unwrap().insert(rel.to_owned(), built.clone());
    built
}

/// Every violation of schema `rel` by `instance` (empty when valid).
pub fn violations(rel: &str, instance: &Value) -> Vec<String> {
    validator(rel)
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Panics with every violation if `instance` does not validate against schema `rel` (e.g.
/// `core/format-id.json`).
pub fn assert_valid(rel: &str, instance: &Value) {
    let errors = violations(rel, instance);
    assert!(
        errors.is_empty(),
        "{instance} is not a valid {rel}:\n{}",
        errors.join("\n")
    );
}

#[test]
fn validator_rejects_what_the_schema_forbids() {
    let bad = serde_json::json!({"agent_url": "https://x.org", "id": "bad id", "width": 3});
    assert!(!violations("core/format-id.json", &bad).is_empty());
    assert!(violations(
        "core/format-id.json",
        &serde_json::json!({"agent_url": "https://x.org", "id": "ok"})
    )
    .is_empty());
}
