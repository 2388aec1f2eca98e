//! What the service makes of uploads: HTML5 bundles and pages rewritten to CDN URLs with the click
//! tracker in their clickTag, VAST with the service's trackers, templates detected.

use std::io::Read;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, fixture, TestApp, SANDBOX};

fn bundle(name: &str) -> Vec<u8> {
    fixture(&format!("bundles/{name}"))
}

/// A bundle made here: `files` as (path, bytes), stored uncompressed.
pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, bytes) in files {
        zip.start_file(*path, stored).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn zip_entry(zip: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn a_bundle_is_stored_with_its_paths_and_its_entry_point_served_with_cdn_urls() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let zip = bundle("good.zip");
    let m = app
        .create_manifest(&campaign, &json!({"name": "HTML5", "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "banner.zip"}]}), &[("banner.zip", zip.clone())])
        .await;
    let a = &m["assets"][0];
    assert_eq!(a["asset_type"], "HTML");
    assert_eq!(a["content_type"], "application/zip");
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(300), Some(250)),
        "from ad.size"
    );
    assert_eq!(a["bundle"]["entry_point"], "index.html");
    assert_eq!(m["template_id"], "display_html");
    assert_eq!(m["auto_detected_template"]["method"], "asset_types");

    let report = &m["html_processing"];
    let served_url = report["processed_html_url"].as_str().unwrap();
    let served = app.client.get(served_url).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-security-policy"], SANDBOX);
    let html = served.text().await.unwrap();
    let refs = report["rewritten_refs"].as_array().unwrap();
    let originals: Vec<&str> = refs
        .iter()
        .map(|r| r["original"].as_str().unwrap())
        .collect();
    for want in ["css/style.css", "js/app.js", "img/logo.png"] {
        assert!(
            originals.contains(&want),
            "{want} not rewritten: {originals:?}"
        );
    }
    assert_eq!(report["unresolved_refs"], json!([]));
    for r in refs {
        let cdn = r["cdn_url"].as_str().unwrap();
        assert!(html.contains(cdn), "the served page points at {cdn}");
        let res = app.client.get(cdn).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{cdn}");
        let path = percent_encoding::percent_decode_str(r["original"].as_str().unwrap())
            .decode_utf8()
            .unwrap()
            .into_owned();
        if path.ends_with(".css") {
            continue; // stylesheets are served with their own references made absolute
        }
        let body = res.bytes().await.unwrap();
        let original = zip_entry(&zip, &path);
        if path == "js/app.js" {
            // The script declares the clickTag: its served copy differs by that literal alone.
            let clk = m["tracking"]["click_tracker_url"].as_str().unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(cdn.contains("/js/app.served."), "{cdn}");
            assert_eq!(
                body.replace(clk, "https://www.example.com").as_bytes(),
                original.as_slice(),
                "{body}"
            );
            continue;
        }
        assert_eq!(body.as_ref(), original.as_slice(), "{path} byte for byte");
    }
    let keys = app.stored_objects().await;
    assert!(
        keys.iter().any(|k| k.ends_with("/img/logo.png")),
        "relative paths kept under the bundle's prefix: {keys:?}"
    );
    assert!(!keys
        .iter()
        .any(|k| k.contains("__MACOSX") || k.contains(".DS_Store")));

    // Deleting the manifest removes every file of the bundle.
    let res = app
        .delete(&format!(
            "/campaigns/{campaign}/creatives/{}",
            m["creative_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(app.stored_objects().await.is_empty());
}

#[tokio::test]
async fn every_bad_bundle_is_refused_with_its_reason_and_nothing_stored() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for (name, says) in [
        ("bad_traversal.zip", ".."),
        ("bad_traversal_backslash.zip", ".."),
        ("bad_absolute.zip", "absolute"),
        ("bad_drive.zip", ""),
        ("bad_symlink.zip", "symlink"),
        ("bad_nested_name.zip", ""),
        ("bad_nested_content.zip", ""),
        ("bad_too_many_entries.zip", "100"),
        ("bad_bomb.zip", ""),
        ("bad_encrypted.zip", "encrypted"),
        ("bad_no_entry.zip", ""),
        ("bad_several_entries.zip", ""),
        ("bad_duplicate.zip", ""),
        ("bad_corrupt_data.zip", ""),
        ("truncated.zip", ""),
    ] {
        let res = app
            .upload(
                &campaign,
                &json!({"name": "Bad", "assets": [{"filename": name}]}),
                &[(name, bundle(name))],
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name}");
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        let message = err["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(says), "{name}: {message}");
    }
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn a_single_page_gets_its_references_and_clicktag_rewritten() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "Page", "url_asset": {"url": "https://www.example.com/spring-sale"}, "assets": [{"filename": "banner.html"}, {"filename": "image_300x250.png"}]}),
            &[("banner.html", fixture("banner.html")), ("image_300x250.png", fixture("image_300x250.png"))],
        )
        .await;
    let report = &m["html_processing"];
    assert_eq!(report["inserted_macros"], json!(["clickTag"]));
    let png_url = m["assets"][1]["public_url"].as_str().unwrap();
    assert_eq!(
        report["rewritten_refs"],
        json!([{"original": "image_300x250.png", "cdn_url": png_url}])
    );
    let html = app
        .fetch_text(report["processed_html_url"].as_str().unwrap())
        .await;
    let tracker = m["tracking"]["click_tracker_url"].as_str().unwrap();
    assert!(
        html.contains(&format!("var clickTag = \"{tracker}\";")),
        "the clickTag now holds the click tracker: {html}"
    );
    assert!(html.contains(png_url));
    // Outside the rewritten values the author's bytes are unchanged.
    let original = String::from_utf8(fixture("banner.html")).unwrap();
    assert_eq!(html.lines().count(), original.lines().count());
    let original_served = app
        .fetch_bytes(m["assets"][0]["public_url"].as_str().unwrap())
        .await;
    assert_eq!(
        original_served.as_slice(),
        fixture("banner.html").as_slice(),
        "the upload itself is kept as it was"
    );

    // A rename leaves the served page as it was; a new clickthrough makes it again with the new tracker.
    let creative = m["creative_id"].as_str().unwrap();
    let renamed: Value = app
        .update(&campaign, creative, &json!({"name": "Renamed"}), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["html_processing"], m["html_processing"]);
    let moved: Value = app
        .updated(
            &campaign,
            creative,
            &json!({"url_asset": {"url": "https://www.example.com/summer"}}),
        )
        .await;
    let new_tracker = moved["tracking"]["click_tracker_url"].as_str().unwrap();
    assert_ne!(new_tracker, tracker);
    let served_url = moved["html_processing"]["processed_html_url"]
        .as_str()
        .unwrap();
    assert_ne!(served_url, report["processed_html_url"].as_str().unwrap());
    let html = app.fetch_text(served_url).await;
    assert!(
        html.contains(&format!("var clickTag = \"{new_tracker}\";")),
        "{html}"
    );
    let old = app
        .client
        .get(report["processed_html_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.status(),
        StatusCode::NOT_FOUND,
        "the stale served copy is removed"
    );
}

#[tokio::test]
async fn unresolved_references_and_missing_click_handling_are_warnings() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let page = b"<!doctype html><html><body><img src=\"missing.png\"><a href=\"https://acme.com\">x</a></body></html>".to_vec();
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "Loose", "assets": [{"filename": "p.html"}]}),
            &[("p.html", page)],
        )
        .await;
    let warnings: Vec<&str> = m["assets"][0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("missing.png")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("clickTag")),
        "{warnings:?}"
    );
    assert_eq!(
        m["html_processing"]["unresolved_refs"],
        json!(["missing.png"])
    );

    // In a bundle, a stylesheet's reference to a file the bundle lacks is a warning too.
    let zip = zip_of(&[
        (
            "index.html",
            b"<link rel=\"stylesheet\" href=\"css/ad.css\"><div id=ad></div>",
        ),
        ("css/ad.css", b"#ad { background: url(../img/gone.png); }"),
    ]);
    let m = clicked_bundle(&app, &campaign, "Loose bundle", zip).await;
    assert_eq!(
        m["assets"][0]["warnings"],
        json!(["unresolved reference: css/ad.css: ../img/gone.png"]),
        "{m}"
    );
}

