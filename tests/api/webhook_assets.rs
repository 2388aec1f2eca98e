//! Webhook (DCO) assets (issue 16): the AdCP `core/assets/webhook-asset.json` shape on the wire,
//! secrets given once and never shown, public HTTPS only, coverage of webhook slots, the test call.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{error_of, TestApp};
use crate::schemas::assert_valid;

pub const SECRET: &str = "whsec_3f1c9a7e5b2d4f6081a3c5e7f9b1d3e5";

pub fn hmac_webhook() -> Value {
    json!({
        "name": "Weather DCO",
        "label": "weather",
        "url": "https://dco.acme.example/render?v=2",
        "timeout_ms": 800,
        "supported_macros": ["DEVICE_TYPE", "COUNTRY", "WEATHER_ZONE"],
        "required_macros": ["COUNTRY"],
        "response_type": "html",
        "security": {"method": "hmac_sha256", "hmac_header": "X-Signature"},
        "secret": SECRET,
    })
}

async fn json_manifest(app: &TestApp, campaign: &str, metadata: &Value) -> (StatusCode, String) {
    let res = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creatives/create")))
        .bearer_auth(&app.key)
        .json(metadata)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Creates a manifest of one PNG and `webhooks`; returns it.
pub async fn with_webhooks(app: &TestApp, campaign: &str, webhooks: Value) -> Value {
    app.create_png_manifest(
        campaign,
        &json!({"name": "DCO banner", "assets": [{"filename": "a.png"}], "webhook_assets": webhooks}),
    )
    .await
}

fn webhook_views(m: &Value) -> Vec<Value> {
    m["webhook_assets"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_webhook_asset_round_trips_in_the_adcp_shape_without_its_secret() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let created = with_webhooks(&app, &campaign, json!([hmac_webhook()])).await;
    let creative = created["creative_id"].as_str().unwrap();
    assert!(!created.to_string().contains(SECRET), "{created}");

    let hooks = webhook_views(&created);
    assert_eq!(hooks.len(), 1, "{created}");
    let hook = &hooks[0];
    assert_valid("core/assets/webhook-asset.json", hook);
    assert_eq!(hook["asset_type"], "webhook");
    assert_eq!(hook["method"], "POST", "the AdCP default");
    assert_eq!(hook["timeout_ms"], 800);
    assert_eq!(hook["response_type"], "html");
    assert_eq!(
        hook["security"],
        json!({"method": "hmac_sha256", "hmac_header": "X-Signature", "configured": true})
    );
    assert_eq!(hook["required_macros"], json!(["COUNTRY"]));
    assert_eq!(hook["name"], "Weather DCO");
    let asset_id = hook["asset_id"].as_str().unwrap().to_owned();
    let listed = created["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset_id"] == asset_id)
        .unwrap();
    assert_eq!(listed["asset_type"], "WEBHOOK");
    assert_eq!(listed["asset_source"], "webhook");
    assert_valid("core/assets/webhook-asset.json", &listed["webhook"]);

    // Stored sealed: the database alone does not give it away.
    let stored: String = sqlx::query("SELECT webhook_secret FROM creative_assets WHERE id = $1")
        .bind(&asset_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("webhook_secret")
        .unwrap();
    assert!(
        stored.starts_with("sealed:v1:") && !stored.contains(SECRET),
        "{stored}"
    );

    let path = format!("/campaigns/{campaign}/creatives/{creative}");
    let got = app.get(&path).await.text().await.unwrap();
    assert!(!got.contains(SECRET), "{got}");
    let got: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(webhook_views(&got), hooks);

    // Update: the list replaces. The entry naming the asset keeps its id and secret.
    let mut changed = hmac_webhook();
    changed.as_object_mut().unwrap().remove("secret");
    changed["asset_id"] = json!(asset_id);
    changed["method"] = json!("GET");
    changed["response_type"] = json!("json");
    let second = json!({"url": "https://api.acme.example/key", "response_type": "javascript",
                        "security": {"method": "api_key", "api_key_header": "X-Acme-Key"},
                        "secret": "acme-key-0001"});
    let updated = app
        .updated(
            &campaign,
            creative,
            &json!({"webhook_assets": [changed, second]}),
        )
        .await;
    assert!(!updated.to_string().contains("acme-key-0001"), "{updated}");
    let hooks = webhook_views(&updated);
    assert_eq!(hooks.len(), 2, "{updated}");
    assert_eq!(hooks[0]["asset_id"], asset_id.as_str());
    assert_eq!(hooks[0]["method"], "GET");
    assert_eq!(hooks[0]["security"]["configured"], true, "secret kept");
    assert_eq!(hooks[1]["security"]["api_key_header"], "X-Acme-Key");
    for h in &hooks {
        assert_valid("core/assets/webhook-asset.json", h);
    }
    // The PNG stays: only the webhook list was replaced.
    assert_eq!(updated["assets"].as_array().unwrap().len(), 3, "{updated}");

    // Replacing with a list that leaves one out removes it.
    let only = json!([{"url": "https://dco.acme.example/v2", "response_type": "xml",
                       "security": {"method": "none"}}]);
    let updated = app
        .updated(&campaign, creative, &json!({"webhook_assets": only}))
        .await;
    let hooks = webhook_views(&updated);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["security"], json!({"method": "none"}));
    assert_eq!(app.count_rows("creative_assets").await, 2);

    let list: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["asset_count"], 2, "{list}");
}

