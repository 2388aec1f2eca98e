//! Answers keep their bytes: the resource views were `json!` values (object keys in byte order at
//! every depth, compact) before they were typed, and a client comparing bytes (a cache, a signed
//! copy, a golden file) sees no change. Each answer here must equal its own re-serialisation as a
//! `serde_json::Value`, which writes exactly that form.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{fixture, TestApp};

/// Parses `text`, asserting it is written as a `serde_json::Value` would write it.
pub fn key_sorted(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(
        text,
        serde_json::to_string(&v).unwrap(),
        "not in key order at every depth"
    );
    v
}

async fn sorted(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "{}", res.url());
    key_sorted(&res.text().await.unwrap())
}

#[tokio::test]
async fn every_resource_view_is_written_in_key_order() {
    let app = TestApp::spawn().await;
    let ok = StatusCode::OK;
    for path in ["/healthz", "/readyz"] {
        sorted(
            app.client
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap(),
            ok,
        )
        .await;
    }

    // Sales agents: create (with credentials, capabilities, formats), show, list, patch.
    let agent = sorted(
        app.post_json(
            "/sales-agents",
            &json!({"name": "S", "endpoint_url": "https://seller.example/mcp",
                    "auth": {"token": "t0ken"}, "account_id": "acc-1"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        agent["auth"],
        json!({"configured": true, "scheme": "bearer"})
    );
    let sa = agent["sales_agent_id"].as_str().unwrap().to_owned();
    sorted(app.get(&format!("/sales-agents/{sa}")).await, ok).await;
    sorted(app.get("/sales-agents").await, ok).await;
    sorted(
        app.patch_json(&format!("/sales-agents/{sa}"), &json!({"name": "S2"}))
            .await,
        ok,
    )
    .await;

    // Campaigns: with products (format ids, kinds, budget), coverage, a page.
    let campaign = sorted(
        app.post_json(
            "/campaigns",
            &json!({"name": "C", "brand_domain": "acme.com",
                    "start_time": "2030-01-01T00:00:00Z", "end_time": "2030-02-01T00:00:00Z",
                    "products": [{"product_id": "p", "sales_agent_id": sa, "budget": 12.5,
                        "pricing_option_id": "cpm",
                        "format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"}],
                        "format_kinds": [{"format_kind": "image", "params": {"w": 1}}]}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(campaign["creativeFormats"].is_object());
    let c = campaign["campaign_id"].as_str().unwrap().to_owned();
    sorted(app.get(&format!("/campaigns/{c}")).await, ok).await;
    sorted(app.get("/campaigns").await, ok).await;
    sorted(
        app.patch_json(&format!("/campaigns/{c}"), &json!({"name": "C2"}))
            .await,
        ok,
    )
    .await;

    // Creatives under it: the page, a preview, delivery, the dry run, templates, formats.
    let m = app
        .create_manifest(
            &c,
            &json!({"name": "banner", "assets": [{"filename": "a.png"}]}),
            &[("a.png", fixture("image_300x250.png"))],
        )
        .await;
    let cr = m["creative_id"].as_str().unwrap().to_owned();
    let page = sorted(
        app.get(&format!("/campaigns/{c}/creativeManifest")).await,
        ok,
    )
    .await;
    assert_eq!(page["total"], 1);
    sorted(
        app.post_json(
            &format!("/campaigns/{c}/creatives/{cr}/preview"),
            &json!({}),
        )
        .await,
        ok,
    )
    .await;
    sorted(
        app.get(&format!("/campaigns/{c}/creatives/{cr}/delivery"))
            .await,
        ok,
    )
    .await;
    let validated = sorted(
        app.post_json(
            &format!("/campaigns/{c}/creatives/validate"),
            &json!({"creative_id": cr}),
        )
        .await,
        ok,
    )
    .await;
    assert!(!validated["results"].as_array().unwrap().is_empty());
    sorted(app.get("/templates").await, ok).await;
    sorted(
        app.get(&format!("/campaigns/{c}/creatives/templates"))
            .await,
        ok,
    )
    .await;
    sorted(app.get("/formats").await, ok).await;
    sorted(app.get(&format!("/campaigns/{c}/propagation")).await, ok).await;

    // Storefronts and their accounts (the key shown once).
    let req = |m: Method, path: &str, body: Option<Value>| {
        let mut r = app
            .client
            .request(m, format!("{}/api/v2/storefront{path}", app.base))
            .bearer_auth(&app.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    let sf = sorted(
        req(
            Method::POST,
            "/storefronts",
            Some(json!({"name": "F", "sales_agent_id": sa, "review_mode": "auto"})),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let sf = sf["storefront_id"].as_str().unwrap().to_owned();
    sorted(
        req(Method::GET, &format!("/storefronts/{sf}"), None)
            .await
            .unwrap(),
        ok,
    )
    .await;
    sorted(req(Method::GET, "/storefronts", None).await.unwrap(), ok).await;
    sorted(
        req(
            Method::PATCH,
            &format!("/storefronts/{sf}"),
            Some(json!({"name": "F2"})),
        )
        .await
        .unwrap(),
        ok,
    )
    .await;
    let account = sorted(
        req(
            Method::POST,
            &format!("/storefronts/{sf}/accounts"),
            Some(json!({"name": "B", "brand_domains": ["acme.com"], "operator": "agency.com"})),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert!(account["api_key"].is_string());
    let acct = account["account_id"].as_str().unwrap().to_owned();
    sorted(
        req(Method::GET, &format!("/storefronts/{sf}/accounts"), None)
            .await
            .unwrap(),
        ok,
    )
    .await;
    sorted(
        req(
            Method::GET,
            &format!("/storefronts/{sf}/accounts/{acct}"),
            None,
        )
        .await
        .unwrap(),
        ok,
    )
    .await;
}