#[tokio::test]
async fn vast_gets_the_services_trackers_in_a_processed_copy() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let xml = fixture("vast/inline_4.2.xml");
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "Spot", "assets": [{"filename": "spot.xml"}]}),
            &[("spot.xml", xml.clone())],
        )
        .await;
    // No clickthrough on the manifest (the VAST has its own): tracked all the same, inside the VAST,
    // and with no pixel asset beside it that would count each impression twice.
    assert!(m["tracking"]["click_tracker_url"].is_null(), "{m}");
    assert!(
        !m["assets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["url_type"] == "TRACKER_PIXEL"),
        "{m}"
    );
    let a = &m["assets"][0];
    assert_eq!(a["asset_type"], "VAST");
    assert_eq!(a["vast"]["version"], "4.2");
    assert_eq!(a["vast"]["kind"], "InLine");
    assert_eq!(m["template_id"], "video_vast");
    let processed = app.fetch_text(a["processed_url"].as_str().unwrap()).await;
    let imp = m["tracking"]["impression_tracker_url"].as_str().unwrap();
    assert!(
        processed.contains(&format!("<Impression><![CDATA[{imp}]]></Impression>")),
        "{processed}"
    );
    assert!(processed.contains("<ClickTracking"), "{processed}");
    // The player pings ClickTracking on a click: it counts as a click, not as an impression.
    let ping = processed
        .split("<![CDATA[")
        .filter_map(|part| part.split("]]>").next())
        .find(|url| url.starts_with(&app.base) && url.ends_with("&ev=click"))
        .expect("the service's ClickTracking ping");
    assert_eq!(
        app.client.get(ping).send().await.unwrap().status(),
        StatusCode::OK
    );
    crate::tracking::delivery(&app, &campaign, m["creative_id"].as_str().unwrap(), (0, 1)).await;
    let original = app.fetch_bytes(a["public_url"].as_str().unwrap()).await;
    assert_eq!(
        original.as_slice(),
        xml.as_slice(),
        "the original is left as it was"
    );
}

