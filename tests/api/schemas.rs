//! Validation against the official AdCP schemas in `../shared/adcp-schemas/` (3.1.19).

use std::path::PathBuf;

use jsonschema::{Retrieve, Uri};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/adcp-schemas")
}

/// Resolves `/schemas/3.1.19/<path>` ids to files of the local copy.
struct LocalSchemas;

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri.path().as_str();
        let rel = path
            .strip_prefix("/schemas/3.1.19/")
            .ok_or_else(|| format!("unexpected schema reference {uri}"))?;
        let text = std::fs::read_to_string(root().join(rel))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Panics with every violation if `instance` does not validate against schema `rel` (e.g.
/// `core/format-id.json`).
pub fn assert_valid(rel: &str, instance: &Value) {
    let text =
        std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("schema {rel}: {e}"));
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let validator = jsonschema::options()
        .with_retriever(LocalSchemas)
        .with_base_uri("json-schema:///schemas/3.1.19/".to_owned() + rel)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling {rel}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} is not a valid {rel}:\n{}",
        errors.join("\n")
    );
}

#[test]
fn validator_rejects_what_the_schema_forbids() {
    let bad = serde_json::json!({"agent_url": "https://x.org", "id": "bad id", "width": 3});
    let outcome = std::panic::catch_unwind(|| assert_valid("core/format-id.json", &bad));
    assert!(outcome.is_err());
}
