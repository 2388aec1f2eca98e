use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{body_of, error_of, fixture, TestApp};

async fn banner(app: &TestApp, campaign: &str) -> Value {
    app.create_manifest(
        campaign,
        &json!({
            "name": "Banner",
            "format_id": {"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"},
            "url_asset": {"url": "https://acme.com/a"},
            "text_assets": [{"text": "Buy"}],
            "assets": [{"filename": "a.png"}, {"filename": "b.gif"}]
        }),
        &[("a.png", fixture("image_300x250.png")), ("b.gif", fixture("image_728x90.gif"))],
    )
    .await
}

fn ids_of_type(m: &Value, t: &str) -> Vec<String> {
    m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["asset_type"] == t)
        .map(|a| a["asset_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn put_adds_files_deletes_assets_and_removes_their_objects() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = banner(&app, &campaign).await;
    let id = m["creative_id"].as_str().unwrap();
    let gif = m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["content_type"] == "image/gif")
        .unwrap()
        .clone();

    let res = app
        .update(&campaign, id, &json!({"delete_asset_ids": [gif["asset_id"]], "new_assets": [{"filename": "v.webp", "label": "tall"}]}), &[("v.webp", fixture("image_160x600.webp"))])
        .await;
    let updated = body_of(res, StatusCode::OK).await;
    let types: Vec<&str> = updated["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["content_type"].as_str())
        .collect();
    assert_eq!(types, ["image/png", "image/webp"]);
    assert_eq!(updated["name"], "Banner", "omitted fields are kept");
    assert_eq!(updated["format_id"], m["format_id"]);
    assert_eq!(
        ids_of_type(&updated, "URL").len(),
        2,
        "clickthrough and the service's impression tracker"
    );
    assert_eq!(ids_of_type(&updated, "TEXT").len(), 1);
    assert_eq!(updated["created_at"], m["created_at"]);
    assert_ne!(updated["updated_at"], m["updated_at"]);

    let gone = app
        .client
        .get(gif["public_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "deleted asset's object is removed"
    );
    assert_eq!(app.stored_uploads().await.len(), 2);
    let read: Value = app
        .get(&format!("/campaigns/{campaign}/creatives/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, updated);
}

#[tokio::test]
async fn put_with_json_changes_fields_and_replaces_lists() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = banner(&app, &campaign).await;
    let id = m["creative_id"].as_str().unwrap();
    let res = app
        .client
        .put(app.api(&format!("/campaigns/{campaign}/creatives/{id}")))
        .bearer_auth(&app.key)
        .json(&json!({
            "name": "Renamed",
            "format_kind": "image",
            "url_assets": [{"url": "https://px.example/p", "url_type": "TRACKER_PIXEL"}],
            "text_assets": [],
            "frequencyCaps": [{"suppress_minutes": 10}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["format_kind"], "image");
    assert!(
        updated.get("format_id").is_none(),
        "switching to format_kind drops format_id"
    );
    let urls: Vec<&Value> = updated["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["asset_type"] == "URL")
        .collect();
    assert_eq!(urls.len(), 1);
    assert_eq!(
        urls[0]["url_type"], "TRACKER_PIXEL",
        "url_assets replaced the clickthrough"
    );
    assert!(ids_of_type(&updated, "TEXT").is_empty());
    assert_eq!(
        updated["frequencyCaps"],
        json!([{"suppress_minutes": 10.0}])
    );
    assert_eq!(ids_of_type(&updated, "IMAGE").len(), 2, "files untouched");
}

#[tokio::test]
async fn reclassification_changes_the_type_and_its_warning() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = banner(&app, &campaign).await;
    let id = m["creative_id"].as_str().unwrap();
    let png = ids_of_type(&m, "IMAGE")[0].clone();

    let updated: Value = app.update(&campaign, id, &json!({"reclassify_assets": [{"asset_id": png, "asset_type": "LOGO"}], "primary_asset_id": png}), &[]).await.json().await.unwrap();
    let a = updated["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset_id"] == png.as_str())
        .unwrap();
    assert_eq!(a["asset_type"], "LOGO");
    assert_eq!(a["warnings"], json!([]), "LOGO fits an image");
    assert_eq!(updated["primary_asset_id"], png.as_str());

    let updated: Value = app
        .update(
            &campaign,
            id,
            &json!({"reclassify_assets": [{"asset_id": png, "asset_type": "AUDIO"}]}),
            &[],
        )
        .await
        .json()
        .await
        .unwrap();
    let a = updated["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["asset_id"] == png.as_str())
        .unwrap();
    assert_eq!(a["asset_type"], "AUDIO");
    assert_eq!(a["warnings"].as_array().unwrap().len(), 1, "{a}");

    let url = ids_of_type(&updated, "URL")[0].clone();
    let err = error_of(
        app.update(
            &campaign,
            id,
            &json!({"reclassify_assets": [{"asset_id": url, "asset_type": "IMAGE"}]}),
            &[],
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "reclassify_assets[0].asset_id");
}

#[tokio::test]
async fn a_failed_put_changes_nothing_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = banner(&app, &campaign).await;
    let id = m["creative_id"].as_str().unwrap();
    let before = app.stored_objects().await;

    let cases = [
        (
            json!({"delete_asset_ids": ["ast_0123456789abcdef0123456789abcdef"], "new_assets": [{"filename": "v.webp"}]}),
            "delete_asset_ids[0]",
        ),
        (
            json!({"url_assets": [{"url": "https://a.com", "url_type": "CLICKTHROUGH"}, {"url": "https://b.com", "url_type": "CLICKTHROUGH"}], "new_assets": [{"filename": "v.webp"}]}),
            "url_assets",
        ),
        (
            json!({"format_id": {"agent_url": "https://a.org", "id": "x"}, "format_kind": "image", "new_assets": [{"filename": "v.webp"}]}),
            "format_kind",
        ),
        (
            json!({"primary_asset_id": "ast_0123456789abcdef0123456789abcdef", "new_assets": [{"filename": "v.webp"}]}),
            "primary_asset_id",
        ),
    ];
    for (meta, field) in cases {
        let err = error_of(
            app.update(
                &campaign,
                id,
                &meta,
                &[("v.webp", fixture("image_160x600.webp"))],
            )
            .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(err["field"], field, "{meta}");
    }
    let err = error_of(
        app.update(
            &campaign,
            id,
            &json!({"new_assets": [{"filename": "z.exe"}]}),
            &[("z.exe", fixture("program.exe"))],
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert_eq!(err["details"]["filename"], "z.exe");
    let err = error_of(
        app.update(
            &campaign,
            id,
            &json!({"new_assets": [{"filename": "z.zip"}]}),
            &[("z.zip", fixture("archive.zip"))],
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("z.zip"),
        "a ZIP is a bundle, refused with its reason: {err}"
    );

    let read: Value = app
        .get(&format!("/campaigns/{campaign}/creatives/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, m, "manifest unchanged");
    assert_eq!(app.stored_objects().await, before, "no new objects");
    assert_eq!(app.count_rows("pending_objects").await, 0);
}

#[tokio::test]
async fn re_uploading_a_files_own_bytes_then_deleting_the_old_asset_keeps_the_object() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = banner(&app, &campaign).await;
    let id = m["creative_id"].as_str().unwrap();
    let png = m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["content_type"] == "image/png")
        .unwrap()
        .clone();
    let updated: Value = app
        .update(&campaign, id, &json!({"delete_asset_ids": [png["asset_id"]], "new_assets": [{"filename": "again.png"}]}), &[("again.png", fixture("image_300x250.png"))])
        .await
        .json()
        .await
        .unwrap();
    let again = updated["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["original_filename"] == "again.png")
        .unwrap();
    assert_eq!(
        again["public_url"], png["public_url"],
        "same content, same key"
    );
    let served = app
        .client
        .get(again["public_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        served.status(),
        StatusCode::OK,
        "the object still used is not deleted"
    );
}

#[tokio::test]
async fn delete_removes_the_manifest_and_its_files() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = banner(&app, &campaign).await;
    let keep = banner(&app, &campaign).await;
    let id = m["creative_id"].as_str().unwrap();
    let res = app
        .delete(&format!("/campaigns/{campaign}/creatives/{id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    error_of(
        app.get(&format!("/campaigns/{campaign}/creatives/{id}"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for a in m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["public_url"].is_string())
    {
        let res = app
            .client
            .get(a["public_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let list: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["creative_id"], keep["creative_id"]);
    assert_eq!(
        app.stored_uploads().await.len(),
        2,
        "the other manifest's files stay"
    );
}