#[tokio::test]
async fn broken_vast_is_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for (name, says) in [
        ("broken_no_mediafile.xml", "mediafile"),
        ("broken_wrapper_no_uri.xml", "vastadtaguri"),
        ("broken_no_version.xml", "version"),
        ("broken_entities.xml", ""),
        ("broken_truncated.xml", ""),
    ] {
        let res = app
            .upload(
                &campaign,
                &json!({"name": "V", "assets": [{"filename": name, "asset_type": "VAST"}]}),
                &[(name, fixture(&format!("vast/{name}")))],
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(says), "{name}: {message}");
    }
    app.assert_nothing_stored().await;
}

#[tokio::test]
async fn third_party_tags_are_detected_as_vendor_templates() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let tag = b"<ins class=\"dcmads\" style=\"display:inline-block;width:300px;height:250px\" data-dcm-placement=\"N123.45\"><script src=\"https://www.googletagservices.com/dcm/dcmads.js\"></script></ins>".to_vec();
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "Tag", "assets": [{"filename": "tag.html"}]}),
            &[("tag.html", tag)],
        )
        .await;
    assert_eq!(m["template_id"], "dcm_ins_tag");
    assert_eq!(m["auto_detected_template"]["method"], "vendor_tag");
    // Inside a bundle's entry page as well.
    let zip = zip_of(&[(
        "index.html",
        b"<meta name=\"ad.size\" content=\"width=300,height=250\"><script src=\"https://track.adform.net/banners/scripts/adx.js\"></script>",
    )]);
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "Adform bundle", "assets": [{"filename": "b.zip"}]}),
            &[("b.zip", zip)],
        )
        .await;
    assert_eq!(m["template_id"], "adform_tag", "{m}");
    assert_eq!(m["auto_detected_template"]["template_name"], "Adform tag");
    let img = app.create_png_manifest(&campaign, &json!({"name": "Img", "template_id": "my_template", "assets": [{"filename": "a.png"}]}),).await;
    assert_eq!(
        img["template_id"], "my_template",
        "a template the buyer names is kept"
    );
    assert_eq!(img["auto_detected_template"], Value::Null);
}

