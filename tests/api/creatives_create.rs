use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{fixture, TestApp};
use crate::schemas::assert_valid;

fn asset<'a>(manifest: &'a Value, filename: &str) -> &'a Value {
    manifest["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["original_filename"] == filename)
        .unwrap_or_else(|| panic!("no asset {filename} in {manifest}"))
}

#[tokio::test]
async fn every_supported_file_is_classified_and_measured_from_its_bytes() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    // (fixture, asset_type, content_type, width, height, duration_ms)
    type Expected<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<u64>,
        Option<u64>,
        Option<u64>,
    );
    let expected: &[Expected] = &[
        (
            "image_300x250.png",
            "IMAGE",
            "image/png",
            Some(300),
            Some(250),
            None,
        ),
        (
            "image_300x250.jpg",
            "IMAGE",
            "image/jpeg",
            Some(300),
            Some(250),
            None,
        ),
        (
            "image_728x90.gif",
            "IMAGE",
            "image/gif",
            Some(728),
            Some(90),
            None,
        ),
        (
            "image_160x600.webp",
            "IMAGE",
            "image/webp",
            Some(160),
            Some(600),
            None,
        ),
        (
            "image_300x250.svg",
            "IMAGE",
            "image/svg+xml",
            Some(300),
            Some(250),
            None,
        ),
        (
            "image_viewbox.svg",
            "IMAGE",
            "image/svg+xml",
            Some(320),
            Some(50),
            None,
        ),
        (
            "image_320x240.heic",
            "IMAGE",
            "image/heic",
            Some(320),
            Some(240),
            None,
        ),
        ("logo.png", "LOGO", "image/png", Some(120), Some(60), None),
        (
            "video_64x36_15s.mp4",
            "VIDEO",
            "video/mp4",
            Some(64),
            Some(36),
            Some(15_000),
        ),
        (
            "video_64x36_5s.webm",
            "VIDEO",
            "video/webm",
            Some(64),
            Some(36),
            Some(5_000),
        ),
        (
            "video_64x36_5s.mov",
            "VIDEO",
            "video/quicktime",
            Some(64),
            Some(36),
            Some(5_000),
        ),
        (
            "audio_30s.mp3",
            "AUDIO",
            "audio/mpeg",
            None,
            None,
            Some(30_000),
        ),
        (
            "audio_2s.wav",
            "AUDIO",
            "audio/wav",
            None,
            None,
            Some(2_000),
        ),
        (
            "audio_3s.ogg",
            "AUDIO",
            "audio/ogg",
            None,
            None,
            Some(3_000),
        ),
        (
            "banner.html",
            "HTML",
            "text/html",
            Some(300),
            Some(250),
            None,
        ), // from <meta name="ad.size">
        ("style.css", "CSS", "text/css", None, None, None),
        (
            "script.js",
            "JAVASCRIPT",
            "text/javascript",
            None,
            None,
            None,
        ),
        (
            "vast.xml",
            "VAST",
            "application/xml",
            None,
            None,
            Some(15_000),
        ), // the VAST <Duration>
        ("doc.pdf", "DOCUMENT", "application/pdf", None, None, None),
        ("font.woff2", "FONT", "font/woff2", None, None, None),
    ];
    let files: Vec<(&str, Vec<u8>)> = expected.iter().map(|e| (e.0, fixture(e.0))).collect();
    let entries: Vec<Value> = expected.iter().map(|e| json!({"filename": e.0})).collect();
    let manifest = app
        .create_manifest(
            &campaign,
            &json!({"name": "Everything", "assets": entries}),
            &files,
        )
        .await;
    for (name, kind, mime, w, h, d) in expected {
        let a = asset(&manifest, name);
        assert_eq!(a["asset_type"], *kind, "{name}: {a}");
        assert_eq!(a["content_type"], *mime, "{name}: {a}");
        assert_eq!(a["asset_source"], "upload");
        assert_eq!(a["width"].as_u64(), *w, "{name} width");
        assert_eq!(a["height"].as_u64(), *h, "{name} height");
        match d {
            Some(d) => {
                let got = a["duration_ms"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{name} has no duration: {a}"));
                assert!(
                    got.abs_diff(*d) <= 100,
                    "{name}: duration {got} ms, expected {d}"
                );
            }
            None => assert_eq!(a["duration_ms"], Value::Null, "{name}"),
        }
    }
}

