//! Embeds the AdCP 3.1.19 schemas the storefront's MCP tools publish as `inputSchema`: the tools'
//! request schemas and every file they reference, all from `schemas/adcp-3.1.19/` in this
//! repository (nothing outside it is read). `src/storefront/mcp/schemas.rs` bundles them.

use std::collections::BTreeSet;
use std::path::Path;

/// The request schemas of the storefront's tools (kept in step with `mcp/tools.rs`), and the
/// response schemas the service checks agents' answers against.
const ROOTS: &[&str] = &[
    "protocol/get-adcp-capabilities-request.json",
    "creative/list-creative-formats-request.json",
    "creative/sync-creatives-request.json",
    "creative/list-creatives-request.json",
    "creative/get-creative-delivery-request.json",
    // Not a tool's input: agents' preview_creative answers are checked against it at run time.
    "creative/preview-creative-response.json",
    // Creative agents' build_creative answers (creative sessions' agent adapter), likewise.
    "media-buy/build-creative-response.json",
];
const PREFIX: &str = "/schemas/3.1.19/";

fn refs(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", serde_json::Value::String(r)) => {
                        if let Some(p) = r.strip_prefix(PREFIX) {
                            out.insert(p.split('#').next().unwrap_or(p).to_owned());
                        }
                    }
                    _ => refs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/adcp-3.1.19");
    // sqlx::migrate! embeds migrations/ at compile time and cannot tell cargo to watch it on a
    // stable compiler: a new migration file must rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=schemas/adcp-3.1.19");
    println!("cargo:rerun-if-changed=build.rs");
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = ROOTS.iter().map(|s| s.to_string()).collect();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let path = dir.join(&p);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let doc: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {p}: {e}"));
        let mut found = BTreeSet::new();
        refs(&doc, &mut found);
        todo.extend(found.into_iter().filter(|r| !seen.contains(r)));
    }
    let mut out = String::from("/// (path below schemas/adcp-3.1.19, text) of every embedded schema.\npub static FILES: &[(&str, &str)] = &[\n");
    for p in &seen {
        out.push_str(&format!(
            "    ({p:?}, include_str!({:?})),\n",
            dir.join(p).display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("adcp_schemas.rs");
    std::fs::write(dest, out).expect("writing adcp_schemas.rs");
}