#[tokio::test]
async fn every_manifest_gets_a_preview_page_that_can_be_rerendered() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_manifest(&campaign, &json!({"name": "Page <b>", "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "banner.html"}, {"filename": "image_300x250.png"}]}), &[("banner.html", fixture("banner.html")), ("image_300x250.png", fixture("image_300x250.png"))])
        .await;
    let url = m["preview_url"].as_str().expect("preview_url");
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html");
    assert_eq!(res.headers()["content-security-policy"], SANDBOX);
    // The template escapes '/' in attributes as &#x2f;, which browsers read back as '/'.
    let page = res.text().await.unwrap().replace("&#x2f;", "/");
    let served = m["html_processing"]["processed_html_url"].as_str().unwrap();
    assert!(
        page.contains(&format!(
            "<iframe src=\"{served}\" sandbox=\"allow-scripts allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation\" width=\"300\" height=\"250\""
        )),
        "{page}"
    );
    assert!(!page.contains("allow-same-origin"));
    assert!(page.contains("Page &lt;b&gt;"), "names are escaped");
    assert!(page.contains("display_html"));

    let creative = m["creative_id"].as_str().unwrap();
    let res = app
        .client
        .post(app.api(&format!(
            "/campaigns/{campaign}/creatives/{creative}/preview"
        )))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        again["preview_url"], m["preview_url"],
        "same content, same page"
    );

    let video = app
        .create_manifest(
            &campaign,
            &json!({"name": "Spot", "assets": [{"filename": "v.mp4"}]}),
            &[("v.mp4", fixture("video_64x36_15s.mp4"))],
        )
        .await;
    let page = app
        .fetch_text(video["preview_url"].as_str().unwrap())
        .await
        .replace("&#x2f;", "/");
    assert!(
        page.contains("<video src=") && page.contains("width=\"64\" height=\"36\""),
        "{page}"
    );

    let res = app
        .delete(&format!("/campaigns/{campaign}/creatives/{creative}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.client.get(url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "the preview goes with the manifest"
    );
}

#[tokio::test]
async fn an_uploaded_stylesheet_points_at_the_manifests_files() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let css = b"/* url(not-this.png) */ .hero { background: url('image_300x250.png') no-repeat; }"
        .to_vec();
    let m = app
        .create_manifest(&campaign, &json!({"name": "Styled", "assets": [{"filename": "page.html"}, {"filename": "site.css"}, {"filename": "image_300x250.png"}]}), &[("page.html", b"<link rel=\"stylesheet\" href=\"./site.css\"><div class=hero></div>".to_vec()), ("site.css", css), ("image_300x250.png", fixture("image_300x250.png"))])
        .await;
    let png = m["assets"][2]["public_url"].as_str().unwrap();
    let css_url = m["assets"][1]["processed_url"].as_str().unwrap();
    assert_ne!(css_url, m["assets"][1]["public_url"]);
    // The page, listed before its stylesheet, links to the stylesheet's served copy, not the original.
    let page = app
        .fetch_text(m["assets"][0]["processed_url"].as_str().unwrap())
        .await;
    assert_eq!(
        page,
        format!("<link rel=\"stylesheet\" href=\"{css_url}\"><div class=hero></div>")
    );
    let served = app.fetch_text(css_url).await;
    assert_eq!(
        served,
        format!("/* url(not-this.png) */ .hero {{ background: url('{png}') no-repeat; }}")
    );
}

/// A stand-in third-party ad server on loopback.
async fn ad_server() -> String {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/good.xml",
            get(|| async { fixture("vast/inline_4.2.xml") }),
        )
        .route(
            "/broken.xml",
            get(|| async { fixture("vast/broken_no_mediafile.xml") }),
        )
        .route(
            "/moved.xml",
            get(|| async { axum::response::Redirect::temporary("/good.xml?from=moved") }),
        )
        .route(
            "/loop.xml",
            get(|| async { axum::response::Redirect::temporary("/loop.xml") }),
        )
        // 6 MiB in chunks, with no Content-Length to go by.
        .route(
            "/endless.xml",
            get(|| async {
                let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
                let chunks = std::iter::repeat_n(chunk, 96).map(Ok::<_, std::io::Error>);
                axum::body::Body::from_stream(futures::stream::iter(chunks))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn vast_tag_urls_are_fetched_and_checked() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let server = ad_server().await;
    let tag = |path: &str| json!({"name": "Tag", "url_assets": [{"url": format!("{server}{path}?cb={{CACHEBUSTER}}"), "url_type": "VAST"}]});
    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/creatives/create"),
            &tag("/good.xml"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["template_id"], "video_vast");
    assert_eq!(
        m["assets"][0]["url"],
        format!("{server}/good.xml?cb={{CACHEBUSTER}}"),
        "stored as given, macros intact"
    );
    // A tag the service does not host is tracked by the pixel asset that travels with it.
    let pixel = m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["url_type"] == "TRACKER_PIXEL")
        .expect("an impression pixel beside the tag");
    assert_eq!(pixel["url"], m["tracking"]["impression_tracker_url"]);

    // A tag that redirects is followed to its VAST.
    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/creatives/create"),
            &tag("/moved.xml"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    for (path, says) in [
        ("/broken.xml", "mediafile"),
        ("/missing.xml", "http 404"),
        ("/loop.xml", "redirects more than 5 times"),
        ("/endless.xml", "larger than 5 mib"),
    ] {
        let res = app
            .post_json(
                &format!("/campaigns/{campaign}/creatives/create"),
                &tag(path),
            )
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], "url_assets");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(says),
            "{err}"
        );
    }

    let guarded = TestApp::spawn_with(|c| c.outbound_allow_private = false).await;
    let campaign = guarded.create_campaign().await;
    let err = error_of(
        guarded
            .post_json(
                &format!("/campaigns/{campaign}/creatives/create"),
                &tag("/good.xml"),
            )
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{err}"
    );
}

