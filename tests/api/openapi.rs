//! The OpenAPI document (issue 14): served without a key, printed by the CLI, and kept in step
//! with the router in both directions.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{fixture, TestApp};

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
        // Every error status documented carries the error body.
        for (status, res) in op["responses"].as_object().expect("responses") {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    res["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
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

/// Each operation documents the error statuses it can answer, and only those: what follows from
/// what it reads (the key, an id in its path, a query, a body, an upload) plus the few its own
/// work adds (a state that forbids it, an agent that fails, a full disk).
#[test]
fn error_statuses_are_the_ones_each_operation_can_answer() {
    let doc: Value =
        serde_json::from_str(&creative_manifests::http::openapi::document()).expect("json");
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        let at = format!("{method} {path} ({})", op["operationId"]);
        let statuses: BTreeSet<&str> = op["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(String::as_str)
            .filter(|s| s.starts_with('4') || s.starts_with('5'))
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let has_query = params.iter().any(|p| p["in"] == "query");
        let body = op.get("requestBody");
        let multipart = body.is_some_and(|b| b["content"].get("multipart/form-data").is_some());
        for always in ["401", "408", "429"] {
            assert!(statuses.contains(always), "{at} lacks {always}");
        }
        assert_eq!(
            statuses.contains("404"),
            path.contains('{'),
            "{at}: 404 exactly where the path names a resource"
        );
        assert_eq!(
            statuses.contains("413"),
            body.is_some(),
            "{at}: 413 exactly where there is a body"
        );
        assert_eq!(
            statuses.contains("415"),
            multipart,
            "{at}: 415 exactly where an upload's types are checked"
        );
        let op_id = op["operationId"].as_str().expect("operationId");
        // Execute checks the campaign is complete (a flight, budgets): its only 400 without input.
        let checks_input = has_query || body.is_some() || op_id == "propagation_execute";
        assert_eq!(
            statuses.contains("400"),
            checks_input,
            "{at}: 400 exactly where input is read"
        );
        let conflicts = [
            "campaigns_remove",
            "sales_agents_remove",
            "creative_reviews_show",
            "creative_reviews_decide",
            "creative_reviews_revoke",
            "creative_sessions_refine",
            "creative_sessions_approve",
            "creative_sessions_finalize",
        ];
        assert_eq!(
            statuses.contains("409"),
            conflicts.contains(&op_id),
            "{at}: 409"
        );
        let agents = [
            "sales_agents_refresh_formats",
            "creative_sessions_create",
            "creative_sessions_refine",
            "creative_sessions_finalize",
        ];
        assert_eq!(
            statuses.contains("502"),
            agents.contains(&op_id),
            "{at}: 502"
        );
        assert_eq!(
            statuses.contains("422"),
            op_id == "creative_sessions_finalize",
            "{at}: 422"
        );
        let writes_files = multipart
            || [
                "creatives_preview",
                "creative_sessions_refine",
                "creative_sessions_finalize",
            ]
            .contains(&op_id);
        assert_eq!(statuses.contains("507"), writes_files, "{at}: 507");
        assert!(
            !statuses.contains("503"),
            "{at}: 503 is the health checks' alone"
        );
    }
    // The rate limit says when to come back.
    let any = &doc["paths"]["/api/v2/buyer/campaigns"]["get"]["responses"]["429"];
    assert!(any["headers"].get("Retry-After").is_some(), "{any}");
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

/// The schema an operation documents for `status`, followed through `$ref`s to the component.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").expect("local ref");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every 2xx JSON answer of every operation is described by a named schema with its properties,
/// never a bare "a JSON object"; and every property of those schemas has a type or a reference.
#[test]
fn every_success_answer_is_described_by_its_schema() {
    let doc: Value =
        serde_json::from_str(&creative_manifests::http::openapi::document()).expect("json");
    let mut untyped = Vec::new();
    let mut answers = 0;
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        for (status, res) in op["responses"].as_object().expect("responses") {
            if !status.starts_with('2') {
                continue;
            }
            let Some(schema) = res["content"]["application/json"].get("schema") else {
                continue;
            };
            answers += 1;
            let at = format!("{method} {path} {status}");
            if schema.get("$ref").is_none() {
                untyped.push(format!("{at}: not a named schema"));
                continue;
            }
            let resolved = resolve(&doc, schema);
            let Some(props) = resolved["properties"].as_object().filter(|p| !p.is_empty()) else {
                untyped.push(format!("{at}: no properties"));
                continue;
            };
            for (name, prop) in props {
                let typed = ["type", "$ref", "oneOf", "allOf", "anyOf", "enum"]
                    .iter()
                    .any(|k| prop.get(*k).is_some());
                if !typed {
                    untyped.push(format!("{at}: property {name} is untyped"));
                }
            }
        }
    }
    assert!(answers >= 35, "{answers} JSON answers");
    assert!(untyped.is_empty(), "{untyped:#?}");
}

/// Asserts that `body`, answered with `status` by the operation at `method path` (the document's
/// path template), is what the document says it answers there: the status is documented and the
/// body validates against its schema (OpenAPI 3.1 schemas are JSON Schema 2020-12).
pub fn assert_conforms(method: &str, path: &str, status: u16, body: &Value) {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        serde_json::from_str(&creative_manifests::http::openapi::document()).expect("json")
    });
    let op = &doc["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    let status = status.to_string();
    assert!(
        op["responses"].get(&status).is_some(),
        "{method} {path} answered {status}, which it does not document"
    );
    // A JSON pointer in a URI fragment: `~` and `/` escaped, braces percent-encoded.
    let escape = |s: &str| {
        s.replace('~', "~0")
            .replace('/', "~1")
            .replace('{', "%7B")
            .replace('}', "%7D")
    };
    // The document itself is the root schema (its own keys are not JSON Schema keywords), so the
    // operation's `$ref`s into `#/components/schemas` resolve as they do for any client.
    let mut root = doc.clone();
    root["$ref"] = Value::String(format!(
        "#/paths/{}/{}/responses/{status}/content/application~1json/schema",
        escape(path),
        method.to_lowercase()
    ));
    let validator = jsonschema::validator_for(&root).expect("the document's schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its schema: {errors:#?}\n{body:#}"
    );
}

/// Sends `req` and checks its answer against the document: (status, body).
async fn conforming(req: reqwest::RequestBuilder, method: &str, path: &str) -> (u16, Value) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("a JSON answer");
    assert_conforms(method, path, status, &body);
    (status, body)
}

