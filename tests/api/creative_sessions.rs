//! Creative sessions (issue 15) over HTTP: drafts for the formats a campaign misses, locked assets
//! kept pixel-identical under uniform scaling, refinement in words, staged checks, finalize through
//! the upload path, restarts, and no draft ever reaching a seller.

use image::imageops::FilterType;
use image::{Rgba, RgbaImage};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{body_of, error_of, TestApp};
use crate::propagation::{add_seller, banner, campaign, execute, library_seller};
use crate::seller::Seller;

const STANDARD: &str = "https://creative.adcontextprotocol.org";
pub(crate) const THREE: [&str; 3] = ["display_300x250", "display_728x90", "display_320x50"];

pub(crate) fn fid(id: &str) -> Value {
    json!({"agent_url": STANDARD, "id": id})
}

pub(crate) fn png(img: &RgbaImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A product photo: a smooth gradient with a red "product" in the middle.
pub(crate) fn photo(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let (cx, cy) = (x as i64 - w as i64 / 2, y as i64 - h as i64 / 2);
        if cx * cx + cy * cy < (h as i64 / 4).pow(2) {
            Rgba([200, 30, 40, 255])
        } else {
            Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 120, 255])
        }
    })
}

/// An opaque logo with sharp detail (stripes and a checker), so any crop, stretch or recolour shows.
pub(crate) fn logo() -> RgbaImage {
    RgbaImage::from_fn(200, 80, |x, y| {
        if y < 10 {
            Rgba([255, 210, 0, 255])
        } else if (x / 10 + y / 10) % 2 == 0 {
            Rgba([20, 20, 20, 255])
        } else {
            Rgba([250, 250, 250, 255])
        }
    })
}

