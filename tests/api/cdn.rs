use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_of, fixture, TestApp, SANDBOX};

async fn stored(app: &TestApp, name: &str) -> String {
    let campaign = app.create_campaign().await;
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "x", "assets": [{"filename": name}]}),
            &[(name, fixture(name))],
        )
        .await;
    m["assets"][0]["public_url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn objects_are_served_with_type_etag_caching_and_nosniff() {
    let app = TestApp::spawn().await;
    let url = stored(&app, "image_300x250.jpg").await;
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["accept-ranges"], "bytes");
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(
        h["content-length"],
        fixture("image_300x250.jpg").len().to_string().as_str()
    );
    let etag = h["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'));

    let res = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = app.client.head(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
}

#[tokio::test]
async fn ranges_are_honoured() {
    let app = TestApp::spawn().await;
    let url = stored(&app, "video_64x36_15s.mp4").await;
    let bytes = fixture("video_64x36_15s.mp4");
    let len = bytes.len();

    let res = app
        .client
        .get(&url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 10-19/{len}").as_str()
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[10..20]);

    let res = app
        .client
        .get(&url)
        .header("range", "bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[len - 5..]);

    let res = app
        .client
        .get(&url)
        .header("range", format!("bytes={}-", len + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
}

#[tokio::test]
async fn html_is_sandboxed_and_unknown_keys_are_404() {
    let app = TestApp::spawn().await;
    let url = stored(&app, "banner.html").await;
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.headers()["content-security-policy"], SANDBOX);
    // Whatever the type: a bundle's XHTML or XML runs script as well as HTML does.
    let res = app
        .client
        .get(stored(&app, "image_300x250.png").await)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-security-policy"], SANDBOX);
    let res = app
        .client
        .get(format!("{}/cdn/creatives/none/x.png", app.base))
        .send()
        .await
        .unwrap();
    error_of(res, StatusCode::NOT_FOUND).await;
    let res = app
        .client
        .get(format!("{}/cdn/..%2F..%2Fmanifests.db", app.base))
        .send()
        .await
        .unwrap();
    error_of(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn served_html_lets_a_click_out_but_never_shares_the_api_origin() {
    let app = TestApp::spawn().await;
    let url = stored(&app, "banner.html").await;
    let res = app.client.get(&url).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    let tokens: Vec<&str> = csp.split_whitespace().collect();
    assert_eq!(tokens[0], "sandbox");
    for needed in [
        "allow-scripts",
        "allow-popups",
        "allow-popups-to-escape-sandbox",
        "allow-top-navigation-by-user-activation",
    ] {
        assert!(tokens.contains(&needed), "{needed} missing from {csp}");
    }
    for refused in ["allow-same-origin", "allow-top-navigation", "allow-forms"] {
        assert!(!tokens.contains(&refused), "{refused} in {csp}");
    }
}

#[tokio::test]
async fn public_objects_answer_cors_for_the_sandboxed_null_origin_without_credentials() {
    let app = TestApp::spawn().await;
    let url = stored(&app, "image_300x250.png").await;
    // A CSS mask or a font requested by the sandboxed page: origin `null`.
    let res = app
        .client
        .get(&url)
        .header("origin", "null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("content-range"), "{exposed}");

    // A ranged fetch() is preflighted; the preflight is answered without touching the object.
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "null")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "range")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("GET"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("range"));
    assert!(h.get("access-control-allow-credentials").is_none());

    // Errors carry it too, so a page can tell a missing file from a blocked one.
    let res = app
        .client
        .get(format!("{}/cdn/creatives/none/x.png", app.base))
        .header("origin", "null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    error_of(res, StatusCode::NOT_FOUND).await;
}

/// `Last-Modified` and `If-Modified-Since` work as RFC 9110 says, on local files and on S3 alike;
/// several ranges get the whole object (a server may ignore Range), not a 416.
#[tokio::test]
async fn dates_answer_conditional_requests_and_several_ranges_get_the_whole_object() {
    let app = TestApp::spawn().await;
    let url = stored(&app, "video_64x36_15s.mp4").await;
    let bytes = fixture("video_64x36_15s.mp4");
    let res = app.client.get(&url).send().await.unwrap();
    let modified = res.headers()["last-modified"].to_str().unwrap().to_owned();
    assert!(modified.ends_with(" GMT"), "{modified}");
    let res = app
        .client
        .get(&url)
        .header("if-modified-since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = app
        .client
        .get(&url)
        .header("if-modified-since", "Thu, 01 Jan 2015 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let res = app
        .client
        .get(&url)
        .header("range", "bytes=0-1, 5-9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // HEAD: the length of the whole object and no body.
    let res = app.client.head(&url).send().await.unwrap();
    assert_eq!(
        res.headers()["content-length"],
        bytes.len().to_string().as_str()
    );
    assert!(res.bytes().await.unwrap().is_empty());
}
