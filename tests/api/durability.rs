use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use creative_manifests::store::{creatives, janitor};

use crate::helpers::{fixture, TestApp};

#[tokio::test]
async fn manifests_and_files_survive_a_restart() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "Keep", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let id = m["creative_id"].as_str().unwrap().to_owned();
    let app = app.restart().await;
    let read: Value = app
        .get(&format!("/campaigns/{campaign}/creatives/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, m);
    let served = app
        .client
        .get(read["assets"][0]["public_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        served.bytes().await.unwrap().as_ref(),
        fixture("image_300x250.png").as_slice()
    );
}

/// A crash between writing objects and committing leaves pending records; the janitor removes
/// those objects, but never one a committed asset uses.
#[tokio::test]
async fn the_janitor_removes_objects_of_requests_that_never_committed() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "Live", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let live_key = {
        let url = m["assets"][0]["public_url"].as_str().unwrap();
        url.split("/cdn/").nth(1).unwrap().to_owned()
    };
    let orphan = "creatives/cr_0123456789abcdef0123456789abcdef/deadbeef.png".to_owned();
    app.state
        .objects
        .put_bytes(&orphan, b"half".to_vec())
        .await
        .unwrap();
    creatives::add_pending(&app.state.db, &[orphan.clone(), live_key.clone()])
        .await
        .unwrap();

    // Fresh records are left alone: their request may still be running.
    let removed = janitor::sweep(&app.state.db, &app.state.objects, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(removed, 0);
    assert!(app.state.objects.exists(&orphan).await.unwrap());

    tokio::time::sleep(Duration::from_millis(20)).await;
    let removed = janitor::sweep(&app.state.db, &app.state.objects, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!app.state.objects.exists(&orphan).await.unwrap());
    assert!(
        app.state.objects.exists(&live_key).await.unwrap(),
        "a used object stays"
    );
    assert_eq!(app.count_rows("pending_objects").await, 0);
}

#[tokio::test]
async fn on_embedded_defaults_a_dev_key_is_generated_once_and_kept() {
    let app = TestApp::spawn_with(|c| c.dev_api_key = None).await;
    let embedded = std::env::var("TEST_DATABASE_URL").is_err()
        && std::env::var("TEST_OBJECT_STORE_URL").is_err();
    let key_file = app.state.config.data_dir.join("dev-api-key");
    if !embedded {
        assert!(
            !key_file.exists(),
            "no dev key is invented for a scale-out deployment"
        );
        return;
    }
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.starts_with("cmk_"));
    let mut app = app.restart().await;
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "the same key after a restart"
    );
    app.key = key;
    assert_eq!(app.get("/campaigns").await.status(), StatusCode::OK);
}
