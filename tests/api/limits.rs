//! Limits on what a request may make the service hold: body sizes, archive layouts, object keys,
//! crash leftovers, tracker rows, a full disk (issue 9, "Memory and disk").

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

/// A JSON document a little over 1 MiB: valid, so only its size can refuse it.
fn big_json() -> Vec<u8> {
    let filler = "x".repeat(1024 * 1024 + 16);
    serde_json::to_vec(&json!({ "name": filler })).unwrap()
}

async fn assert_413_json(res: reqwest::Response, route: &str) {
    assert_eq!(
        res.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "{route}"
    );
    let body = error_of(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE", "{route}");
    assert_eq!(
        body["details"]["limit_bytes"],
        1024 * 1024,
        "{route}"
    );
}

#[tokio::test]
async fn every_json_body_over_one_mib_is_a_json_413_whether_its_length_is_declared_or_streamed() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let creative = app
        .create_manifest(
            &campaign,
            &json!({"name": "x", "assets": [{"filename": "a.png"}]}),
            &[("a.png", crate::helpers::fixture("image_300x250.png"))],
        )
        .await["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let routes: Vec<(Method, String)> = vec![
        (Method::POST, app.api("/campaigns")),
        (Method::PATCH, app.api(&format!("/campaigns/{campaign}"))),
        (Method::POST, app.api("/sales-agents")),
        (
            Method::POST,
            app.api(&format!("/campaigns/{campaign}/creatives/validate")),
        ),
        (
            Method::POST,
            app.api(&format!("/campaigns/{campaign}/creatives/create")),
        ),
        (
            Method::PUT,
            app.api(&format!("/campaigns/{campaign}/creatives/{creative}")),
        ),
        (Method::POST, format!("{}/adcp/webhooks/job_x", app.base)),
    ];
    for (method, url) in routes {
        let route = format!("{method} {url}");
        // Content-Length declared.
        let res = app
            .client
            .request(method.clone(), &url)
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(big_json())
            .send()
            .await
            .unwrap();
        assert_413_json(res, &route).await;
        // Chunked: only the count of streamed bytes can tell.
        let chunks = big_json()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>();
        let res = app
            .client
            .request(method.clone(), &url)
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        assert_413_json(res, &route).await;
    }
    // Nothing was made on the way.
    let list: Value = app.get("/campaigns").await.json().await.unwrap();
    assert_eq!(list["total"], 1, "{list}");
}