#[tokio::test]
async fn files_are_stored_under_content_hash_keys_and_served_back_byte_for_byte() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let bytes = fixture("image_300x250.png");
    let manifest = app
        .create_manifest(
            &campaign,
            &json!({"name": "Banner", "assets": [{"filename": "evil.png", "label": "Main image", "slot_asset_id": "banner_image"}]}),
            &[("../../etc/evil.png", bytes.clone())],
        )
        .await;
    let a = &manifest["assets"][0];
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(a["sha256"], sha);
    assert_eq!(a["file_size"], bytes.len());
    assert_eq!(a["original_filename"], "evil.png");
    assert_eq!(a["name"], "Main image");
    assert_eq!(a["slot_asset_id"], "banner_image");
    let url = a["public_url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/{sha}.png")), "{url}");
    assert!(
        !url.contains("evil"),
        "the user's filename never names storage: {url}"
    );
    let served = app.client.get(url).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), bytes.as_slice());
    assert_eq!(app.stored_uploads().await.len(), 1);
}

#[tokio::test]
async fn a_manifest_carries_the_full_documented_shape() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let caps = json!([{"max_impressions": 3, "per": "devices", "window": {"interval": 1, "unit": "days"}}, {"suppress": {"interval": 30, "unit": "minutes"}}]);
    let manifest = app
        .create_png_manifest(
            &campaign,
            &json!({
                "name": "Autumn 300x250",
                "message": "Fresh for fall",
                "template_id": "display_image",
                "format_id": {"agent_url": "https://Creative.AdContextProtocol.org/", "id": "display_300x250"},
                "target_format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250", "width": 300, "height": 250}],
                "url_asset": {"url": "https://acme.com/fall?utm={CAMPAIGN_ID}"},
                "url_assets": [{"url": "https://px.example/imp?cb={CACHEBUSTER}", "url_type": "TRACKER_PIXEL"}],
                "text_assets": [{"text": "Shop now", "label": "cta"}],
                "assets": [{"filename": "a.png"}],
                "frequencyCaps": caps
            }),
        )
        .await;
    for field in [
        "creative_id",
        "campaign_id",
        "name",
        "message",
        "template_id",
        "format_id",
        "target_format_ids",
        "brand_domain",
        "assets",
        "preview_url",
        "tracking",
        "sync_status",
        "frequencyCaps",
        "created_at",
        "updated_at",
    ] {
        assert!(manifest.get(field).is_some(), "missing {field}: {manifest}");
    }
    assert!(
        manifest.get("format_kind").is_none(),
        "format_id and format_kind are exclusive"
    );
    assert_eq!(manifest["campaign_id"], campaign);
    assert_eq!(manifest["brand_domain"], "acme.com");
    assert_eq!(
        manifest["format_id"]["agent_url"],
        "https://creative.adcontextprotocol.org"
    );
    assert_valid("core/format-id.json", &manifest["format_id"]);
    for f in manifest["target_format_ids"].as_array().unwrap() {
        assert_valid("core/format-id.json", f);
    }
    for c in manifest["frequencyCaps"].as_array().unwrap() {
        assert_valid("core/frequency-cap.json", c);
    }
    assert_eq!(manifest["frequencyCaps"], caps);
    assert_eq!(
        manifest["sync_status"],
        json!({"synced": false, "agent_count": 0, "last_synced_at": null, "agents": [],
            "review": {"approved": 0, "pending": 0, "rejected": 0}})
    );
    let assets = manifest["assets"].as_array().unwrap();
    assert_eq!(
        assets.len(),
        5,
        "file, clickthrough, pixel, text and the service's impression tracker"
    );
    let service_pixel = assets
        .iter()
        .find(|a| a["name"] == "service_impression_tracker")
        .unwrap();
    assert_eq!(
        service_pixel["url"],
        manifest["tracking"]["impression_tracker_url"]
    );
    let click = assets
        .iter()
        .find(|a| a["url_type"] == "CLICKTHROUGH")
        .unwrap();
    assert_eq!(
        click["url"], "https://acme.com/fall?utm={CAMPAIGN_ID}",
        "macros kept verbatim"
    );
    assert_eq!(click["asset_type"], "URL");
    let pixel = assets
        .iter()
        .find(|a| a["url_type"] == "TRACKER_PIXEL")
        .unwrap();
    assert_eq!(pixel["asset_source"], "url");
    let text = assets.iter().find(|a| a["asset_type"] == "TEXT").unwrap();
    assert_eq!(text["text"], "Shop now");
    assert_eq!(manifest["primary_asset_id"], assets[0]["asset_id"]);

    let id = manifest["creative_id"].as_str().unwrap();
    let read: Value = app
        .get(&format!("/campaigns/{campaign}/creatives/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, manifest, "GET returns what create returned");
}

#[tokio::test]
async fn format_kind_manifests_round_trip_with_an_option_ref() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let manifest = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "Kind", "format_kind": "image", "format_option_ref": {"scope": "product", "format_option_id": "mrec"}, "assets": [{"filename": "a.png"}]}),
        )
        .await;
    assert_eq!(manifest["format_kind"], "image");
    assert!(manifest.get("format_id").is_none());
    assert_valid("core/canonical-format-kind.json", &manifest["format_kind"]);
    assert_valid(
        "core/format-option-ref.json",
        &manifest["format_option_ref"],
    );
}