/// A buyer's and a storefront owner's day over the API: every answer, success or error, matches
/// the document's schema for its operation and status (what schemathesis cannot reach with random
/// data: filled manifests, coverage, propagation, delivery, accounts).
#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let app = TestApp::spawn().await;
    let c = &app.client;
    let b = |p: &str| format!("{}/api/v2/buyer{p}", app.base);
    let s = |p: &str| format!("{}/api/v2/storefront{p}", app.base);
    let key = app.key.clone();
    let get = |url: String| c.get(url).bearer_auth(&key);
    let post = |url: String, body: Value| c.post(url).bearer_auth(&key).json(&body);

    let (st, agent) = conforming(
        post(
            b("/sales-agents"),
            json!({"name": "Seller", "endpoint_url": "https://seller.example/mcp",
                "auth": {"token": "seller-secret-token"}, "capabilities": {"has_creative_library": true}}),
        ),
        "POST",
        "/api/v2/buyer/sales-agents",
    )
    .await;
    assert_eq!(st, 201);
    let agent_id = agent["sales_agent_id"].as_str().expect("id").to_owned();
    let (st, campaign) = conforming(
        post(
            b("/campaigns"),
            json!({"name": "Spring", "brand_domain": "acme.com",
                "start_time": "2027-01-01T00:00:00Z", "end_time": "2027-02-01T00:00:00Z",
                "products": [{"product_id": "p", "sales_agent_id": agent_id, "budget": 100.0,
                "pricing_option_id": "cpm", "format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"}],
                "format_kinds": [{"format_kind": "video_vast"}]}]}),
        ),
        "POST",
        "/api/v2/buyer/campaigns",
    )
    .await;
    assert_eq!(st, 201);
    let cmp = campaign["campaign_id"].as_str().expect("id").to_owned();
    let manifest = app
        .create_manifest(
            &cmp,
            &json!({"name": "Banner", "url_asset": {"url": "https://acme.com/x"},
                "format_id": {"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"},
                "frequencyCaps": [{"max_impressions": 3, "per": "devices", "window": {"interval": 1, "unit": "days"}}],
                "assets": [{"filename": "a.png"}, {"filename": "ad.html"}]}),
            &[
                ("a.png", fixture("image_300x250.png")),
                ("ad.html", b"<!doctype html><html><head><meta name=\"ad.size\" content=\"width=300,height=250\"></head><body><a href=\"https://acme.com\">x</a></body></html>".to_vec()),
            ],
        )
        .await;
    assert_conforms(
        "POST",
        "/api/v2/buyer/campaigns/{campaign_id}/creatives/create",
        201,
        &manifest,
    );
    let cr = manifest["creative_id"].as_str().expect("id").to_owned();
    let m = |p: &str| format!("/campaigns/{cmp}/creatives/{cr}{p}");

    for (url, path, want) in [
        (b("/campaigns"), "/api/v2/buyer/campaigns", 200),
        (
            b(&format!("/campaigns/{cmp}")),
            "/api/v2/buyer/campaigns/{campaign_id}",
            200,
        ),
        (
            b("/campaigns/cmp_00000000000000000000000000000000"),
            "/api/v2/buyer/campaigns/{campaign_id}",
            404,
        ),
        (b("/campaigns?take=0"), "/api/v2/buyer/campaigns", 400),
        (
            b(&format!("/campaigns/{cmp}/creativeManifest")),
            "/api/v2/buyer/campaigns/{campaign_id}/creativeManifest",
            200,
        ),
        (
            b(&format!(
                "/campaigns/{cmp}/creativeManifest?includeFrequencyCaps=true"
            )),
            "/api/v2/buyer/campaigns/{campaign_id}/creativeManifest",
            200,
        ),
        (
            b(&m("")),
            "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}",
            200,
        ),
        (
            b(&m("/delivery")),
            "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}/delivery",
            200,
        ),
        (b("/sales-agents"), "/api/v2/buyer/sales-agents", 200),
        (
            b(&format!("/sales-agents/{agent_id}")),
            "/api/v2/buyer/sales-agents/{sales_agent_id}",
            200,
        ),
        (b("/formats"), "/api/v2/buyer/formats", 200),
        (
            b("/formats/https%3A%2F%2Fcreative.adcontextprotocol.org/display_300x250"),
            "/api/v2/buyer/formats/{agent_url}/{format_id}",
            200,
        ),
        (b("/templates"), "/api/v2/buyer/templates", 200),
        (
            b(&format!("/campaigns/{cmp}/creatives/templates")),
            "/api/v2/buyer/campaigns/{campaign_id}/creatives/templates",
            200,
        ),
        (
            b(&format!("/campaigns/{cmp}/propagation")),
            "/api/v2/buyer/campaigns/{campaign_id}/propagation",
            200,
        ),
        (
            b(&format!("/campaigns/{cmp}/delivery")),
            "/api/v2/buyer/campaigns/{campaign_id}/delivery",
            200,
        ),
        (
            b(&format!("/campaigns/{cmp}/delivery?group_by=day")),
            "/api/v2/buyer/campaigns/{campaign_id}/delivery",
            200,
        ),
        (
            s("/creative-reviews"),
            "/api/v2/storefront/creative-reviews",
            200,
        ),
        (
            s("/creative-reviews/nope"),
            "/api/v2/storefront/creative-reviews/{creative_id}",
            404,
        ),
    ] {
        let (st, body) = conforming(get(url.clone()), "GET", path).await;
        assert_eq!(st, want, "{url}: {body}");
    }
    for (url, path, body, want) in [
        (
            b(&m("/preview")),
            "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}/preview",
            json!({}),
            200,
        ),
        (
            b(&format!("/campaigns/{cmp}/creatives/validate")),
            "/api/v2/buyer/campaigns/{campaign_id}/creatives/validate",
            json!({"creative_id": cr, "target_format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"}]}),
            200,
        ),
        (
            b(&format!("/campaigns/{cmp}/propagation/refresh")),
            "/api/v2/buyer/campaigns/{campaign_id}/propagation/refresh",
            json!({}),
            202,
        ),
        (
            b(&format!("/campaigns/{cmp}/delivery/refresh")),
            "/api/v2/buyer/campaigns/{campaign_id}/delivery/refresh",
            json!({}),
            202,
        ),
        (
            b("/campaigns"),
            "/api/v2/buyer/campaigns",
            json!({"name": ""}),
            400,
        ),
    ] {
        let (st, answer) = conforming(post(url.clone(), body), "POST", path).await;
        assert_eq!(st, want, "{url}: {answer}");
    }
    let (st, _) = conforming(
        c.patch(b(&format!("/campaigns/{cmp}")))
            .bearer_auth(&key)
            .json(&json!({"name": "Spring 2"})),
        "PATCH",
        "/api/v2/buyer/campaigns/{campaign_id}",
    )
    .await;
    assert_eq!(st, 200);

    // The storefront owner's side.
    let (st, sf) = conforming(
        post(
            s("/storefronts"),
            json!({"name": "Front", "sales_agent_id": agent_id, "review_mode": "manual"}),
        ),
        "POST",
        "/api/v2/storefront/storefronts",
    )
    .await;
    assert_eq!(st, 201, "{sf}");
    let sf_id = sf["storefront_id"].as_str().expect("id").to_owned();
    let (st, account) = conforming(
        post(
            s(&format!("/storefronts/{sf_id}/accounts")),
            json!({"name": "Acme", "brand_domains": ["acme.com"]}),
        ),
        "POST",
        "/api/v2/storefront/storefronts/{storefront_id}/accounts",
    )
    .await;
    assert_eq!(st, 201, "{account}");
    let acct = account["account_id"].as_str().expect("id").to_owned();
    for (url, path) in [
        (s("/storefronts"), "/api/v2/storefront/storefronts"),
        (
            s(&format!("/storefronts/{sf_id}")),
            "/api/v2/storefront/storefronts/{storefront_id}",
        ),
        (
            s(&format!("/storefronts/{sf_id}/accounts")),
            "/api/v2/storefront/storefronts/{storefront_id}/accounts",
        ),
        (
            s(&format!("/storefronts/{sf_id}/accounts/{acct}")),
            "/api/v2/storefront/storefronts/{storefront_id}/accounts/{account_id}",
        ),
    ] {
        let (st, body) = conforming(get(url.clone()), "GET", path).await;
        assert_eq!(st, 200, "{url}: {body}");
    }
}

/// The check above can fail: a campaign without its id, a list whose items are not campaigns,
/// and an error body without its code are each refused.
#[test]
fn the_schema_check_refuses_answers_off_the_document() {
    for (path, status, body) in [
        (
            "/api/v2/buyer/campaigns/{campaign_id}",
            200,
            json!({"name": "x"}),
        ),
        (
            "/api/v2/buyer/campaigns",
            200,
            json!({"items": [1], "skip": 0, "take": 1, "total": 1}),
        ),
        (
            "/api/v2/buyer/campaigns/{campaign_id}",
            404,
            json!({"error": {"message": "m"}}),
        ),
    ] {
        let refused = std::panic::catch_unwind(|| assert_conforms("GET", path, status, &body));
        assert!(refused.is_err(), "{path} {status} {body} passed");
    }
}
