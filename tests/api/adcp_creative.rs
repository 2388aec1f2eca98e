//! Manifests as AdCP creatives: what propagation will send, checked against the official schemas.

use serde_json::{json, Value};

use creative_manifests::adcp::creative::build;
use creative_manifests::adcp::types::{FormatId, FormatKind, FormatRef};
use creative_manifests::formats::Registry;
use creative_manifests::ids::{CampaignId, CreativeId};
use creative_manifests::store::{creatives, customers};

use crate::helpers::{fixture, TestApp};
use crate::schemas::assert_valid;

async fn stored(
    app: &TestApp,
    campaign: &str,
    m: &Value,
) -> creative_manifests::manifest::model::Manifest {
    let customer = customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    creatives::get(
        &app.state.db,
        &customer.id,
        &CampaignId::parse(campaign).unwrap(),
        &CreativeId::parse(m["creative_id"].as_str().unwrap()).unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
}

fn standard(id: &str) -> FormatId {
    FormatId {
        agent_url: "https://creative.adcontextprotocol.org".into(),
        id: id.into(),
        width: None,
        height: None,
        duration_ms: None,
    }
}

#[tokio::test]
async fn manifests_become_schema_valid_adcp_creatives_keyed_by_the_formats_slots() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let customer = customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    let registry = Registry::for_customer(&app.state.db, &customer.id)
        .await
        .unwrap();

    let image = app
        .create_png_manifest(&campaign, &json!({"name": "MPU", "url_asset": {"url": "https://acme.com/"}, "text_assets": [{"text": "Buy"}], "assets": [{"filename": "a.png"}]}),)
        .await;
    let m = stored(&app, &campaign, &image).await;
    let fmt = standard("display_300x250");
    let built = build(
        &m,
        &app.state.objects,
        &FormatRef::Id(fmt.clone()),
        registry.spec_of(&fmt),
    );
    assert_valid("core/creative-asset.json", &built.creative);
    let assets = &built.creative["assets"];
    assert_eq!(
        assets["banner_image"]["url"], image["assets"][0]["public_url"],
        "the image fills the format's slot"
    );
    assert_eq!(
        assets["clickthrough_url"]["url"], image["tracking"]["click_tracker_url"],
        "the seller links to the service's click tracker, which wraps the clickthrough"
    );
    assert!(
        assets
            .as_object()
            .unwrap()
            .values()
            .any(|a| a["url_type"] == "tracker_pixel"),
        "the service's impression tracker travels too"
    );
    assert!(built.skipped.is_empty(), "{:?}", built.skipped);

    let video = app
        .create_manifest(
            &campaign,
            &json!({"name": "Spot", "assets": [{"filename": "v.mp4"}]}),
            &[("v.mp4", fixture("video_64x36_15s.mp4"))],
        )
        .await;
    let m = stored(&app, &campaign, &video).await;
    let built = build(
        &m,
        &app.state.objects,
        &FormatRef::Kind(FormatKind::VideoHosted),
        None,
    );
    assert_valid("core/creative-asset.json", &built.creative);
    assert_eq!(built.creative["format_kind"], "video_hosted");

    for (name, meta, files) in [
        (
            "bundle",
            json!({"name": "HTML5", "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "b.zip"}]}),
            vec![("b.zip", fixture("bundles/good.zip"))],
        ),
        (
            "vast",
            json!({"name": "VAST", "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "v.xml"}]}),
            vec![("v.xml", fixture("vast/inline_4.2.xml"))],
        ),
    ] {
        let created = app.create_manifest(&campaign, &meta, &files).await;
        let m = stored(&app, &campaign, &created).await;
        let built = build(
            &m,
            &app.state.objects,
            &FormatRef::Id(standard("display_300x250_html")),
            None,
        );
        assert_valid("core/creative-asset.json", &built.creative);
        assert!(built.skipped.is_empty(), "{name}: {:?}", built.skipped);
    }

    // A batch as sync_creatives sends it.
    let request = json!({
        "idempotency_key": "cmx-0123456789abcdef",
        "account": {"account_id": "acct_1"},
        "creatives": [build(&stored(&app, &campaign, &image).await, &app.state.objects, &FormatRef::Id(fmt.clone()), registry.spec_of(&fmt)).creative],
    });
    assert_valid("creative/sync-creatives-request.json", &request);
}
