//! Previews rendered by the format's own AdCP agent (issue 16): `POST .../preview` keeps the local
//! preview and adds what the agent's `preview_creative` returned; an agent that fails leaves a
//! `preview_errors[]` entry, never a failed request.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::propagation::{add_seller, campaign_buying, library_seller};
use crate::schemas::assert_valid;
use crate::seller::{Seller, SellerConfig};
use creative_manifests::demo_seller::Previews;

const AGENT_URL: &str = "https://ads.seller.example";

fn image_format() -> Value {
    json!({"format_id": {"agent_url": AGENT_URL, "id": "display_300x250"}, "name": "Image 300x250",
           "renders": [{"role": "primary", "dimensions": {"width": 300, "height": 250}}],
           "assets": [{"item_type": "individual", "asset_id": "banner_image", "asset_type": "image", "required": true,
                       "requirements": {"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}}]})
}

/// A seller whose agent offers previews of its image format (`tweak` adjusts it), a campaign
/// buying that format and a manifest for it. Returns the seller and the manifest's path.
async fn setup(app: &TestApp, tweak: impl FnOnce(&mut SellerConfig)) -> (Seller, String) {
    let mut config = SellerConfig {
        formats: vec![image_format()],
        previews: Some(Previews::default()),
        ..library_seller()
    };
    tweak(&mut config);
    let seller = Seller::start(config).await;
    let agent = add_seller(app, &seller, json!({"has_creative_library": true})).await;
    let format = json!({"agent_url": AGENT_URL, "id": "display_300x250"});
    let campaign =
        campaign_buying(app, &[("p".into(), agent.as_str(), vec![format.clone()])]).await;
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "MPU", "format_id": format, "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let path = format!(
        "/campaigns/{campaign}/creatives/{}",
        m["creative_id"].as_str().unwrap()
    );
    (seller, path)
}

async fn preview(app: &TestApp, path: &str) -> Value {
    let res = app.post_json(&format!("{path}/preview"), &json!({})).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    // Written in key order at every depth, agents' renders and errors included.
    let body = crate::views::key_sorted(&text);
    assert!(
        body["preview_url"].is_string(),
        "the local preview stays: {body}"
    );
    assert_eq!(body["previews"]["local"]["url"], body["preview_url"]);
    body
}

#[tokio::test]
async fn the_agents_renders_appear_on_the_manifest_and_its_page_sandboxed() {
    let app = TestApp::spawn().await;
    let (seller, path) = setup(&app, |_| {}).await;
    let body = preview(&app, &path).await;
    assert_eq!(body["preview_errors"], json!([]), "{body}");
    let agents = body["previews"]["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{body}");
    let p = &agents[0];
    assert_eq!(p["agent_url"], seller.url.as_str());
    assert_eq!(
        p["format_id"],
        json!({"agent_url": AGENT_URL, "id": "display_300x250"})
    );
    assert!(
        p["fetched_at"].is_string() && p["expires_at"].is_string(),
        "{p}"
    );
    let renders = p["renders"].as_array().unwrap();
    assert_eq!(renders.len(), 1);
    assert_valid("creative/preview-render.json", &renders[0]);
    assert_eq!(
        renders[0]["dimensions"],
        json!({"width": 300, "height": 250})
    );

    // Asked with the creative propagation sends: the image under the format's slot id.
    let call = seller.calls_of("preview_creative").pop().expect("asked");
    let assets = &call.args["creative_manifest"]["assets"];
    assert_eq!(
        assets["banner_image"]["asset_type"], "image",
        "{}",
        call.args
    );
    assert_eq!(assets["banner_image"]["width"], 300);
    seller.assert_requests_valid();

    // Kept on the manifest.
    let m: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(m["previews"]["agents"], body["previews"]["agents"], "{m}");
    assert_eq!(m["previews"]["local"]["url"], m["preview_url"]);

    // The page shows the agent's output only in sandboxed frames, its HTML escaped into srcdoc.
    let page = reqwest::get(body["preview_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("sandbox=\"allow-scripts\""), "{page}");
    assert!(!page.contains("allow-same-origin"), "{page}");
    assert!(
        !page.contains("<div class=\"demo-preview\""),
        "raw agent HTML: {page}"
    );

    // A change to the manifest drops previews of what it was.
    let updated = app
        .client
        .put(app.api(&path))
        .bearer_auth(&app.key)
        .json(&json!({"name": "MPU v2"}))
        .send()
        .await
        .unwrap();
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["previews"]["agents"], json!([]), "{updated}");
}

/// HTML-only renders are framed through srcdoc: escaped, so the agent's markup never becomes part
/// of the page.
#[tokio::test]
async fn html_renders_are_framed_through_srcdoc() {
    let app = TestApp::spawn().await;
    let (_seller, path) = setup(&app, |c| {
        c.previews = Some(Previews { html_only: true });
    })
    .await;
    let body = preview(&app, &path).await;
    let render = &body["previews"]["agents"][0]["renders"][0];
    assert_eq!(render["output_format"], "html", "{body}");
    let page = reqwest::get(body["preview_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("srcdoc=\"&lt;div class=&quot;demo-preview"),
        "{page}"
    );
}

type Tweak = Box<dyn FnOnce(&mut SellerConfig)>;

/// Refused, off-schema, silent and unreachable agents: the local preview and one error each.
#[tokio::test]
async fn a_failing_agent_leaves_the_local_preview_and_an_error() {
    // One service per agent: they all publish the same format id, which the first one would own.
    let spawn = || TestApp::spawn_with(|c| c.agent_preview_timeout_ms = 300);
    let cases: Vec<(Tweak, &str)> = vec![
        (
            // AdCP's preview answer has no error branch: an agent refuses at the transport.
            Box::new(|c: &mut SellerConfig| {
                c.fail_times.insert("preview_creative".into(), 1);
            }),
            "AGENT_ERROR",
        ),
        (
            Box::new(|c: &mut SellerConfig| {
                c.malformed.insert(
                    "preview_creative".into(),
                    json!({"response_type": "single", "previews": [{"renders": "none"}]}),
                );
            }),
            "INVALID_RESPONSE",
        ),
        (
            Box::new(|c: &mut SellerConfig| {
                c.delay
                    .insert("preview_creative".into(), Duration::from_secs(30));
            }),
            "AGENT_TIMEOUT",
        ),
    ];
    for (tweak, code) in cases {
        let app = spawn().await;
        let (_seller, path) = setup(&app, tweak).await;
        let body = preview(&app, &path).await;
        assert_eq!(body["previews"]["agents"], json!([]), "{code}: {body}");
        let errors = body["preview_errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{code}: {body}");
        assert_eq!(errors[0]["code"], code, "{body}");
        assert_eq!(errors[0]["format_id"]["id"], "display_300x250");
        assert!(errors[0]["message"].is_string());
        let m: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(m["preview_errors"], body["preview_errors"], "{m}");
    }

    // An agent that is gone.
    let app = spawn().await;
    let (mut seller, path) = setup(&app, |_| {}).await;
    seller.stop();
    let body = preview(&app, &path).await;
    assert_eq!(
        body["preview_errors"][0]["code"], "AGENT_UNAVAILABLE",
        "{body}"
    );
}

/// A seller whose agent does not advertise `preview_creative` is not asked, and that is no error.
#[tokio::test]
async fn an_agent_without_previews_is_not_asked() {
    let app = TestApp::spawn().await;
    let (seller, path) = setup(&app, |c| c.previews = None).await;
    let body = preview(&app, &path).await;
    assert_eq!(body["previews"]["agents"], json!([]));
    assert_eq!(body["preview_errors"], json!([]));
    assert!(seller.calls_of("preview_creative").is_empty());
}
