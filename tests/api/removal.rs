//! Changing and removing sales agents and campaigns: what happens to what hangs off them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, fixture, TestApp};

async fn delete_status(app: &TestApp, path: &str) -> StatusCode {
    app.delete(path).await.status()
}

fn agent_of_campaign(campaign: &Value) -> String {
    campaign["products"][0]["sales_agent_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_campaign_without_buys_is_removed_with_its_manifests_rows_and_objects() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    app.create_manifest(
        &campaign,
        &json!({"name": "Banner", "assets": [{"filename": "image_300x250.png"}]}),
        &[("image_300x250.png", fixture("image_300x250.png"))],
    )
    .await;
    assert!(!app.stored_objects().await.is_empty());
    let shown: Value = app
        .get(&format!("/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    let agent = agent_of_campaign(&shown);

    // While the campaign names it, its seller cannot go.
    let err = error_of(
        app.delete(&format!("/sales-agents/{agent}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(err["code"], "CONFLICT");
    assert!(
        err["message"].as_str().unwrap().contains(&campaign),
        "{err}"
    );

    assert_eq!(
        delete_status(&app, &format!("/campaigns/{campaign}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/campaigns/{campaign}")).await.status(),
        StatusCode::NOT_FOUND
    );
    app.assert_nothing_stored().await;
    assert_eq!(app.count_rows("campaigns").await, 0);
    assert_eq!(
        delete_status(&app, &format!("/campaigns/{campaign}")).await,
        StatusCode::NOT_FOUND
    );

    // Now nothing names the seller: it goes, with its formats.
    assert_eq!(
        delete_status(&app, &format!("/sales-agents/{agent}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/sales-agents/{agent}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count_rows("sales_agents").await, 0);
    assert_eq!(app.count_rows("agent_formats").await, 0);
}

#[tokio::test]
async fn removal_is_refused_while_a_media_buy_or_an_unfinished_job_exists() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let shown: Value = app
        .get(&format!("/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    let agent = agent_of_campaign(&shown);
    let customer: String = sqlx::query_scalar("SELECT customer_id FROM campaigns WHERE id = $1")
        .bind(&campaign)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();

    // A job still on its way to the seller.
    sqlx::query(
        "INSERT INTO jobs (id, kind, customer_id, campaign_id, sales_agent_id, payload, idempotency_key, status, \
         attempts, max_attempts, next_attempt_at, created_at, updated_at) \
         VALUES ('job_t', 'propagate', $1, $2, $3, '{}', 'k', 'pending', 0, 8, 'x', 'x', 'x')",
    )
    .bind(&customer)
    .bind(&campaign)
    .bind(&agent)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let err = error_of(
        app.delete(&format!("/campaigns/{campaign}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("propagation job"),
        "{err}"
    );

    // Once it finished, the buy it made keeps the campaign as its record.
    sqlx::query("UPDATE jobs SET status = 'succeeded'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO media_buys (campaign_id, sales_agent_id, customer_id, media_buy_id, transport, packages, created_at, updated_at) \
         VALUES ($1, $2, $3, 'mb_1', 'library', '{}', 'x', 'x')",
    )
    .bind(&campaign)
    .bind(&agent)
    .bind(&customer)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let err = error_of(
        app.delete(&format!("/campaigns/{campaign}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("media buy"),
        "{err}"
    );
    assert_eq!(app.count_rows("campaigns").await, 1);
    assert_eq!(app.count_rows("jobs").await, 1);
}

#[tokio::test]
async fn a_sales_agent_is_changed_by_patch_and_its_token_can_be_removed() {
    let app = TestApp::spawn().await;
    let agent = app.create_sales_agent("Seller One").await;
    let id = agent["sales_agent_id"].as_str().unwrap();
    assert_eq!(agent["auth"]["configured"], true);
    let res = app
        .patch_json(
            &format!("/sales-agents/{id}"),
            &json!({"name": "Seller Uno", "auth": null, "account_id": "acc_9",
                    "capabilities": {"supports_inline": true}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["name"], "Seller Uno");
    assert_eq!(changed["auth"], Value::Null);
    assert_eq!(changed["account_id"], "acc_9");
    assert_eq!(changed["capabilities"]["supports_inline"], true);
    assert_eq!(
        changed["capabilities"]["has_creative_library"], true,
        "kept"
    );
    assert_eq!(changed["endpoint_url"], agent["endpoint_url"], "kept");
    let again: Value = app
        .get(&format!("/sales-agents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["name"], "Seller Uno");

    let err = error_of(
        app.patch_json(&format!("/sales-agents/{id}"), &json!({"nmae": "typo"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["code"], "VALIDATION_ERROR");
    let err = error_of(
        app.patch_json(
            &format!("/sales-agents/{id}"),
            &json!({"endpoint_url": "ftp://x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "endpoint_url");

    // Another customer's key sees no such agent, for changes and removals alike.
    let other = app.other_customer("other").await;
    let res = reqwest::Client::new()
        .delete(app.api(&format!("/sales-agents/{id}")))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count_rows("sales_agents").await, 1);
}

#[tokio::test]
async fn a_removed_campaigns_creatives_are_no_longer_recorded_by_the_pixel() {
    let app = TestApp::spawn().await;
    let gone = app.create_campaign().await;
    let removed = app
        .create_png_manifest(
            &gone,
            &json!({"name": "Gone", "assets": [{"filename": "a.png"}]}),
        )
        .await["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept_campaign = app.create_campaign().await;
    let kept = app
        .create_png_manifest(
            &kept_campaign,
            &json!({"name": "Kept", "assets": [{"filename": "a.png"}]}),
        )
        .await["creative_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        delete_status(&app, &format!("/campaigns/{gone}")).await,
        StatusCode::NO_CONTENT
    );

    for cr in [&removed, &kept] {
        let res = app
            .client
            .get(format!("{}/t/imp?cr={cr}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Events are written in order by one writer: once the kept creative's hit is in, the removed
    // one's would be too.
    crate::tracking::delivery(&app, &kept_campaign, &kept, (1, 0)).await;
    assert_eq!(
        app.count_rows("tracking_events").await,
        1,
        "only the kept creative's hit is recorded"
    );
}
