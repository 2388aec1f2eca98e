//! Trackers the service adds and hosts.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, fixture, TestApp};
use crate::schemas::assert_valid;

const CLICKTHROUGH: &str = "https://acme.com/fall?utm_source=ads&q=a%20b#top";

async fn tracked(app: &TestApp) -> (String, Value) {
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(&campaign, &json!({"name": "Tracked", "url_asset": {"url": CLICKTHROUGH}, "assets": [{"filename": "a.png"}]}),)
        .await;
    (campaign, m)
}

/// What a seller does with a tracker URL: fills the macros in.
fn as_served(url: &str) -> String {
    url.replace("{CACHEBUSTER}", "8675309")
        .replace("{MEDIA_BUY_ID}", "mb_42")
        .replace("{DEVICE_TYPE}", "mobile")
}

pub(crate) async fn delivery(
    app: &TestApp,
    campaign: &str,
    creative: &str,
    want: (i64, i64),
) -> Value {
    let client = no_follow_client();
    for _ in 0..500 {
        let d: Value = client
            .get(app.api(&format!(
                "/campaigns/{campaign}/creatives/{creative}/delivery"
            )))
            .bearer_auth(&app.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if (d["impressions"].as_i64(), d["clicks"].as_i64()) == (Some(want.0), Some(want.1)) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("delivery never reached {want:?}");
}

#[tokio::test]
async fn a_manifest_with_a_clickthrough_gets_trackers_with_adcp_macros() {
    let app = TestApp::spawn().await;
    let (_, m) = tracked(&app).await;
    let t = &m["tracking"];
    let imp = t["impression_tracker_url"].as_str().unwrap();
    let clk = t["click_tracker_url"].as_str().unwrap();
    assert!(imp.starts_with(&format!("{}/t/imp?", app.base)), "{imp}");
    assert!(
        imp.contains("{CACHEBUSTER}") && imp.contains("{MEDIA_BUY_ID}"),
        "macros stay literal for sellers: {imp}"
    );
    assert!(
        clk.contains(&format!("rurl={}", urlencode(CLICKTHROUGH))),
        "original kept, encoded, in rurl: {clk}"
    );
    let macros = t["supported_macros"].as_array().unwrap();
    assert!(!macros.is_empty());
    for mac in macros {
        assert_valid("enums/universal-macro.json", mac);
    }
    let pixels: Vec<&Value> = m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["url_type"] == "TRACKER_PIXEL")
        .collect();
    assert_eq!(pixels.len(), 1);
    assert_eq!(pixels[0]["url"], imp);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test]
async fn the_pixel_answers_a_gif_and_records_the_impression_with_its_macros() {
    let app = TestApp::spawn().await;
    let (campaign, m) = tracked(&app).await;
    let creative = m["creative_id"].as_str().unwrap();
    let res = app
        .client
        .get(as_served(
            m["tracking"]["impression_tracker_url"].as_str().unwrap(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/gif");
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    assert_eq!(&res.bytes().await.unwrap()[..6], b"GIF89a");
    let d = delivery(&app, &campaign, creative, (1, 0)).await;
    let event = &d["recent"][0];
    assert_eq!(event["kind"], "impression");
    assert_eq!(event["campaign_id"], campaign);
    let values: Vec<&str> = event["macros"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        values.contains(&"8675309") && values.contains(&"mb_42"),
        "{event}"
    );
}

#[tokio::test]
async fn the_click_tracker_redirects_only_signed_links() {
    let app = TestApp::spawn().await;
    let (campaign, m) = tracked(&app).await;
    let creative = m["creative_id"].as_str().unwrap();
    let no_follow = no_follow_client();
    let clk = as_served(m["tracking"]["click_tracker_url"].as_str().unwrap());
    let res = no_follow.get(&clk).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], CLICKTHROUGH);
    delivery(&app, &campaign, creative, (0, 1)).await;

    let tampered = clk.replace(
        &urlencode(CLICKTHROUGH),
        &urlencode("https://evil.example/phish"),
    );
    assert_ne!(tampered, clk);
    let err = error_of(
        no_follow.get(&tampered).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "sig");
    let unsigned = format!(
        "{}/t/clk?cr={creative}&rurl={}",
        app.base,
        urlencode("https://evil.example/")
    );
    let res = no_follow.get(&unsigned).send().await.unwrap();
    assert!(res.headers().get("location").is_none());
    error_of(res, StatusCode::BAD_REQUEST).await;
    let other_creative = clk.replace(creative, "cr_0123456789abcdef0123456789abcdef");
    error_of(
        no_follow.get(&other_creative).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    delivery(&app, &campaign, creative, (0, 1)).await;
}

#[tokio::test]
async fn changing_the_clickthrough_refreshes_the_click_tracker() {
    let app = TestApp::spawn().await;
    let (campaign, m) = tracked(&app).await;
    let creative = m["creative_id"].as_str().unwrap();
    let updated: Value = app
        .updated(
            &campaign,
            creative,
            &json!({"url_asset": {"url": "https://acme.com/winter"}}),
        )
        .await;
    let clk = updated["tracking"]["click_tracker_url"].as_str().unwrap();
    assert!(clk.contains(&urlencode("https://acme.com/winter")), "{clk}");
    assert_eq!(
        updated["tracking"]["impression_tracker_url"],
        m["tracking"]["impression_tracker_url"]
    );
    let no_follow = no_follow_client();
    let res = no_follow.get(clk).send().await.unwrap();
    assert_eq!(res.headers()["location"], "https://acme.com/winter");
    let pixels = updated["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "service_impression_tracker")
        .count();
    assert_eq!(
        pixels, 1,
        "the service's tracker is replaced, not added twice"
    );

    let cleared: Value = app
        .update(&campaign, creative, &json!({"url_assets": []}), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cleared["tracking"],
        Value::Null,
        "no clickthrough, no trackers"
    );
    assert!(cleared["assets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["asset_type"] != "URL"));
}

#[tokio::test]
async fn a_clickthroughs_own_macros_are_filled_on_the_redirect() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let clickthrough = "https://acme.com/land?cb={CACHEBUSTER}&cr={CREATIVE_ID}&os={OS}&zip={ZIP}";
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "Macros", "url_asset": {"url": clickthrough}, "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let creative = m["creative_id"].as_str().unwrap();
    let clk = m["tracking"]["click_tracker_url"].as_str().unwrap();
    assert!(clk.contains("&m_OS={OS}&m_ZIP={ZIP}&v=2&sig="), "{clk}");
    // The seller fills what it knows (here not the ZIP), URL-encoded.
    let served = as_served(clk).replace("{OS}", "iOS%2017");
    let no_follow = no_follow_client();
    let res = no_follow.get(&served).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        res.headers()["location"],
        format!("https://acme.com/land?cb=8675309&cr={creative}&os=iOS%2017&zip={{ZIP}}").as_str()
    );
    delivery(&app, &campaign, creative, (0, 1)).await;
}

#[tokio::test]
async fn clickthroughs_the_tracker_could_never_redirect_to_are_refused_at_create() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let png = || vec![("a.png", fixture("image_300x250.png"))];
    for bad in [
        " https://acme.com/",
        "https://acme.com/\tx",
        "https:\\\\acme.com/",
        "https://acme.com/ ",
    ] {
        let res = app
            .upload(&campaign, &json!({"name": "Bad", "url_asset": {"url": bad}, "assets": [{"filename": "a.png"}]}), &png())
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], "url_asset.url", "{bad:?}: {err}");
        let res = app
            .upload(&campaign, &json!({"name": "Bad", "url_assets": [{"url": bad, "url_type": "CLICKTHROUGH"}], "assets": [{"filename": "a.png"}]}), &png())
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], "url_assets[0].url", "{bad:?}: {err}");
    }
    let (campaign, m) = tracked(&app).await;
    let creative = m["creative_id"].as_str().unwrap();
    let res = app
        .update(
            &campaign,
            creative,
            &json!({"url_asset": {"url": " https://acme.com/"}}),
            &[],
        )
        .await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "url_asset.url", "{err}");
    assert_eq!(app.count_rows("creatives").await, 1, "only the good one");
}