#[tokio::test]
async fn a_webhook_asset_needs_its_secret_once() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let mut hook = hmac_webhook();
    hook.as_object_mut().unwrap().remove("secret");
    let (status, body) = json_manifest(
        &app,
        &campaign,
        &json!({"name": "x", "webhook_assets": [hook]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["field"], "webhook_assets[0].secret", "{body}");
    // A weak HMAC secret is refused as AdCP asks (at least 32 bytes).
    let mut weak = hmac_webhook();
    weak["secret"] = json!("short");
    let (status, body) = json_manifest(
        &app,
        &campaign,
        &json!({"name": "x", "webhook_assets": [weak]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("webhook_assets[0].secret"), "{body}");
    app.assert_nothing_stored().await;
}

/// `http://`, private and loopback endpoints are refused with the field named, before anything is
/// stored; so are non-macros and an out-of-range time-out.
#[tokio::test]
async fn bad_webhook_configurations_are_refused_with_the_field() {
    // As deployed: the guard refuses inside targets (tests otherwise allow them for local peers).
    let app = TestApp::spawn_with(|c| c.outbound_allow_private = false).await;
    let campaign = app.create_campaign().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"url": "http://dco.acme.example/render"}),
            "webhook_assets[0].url",
        ),
        (
            json!({"url": "https://10.1.2.3/render"}),
            "webhook_assets[0].url",
        ),
        (
            json!({"url": "https://127.0.0.1:8443/render"}),
            "webhook_assets[0].url",
        ),
        (
            json!({"url": "https://[fd00::1]/render"}),
            "webhook_assets[0].url",
        ),
        (
            json!({"url": "https://localhost/render"}),
            "webhook_assets[0].url",
        ),
        // AdCP types the URL `format: uri`: a macro placeholder is not one.
        (
            json!({"url": "https://dco.acme.example/r?c={CACHEBUSTER}"}),
            "webhook_assets[0].url",
        ),
        (json!({"timeout_ms": 5001}), "webhook_assets[0].timeout_ms"),
        (json!({"timeout_ms": 9}), "webhook_assets[0].timeout_ms"),
        (
            json!({"supported_macros": ["{DEVICE_TYPE}"]}),
            "webhook_assets[0].supported_macros[0]",
        ),
        (
            json!({"required_macros": ["COUNTRY", "country"]}),
            "webhook_assets[0].required_macros[1]",
        ),
        (
            json!({"security": {"method": "hmac_sha256", "hmac_header": "Bad Header"}}),
            "webhook_assets[0].security.hmac_header",
        ),
    ];
    for (patch, field) in cases {
        let mut hook = hmac_webhook();
        for (k, v) in patch.as_object().unwrap() {
            hook[k] = v.clone();
        }
        let res = app
            .upload(
                &campaign,
                &json!({"name": "x", "webhook_assets": [hook]}),
                &[],
            )
            .await;
        let e = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(e["field"], field, "{patch}: {e}");
    }
    app.assert_nothing_stored().await;
}

