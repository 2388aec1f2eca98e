use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};
use crate::schemas::assert_valid;

#[tokio::test]
async fn a_campaign_is_created_listed_and_read_back_in_normal_form() {
    let app = TestApp::spawn().await;
    let agent = app.create_sales_agent("Seller").await;
    let res = app
        .post_json(
            "/campaigns",
            &json!({
                "name": "  Holiday  ",
                "brand_domain": "Acme.COM",
                "products": [{
                    "product_id": "p1",
                    "sales_agent_id": agent["sales_agent_id"],
                    "format_ids": [
                        {"agent_url": "HTTPS://Creative.AdContextProtocol.org/", "id": "display_300x250"},
                        {"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"},
                        {"agent_url": "https://creative.adcontextprotocol.org", "id": "video_standard", "duration_ms": 30000}
                    ],
                    "format_kinds": [{"format_kind": "image"}]
                }]
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["name"], "Holiday");
    assert_eq!(created["brand_domain"], "acme.com");
    let formats = created["products"][0]["format_ids"].as_array().unwrap();
    assert_eq!(
        formats.len(),
        2,
        "duplicates in normal form collapse: {formats:?}"
    );
    assert_eq!(
        formats[0]["agent_url"],
        "https://creative.adcontextprotocol.org"
    );
    for f in formats {
        assert_valid("core/format-id.json", f);
    }
    assert_eq!(
        created["products"][0]["format_kinds"][0]["format_kind"],
        "image"
    );

    let id = created["campaign_id"].as_str().unwrap();
    let read: Value = app
        .get(&format!("/campaigns/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, created);
    assert_eq!(
        read["creativeFormats"]["required"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "two format ids and one kind"
    );
    let list: Value = app.get("/campaigns").await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["campaign_id"], id);
}

#[tokio::test]
async fn campaign_lists_page_with_take_and_skip() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        let res = app
            .post_json(
                "/campaigns",
                &json!({"name": format!("c{i}"), "brand_domain": "acme.com"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let page: Value = app
        .get("/campaigns?take=2&skip=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3);
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c1", "c0"], "newest first");
    error_of(app.get("/campaigns?take=0").await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn bad_campaigns_are_refused_with_the_field_at_fault() {
    let app = TestApp::spawn().await;
    let agent = app.create_sales_agent("Seller").await;
    let sa = agent["sales_agent_id"].clone();
    let cases = [
        (json!({"brand_domain": "acme.com"}), "name"),
        (json!({"name": " ", "brand_domain": "acme.com"}), "name"),
        (
            json!({"name": "c", "brand_domain": "https://acme.com/x"}),
            "brand_domain",
        ),
        (
            json!({"name": "c", "brand_domain": "acme.com", "budget": 5}),
            "budget",
        ),
        (
            json!({"name": "c", "brand_domain": "acme.com", "products": [{"product_id": "p", "sales_agent_id": "sa_nope"}]}),
            "products[0].sales_agent_id",
        ),
        (
            json!({"name": "c", "brand_domain": "acme.com", "products": [{"product_id": "p", "sales_agent_id": sa, "format_ids": [{"agent_url": "https://a.org", "id": "d", "width": 300}]}]}),
            "products[0].format_ids[0]",
        ),
        (
            json!({"name": "c", "brand_domain": "acme.com", "products": [{"product_id": "p", "sales_agent_id": sa, "format_ids": ["display_300x250"]}]}),
            "products[0].format_ids[0]",
        ),
        (
            json!({"name": "c", "brand_domain": "acme.com", "products": [{"product_id": "p", "sales_agent_id": sa, "format_kinds": [{"format_kind": "hologram"}]}]}),
            "products[0].format_kinds[0].format_kind",
        ),
        (
            json!({"name": "c", "brand_domain": "acme.com", "products": [{"product_id": "p", "sales_agent_id": sa}, {"product_id": "p", "sales_agent_id": sa}]}),
            "products[1].product_id",
        ),
    ];
    for (body, field) in cases {
        let err = error_of(
            app.post_json("/campaigns", &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(err["code"], "VALIDATION_ERROR", "{body}");
        assert_eq!(err["field"], field, "{body} -> {err}");
    }
    let res = app
        .client
        .post(app.api("/campaigns"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.count_rows("campaigns").await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_campaign_ids_are_404() {
    let app = TestApp::spawn().await;
    for id in [
        "cmp_0123456789abcdef0123456789abcdef",
        "nope",
        "cmp_..%2F..%2Fetc",
    ] {
        let err = error_of(
            app.get(&format!("/campaigns/{id}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(err["message"], "campaign not found");
    }
}

/// The campaign list's `search` (the web UI's campaigns page searches with it): name or brand
/// domain, Unicode case folded, paged with the matching total.
#[tokio::test]
async fn campaigns_are_searched_by_name_or_brand_and_paged() {
    let app = TestApp::spawn().await;
    for (name, brand) in [
        ("Été Launch", "acme.com"),
        ("Winter sale", "acme.com"),
        ("ÉTÉ outlet", "other.example"),
        ("Spring", "spring.example"),
    ] {
        let res = app
            .post_json("/campaigns", &json!({"name": name, "brand_domain": brand}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let v: Value = app
        .get("/campaigns?search=%C3%A9t%C3%A9")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&v), vec!["ÉTÉ outlet", "Été Launch"], "{v}");
    assert_eq!(v["total"], 2);
    let v: Value = app
        .get("/campaigns?search=ACME")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 2);
    let v: Value = app
        .get("/campaigns?search=e&take=2&skip=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((v["total"].as_i64(), names(&v).len()), (Some(4), 2), "{v}");
    let v: Value = app.get("/campaigns?search=%25").await.json().await.unwrap();
    assert_eq!(v["total"], 0, "wildcards are literal");
}
