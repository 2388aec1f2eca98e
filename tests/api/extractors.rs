//! The HTTP edges every handler shares: path ids checked before a handler runs, and typed JSON
//! bodies whose rejection is our error naming the field.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

/// Ids we could not have issued on each route that takes one: malformed, of another kind, or an
/// escape attempt. Each is a 404 naming the resource, on every method, even with a body that would
/// itself be refused (the id is checked first).
#[tokio::test]
async fn malformed_or_foreign_kind_ids_are_404_on_every_route() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let creative = "cr_0123456789abcdef0123456789abcdef";
    let storefront = app.create_storefront("manual").await;
    let sf = storefront["storefront_id"].as_str().unwrap().to_owned();
    let bad = [
        "nope",
        "cmp_..%2F..%2Fetc",
        "sf_0123456789ABCDEF0123456789ABCDEF",
    ];
    let mut cases: Vec<(Method, String, &str)> = Vec::new();
    for id in bad {
        for m in [Method::GET, Method::PATCH, Method::DELETE] {
            cases.push((
                m.clone(),
                format!("/api/v2/buyer/campaigns/{id}"),
                "campaign",
            ));
            cases.push((
                m.clone(),
                format!("/api/v2/buyer/sales-agents/{id}"),
                "sales agent",
            ));
            cases.push((
                m,
                format!("/api/v2/storefront/storefronts/{id}"),
                "storefront",
            ));
        }
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            cases.push((
                m.clone(),
                format!("/api/v2/buyer/campaigns/{campaign}/creatives/{id}"),
                "creative",
            ));
            // The parent is checked first.
            cases.push((
                m,
                format!("/api/v2/buyer/campaigns/{id}/creatives/{creative}"),
                "campaign",
            ));
        }
        for (m, path, what) in [
            (
                Method::POST,
                format!("/api/v2/buyer/campaigns/{id}/execute"),
                "campaign",
            ),
            (
                Method::GET,
                format!("/api/v2/buyer/campaigns/{id}/propagation"),
                "campaign",
            ),
            (
                Method::GET,
                format!("/api/v2/buyer/campaigns/{id}/creativeManifest"),
                "campaign",
            ),
            (
                Method::POST,
                format!("/api/v2/buyer/campaigns/{id}/creatives/create"),
                "campaign",
            ),
            (
                Method::POST,
                format!("/api/v2/buyer/campaigns/{id}/creatives/validate"),
                "campaign",
            ),
            (
                Method::GET,
                format!("/api/v2/buyer/campaigns/{id}/creatives/templates"),
                "campaign",
            ),
            (
                Method::POST,
                format!("/api/v2/buyer/campaigns/{campaign}/creatives/{id}/preview"),
                "creative",
            ),
            (
                Method::GET,
                format!("/api/v2/buyer/campaigns/{campaign}/creatives/{id}/delivery"),
                "creative",
            ),
            (
                Method::POST,
                format!("/api/v2/buyer/sales-agents/{id}/formats/refresh"),
                "sales agent",
            ),
            (
                Method::POST,
                format!("/api/v2/storefront/storefronts/{id}/accounts"),
                "storefront",
            ),
            (
                Method::GET,
                format!("/api/v2/storefront/storefronts/{id}/accounts"),
                "storefront",
            ),
            (
                Method::GET,
                format!("/api/v2/storefront/storefronts/{sf}/accounts/{id}"),
                "account",
            ),
            (
                Method::DELETE,
                format!("/api/v2/storefront/storefronts/{sf}/accounts/{id}"),
                "account",
            ),
        ] {
            cases.push((m, path, what));
        }
    }
    for (method, path, what) in cases {
        let res = app
            .client
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let err = error_of(res, StatusCode::NOT_FOUND).await;
        assert_eq!(err["code"], "NOT_FOUND", "{method} {path}");
        assert_eq!(
            err["message"],
            format!("{what} not found"),
            "{method} {path}"
        );
    }
    // Nothing was changed by any of them.
    assert_eq!(app.count_rows("campaigns").await, 1);
    assert_eq!(app.count_rows("storefronts").await, 1);
}

/// A body that does not fit its type is a 400 naming the exact field, on every kind of handler.
#[tokio::test]
async fn a_bad_json_body_names_the_field_at_fault() {
    let app = TestApp::spawn().await;
    let agent = app.create_sales_agent("Seller").await;
    let agent_id = agent["sales_agent_id"].as_str().unwrap();
    let campaign = app.create_campaign().await;
    let storefront = app.create_storefront("auto").await;
    let sf = storefront["storefront_id"].as_str().unwrap();
    let cases: Vec<(Method, String, Value, &str)> = vec![
        // A missing field is named itself, not its parent.
        (
            Method::POST,
            "/api/v2/buyer/campaigns".into(),
            json!({"brand_domain": "acme.com"}),
            "name",
        ),
        (
            Method::POST,
            "/api/v2/buyer/campaigns".into(),
            json!({"name": "x", "brand_domain": "acme.com", "products": [
                {"product_id": "p", "sales_agent_id": agent_id, "budget": "lots"}]}),
            "products[0].budget",
        ),
        (
            Method::PATCH,
            format!("/api/v2/buyer/campaigns/{campaign}"),
            json!({"products": [{"product_id": "p"}]}),
            "products[0].sales_agent_id",
        ),
        (
            Method::PATCH,
            format!("/api/v2/buyer/sales-agents/{agent_id}"),
            json!({"capabilities": {"supports_inline": "yes"}}),
            "capabilities.supports_inline",
        ),
        (
            Method::POST,
            "/api/v2/storefront/storefronts".into(),
            json!({"name": "F", "sales_agent_id": agent_id, "review_mode": "sometimes"}),
            "review_mode",
        ),
        (
            Method::POST,
            format!("/api/v2/storefront/storefronts/{sf}/accounts"),
            json!({"name": "B", "brand_domains": ["a.com", 7]}),
            "brand_domains[1]",
        ),
        (
            Method::POST,
            "/adcp/webhooks/job_1".into(),
            json!(null),
            "body",
        ),
    ];
    let before = (
        app.count_rows("campaigns").await,
        app.count_rows("storefronts").await,
    );
    for (method, path, body, field) in cases {
        let res = app
            .client
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(&app.key)
            .body(if body.is_null() {
                "[1,".to_owned()
            } else {
                body.to_string()
            })
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["code"], "VALIDATION_ERROR", "{method} {path}");
        assert_eq!(err["field"], field, "{method} {path}: {err}");
    }
    let after = (
        app.count_rows("campaigns").await,
        app.count_rows("storefronts").await,
    );
    assert_eq!(before, after);
    let agent_now: Value = app
        .get(&format!("/sales-agents/{agent_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        agent_now["capabilities"]["supports_inline"],
        agent["capabilities"]["supports_inline"]
    );
}

/// The typed extractor keeps the 1 MiB cap of every JSON body: a PATCH of 2 MiB is refused as
/// `413 PAYLOAD_TOO_LARGE` with the limit, before it is parsed.
#[tokio::test]
async fn a_typed_body_over_the_cap_is_413() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let big = json!({"name": "x".repeat(2 << 20)});
    let err = error_of(
        app.patch_json(&format!("/campaigns/{campaign}"), &big)
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(err["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(err["details"]["limit_bytes"], 1 << 20);
}
