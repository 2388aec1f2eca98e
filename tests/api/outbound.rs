//! The outbound guard seen from outside: proxies, and addresses that are not on the public internet.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, FakeProxy, ServiceProcess, TestApp};

const DEV_KEY: &str = "dev-key-for-process-tests";

/// Registers a seller at `endpoint` with a bearer token on a spawned service and asks for its
/// formats now; the refresh's answer.
async fn refresh_seller_at(service: &ServiceProcess, endpoint: &str) -> reqwest::Response {
    let client = reqwest::Client::new();
    let res = client
        .post(service.api("/sales-agents"))
        .bearer_auth(DEV_KEY)
        .json(&json!({"name": "Seller", "endpoint_url": endpoint, "auth": {"token": "seller-secret-token"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["sales_agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .post(service.api(&format!("/sales-agents/{id}/formats/refresh")))
        .bearer_auth(DEV_KEY)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn proxy_variables_of_the_environment_do_not_bypass_the_guard() {
    let proxy = FakeProxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ]
    .into_iter()
    .map(|v| (v, proxy.url.as_str()))
    .chain([("DEV_API_KEY", DEV_KEY)])
    .collect();
    let service = ServiceProcess::start(dir.path(), &env).await.unwrap();
    // `localhost` is loopback: the guard refuses it, and no proxy may fetch it on our behalf.
    let res = refresh_seller_at(&service, "http://localhost:9/mcp").await;
    let err = error_of(res, StatusCode::BAD_GATEWAY).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no public address"),
        "{err}"
    );
    assert_eq!(
        proxy.seen(),
        Vec::<String>::new(),
        "nothing (least of all the seller's token) went to the environment's proxy"
    );
}

#[tokio::test]
async fn an_explicit_proxy_carries_requests_but_the_target_is_still_guarded() {
    let proxy = FakeProxy::start().await;
    let url = proxy.url.clone();
    let app = TestApp::spawn_with(|c| {
        c.outbound_allow_private = false;
        c.outbound_proxy = Some(url.as_str().into());
    })
    .await;
    let id = app.register_seller("http://localhost:9/mcp", None).await;
    let err = error_of(app.refresh_formats(&id).await, StatusCode::BAD_GATEWAY).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{err}"
    );
    assert_eq!(proxy.seen(), Vec::<String>::new());

    // Where private targets are allowed (a lab), the same request does go through the proxy.
    let url = proxy.url.clone();
    let lab = TestApp::spawn_with(|c| c.outbound_proxy = Some(url.as_str().into())).await;
    let id = lab.register_seller("http://localhost:9/mcp", None).await;
    error_of(lab.refresh_formats(&id).await, StatusCode::BAD_GATEWAY).await;
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|h| h.starts_with("POST http://localhost:9/mcp")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn ipv6_forms_of_private_addresses_are_refused() {
    let app = TestApp::spawn_with(|c| c.outbound_allow_private = false).await;
    let campaign = app.create_campaign().await;
    for host in [
        "[::127.0.0.1]",
        "[fec0::1]",
        "[2002:7f00:1::1]",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
        "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b:1::a00:1]",
        "[::ffff:10.0.0.1]",
    ] {
        let tag = json!({"name": "Tag", "url_assets": [{"url": format!("http://{host}/vast.xml"), "url_type": "VAST"}]});
        let res = app
            .post_json(&format!("/campaigns/{campaign}/creatives/create"), &tag)
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], "url_assets", "{host}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("not a public address"),
            "{host}: {err}"
        );
    }
    let id = app.register_seller("http://[fec0::1]:9/mcp", None).await;
    let err = error_of(app.refresh_formats(&id).await, StatusCode::BAD_GATEWAY).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{err}"
    );
}
