use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn health_and_readiness_answer_and_carry_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    let res = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res, StatusCode::NOT_FOUND).await["code"],
        "NOT_FOUND"
    );
    let res = app
        .client
        .patch(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(res, StatusCode::METHOD_NOT_ALLOWED).await["code"],
        "METHOD_NOT_ALLOWED"
    );
}
