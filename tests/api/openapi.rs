//! The OpenAPI document (issue 14): served without a key, printed by the CLI, and kept in step
//! with the router in both directions.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// (METHOD, path template) of every operation the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

async fn served_document(app: &TestApp) -> Value {
    let res = reqwest::get(format!("{}/openapi.json", app.base))
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "served without a key");
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.expect("json")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_bearer_scheme_and_unique_operation_ids() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let ops = documented(&doc);
    let mut ids = BTreeSet::new();
    for (method, path) in &ops {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert_eq!(
            op["security"][0]["bearer"],
            serde_json::json!([]),
            "{method} {path}"
        );
        let id = op["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} used twice");
        // Every operation documents the error body on its error statuses.
        for status in ["400", "401", "404"] {
            assert_eq!(
                op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .or(
                        op["responses"][status]["content"]["application/json"]["schema"]
                            ["properties"]["error"]["$ref"]
                            .as_str()
                    ),
                Some(if status == "400" {
                    "#/components/schemas/ErrorDetail"
                } else {
                    "#/components/schemas/ErrorBody"
                }),
                "{method} {path} {status}"
            );
        }
    }
    // Multipart uploads name their parts.
    let create = &doc["paths"]["/api/v2/buyer/campaigns/{campaign_id}/creatives/create"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"],
        "#/components/schemas/CreativeUpload"
    );
    let upload = &doc["components"]["schemas"]["CreativeUpload"]["properties"];
    assert!(upload.get("metadata").is_some() && upload.get("files").is_some());
}

#[tokio::test]
async fn the_cli_prints_the_served_document() {
    let app = TestApp::spawn().await;
    let served = served_document(&app).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_creative-manifests"))
        .arg("openapi")
        .output()
        .expect("run the binary");
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(printed, served);
}

/// Document → router: every documented operation reaches its route (which asks for the key), so
/// none answers the router's own 404 (`route not found`) or 405.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let client = reqwest::Client::new();
    let ops = documented(&doc);
    assert!(ops.len() >= 39, "{} operations", ops.len());
    for (method, path) in ops {
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let res = client
            .request(
                method.parse().expect("method"),
                format!("{}{concrete}", app.base),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(
            res.status(),
            401,
            "{method} {path} is not routed behind the key"
        );
    }
}

/// Router → document: every route the API routers declare under /api/v2 is documented. The
/// routes are read from the routers' source (axum cannot list a router's routes): mod.rs says
/// which module routers are nested under which prefix, each module's router fn its routes.
#[test]
fn every_routed_operation_is_documented() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).expect("source");
    let doc: Value =
        serde_json::from_str(&creative_manifests::http::openapi::document()).expect("json");
    let documented = documented(&doc);
    let root = read("mod.rs");
    let mut routed = BTreeSet::new();
    for (binding, prefix) in [
        ("let buyer = ", "/api/v2/buyer"),
        ("let storefront_owner = ", "/api/v2/storefront"),
    ] {
        let start = root.find(binding).expect("router binding");
        let block = &root[start..start + root[start..].find(";").expect("end")];
        let mut merges = 0;
        for merge in block.split(".merge(").skip(1) {
            let call = &merge[..merge.find('(').expect("call")];
            let (module, func) = call.split_once("::").expect("module::fn");
            let src = read(&format!("{module}.rs"));
            let at = src.find(&format!("fn {func}(")).expect("router fn");
            let body = &src[at..at + src[at..].find("\n}\n").expect("fn end")];
            for route in body.split(".route(").skip(1) {
                let path = route.split('"').nth(1).expect("path literal");
                // The method router runs to the next `.route(` (already split off) or the end.
                for m in METHODS {
                    if calls(route, m) {
                        routed.insert((m.to_uppercase(), format!("{prefix}{path}")));
                    }
                }
            }
            merges += 1;
        }
        assert!(merges > 0, "no routers found under {prefix}");
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routed but not documented: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

/// Whether `src` calls `name(` as a word of its own (`get(` but not `target(`).
fn calls(src: &str, name: &str) -> bool {
    let needle = format!("{name}(");
    src.match_indices(&needle).any(|(i, _)| {
        !src[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Found by schemathesis: a repeated query parameter was axum's plain-text 400, outside the
/// documented error body.
#[tokio::test]
async fn a_repeated_query_parameter_is_a_json_validation_error() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for path in [
        "/campaigns?take=1&take=2".to_owned(),
        format!("/campaigns/{campaign}/creativeManifest?skip=0&skip=1"),
        "/formats?width=1&width=2".to_owned(),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.expect("json error body");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{path}");
    }
}