async fn creative_formats(app: &TestApp, campaign: &str) -> Value {
    let c: Value = app
        .get(&format!("/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    c["creativeFormats"].clone()
}

/// A seller's DCO format: an image and the buyer's webhook, both required.
fn dco_format(agent_url: &str) -> Value {
    json!({"format_id": {"agent_url": agent_url, "id": "dco_300x250"}, "name": "DCO 300x250",
    "renders": [{"role": "primary", "dimensions": {"width": 300, "height": 250}}],
    "assets": [
        {"item_type": "individual", "asset_id": "banner_image", "asset_type": "image", "required": true,
         "requirements": {"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}},
        {"item_type": "individual", "asset_id": "dynamic_content", "asset_type": "webhook", "required": true}
    ]})
}

/// A format slot of type webhook is covered by a webhook asset (and only by one), and the asset
/// reaches the seller under the format's slot id, in the AdCP shape, without its secret.
#[tokio::test]
async fn a_webhook_slot_is_covered_by_a_webhook_asset_and_sent_under_its_slot_id() {
    use crate::propagation::{add_seller, campaign_buying, execute, library_seller};
    use crate::seller::{Seller, SellerConfig};

    let app = TestApp::spawn().await;
    let agent_url = "https://ads.seller.example";
    let seller = Seller::start(SellerConfig {
        formats: vec![dco_format(agent_url)],
        ..library_seller()
    })
    .await;
    let agent = add_seller(&app, &seller, json!({"has_creative_library": true})).await;
    let dco = json!({"agent_url": agent_url, "id": "dco_300x250"});
    let campaign = campaign_buying(&app, &[("p".into(), agent.as_str(), vec![dco.clone()])]).await;

    // The image alone leaves the webhook slot empty: not covered.
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "DCO", "format_id": dco, "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let creative = m["creative_id"].as_str().unwrap().to_owned();
    let f = creative_formats(&app, &campaign).await;
    assert_eq!(f["covered"], json!([]), "{f}");

    // Two webhooks: the one the buyer named for the slot goes there.
    let mut slotted = hmac_webhook();
    slotted["slot_asset_id"] = json!("dynamic_content");
    let updated = app
        .updated(
            &campaign,
            &creative,
            &json!({"webhook_assets": [
                {"url": "https://other.acme.example/x", "response_type": "json", "security": {"method": "none"}},
                slotted,
            ]}),
        )
        .await;
    assert!(
        updated["target_format_ids"]
            .as_array()
            .unwrap()
            .contains(&dco),
        "{updated}"
    );
    let f = creative_formats(&app, &campaign).await;
    assert_eq!(f["covered"][0]["id"], "dco_300x250", "{f}");

    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "succeeded", "{out}");
    let call = seller.calls_of("sync_creatives").pop().expect("synced");
    assert!(!call.args.to_string().contains(SECRET), "{}", call.args);
    let sent = call.args["creatives"][0].clone();
    assert_eq!(sent["format_id"], dco, "{sent}");
    let hook = &sent["assets"]["dynamic_content"];
    assert_eq!(hook["asset_type"], "webhook", "{sent}");
    assert_eq!(hook["url"], "https://dco.acme.example/render?v=2");
    assert_eq!(
        hook["security"],
        json!({"method": "hmac_sha256", "hmac_header": "X-Signature"})
    );
    assert_valid("core/assets/webhook-asset.json", hook);
    assert_eq!(sent["assets"]["banner_image"]["asset_type"], "image");
    seller.assert_requests_valid();
}

/// What the test receiver got: method, headers (lower-case names), query, body.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    headers: std::collections::HashMap<String, String>,
    query: String,
    body: Vec<u8>,
}

/// How the receiver answers.
#[derive(Clone)]
enum Reply {
    Content(&'static str, String),
    Status(u16),
    Huge,
    Never,
}

/// A DCO endpoint on loopback that records each request and answers as told.
struct Receiver {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(reply: Reply) -> Receiver {
        use axum::response::IntoResponse;
        let got: std::sync::Arc<std::sync::Mutex<Vec<Received>>> = Default::default();
        let seen = got.clone();
        let handler = move |method: axum::http::Method,
                            uri: axum::http::Uri,
                            headers: axum::http::HeaderMap,
                            body: axum::body::Bytes| {
            let seen = seen.clone();
            let reply = reply.clone();
            async move {
                seen.lock().unwrap().push(Received {
                    method: method.to_string(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect(),
                    query: uri.query().unwrap_or_default().to_owned(),
                    body: body.to_vec(),
                });
                match reply {
                    Reply::Content(ct, body) => ([("content-type", ct)], body).into_response(),
                    Reply::Status(s) => {
                        axum::http::StatusCode::from_u16(s).unwrap().into_response()
                    }
                    Reply::Huge => ([("content-type", "text/html")], vec![b'x'; 2 * 1024 * 1024])
                        .into_response(),
                    Reply::Never => futures::future::pending::<axum::response::Response>().await,
                }
            }
        };
        let app = axum::Router::new().route("/render", axum::routing::any(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/render"),
            got,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// A manifest with one webhook `hook` (its URL set to the receiver's); returns the test path.
async fn webhook_on(app: &TestApp, receiver: &Receiver, mut hook: Value) -> String {
    let campaign = app.create_campaign().await;
    hook["url"] = json!(receiver.url);
    let m = with_webhooks(app, &campaign, json!([hook])).await;
    format!(
        "/campaigns/{campaign}/creatives/{}/webhooks/{}/test",
        m["creative_id"].as_str().unwrap(),
        m["webhook_assets"][0]["asset_id"].as_str().unwrap()
    )
}

async fn run_test(app: &TestApp, path: &str) -> Value {
    let res = app.post_json(path, &json!({})).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    // Written in key order, as every resource view is.
    let body = crate::views::key_sorted(&text);
    crate::openapi::assert_conforms(
        "POST",
        "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}/webhooks/{asset_id}/test",
        200,
        &body,
    );
    body
}

/// The test call signs as AdCP's webhook HMAC does, with the buyer's secret under the asset's
/// header; the receiver verifies it with AdCP's own verifier. Sample values for every macro.
#[tokio::test]
async fn the_test_call_signs_with_hmac_and_reports_what_came_back() {
    use creative_manifests::adcp::webhook_hmac;
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Reply::Content(
        "text/html; charset=utf-8",
        "<div>Sunny</div>".into(),
    ))
    .await;
    let path = webhook_on(&app, &receiver, hmac_webhook()).await;
    let report = run_test(&app, &path).await;
    assert_eq!(report["outcome"], "ok", "{report}");
    assert_eq!(report["status"], 200);
    assert_eq!(report["matches_response_type"], true);
    assert_eq!(report["content_type"], "text/html; charset=utf-8");
    assert_eq!(report["body_bytes"], 16);
    assert!(report["latency_ms"].is_u64(), "{report}");
    assert!(!report.to_string().contains(SECRET));

    let got = receiver.received();
    assert_eq!(got.len(), 1, "one request");
    let r = &got[0];
    assert_eq!(r.method, "POST");
    let now = chrono::Utc::now().timestamp();
    webhook_hmac::verify(
        SECRET,
        r.headers.get("x-adcp-timestamp").map(String::as_str),
        r.headers.get("x-signature").map(String::as_str),
        &r.body,
        now,
    )
    .expect("a valid AdCP HMAC-SHA256 signature");
    assert!(webhook_hmac::verify(
        "another-secret-of-32-bytes-or-more!",
        r.headers.get("x-adcp-timestamp").map(String::as_str),
        r.headers.get("x-signature").map(String::as_str),
        &r.body,
        now
    )
    .is_err());
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["macros"]["COUNTRY"], "US", "{body}");
    assert!(body["macros"]["WEATHER_ZONE"].is_string(), "{body}");
}

/// An API-key webhook gets the key in its header; a GET carries the macros in the query.
#[tokio::test]
async fn the_test_call_sends_the_api_key_header() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Reply::Content("application/json", "{}".into())).await;
    let hook = json!({"method": "GET", "response_type": "html", "supported_macros": ["DEVICE_TYPE"],
                      "security": {"method": "api_key", "api_key_header": "X-Acme-Key"},
                      "secret": "acme-key-0001"});
    let path = webhook_on(&app, &receiver, hook).await;
    let report = run_test(&app, &path).await;
    // The endpoint answered JSON where the asset promised HTML.
    assert_eq!(report["outcome"], "wrong_type", "{report}");
    assert_eq!(report["matches_response_type"], false);
    assert!(!report.to_string().contains("acme-key-0001"));
    let r = &receiver.received()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.headers.get("x-acme-key").map(String::as_str),
        Some("acme-key-0001")
    );
    assert!(!r.headers.contains_key("x-adcp-signature"));
    assert_eq!(r.query, "DEVICE_TYPE=mobile");
}

/// Time-out, oversized answer, error status and a target the guard refuses are each reported,
/// never a failed request.
#[tokio::test]
async fn the_test_call_reports_time_outs_errors_and_oversized_answers() {
    let app = TestApp::spawn().await;
    let none = json!({"response_type": "html", "timeout_ms": 100, "security": {"method": "none"}});
    for (reply, outcome) in [
        (Reply::Never, "timeout"),
        (Reply::Huge, "too_large"),
        (Reply::Status(503), "http_error"),
    ] {
        let receiver = Receiver::start(reply).await;
        let mut hook = none.clone();
        if outcome == "too_large" {
            hook["timeout_ms"] = json!(5000);
        }
        let path = webhook_on(&app, &receiver, hook).await;
        let report = run_test(&app, &path).await;
        assert_eq!(report["outcome"], outcome, "{report}");
        assert_eq!(report["ok"], false);
    }
    let res = app
        .post_json(
            "/campaigns/cmp_x/creatives/cr_x/webhooks/ast_x/test",
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// A target stored while labs allowed inside addresses is still refused by the guard once they
/// are not: the guard, not the stored check, has the last word.
#[tokio::test]
async fn the_test_call_goes_through_the_outbound_guard() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Reply::Content("text/html", "x".into())).await;
    let path = webhook_on(
        &app,
        &receiver,
        json!({"response_type": "html", "security": {"method": "none"}}),
    )
    .await;
    let app = app.restart_with(|c| c.outbound_allow_private = false).await;
    let report = run_test(&app, &path).await;
    assert_eq!(report["outcome"], "blocked", "{report}");
    assert!(receiver.received().is_empty(), "never reached");
}
