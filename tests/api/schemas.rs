//! Validation against the official AdCP schemas in `schemas/adcp-3.1.19/` (AdCP 3.1.19, copied into the repository; see its SOURCE.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Resource, Validator};
use serde_json::Value;

const BASE: &str = "json-schema:///schemas/3.1.19/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/adcp-3.1.19")
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
        .with_format("uri-template", is_uri_template)
        .with_base_uri(format!("{BASE}{rel}"))
        .with_resources(resources)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling {rel}: {e}"));
    let built = Arc::new(built);
    cache.lock().unwrap().insert(rel.to_owned(), built.clone());
    built
}

/// RFC 6570 URI template syntax. The `jsonschema` crate's own check rejects every expression (even
/// the RFC's `http://example.com/{var}`), while AdCP puts universal macros like `{MEDIA_BUY_ID}` in
/// URLs precisely as template expressions.
fn is_uri_template(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                let Some(end) = s[i + 1..].find('}') else {
                    return false;
                };
                let mut expr = &s[i + 1..i + 1 + end];
                if let Some(first) = expr.chars().next() {
                    if "+#./;?&=,!@|".contains(first) {
                        expr = &expr[1..];
                    }
                }
                let varspec_ok = |v: &str| {
                    let v = v.strip_suffix('*').unwrap_or(v);
                    let (name, prefix) = v.split_once(':').map_or((v, None), |(n, p)| (n, Some(p)));
                    let name_ok = !name.is_empty()
                        && name.split('.').all(|part| {
                            !part.is_empty()
                                && part
                                    .bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'%')
                        });
                    let prefix_ok = prefix.is_none_or(|p| {
                        !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit())
                    });
                    name_ok && prefix_ok
                };
                if !expr.split(',').all(varspec_ok) {
                    return false;
                }
                i += end + 2;
            }
            b'%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
            }
            b if b < 0x20 || b == 0x7f || b" \"'<>\\^`|}".contains(&b) => return false,
            _ => i += 1,
        }
    }
    true
}

#[test]
fn uri_templates_follow_rfc_6570() {
    for ok in [
        "http://x.org/{A}",
        "https://t.example/p?mb={MEDIA_BUY_ID}&cb={CACHEBUSTER}",
        "http://x.org/{+path}/{x,y}",
        "http://a.org/%20",
    ] {
        assert!(is_uri_template(ok), "{ok}");
    }
    for bad in [
        "http://x.org/{A",
        "http://x.org/{}",
        "http://x.org/{a b}",
        "http://x.org/ space",
        "http://x.org/%zz",
        "http://x.org/}",
    ] {
        assert!(!is_uri_template(bad), "{bad}");
    }
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
