use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

#[tokio::test]
async fn the_manifest_list_pages_searches_and_counts_assets() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for name in [
        "Summer Sale 300x250",
        "summer video",
        "Winter 100%_off",
        "Brand logo",
    ] {
        app.create_png_manifest(
            &campaign,
            &json!({"name": name, "assets": [{"filename": "a.png"}], "text_assets": [{"text": "t"}], "frequencyCaps": [{"suppress_minutes": 5}]}),
        )
        .await;
    }
    let all: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 4);
    assert_eq!(all["take"], 50);
    let first = &all["items"][0];
    assert_eq!(first["name"], "Brand logo", "newest first");
    assert_eq!(first["asset_count"], 2);
    assert!(first.get("frequencyCaps").is_none(), "only on request");

    let page: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?take=2&skip=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Winter 100%_off", "summer video"]);
    assert_eq!(page["total"], 4);

    let found: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?search=SUMMER"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 2);
    let literal: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?search=100%25_"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(literal["total"], 1, "% and _ are literal");
    let none: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest?search=_"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 1);

    let caps: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?includeFrequencyCaps=true&take=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        caps["items"][0]["frequencyCaps"],
        json!([{"suppress_minutes": 5.0}])
    );
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for (q, field) in [
        ("take=0", "take"),
        ("take=251", "take"),
        ("take=abc", "take"),
        ("skip=-1", "skip"),
        ("includeFrequencyCaps=maybe", "includeFrequencyCaps"),
    ] {
        let err = error_of(
            app.get(&format!("/campaigns/{campaign}/creativeManifest?{q}"))
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(err["field"], field, "{q}");
    }
    let ok: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest?take=250"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["take"], 250);
}
