use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_of, fixture, TestApp};

#[tokio::test]
async fn requests_without_a_key_get_401_with_a_json_error() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.api("/campaigns")).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let err = error_of(res, StatusCode::UNAUTHORIZED).await;
    assert_eq!(err["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn a_wrong_key_gets_401() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.api("/campaigns"))
        .bearer_auth("not-a-key")
        .send()
        .await
        .unwrap();
    error_of(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn another_customers_resources_answer_404_and_never_show_in_lists() {
    let mut app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let manifest = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "Mine", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let creative = manifest["creative_id"].as_str().unwrap().to_owned();
    let agents: serde_json::Value = app.get("/sales-agents").await.json().await.unwrap();
    let agent = agents["items"][0]["sales_agent_id"]
        .as_str()
        .unwrap()
        .to_owned();

    app.key = app.other_customer("intruder").await;
    for path in [
        format!("/campaigns/{campaign}"),
        format!("/campaigns/{campaign}/creativeManifest"),
        format!("/campaigns/{campaign}/creatives/{creative}"),
        format!("/sales-agents/{agent}"),
    ] {
        let err = error_of(app.get(&path).await, StatusCode::NOT_FOUND).await;
        assert_eq!(err["code"], "NOT_FOUND", "{path}");
    }
    error_of(
        app.delete(&format!("/campaigns/{campaign}/creatives/{creative}"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .upload(
            &campaign,
            &json!({"name": "x", "assets": [{"filename": "a.png"}]}),
            &[("a.png", fixture("image_300x250.png"))],
        )
        .await;
    error_of(res, StatusCode::NOT_FOUND).await;
    let res = app
        .post_json("/campaigns", &json!({"name": "Theirs", "brand_domain": "x.com", "products": [{"product_id": "p", "sales_agent_id": agent}]}))
        .await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "products[0].sales_agent_id");

    let campaigns: serde_json::Value = app.get("/campaigns").await.json().await.unwrap();
    assert_eq!(campaigns["total"], 0);
    let agents: serde_json::Value = app.get("/sales-agents").await.json().await.unwrap();
    assert_eq!(agents["total"], 0);

    // The owner still sees everything, untouched.
    app.key = crate::helpers::KEY.into();
    assert_eq!(
        app.get(&format!("/campaigns/{campaign}/creatives/{creative}"))
            .await
            .status(),
        StatusCode::OK
    );
    app.stop().await;
}