#[tokio::test]
async fn the_clicks_campaign_is_signed_and_links_served_before_still_redirect() {
    let app = TestApp::spawn().await;
    let (campaign, m) = tracked(&app).await;
    let creative = m["creative_id"].as_str().unwrap();
    let no_follow = no_follow_client();
    let clk = as_served(m["tracking"]["click_tracker_url"].as_str().unwrap());
    assert!(clk.contains("&v=2&sig="), "{clk}");
    let forged = clk.replace(
        &format!("cmp={campaign}"),
        "cmp=cmp_0123456789abcdef0123456789abcdef",
    );
    assert_ne!(forged, clk);
    let res = no_follow.get(&forged).send().await.unwrap();
    assert!(res.headers().get("location").is_none());
    assert_eq!(error_of(res, StatusCode::BAD_REQUEST).await["field"], "sig");
    let downgraded = clk.replace("&v=2&", "&");
    error_of(
        no_follow.get(&downgraded).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;

    // A version 1 link, as served before: creative and destination signed, campaign not. It still
    // redirects, and the click counts for the creative's own campaign whatever `cmp` says.
    let v1 = format!(
        "{}/t/clk?cr={creative}&cmp=cmp_forged&cb=1&sig={}&rurl={}",
        app.base,
        app.state.signer.sign(creative, CLICKTHROUGH),
        urlencode(CLICKTHROUGH)
    );
    let res = no_follow.get(&v1).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], CLICKTHROUGH);
    let d = delivery(&app, &campaign, creative, (0, 1)).await;
    assert_eq!(d["recent"][0]["campaign_id"], campaign.as_str());
}

#[tokio::test]
async fn a_replayed_click_is_counted_once() {
    let app = TestApp::spawn().await;
    let (campaign, m) = tracked(&app).await;
    let creative = m["creative_id"].as_str().unwrap();
    let no_follow = no_follow_client();
    let clk = as_served(m["tracking"]["click_tracker_url"].as_str().unwrap());
    for _ in 0..5 {
        let res = no_follow.get(&clk).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "a replay still redirects");
    }
    // Another impression's click (its own cachebuster) is another click. Events are written in
    // order, so once it is counted every replay before it has been seen too.
    let other = clk.replace("cb=8675309", "cb=42");
    assert_ne!(other, clk);
    assert_eq!(
        no_follow.get(&other).send().await.unwrap().status(),
        StatusCode::FOUND
    );
    delivery(&app, &campaign, creative, (0, 2)).await;
}

/// A client that shows a redirect instead of following it: the tracker's answer is what is tested.
fn no_follow_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}