#[tokio::test]
async fn contradicted_declarations_become_warnings_on_the_asset() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let form = reqwest::multipart::Form::new()
        .text(
            "metadata",
            json!({"name": "W", "assets": [{"filename": "clip.mp4", "asset_type": "VIDEO"}]})
                .to_string(),
        )
        .part(
            "files",
            reqwest::multipart::Part::bytes(fixture("image_300x250.png"))
                .file_name("clip.mp4")
                .mime_str("video/mp4")
                .unwrap(),
        );
    let res = app.upload_form(&campaign, form).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let manifest: Value = res.json().await.unwrap();
    let a = &manifest["assets"][0];
    assert_eq!(
        a["content_type"], "image/png",
        "content wins over name and declared type"
    );
    assert_eq!(a["asset_type"], "VIDEO", "the buyer's stated type is kept");
    let warnings = a["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("asset_type VIDEO")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("video/mp4")),
        "declared part type warning: {warnings:?}"
    );
}

#[tokio::test]
async fn the_same_bytes_twice_make_two_assets_and_one_object() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let bytes = fixture("image_300x250.png");
    let manifest = app
        .create_manifest(
            &campaign,
            &json!({"name": "Twins", "assets": [{"filename": "a.png"}, {"filename": "b.png"}]}),
            &[("a.png", bytes.clone()), ("b.png", bytes)],
        )
        .await;
    assert_eq!(manifest["assets"].as_array().unwrap().len(), 2);
    assert_eq!(app.stored_uploads().await.len(), 1);
}

#[tokio::test]
async fn twenty_files_of_mixed_types_go_in_one_request() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| {
            let mut bytes = fixture("plain.txt");
            bytes.extend(format!("\nvariant {i}\n").as_bytes());
            (format!("note{i}.txt"), bytes)
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let entries: Vec<Value> = files.iter().map(|(n, _)| json!({"filename": n})).collect();
    let manifest = app
        .create_manifest(
            &campaign,
            &json!({"name": "Many", "assets": entries}),
            &refs,
        )
        .await;
    assert_eq!(manifest["assets"].as_array().unwrap().len(), 20);
    assert!(manifest["assets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["asset_type"] == "TEXT"));
    assert_eq!(app.stored_uploads().await.len(), 20);
}

/// Uploads at the same moment all commit. On SQLite a deferred transaction that reads first and
/// then writes cannot wait for the writer lock (SQLite answers SQLITE_BUSY at once rather than risk
/// a deadlock, busy_timeout or not), so concurrent uploads failed with 500 "database is locked"
/// until write transactions began IMMEDIATE.
#[tokio::test]
async fn uploads_sent_at_the_same_moment_all_commit() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let uploads = (0..8).map(|i| {
        let app = &app;
        let campaign = &campaign;
        async move {
            app.upload(
                campaign,
                &json!({"name": format!("Concurrent {i}"), "assets": [{"filename": "image_300x250.png"}]}),
                &[("image_300x250.png", fixture("image_300x250.png"))],
            )
            .await
        }
    });
    let answers = futures::future::join_all(uploads).await;
    for res in answers {
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let list: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 8, "{list}");
}
