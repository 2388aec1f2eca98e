use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn the_auth_token_is_kept_but_never_returned() {
    let app = TestApp::spawn().await;
    let created = app.create_sales_agent("Seller").await;
    assert_eq!(
        created["auth"],
        json!({"scheme": "bearer", "configured": true})
    );
    let id = created["sales_agent_id"].as_str().unwrap();
    let one = app
        .get(&format!("/sales-agents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let all = app.get("/sales-agents").await.text().await.unwrap();
    for body in [created.to_string(), one, all] {
        assert!(
            !body.contains("seller-secret-token"),
            "token leaked: {body}"
        );
    }
    let stored = creative_manifests::store::sales_agents::get(
        &app.state.db,
        &creative_manifests::store::customers::ensure_customer(&app.state.db, "default")
            .await
            .unwrap()
            .id,
        &creative_manifests::ids::SalesAgentId::parse(id).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        stored.auth_token.as_ref().unwrap().expose(),
        "seller-secret-token"
    );
    assert!(
        !format!("{stored:?}").contains("seller-secret-token"),
        "Debug must hide the token"
    );
}

#[tokio::test]
async fn creative_library_support_is_true_false_or_unknown() {
    let app = TestApp::spawn().await;
    for (given, expected) in [
        (json!(true), json!(true)),
        (json!(false), json!(false)),
        (json!("unknown"), json!("unknown")),
        (Value::Null, json!("unknown")),
    ] {
        let mut body = json!({"name": "S", "endpoint_url": "https://s.example/mcp", "capabilities": {"supports_inline": false}});
        if !given.is_null() {
            body["capabilities"]["has_creative_library"] = given;
        }
        let res = app.post_json("/sales-agents", &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let agent: Value = res.json().await.unwrap();
        assert_eq!(agent["capabilities"]["has_creative_library"], expected);
        assert_eq!(agent["capabilities"]["supports_inline"], false);
        assert_eq!(agent["auth"], Value::Null);
    }
    let err = error_of(
        app.post_json("/sales-agents", &json!({"name": "S", "endpoint_url": "https://s.example", "capabilities": {"has_creative_library": "maybe"}})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "capabilities.has_creative_library");
}

#[tokio::test]
async fn bad_sales_agents_are_refused() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (
            json!({"name": "S", "endpoint_url": "ftp://s.example"}),
            "endpoint_url",
        ),
        (
            json!({"name": "S", "endpoint_url": "/relative"}),
            "endpoint_url",
        ),
        (
            json!({"name": "", "endpoint_url": "https://s.example"}),
            "name",
        ),
        (
            json!({"name": "S", "endpoint_url": "https://s.example", "auth": {"token": "t", "scheme": "basic"}}),
            "auth.scheme",
        ),
    ] {
        let err = error_of(
            app.post_json("/sales-agents", &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(err["field"], field, "{body}");
    }
    error_of(
        app.get("/sales-agents/sa_0123456789abcdef0123456789abcdef")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count_rows("sales_agents").await, 0);
}