pub(crate) async fn campaign_missing_three(app: &TestApp) -> String {
    let agent = app.create_sales_agent("Seller").await;
    let res = app
        .post_json(
            "/campaigns",
            &json!({"name": "Sessions", "brand_domain": "acme.com", "products": [
                {"product_id": "p1", "sales_agent_id": agent["sales_agent_id"],
                 "format_ids": THREE.iter().map(|f| fid(f)).collect::<Vec<_>>()},
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["campaign_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn metadata(logo_rights: &str) -> Value {
    json!({
        "brief": {"channel": "display", "audience": "commuters", "goal": "awareness", "message": "Fresh roasted coffee"},
        "headline": "Fresh roasted coffee, delivered before you wake",
        "body": "Single origin beans roasted every morning.",
        "cta": "Order now",
        "source_assets": [
            {"filename": "product.png", "role": "product", "rights": {"status": "cleared"},
             "subject_bounds": {"x": 300, "y": 150, "width": 200, "height": 300}},
            {"filename": "logo.png", "role": "logo", "locked_asset": true, "can_transform": false,
             "preservation_notes": "never recolour", "rights": {"status": logo_rights, "holder": "Acme Inc."}},
        ]
    })
}

pub(crate) async fn start_session(
    app: &TestApp,
    campaign: &str,
    meta: &Value,
) -> reqwest::Response {
    app.client
        .post(app.api(&format!("/campaigns/{campaign}/creative-sessions")))
        .bearer_auth(&app.key)
        .multipart(TestApp::multipart(
            meta,
            &[
                ("product.png", png(&photo(800, 600))),
                ("logo.png", png(&logo())),
            ],
        ))
        .send()
        .await
        .unwrap()
}

async fn session(app: &TestApp, campaign: &str, logo_rights: &str) -> Value {
    let res = start_session(app, campaign, &metadata(logo_rights)).await;
    let body = body_of(res, StatusCode::CREATED).await;
    crate::openapi::assert_conforms(
        "POST",
        "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions",
        201,
        &body,
    );
    body
}

pub(crate) async fn fetch_png(app: &TestApp, url: &str) -> RgbaImage {
    image::load_from_memory(&app.fetch_bytes(url).await)
        .unwrap()
        .to_rgba8()
}

pub(crate) fn placement<'v>(variant: &'v Value, role: &str) -> &'v Value {
    variant["placements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == role)
        .unwrap_or_else(|| panic!("no {role} in {variant}"))
}

fn u(v: &Value) -> u32 {
    v.as_u64().unwrap() as u32
}

/// The logo region of a rendered draft is exactly the source logo scaled uniformly (same filter).
pub(crate) async fn assert_logo_pixel_identical(app: &TestApp, variant: &Value) {
    let p = placement(variant, "logo");
    // The built-in compositor letterboxes; an agent reports the region it drew.
    assert!(p["fit"] == "contain" || p["fit"] == "reported", "{p}");
    let (x, y, w, h) = (u(&p["x"]), u(&p["y"]), u(&p["width"]), u(&p["height"]));
    // Uniform: the drawn size keeps the logo's 5:2 shape within a pixel's rounding.
    let expected_h = w as f64 * 80.0 / 200.0;
    assert!((h as f64 - expected_h).abs() <= 1.0, "{w}x{h} is not 5:2");
    assert!(w <= u(&p["box_width"]) && h <= u(&p["box_height"]));
    let rendered = fetch_png(app, variant["preview_url"].as_str().unwrap()).await;
    let expected = image::imageops::resize(&logo(), w, h, FilterType::Triangle);
    for (dx, dy, px) in expected.enumerate_pixels() {
        assert_eq!(
            rendered.get_pixel(x + dx, y + dy),
            px,
            "variant {} ({}) logo pixel {dx},{dy}",
            variant["variant_id"],
            variant["format_id"]["id"]
        );
    }
}

/// Every staged evaluation of a draft passed (no warning, no failure).
pub(crate) fn assert_every_check_passes(v: &Value) {
    assert!(
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "pass"),
        "{v}"
    );
}

pub(crate) fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn missing(app: &TestApp, campaign: &str) -> Vec<String> {
    let c: Value = app
        .get(&format!("/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    ids(&c["creativeFormats"]["missing"])
}

fn variant_of<'v>(s: &'v Value, format: &str, layout: &str) -> &'v Value {
    s["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["format_id"]["id"] == format && v["lineage"]["parameters"]["layout"] == layout)
        .unwrap_or_else(|| panic!("no {format} {layout}"))
}

/// One session's gestures over HTTP (show, refine, approve, finalize), addressed once, so a test
/// reads as the journey it walks.
pub(crate) struct Journey<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) campaign: String,
    pub(crate) sid: String,
}

impl<'a> Journey<'a> {
    pub(crate) fn of(app: &'a TestApp, campaign: &str, session: &Value) -> Journey<'a> {
        Journey {
            app,
            campaign: campaign.to_owned(),
            sid: session["session_id"].as_str().unwrap().to_owned(),
        }
    }

    pub(crate) fn path(&self, tail: &str) -> String {
        format!(
            "/campaigns/{}/creative-sessions/{}{tail}",
            self.campaign, self.sid
        )
    }

    /// `GET` the session (200 asserted).
    pub(crate) async fn show(&self) -> Value {
        let res = self.app.get(&self.path("")).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub(crate) async fn refine(&self, variant_id: &Value, feedback: &str) -> reqwest::Response {
        self.app
            .post_json(
                &self.path("/refine"),
                &json!({"variant_id": variant_id, "feedback": feedback}),
            )
            .await
    }

    /// Approves a draft (200 asserted).
    pub(crate) async fn approve(&self, variant_id: &Value) {
        let vid = variant_id.as_str().unwrap();
        let res = self
            .app
            .post_json(&self.path(&format!("/variants/{vid}/approve")), &json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    pub(crate) async fn finalize(&self, body: &Value) -> reqwest::Response {
        self.app.post_json(&self.path("/finalize"), body).await
    }

    /// Approves then finalizes a variant (for `formats`, or its own when empty): the 201 answer.
    pub(crate) async fn approve_and_finalize(&self, variant_id: &Value, formats: &[&str]) -> Value {
        self.approve(variant_id).await;
        let mut body = json!({"variant_id": variant_id});
        if !formats.is_empty() {
            body["format_ids"] = json!(formats.iter().map(|f| fid(f)).collect::<Vec<_>>());
        }
        let res = self.finalize(&body).await;
        let f = body_of(res, StatusCode::CREATED).await;
        crate::openapi::assert_conforms(
            "POST",
            "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}/finalize",
            201,
            &f,
        );
        f
    }
}

/// The variants of a session answer that `finalize` turned into manifests.
pub(crate) fn finalized(s: &Value) -> Vec<&Value> {
    s["variants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "finalized")
        .collect()
}

#[tokio::test]
async fn drafts_cover_the_missing_formats_with_the_locked_logo_untouched() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let s = session(&app, &campaign, "cleared").await;

    assert_eq!(s["status"], "open");
    assert_eq!(s["adapter"], "builtin");
    assert_eq!(s["rendering_model"], "compositing");
    assert_eq!(
        ids(&s["target_format_ids"]),
        THREE,
        "defaults to the missing formats"
    );
    let assets = s["asset_store"]["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 2);
    assert_eq!(
        (assets[1]["width"].as_u64(), assets[1]["height"].as_u64()),
        (Some(200), Some(80))
    );
    assert_eq!(assets[1]["checksum"].as_str().unwrap().len(), 64);
    assert_eq!(assets[1]["rights"]["holder"], "Acme Inc.");
    assert_eq!(assets[0]["source"], "upload");

    let variants = s["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 12, "four layouts for each of three formats");
    for v in variants {
        assert_eq!(v["status"], "draft");
        let (w, h) = match v["format_id"]["id"].as_str().unwrap() {
            "display_300x250" => (300, 250),
            "display_728x90" => (728, 90),
            "display_320x50" => (320, 50),
            other => panic!("{other}"),
        };
        let image = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "image")
            .unwrap();
        assert_eq!(
            (image["width"].as_u64(), image["height"].as_u64()),
            (Some(w), Some(h))
        );
        let html = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "html5")
            .unwrap();
        let page = app.fetch_text(html["url"].as_str().unwrap()).await;
        assert!(
            page.contains("clickTag") && page.contains("art.png"),
            "{page}"
        );
        assert_eq!(
            fetch_png(&app, v["preview_url"].as_str().unwrap())
                .await
                .dimensions(),
            (w as u32, h as u32)
        );
        assert_logo_pixel_identical(&app, v).await;
        // Every check is shown on drafts as a badge.
        let checks: Vec<&str> = v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["check"].as_str().unwrap())
            .collect();
        assert_eq!(
            checks,
            [
                "core_readiness",
                "asset_fidelity",
                "rights",
                "format",
                "brand_brief",
                "policy_safety"
            ]
        );
        assert_every_check_passes(v);
        assert_eq!(v["lineage"]["source_assets"].as_array().unwrap().len(), 2);
    }
    assert_eq!(s["evaluations"]["checks"]["asset_fidelity"]["pass"], 12);
    // Drafts are not manifests: the campaign still misses all three.
    assert_eq!(missing(&app, &campaign).await, THREE);
    assert_eq!(app.count_rows("creatives").await, 0);
}

#[tokio::test]
async fn refine_bigger_logo_branches_with_lineage_and_unknown_words_are_reported() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let s = session(&app, &campaign, "cleared").await;
    let journey = Journey::of(&app, &campaign, &s);
    let parent = variant_of(&s, "display_300x250", "split");
    let pid = &parent["variant_id"];

    let res = journey
        .refine(pid, "Bigger logo, and make it sing like Sinatra")
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r: Value = res.json().await.unwrap();
    crate::openapi::assert_conforms(
        "POST",
        "/api/v2/buyer/campaigns/{campaign_id}/creative-sessions/{session_id}/refine",
        201,
        &r,
    );
    assert_eq!(r["understood"], json!(["bigger logo"]));
    assert_eq!(r["not_understood"], json!(["make it sing like sinatra"]));
    let child = &r["variants"][0];
    assert_eq!(child["format_id"]["id"], "display_300x250");
    assert_eq!(child["lineage"]["parent_variant_id"], *pid);
    assert_eq!(
        child["lineage"]["feedback"],
        "Bigger logo, and make it sing like Sinatra"
    );
    assert_eq!(child["lineage"]["instructions"], json!(["bigger logo"]));
    assert!(
        child["lineage"]["parameters"]["logo_scale"]
            .as_f64()
            .unwrap()
            > 1.0
    );
    let (a, b) = (placement(parent, "logo"), placement(child, "logo"));
    assert!(
        u(&b["box_width"]) > u(&a["box_width"]) && u(&b["box_height"]) > u(&a["box_height"]),
        "{a} -> {b}"
    );
    assert!(
        u(&b["width"]) > u(&a["width"]),
        "the drawn logo grew: {a} -> {b}"
    );
    assert_logo_pixel_identical(&app, child).await;

    // Nothing understood: said plainly, nothing made.
    let e = error_of(
        journey.refine(pid, "more synergy").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "feedback");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("not understood: \"more synergy\"") && msg.contains("bigger logo"),
        "{msg}"
    );
    let now = journey.show().await;
    assert_eq!(now["variants"].as_array().unwrap().len(), 13);

    // Other instructions move their own knobs.
    let res = journey
        .refine(
            &child["variant_id"],
            "shorter headline; darker background; less busy",
        )
        .await;
    let r: Value = res.json().await.unwrap();
    let grandchild = &r["variants"][0];
    assert_eq!(
        grandchild["lineage"]["parent_variant_id"],
        child["variant_id"]
    );
    assert_eq!(
        grandchild["texts"]["headline"],
        "Fresh roasted coffee, delivered"
    );
    assert!(grandchild["texts"]["body"].is_null());
    assert_eq!(
        grandchild["lineage"]["parameters"]["logo_scale"],
        child["lineage"]["parameters"]["logo_scale"]
    );
}

#[tokio::test]
async fn finalize_saves_manifests_covering_the_three_formats_with_lineage() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let s = session(&app, &campaign, "unknown").await;
    let journey = Journey::of(&app, &campaign, &s);
    let chosen = variant_of(&s, "display_300x250", "product_hero");
    let vid = &chosen["variant_id"];
    // Rights unknown: a warning badge, not a block.
    let rights = chosen["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["check"] == "rights")
        .unwrap();
    assert_eq!(rights["status"], "warn");

    let e = error_of(
        journey.finalize(&json!({"variant_id": vid})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("approved"), "{e}");

    let f = journey.approve_and_finalize(vid, &THREE).await;
    let manifests = f["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 3);
    for (m, format) in manifests.iter().zip(THREE) {
        assert_eq!(m["format_id"]["id"], format, "{m}");
        assert!(
            ids(&m["target_format_ids"]).contains(&format.to_owned()),
            "{m}"
        );
        assert!(m["preview_url"].is_string());
    }
    assert!(f["review_notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("rights status unknown")));
    assert_eq!(
        missing(&app, &campaign).await,
        Vec::<String>::new(),
        "coverage moved"
    );

    // The session knows what became of the direction: one finalized variant per format, sharing it.
    let s = journey.show().await;
    assert_eq!(f["session"], s, "finalize answers the session as stored");
    assert_eq!(s["status"], "finalized");
    let finalized = finalized(&s);
    assert_eq!(finalized.len(), 3);
    let direction = &chosen["lineage"]["direction_id"];
    assert!(finalized
        .iter()
        .all(|v| v["lineage"]["direction_id"] == *direction));
    let renders = &variant_of(&s, "display_300x250", "product_hero")["format_renders"];
    assert_eq!(renders.as_array().unwrap().len(), 3, "{renders}");
    let created: Vec<&str> = manifests
        .iter()
        .map(|m| m["creative_id"].as_str().unwrap())
        .collect();
    for r in renders.as_array().unwrap() {
        assert!(created.contains(&r["creative_id"].as_str().unwrap()));
    }

    // Discarding the session keeps the manifests.
    let res = app.delete(&journey.path("")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("creatives").await, 3);
    let res = app.get(&journey.path("")).await;
    error_of(res, StatusCode::NOT_FOUND).await;
    // The drafts' objects went with it; the manifests' stayed.
    assert!(app
        .stored_objects()
        .await
        .iter()
        .all(|k| !k.starts_with("sessions/")));
}

#[tokio::test]
async fn restricted_rights_block_finalize_with_the_reason() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let s = session(&app, &campaign, "restricted").await;
    let journey = Journey::of(&app, &campaign, &s);
    let v = variant_of(&s, "display_728x90", "text_only");
    let vid = &v["variant_id"];
    // On a draft the failure is a badge.
    let rights = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["check"] == "rights")
        .unwrap();
    assert_eq!(
        (
            rights["status"].as_str(),
            rights["blocks_finalize"].as_bool()
        ),
        (Some("fail"), Some(true))
    );
    journey.approve(vid).await;
    let res = journey.finalize(&json!({"variant_id": vid})).await;
    let e = error_of(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(e["code"], "FINALIZE_BLOCKED");
    let reasons = e["details"]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("src2: rights are restricted (holder: Acme Inc.)")),
        "{e}"
    );
    assert_eq!(app.count_rows("creatives").await, 0);
    assert_eq!(missing(&app, &campaign).await, THREE);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let s = session(&app, &campaign, "cleared").await;
    let sid = s["session_id"].as_str().unwrap().to_owned();
    let app = app.restart().await;
    let journey = Journey::of(&app, &campaign, &s);
    let again = journey.show().await;
    assert_eq!(again, s);
    let list: Value = app
        .get(&format!("/campaigns/{campaign}/creative-sessions"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["session_id"], sid.as_str());
    // Its drafts are still served, and it can still be refined after the restart.
    let v = variant_of(&again, "display_320x50", "full_bleed");
    assert_logo_pixel_identical(&app, v).await;
    let res = journey.refine(&v["variant_id"], "smaller logo").await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_draft_never_reaches_a_seller_and_the_finalized_manifest_does() {
    let app = TestApp::spawn().await;
    let seller = Seller::start(library_seller()).await;
    let agent = add_seller(&app, &seller, json!({"has_creative_library": true})).await;
    let campaign = campaign(&app, &[&agent]).await;
    let s = session(&app, &campaign, "cleared").await;
    assert_eq!(ids(&s["target_format_ids"]), ["display_300x250"]);
    // An ordinary manifest beside the drafts, so the execute below really propagates: an
    // execute with nothing to send could not show that drafts are left out.
    let ordinary = banner(&app, &campaign, "Ordinary banner").await;
    execute(&app, &campaign).await;
    app.run_jobs().await;
    assert_eq!(
        seller.library().keys().cloned().collect::<Vec<_>>(),
        vec![ordinary.clone()],
        "the ordinary manifest reached the seller, no draft did"
    );

    let vid = &variant_of(&s, "display_300x250", "split")["variant_id"];
    let f = Journey::of(&app, &campaign, &s)
        .approve_and_finalize(vid, &[])
        .await;
    let creative = f["manifests"][0]["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_jobs().await;
    let mut expected = vec![ordinary, creative];
    expected.sort();
    assert_eq!(
        seller.library().keys().cloned().collect::<Vec<_>>(),
        expected,
        "the finalized manifest follows the ordinary one, still no draft"
    );
}

#[tokio::test]
async fn bad_session_requests_are_refused_without_leftovers() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let mut meta = metadata("cleared");
    meta["headline"] = json!("");
    let e = error_of(
        start_session(&app, &campaign, &meta).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "headline");

    let mut meta = metadata("cleared");
    meta["source_assets"][0]["filename"] = json!("nope.png");
    let e = error_of(
        start_session(&app, &campaign, &meta).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "source_assets[0].filename");

    let mut meta = metadata("cleared");
    meta["source_assets"][0]["render_crop"] = json!({"x": 700, "y": 0, "width": 200, "height": 10});
    let e = error_of(
        start_session(&app, &campaign, &meta).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "source_assets[0].render_crop");

    let mut meta = metadata("cleared");
    meta["target_format_ids"] = json!([fid("video_standard_30s")]);
    let e = error_of(
        start_session(&app, &campaign, &meta).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "target_format_ids");

    let mut meta = metadata("cleared");
    meta["adapter"] = json!("dall-e");
    let e = error_of(
        start_session(&app, &campaign, &meta).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "adapter");

    // Masks: never on a locked asset, the size of their source, an uploaded file that exists.
    let grey = grey_png(&mask_of(800, 600));
    for (i, mask, file, says) in [
        (1, "cut.png", grey.clone(), "never masked"),
        (0, "cut.png", grey_png(&mask_of(400, 300)), "400x300"),
        (
            0,
            "missing.png",
            grey.clone(),
            "no uploaded file named 'missing.png'",
        ),
    ] {
        let mut meta = metadata("cleared");
        meta["source_assets"][i]["mask"] = json!(mask);
        let res = app
            .client
            .post(app.api(&format!("/campaigns/{campaign}/creative-sessions")))
            .bearer_auth(&app.key)
            .multipart(TestApp::multipart(
                &meta,
                &[
                    ("product.png", png(&photo(800, 600))),
                    ("logo.png", png(&logo())),
                    ("cut.png", file),
                ],
            ))
            .send()
            .await
            .unwrap();
        let e = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(e["field"], format!("source_assets[{i}].mask"), "{e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{e}");
    }

    // A text file posing as a picture.
    let res = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creative-sessions")))
        .bearer_auth(&app.key)
        .multipart(TestApp::multipart(
            &metadata("cleared"),
            &[
                ("product.png", b"not a picture".to_vec()),
                ("logo.png", png(&logo())),
            ],
        ))
        .send()
        .await
        .unwrap();
    error_of(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    assert_eq!(app.count_rows("creative_sessions").await, 0);
    assert!(app.stored_objects().await.is_empty());
    assert_eq!(app.count_rows("pending_objects").await, 0);
}

/// White over the red product of [`photo`] (a disc a little inside it), black elsewhere.
pub(crate) fn mask_of(w: u32, h: u32) -> image::GrayImage {
    image::GrayImage::from_fn(w, h, |x, y| {
        let (cx, cy) = (x as i64 - w as i64 / 2, y as i64 - h as i64 / 2);
        image::Luma([if cx * cx + cy * cy < (h as i64 / 4 - 4).pow(2) {
            255
        } else {
            0
        }])
    })
}

pub(crate) fn grey_png(img: &image::GrayImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A product shot in a studio: the red product of [`photo`] on a flat green backdrop, a colour
/// nothing else in a draft has (texts are white over blue, the logo yellow, black and white).
fn studio(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let (cx, cy) = (x as i64 - w as i64 / 2, y as i64 - h as i64 / 2);
        if cx * cx + cy * cy < (h as i64 / 4).pow(2) {
            Rgba([200, 30, 40, 255])
        } else {
            Rgba([0, 200, 0, 255])
        }
    })
}

/// Pixels of every variant's image: (the studio's backdrop, the red product).
pub(crate) async fn backdrop_and_product_pixels(app: &TestApp, s: &Value) -> (usize, usize) {
    let mut counts = (0, 0);
    for v in s["variants"].as_array().unwrap() {
        let img = fetch_png(app, v["preview_url"].as_str().unwrap()).await;
        for p in img.pixels() {
            if p[1] >= 60 && p[0] <= p[1] / 3 && p[2] <= p[1] / 3 {
                counts.0 += 1;
            }
            if p[0] >= 190 && p[1] <= 40 && p[2] <= 50 {
                counts.1 += 1;
            }
        }
    }
    counts
}

/// A session of the product shot in the studio and the logo, with `mask` on the product if any.
pub(crate) async fn studio_session(
    app: &TestApp,
    campaign: &str,
    adapter: Option<&str>,
    mask: Option<Vec<u8>>,
) -> Value {
    let mut meta = metadata("cleared");
    if let Some(a) = adapter {
        meta["adapter"] = json!(a);
    }
    let mut files = vec![
        ("product.png", png(&studio(800, 600))),
        ("logo.png", png(&logo())),
    ];
    if let Some(m) = mask {
        meta["source_assets"][0]["mask"] = json!("cut.png");
        files.push(("cut.png", m));
    }
    let res = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creative-sessions")))
        .bearer_auth(&app.key)
        .multipart(TestApp::multipart(&meta, &files))
        .send()
        .await
        .unwrap();
    let s = body_of(res, StatusCode::CREATED).await;
    s
}

/// A mask cuts the product out of its studio backdrop: no pixel of the backdrop is drawn in any
/// variant, the product still is; the mask is stored beside its source and survives a refine.
#[tokio::test]
async fn a_mask_cuts_the_product_out_of_its_backdrop_in_every_variant() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let plain = studio_session(&app, &campaign, None, None).await;
    let (backdrop, product) = backdrop_and_product_pixels(&app, &plain).await;
    assert!(backdrop > 1_000 && product > 1_000, "{backdrop} {product}");

    let mask = grey_png(&mask_of(800, 600));
    let cut = studio_session(&app, &campaign, None, Some(mask.clone())).await;
    let asset = &cut["asset_store"]["assets"][0];
    assert_eq!(asset["mask"], "cut.png");
    let stored = app
        .fetch_bytes(asset["mask_file"]["url"].as_str().unwrap())
        .await;
    assert_eq!(stored, mask);
    assert!(cut["renderer_capabilities"]["honours"]
        .as_array()
        .unwrap()
        .contains(&json!("mask")));
    let (backdrop, product) = backdrop_and_product_pixels(&app, &cut).await;
    assert_eq!(backdrop, 0, "no backdrop pixel is drawn");
    assert!(product > 1_000, "{product}");

    // A refinement reads the mask back from the store and applies it again.
    let v = &cut["variants"][0];
    let res = Journey::of(&app, &campaign, &cut)
        .refine(&v["variant_id"], "more prominent product")
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let refined: Value = res.json().await.unwrap();
    assert_eq!(refined["variants"].as_array().unwrap().len(), 1);
    let (backdrop, product) = backdrop_and_product_pixels(&app, &refined).await;
    assert_eq!(backdrop, 0, "no backdrop pixel after a refine");
    assert!(product > 100, "{product}");
}

/// The public URL of `bytes` stored as a manifest of `campaign`: a picture "somewhere on the web"
/// for sessions that take URL sources.
async fn hosted(app: &TestApp, campaign: &str, name: &str, bytes: Vec<u8>) -> String {
    let m = app
        .create_manifest(
            campaign,
            &json!({"name": name, "assets": [{"filename": name}], "target_format_ids": []}),
            &[(name, bytes)],
        )
        .await;
    m["assets"][0]["public_url"].as_str().unwrap().to_owned()
}

/// In a JSON request the mask is a URL, fetched through the guard like its source.
#[tokio::test]
async fn a_mask_by_url_is_fetched_and_applied() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    // The product shot and its mask somewhere on the web (here: hosted by the service itself).
    let hosted = [
        hosted(&app, &campaign, "shot.png", png(&studio(800, 600))).await,
        hosted(&app, &campaign, "cut.png", grey_png(&mask_of(800, 600))).await,
    ];
    let body = json!({
        "headline": "Fresh roasted coffee",
        "target_format_ids": [fid("display_300x250")],
        "source_assets": [{"url": hosted[0], "role": "product", "mask": hosted[1],
                           "rights": {"status": "cleared"}}],
    });
    let res = app
        .post_json(&format!("/campaigns/{campaign}/creative-sessions"), &body)
        .await;
    let s = body_of(res, StatusCode::CREATED).await;
    assert_eq!(s["asset_store"]["assets"][0]["mask"], hosted[1].as_str());
    let (backdrop, product) = backdrop_and_product_pixels(&app, &s).await;
    assert_eq!(backdrop, 0, "no backdrop pixel is drawn");
    assert!(product > 1_000, "{product}");
}

#[tokio::test]
async fn removing_the_campaign_or_a_finalized_manifest_cleans_up_after_sessions() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    let s = session(&app, &campaign, "cleared").await;
    let journey = Journey::of(&app, &campaign, &s);
    let vid = &variant_of(&s, "display_728x90", "split")["variant_id"];
    let f = journey.approve_and_finalize(vid, &[]).await;
    let creative = f["manifests"][0]["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.count_rows("creative_lineage").await, 1);
    // A second finalize of another variant writes the session back with the first one finalized.
    let other = &variant_of(&s, "display_320x50", "split")["variant_id"];
    let other_creative = journey.approve_and_finalize(other, &[]).await["manifests"][0]
        ["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .delete(&format!("/campaigns/{campaign}/creatives/{other_creative}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The manifest deleted: its lineage goes, and the variant is approved again, not finalized.
    let res = app
        .delete(&format!("/campaigns/{campaign}/creatives/{creative}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("creative_lineage").await, 0);
    let s = journey.show().await;
    assert_eq!(s["status"], "open");
    assert_eq!(
        variant_of(&s, "display_728x90", "split")["status"],
        "approved"
    );

    // The campaign removed: its sessions and every draft object with it.
    assert!(app
        .stored_objects()
        .await
        .iter()
        .any(|k| k.starts_with("sessions/")));
    let res = app.delete(&format!("/campaigns/{campaign}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("creative_sessions").await, 0);
    assert!(
        app.stored_objects().await.is_empty(),
        "{:?}",
        app.stored_objects().await
    );
}

#[tokio::test]
async fn json_sessions_fetch_url_sources_through_the_guard_and_html_formats_finalize_as_html5() {
    let app = TestApp::spawn().await;
    let campaign = campaign_missing_three(&app).await;
    // A picture somewhere on the web (here: a creative the service itself hosts).
    let logo_url = hosted(&app, &campaign, "logo.png", png(&logo())).await;
    let body = json!({
        "headline": "Fresh roasted coffee",
        "cta": "Order now",
        "target_format_ids": [fid("display_300x250_html")],
        "source_assets": [{"url": logo_url, "role": "logo", "locked_asset": true, "rights": {"status": "cleared"}}],
    });
    let res = app
        .post_json(&format!("/campaigns/{campaign}/creative-sessions"), &body)
        .await;
    let s = body_of(res, StatusCode::CREATED).await;
    let asset = &s["asset_store"]["assets"][0];
    assert_eq!(
        (asset["source"].as_str(), asset["origin"].as_str()),
        (Some("url"), Some(logo_url.as_str()))
    );
    let v = &s["variants"][0];
    assert_logo_pixel_identical(&app, v).await;
    let f = Journey::of(&app, &campaign, &s)
        .approve_and_finalize(&v["variant_id"], &[])
        .await;
    let m = &f["manifests"][0];
    assert_eq!(m["format_id"]["id"], "display_300x250_html");
    let kinds: Vec<&str> = m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["HTML", "IMAGE"], "{m}");
    // It went through the normal HTML processing: the art reference now points at the CDN.
    assert_eq!(
        m["html_processing"]["rewritten_refs"][0]["original"], "art.png",
        "{m}"
    );

    // A DAM or CDN link that redirects is followed (each hop through the guard) to the picture.
    let moved = redirect_to(&logo_url).await;
    let mut via = body.clone();
    via["source_assets"][0]["url"] = json!(moved);
    let res = app
        .post_json(&format!("/campaigns/{campaign}/creative-sessions"), &via)
        .await;
    let s = body_of(res, StatusCode::CREATED).await;
    assert_eq!(s["asset_store"]["assets"][0]["origin"], moved.as_str());
    assert_logo_pixel_identical(&app, &s["variants"][0]).await;

    // Without the lab switch, a private address is refused before any fetch.
    let app = app.restart_with(|c| c.outbound_allow_private = false).await;
    let res = app
        .post_json(&format!("/campaigns/{campaign}/creative-sessions"), &body)
        .await;
    let e = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(e["field"], "source_assets[0].url");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{e}"
    );
}

/// A stand-in link shortener on loopback: every path answers 307 to `target`.
async fn redirect_to(target: &str) -> String {
    let target = target.to_owned();
    let app = axum::Router::new().fallback(move || {
        let target = target.clone();
        async move { axum::response::Redirect::temporary(&target) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/l/logo")
}