/// A manifest of the bundle `zip` with a clickthrough.
async fn clicked_bundle(app: &TestApp, campaign: &str, name: &str, zip: Vec<u8>) -> Value {
    app.create_manifest(
        campaign,
        &json!({"name": name, "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "b.zip"}]}),
        &[("b.zip", zip)],
    )
    .await
}

/// The URL of the first script the manifest's served page loads.
async fn served_script(app: &TestApp, m: &Value) -> String {
    let url = m["html_processing"]["processed_html_url"].as_str().unwrap();
    let page = app.fetch_text(url).await;
    page.split("src=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no script in {page}"))
        .to_owned()
}

#[tokio::test]
async fn a_clicktag_declared_in_a_bundle_script_gets_the_click_tracker() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let js = b"// exported by the builder\nvar clickTag = \"https://acme.com/\";\nfunction go(){ window.open(clickTag); }\n";
    let zip = zip_of(&[
        (
            "index.html",
            b"<script src=\"js/main.js\"></script><div onclick=\"go()\">ad</div>",
        ),
        ("js/main.js", js),
    ]);
    let m = clicked_bundle(&app, &campaign, "Scripted", zip).await;
    let a = &m["assets"][0];
    assert_eq!(a["warnings"], json!([]), "{m}");
    assert_eq!(m["html_processing"]["inserted_macros"], json!(["clickTag"]));
    let get = |url: String| {
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let script_url = served_script(&app, &m).await;
    assert!(script_url.contains("/js/main.served."), "{script_url}");
    let served = get(script_url.clone()).await.text().await.unwrap();
    let clk = m["tracking"]["click_tracker_url"].as_str().unwrap();
    assert!(
        served.contains(&format!("var clickTag = \"{clk}\";")),
        "{served}"
    );
    assert!(
        served.starts_with("// exported by the builder\n")
            && served.contains("window.open(clickTag)")
    );
    let original_url = a["bundle"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "js/main.js")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        get(original_url).await.bytes().await.unwrap().as_ref(),
        js,
        "the original stays"
    );

    // A new clickthrough: a new served script, and the old one goes.
    let creative = m["creative_id"].as_str().unwrap();
    let updated: Value = app
        .updated(
            &campaign,
            creative,
            &json!({"url_asset": {"url": "https://acme.com/winter"}}),
        )
        .await;
    let clk = updated["tracking"]["click_tracker_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_script = served_script(&app, &updated).await;
    assert_ne!(new_script, script_url);
    assert!(get(new_script).await.text().await.unwrap().contains(&clk));
    assert_eq!(get(script_url).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn svgs_declaring_entities_or_a_system_dtd_are_refused_like_vast() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"><text>&c;</text></svg>"#;
    let xxe = br#"<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"><text>&xxe;</text></svg>"#;
    let system = br#"<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"/>"#;
    for (what, svg) in [
        ("entities", &laughs[..]),
        ("entities", &xxe[..]),
        ("SYSTEM", &system[..]),
    ] {
        let res = app
            .upload(
                &campaign,
                &json!({"name": "Logo", "assets": [{"filename": "logo.svg"}]}),
                &[("logo.svg", svg.to_vec())],
            )
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], "files");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("logo.svg") && message.contains(what),
            "{err}"
        );

        let zip = zip_of(&[
            (
                "index.html",
                b"<html><body><img src=\"img/logo.svg\"></body></html>",
            ),
            ("img/logo.svg", svg),
        ]);
        let res = app
            .upload(
                &campaign,
                &json!({"name": "Bundle", "assets": [{"filename": "b.zip"}]}),
                &[("b.zip", zip)],
            )
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert!(
            err["message"].as_str().unwrap().contains("img/logo.svg"),
            "{err}"
        );
    }
    app.assert_nothing_stored().await;
    // The public SVG DTD is what editors write; it stays welcome.
    let public = br#"<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg" width="300" height="250"/>"#;
    app.create_manifest(
        &campaign,
        &json!({"name": "Logo", "assets": [{"filename": "logo.svg"}]}),
        &[("logo.svg", public.to_vec())],
    )
    .await;
}
