//! The buyer's story: which formats does my campaign still lack?

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, fixture, TestApp};

const STANDARD: &str = "https://creative.adcontextprotocol.org";

fn fid(id: &str) -> Value {
    json!({"agent_url": STANDARD, "id": id})
}

async fn campaign_needing(
    app: &TestApp,
    format_ids: Vec<Value>,
    format_kinds: Vec<Value>,
) -> String {
    let agent = app.create_sales_agent("Seller").await;
    let res = app
        .post_json(
            "/campaigns",
            &json!({"name": "Coverage", "brand_domain": "acme.com", "products": [
                {"product_id": "p1", "sales_agent_id": agent["sales_agent_id"], "format_ids": format_ids, "format_kinds": format_kinds},
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["campaign_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn formats_of(app: &TestApp, campaign: &str) -> Value {
    let c: Value = app
        .get(&format!("/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    c["creativeFormats"].clone()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["id"]
                .as_str()
                .or(f["format_kind"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn coverage_follows_uploads_and_deletes() {
    let app = TestApp::spawn().await;
    let campaign = campaign_needing(
        &app,
        vec![
            fid("display_300x250"),
            fid("display_728x90"),
            fid("video_standard_30s"),
        ],
        vec![],
    )
    .await;
    let f = formats_of(&app, &campaign).await;
    assert_eq!(
        ids(&f["required"]),
        ["display_300x250", "display_728x90", "video_standard_30s"]
    );
    assert_eq!(ids(&f["covered"]), Vec::<String>::new());
    assert_eq!(
        ids(&f["missing"]),
        ["display_300x250", "display_728x90", "video_standard_30s"]
    );

    let image = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "MPU", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    assert!(
        image["target_format_ids"]
            .as_array()
            .unwrap()
            .contains(&fid("display_300x250")),
        "{}",
        image["target_format_ids"]
    );
    let f = formats_of(&app, &campaign).await;
    assert_eq!(ids(&f["covered"]), ["display_300x250"]);
    assert_eq!(ids(&f["missing"]), ["display_728x90", "video_standard_30s"]);

    let video = app
        .create_manifest(
            &campaign,
            &json!({"name": "Spot", "assets": [{"filename": "v.mp4"}]}),
            &[("v.mp4", fixture("video_64x36_15s.mp4"))],
        )
        .await;
    let f = formats_of(&app, &campaign).await;
    assert_eq!(
        ids(&f["missing"]),
        ["display_728x90", "video_standard_30s"],
        "a 15 s video does not cover 30 s"
    );

    let verdict: Value = app
        .post_json(
            &format!("/campaigns/{campaign}/creatives/validate"),
            &json!({"creative_id": video["creative_id"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let results = verdict["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "one result per required format, in order");
    assert_eq!(results[2]["target"], fid("video_standard_30s"));
    assert_eq!(results[2]["status"], "validated_fail");
    let v = &results[2]["violations"][0];
    assert_eq!(v["field"], "assets.video_file.duration_ms");
    assert_eq!(v["rule"], "duration");
    assert_eq!(v["actual"].as_u64().unwrap() / 1000, 15);
    assert_eq!(v["expected"], json!({"min": 29500, "max": 30500}));

    let res = app
        .delete(&format!(
            "/campaigns/{campaign}/creatives/{}",
            image["creative_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let f = formats_of(&app, &campaign).await;
    assert_eq!(
        ids(&f["covered"]),
        Vec::<String>::new(),
        "deleting the manifest uncovers its format"
    );

    app.create_manifest(
        &campaign,
        &json!({"name": "Spot 30", "assets": [{"filename": "v.mp4"}]}),
        &[("v.mp4", fixture("video_64x36_30s.mp4"))],
    )
    .await;
    assert_eq!(
        ids(&formats_of(&app, &campaign).await["covered"]),
        ["video_standard_30s"]
    );
}

#[tokio::test]
async fn kinds_and_product_changes_keep_coverage_current() {
    let app = TestApp::spawn().await;
    let campaign = campaign_needing(
        &app,
        vec![],
        vec![json!({"format_kind": "video_hosted", "params": {"duration_ms": 30000}})],
    )
    .await;
    app.create_manifest(
        &campaign,
        &json!({"name": "15", "assets": [{"filename": "v.mp4"}]}),
        &[("v.mp4", fixture("video_64x36_15s.mp4"))],
    )
    .await;
    assert_eq!(
        ids(&formats_of(&app, &campaign).await["missing"]),
        ["video_hosted"]
    );
    app.create_manifest(
        &campaign,
        &json!({"name": "30", "assets": [{"filename": "v.mp4"}]}),
        &[("v.mp4", fixture("video_64x36_30s.mp4"))],
    )
    .await;
    assert_eq!(
        ids(&formats_of(&app, &campaign).await["covered"]),
        ["video_hosted"]
    );

    let agent = app.create_sales_agent("Second").await;
    let res = app
        .patch_json(&format!("/campaigns/{campaign}"), &json!({"products": [
            {"product_id": "leaderboard", "sales_agent_id": agent["sales_agent_id"], "format_ids": [fid("display_728x90")]}
        ]}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let c: Value = res.json().await.unwrap();
    assert_eq!(
        ids(&c["creativeFormats"]["missing"]),
        ["display_728x90"],
        "the new product's format shows at once"
    );
    app.create_manifest(
        &campaign,
        &json!({"name": "LB", "assets": [{"filename": "l.gif"}]}),
        &[("l.gif", fixture("image_728x90.gif"))],
    )
    .await;
    let f = formats_of(&app, &campaign).await;
    assert_eq!(ids(&f["covered"]), ["display_728x90"]);
    assert_eq!(f["missing"], json!([]));
    let err = error_of(
        app.patch_json(
            &format!("/campaigns/{campaign}"),
            &json!({"products": [{"product_id": "x", "sales_agent_id": "sa_nope"}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "products[0].sales_agent_id");
}

#[tokio::test]
async fn templates_list_campaign_formats_and_per_product_coverage() {
    let app = TestApp::spawn().await;
    let agent = app.create_sales_agent("Seller").await;
    let sa = agent["sales_agent_id"].clone();
    let res = app
        .post_json("/campaigns", &json!({"name": "T", "brand_domain": "acme.com", "products": [
            {"product_id": "a", "sales_agent_id": sa, "format_ids": [fid("display_300x250"), fid("display_728x90")]},
            {"product_id": "b", "sales_agent_id": sa, "format_ids": [fid("display_300x250")]}
        ]}))
        .await;
    let campaign = res.json::<Value>().await.unwrap()["campaign_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_png_manifest(
        &campaign,
        &json!({"name": "MPU", "assets": [{"filename": "a.png"}]}),
    )
    .await;
    let t: Value = app
        .get(&format!("/campaigns/{campaign}/creatives/templates"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        ids(&t["campaign_format_ids"]),
        ["display_300x250", "display_728x90"],
        "deduplicated"
    );
    let templates: Vec<&str> = t["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["template_id"].as_str().unwrap())
        .collect();
    for id in [
        "display_image",
        "display_html",
        "video_standard",
        "video_vast",
        "audio_standard",
    ] {
        assert!(templates.contains(&id), "{id}");
    }
    // The same catalogue is served without a campaign, for choosing a template_id up front.
    let res = app.get("/templates").await;
    assert_eq!(res.status(), StatusCode::OK);
    let alone: Value = res.json().await.unwrap();
    assert_eq!(alone, json!({"templates": t["templates"]}));
    let a = &t["campaign_products"][0];
    assert_eq!(ids(&a["covered"]), ["display_300x250"]);
    assert_eq!(ids(&a["missing"]), ["display_728x90"]);
    assert_eq!(
        ids(&t["campaign_products"][1]["missing"]),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn validate_dry_runs_a_would_be_manifest_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let campaign = campaign_needing(
        &app,
        vec![fid("display_300x250"), fid("display_728x90")],
        vec![],
    )
    .await;
    let form = TestApp::multipart(
        &json!({"name": "Try", "assets": [{"filename": "a.png"}]}),
        &[("a.png", fixture("image_300x250.png"))],
    );
    let res = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creatives/validate")))
        .bearer_auth(&app.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let verdict: Value = res.json().await.unwrap();
    let statuses: Vec<&str> = verdict["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["validated_pass", "validated_fail"]);
    assert_eq!(
        verdict["results"][1]["violations"][0]["field"],
        "assets.banner_image.width"
    );
    app.assert_nothing_stored().await;

    // Explicit targets, in the order given.
    let form = TestApp::multipart(
        &json!({"name": "Try", "assets": [{"filename": "a.gif"}], "target_format_ids": [fid("display_728x90"), fid("display_160x600")]}),
        &[("a.gif", fixture("image_728x90.gif"))],
    );
    let verdict: Value = app
        .client
        .post(app.api(&format!("/campaigns/{campaign}/creatives/validate")))
        .bearer_auth(&app.key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = verdict["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["validated_pass", "validated_fail"]);
    app.assert_nothing_stored().await;
    let err = error_of(
        app.post_json(
            &format!("/campaigns/{campaign}/creatives/validate"),
            &json!({"creative_id": "cr_0123456789abcdef0123456789abcdef"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(err["code"], "NOT_FOUND");
}

#[tokio::test]
async fn chosen_target_formats_are_kept_and_checked() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(&campaign, &json!({"name": "Chosen", "target_format_ids": [fid("display_728x90")], "assets": [{"filename": "a.png"}]}),)
        .await;
    assert_eq!(
        m["target_format_ids"],
        json!([fid("display_728x90")]),
        "the buyer's choice is kept"
    );
    let warnings = m["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].as_str().unwrap().contains("display_728x90"),
        "{warnings:?}"
    );
}

/// A page sized only by `<meta name="ad.size">` fits the HTML format of that size and no other,
/// and every path that judges it says so alike: the dry run, the stored targets, and the check of
/// the stored manifest (issue 9 item 1: targets were computed before the size was read).
#[tokio::test]
async fn html_sized_by_its_meta_fits_only_its_own_size_everywhere() {
    let app = TestApp::spawn().await;
    let campaign = campaign_needing(
        &app,
        vec![fid("display_300x250_html"), fid("display_728x90_html")],
        vec![],
    )
    .await;
    let page: &[u8] =
        b"<html><head><meta name=\"ad.size\" content=\"width=300,height=250\"></head>\
        <body><script>var clickTag = 'https://acme.com/';</script></body></html>";
    let bundle = crate::processing::zip_of(&[("index.html", page)]);
    for (file, bytes) in [("ad.zip", bundle), ("ad.html", page.to_vec())] {
        let meta = json!({"name": "Sized", "assets": [{"filename": file}]});
        let statuses = |verdict: &Value| -> Vec<String> {
            verdict["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["status"].as_str().unwrap().to_owned())
                .collect()
        };
        let res = app
            .client
            .post(app.api(&format!("/campaigns/{campaign}/creatives/validate")))
            .bearer_auth(&app.key)
            .multipart(TestApp::multipart(&meta, &[(file, bytes.clone())]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let dry: Value = res.json().await.unwrap();
        assert_eq!(
            statuses(&dry),
            ["validated_pass", "validated_fail"],
            "{file}: {dry}"
        );

        let m = app
            .create_manifest(&campaign, &meta, &[(file, bytes)])
            .await;
        let targets: Vec<&str> = m["target_format_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert!(
            targets.contains(&"display_300x250_html"),
            "{file}: {targets:?}"
        );
        assert!(
            !targets.iter().any(|t| t.starts_with("display_728x90")),
            "{file}: {targets:?}"
        );
        let stored: Value = app
            .post_json(
                &format!("/campaigns/{campaign}/creatives/validate"),
                &json!({"creative_id": m["creative_id"]}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(statuses(&stored), statuses(&dry), "{file}: {stored}");
    }
}
