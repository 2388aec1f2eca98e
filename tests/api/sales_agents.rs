use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};
use crate::seller::{Seller, SellerConfig};

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

/// The raw `auth_token` column of a sales agent.
async fn stored_token(app: &TestApp, id: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT auth_token FROM sales_agents WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("auth_token")
        .unwrap()
}

#[tokio::test]
async fn seller_tokens_are_sealed_at_rest_and_old_plain_ones_sealed_at_start() {
    let app = TestApp::spawn().await;
    let seller = Seller::start(SellerConfig {
        token: Some("seller-live-token-1".into()),
        ..Default::default()
    })
    .await;
    let id = app
        .register_seller(&seller.url, Some("seller-live-token-1"))
        .await;
    let stored = stored_token(&app, &id).await;
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains("seller-live-token-1"));
    assert_eq!(app.refresh_formats(&id).await.status(), StatusCode::OK);
    let last = seller.calls().last().cloned().unwrap();
    assert_eq!(
        last.authorization.as_deref(),
        Some("Bearer seller-live-token-1"),
        "opened to call the seller"
    );

    // A token stored in plain text, as before sealing existed, is sealed when the service starts.
    sqlx::query("UPDATE sales_agents SET auth_token = 'seller-live-token-1' WHERE id = $1")
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let app = app.restart().await;
    let resealed = stored_token(&app, &id).await;
    assert!(resealed.starts_with("sealed:v1:"), "{resealed}");
    assert_ne!(resealed, stored, "a fresh nonce");
    let before = seller.calls().len();
    assert_eq!(app.refresh_formats(&id).await.status(), StatusCode::OK);
    assert!(seller.calls()[before..]
        .iter()
        .all(|c| c.authorization.as_deref() == Some("Bearer seller-live-token-1")));

    // Under another service key the sealed token does not open, and the service says so at start
    // rather than calling sellers without their credentials.
    let mut app = app;
    app.stop().await;
    let mut config = app.config.clone();
    config.tracking_secret = Some("11".repeat(32).as_str().into());
    // The stopped instance's socket is still held by `app`; any port will do for a start that fails.
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    let refused = match creative_manifests::app::Application::build(config).await {
        Ok(_) => panic!("started under a key that does not open the stored tokens"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        refused.contains("TRACKING_SECRET") && refused.contains(&id),
        "{refused}"
    );
    assert!(!refused.contains("seller-live-token-1"), "{refused}");
}
