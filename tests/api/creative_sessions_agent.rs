//! The creative sessions journey through the AdCP creative agent adapter, against a test creative
//! agent (`demo_seller::creative_agent`) whose every request and answer is checked against AdCP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::creative_sessions::{
    assert_every_check_passes, assert_logo_pixel_identical, backdrop_and_product_pixels,
    campaign_missing_three, finalized, grey_png, ids, mask_of, metadata, missing, placement,
    start_session, studio_session, Journey, THREE,
};
use crate::helpers::{body_of, error_of, TestApp};
use creative_manifests::demo_seller::creative_agent::CreativeAgent;

/// A service, a test creative agent registered with it as a sales agent, and a campaign missing
/// three formats.
struct Rig {
    app: TestApp,
    agent: CreativeAgent,
    /// The session `adapter` that names the agent.
    adapter: String,
    campaign: String,
}

async fn rig() -> Rig {
    let app = TestApp::spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let agent = CreativeAgent::serve(listener, Some(crate::schemas::violations));
    let res = app
        .post_json(
            "/sales-agents",
            &json!({"name": "Creative agent", "endpoint_url": agent.url}),
        )
        .await;
    let body = body_of(res, StatusCode::CREATED).await;
    let adapter = format!(
        "creative_agent:{}",
        body["sales_agent_id"].as_str().unwrap()
    );
    let campaign = campaign_missing_three(&app).await;
    Rig {
        app,
        agent,
        adapter,
        campaign,
    }
}

/// Starts a session of [`metadata`] through the rig's agent (201 asserted).
async fn agent_session(rig: &Rig) -> Value {
    let mut meta = metadata("cleared");
    meta["adapter"] = json!(rig.adapter);
    body_of(
        start_session(&rig.app, &rig.campaign, &meta).await,
        StatusCode::CREATED,
    )
    .await
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[tokio::test]
async fn the_session_journey_through_a_creative_agent() {
    let rig = rig().await;
    let (app, agent, campaign) = (&rig.app, &rig.agent, &rig.campaign);
    let s = agent_session(&rig).await;
    assert_eq!(s["rendering_model"], "agent");
    assert_eq!(s["adapter"], rig.adapter);
    let variants = s["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 3, "one build per missing format");
    for v in variants {
        assert!(
            v["lineage"]["parameters"]["build_variant_id"].is_string(),
            "{v}"
        );
        assert_logo_pixel_identical(app, v).await;
        assert_every_check_passes(v);
        assert!(
            v["quality"]
                .as_array()
                .unwrap()
                .iter()
                .any(|q| q.as_str().unwrap().starts_with("agent preview: ")),
            "the agent's preview_creative answer is kept: {v}"
        );
    }
    let journey = Journey::of(app, campaign, &s);
    let parent = variants
        .iter()
        .find(|v| v["format_id"]["id"] == "display_300x250")
        .unwrap();

    // Refinement goes to the agent with the buyer's words and the build to refine.
    let res = journey.refine(&parent["variant_id"], "bigger logo").await;
    let r = body_of(res, StatusCode::CREATED).await;
    let child = &r["variants"][0];
    assert_eq!(child["lineage"]["parent_variant_id"], parent["variant_id"]);
    assert_eq!(child["lineage"]["feedback"], "bigger logo");
    let (a, b) = (placement(parent, "logo"), placement(child, "logo"));
    assert!(
        u(&b["width"]) > u(&a["width"]) && u(&b["height"]) > u(&a["height"]),
        "{a} -> {b}"
    );
    assert_logo_pixel_identical(app, child).await;
    let refine_call = agent
        .calls()
        .into_iter()
        .filter(|(t, _)| t == "build_creative")
        .find(|(_, a)| a["refine_from_build_variant_id"].is_string())
        .expect("a refinement call");
    assert_eq!(
        refine_call.1["refine_from_build_variant_id"],
        parent["lineage"]["parameters"]["build_variant_id"]
    );
    assert_eq!(refine_call.1["message"], "bigger logo");

    // Words the agent does not understand come back as such.
    let res = journey.refine(&parent["variant_id"], "more synergy").await;
    let e = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(e["field"], "feedback");
    assert!(
        e["message"].as_str().unwrap().contains("not understood"),
        "{e}"
    );

    // Finalize the refined direction for the three formats: the agent redraws it for the others.
    let f = journey
        .approve_and_finalize(&child["variant_id"], &THREE)
        .await;
    let formats: Vec<String> = f["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["format_id"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(formats, THREE);
    assert_eq!(missing(app, campaign).await, Vec::<String>::new());
    let s = journey.show().await;
    assert_eq!(ids(&s["target_format_ids"]), THREE);
    let finalized = finalized(&s);
    assert_eq!(finalized.len(), 3);
    assert!(finalized
        .iter()
        .all(|v| v["lineage"]["direction_id"] == child["lineage"]["direction_id"]));

    let violations = agent.violations();
    assert!(violations.is_empty(), "{violations:#?}");
}

/// A mask travels to the agent beside its picture (`ext.creative_sessions.masks`), and the test
/// agent cuts the product out with it: no pixel of the studio backdrop in any build.
#[tokio::test]
async fn a_mask_goes_to_the_creative_agent_beside_its_picture() {
    let rig = rig().await;
    let (app, campaign, adapter) = (&rig.app, &rig.campaign, &rig.adapter);
    let plain = studio_session(app, campaign, Some(adapter), None).await;
    let (backdrop, _) = backdrop_and_product_pixels(app, &plain).await;
    assert!(backdrop > 1_000, "{backdrop}");
    let mask = Some(grey_png(&mask_of(800, 600)));
    let cut = studio_session(app, campaign, Some(adapter), mask).await;
    let (backdrop, product) = backdrop_and_product_pixels(app, &cut).await;
    assert_eq!(backdrop, 0, "no backdrop pixel is drawn");
    assert!(product > 1_000, "{product}");
    assert_eq!(rig.agent.violations(), Vec::<String>::new());
}

/// A build the agent queues (build_creative's `submitted` branch: a slow generative pipeline) is
/// polled with get_task_status until it completes, and its result drawn like a synchronous one.
#[tokio::test]
async fn a_queued_build_is_polled_until_the_agent_completes_it() {
    let rig = rig().await;
    let (app, agent) = (&rig.app, &rig.agent);
    agent.queue_builds(2);
    let s = agent_session(&rig).await;
    let variants = s["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 3, "one build per missing format");
    for v in variants {
        assert_logo_pixel_identical(app, v).await;
        assert_every_check_passes(v);
    }
    let polls = agent
        .calls()
        .iter()
        .filter(|(tool, _)| tool == "get_task_status")
        .count();
    assert_eq!(polls, 3 * 3, "two 'working' and one 'completed' per build");
    assert_eq!(agent.violations(), Vec::<String>::new());
}
