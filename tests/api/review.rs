//! Sellers' review decisions flowing back (issue 12): signed webhooks in (task events and
//! `creative.status_changed`), refused when forged, stale, replayed or oversized; reconciliation with
//! `list_creatives` after a webhook, on demand and on schedule; what the manifest and campaign show.

use reqwest::StatusCode;
use serde_json::{json, Value};

use creative_manifests::adcp::webhook_hmac;
use creative_manifests::propagation::reconcile;

use crate::helpers::TestApp;
use crate::propagation::{
    banner, execute, fast, library_seller, manifest, one_seller, propagation,
};
use crate::schemas::assert_valid;
use crate::seller::{Seller, SellerConfig};

/// A library seller whose reviewers decide later, and which offers `list_creatives`.
fn reviewing_seller() -> SellerConfig {
    let mut c = library_seller();
    c.truth.review = true;
    c.truth.list_creatives = true;
    c
}

/// A campaign bought from a reviewing seller, with creative `A` synced `pending_review`: the app,
/// the seller, the campaign, the creative, and the webhook registration the sync carried.
async fn pending(config: SellerConfig) -> (TestApp, Seller, String, String, Value) {
    let app = TestApp::spawn_with(fast).await;
    let (seller, _, campaign) =
        one_seller(&app, config, json!({"has_creative_library": true})).await;
    let a = banner(&app, &campaign, "A").await;
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "succeeded", "{out}");
    app.run_jobs().await;
    let push = seller.calls_of("sync_creatives")[0].args["push_notification_config"].clone();
    let agent = &manifest(&app, &campaign, &a).await["sync_status"]["agents"][0];
    assert_eq!(agent["status"], "pending_review", "{agent}");
    assert_eq!(agent["source"], "sync");
    (app, seller, campaign, a, push)
}

/// A storefront's review decision, as its task event (`core/mcp-webhook-payload.json`).
fn decision(push: &Value, key: &str, creative: &str, approved: bool, note: &str) -> Value {
    let item = if approved {
        json!({"creative_id": creative, "action": "updated", "status": "approved"})
    } else {
        json!({"creative_id": creative, "action": "failed",
            "errors": [{"code": "CREATIVE_REJECTED", "message": note}]})
    };
    let event = json!({
        "idempotency_key": key,
        "operation_id": push["operation_id"],
        "task_id": "review_1",
        "task_type": "sync_creatives",
        "protocol": "creative",
        "status": "completed",
        "timestamp": "2026-12-01T00:00:00Z",
        "token": push["token"],
        "result": {"creatives": [item]},
    });
    assert_valid("core/mcp-webhook-payload.json", &event);
    event
}

fn agent_of(m: &Value) -> &Value {
    &m["sync_status"]["agents"][0]
}

/// The campaign's per-seller review totals, as `GET /campaigns/:id` shows them.
async fn campaign_sellers(app: &TestApp, campaign: &str) -> Value {
    let c: Value = app
        .get(&format!("/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    c["sellers"].clone()
}

async fn jobs_of_kind(app: &TestApp, campaign: &str, kind: &str) -> usize {
    propagation(app, campaign).await["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == kind)
        .count()
}

#[tokio::test]
async fn a_pending_creative_is_approved_by_a_signed_webhook_and_then_reread_with_list_creatives() {
    let (app, seller, campaign, a, push) = pending(reviewing_seller()).await;
    // The registration asks for HMAC-SHA256 with a secret of its own, kept sealed and never shown.
    assert_eq!(push["authentication"]["schemes"], json!(["HMAC-SHA256"]));
    let secret = push["authentication"]["credentials"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(webhook_hmac::check_secret(&secret), Ok(()));
    let stored: String = sqlx::query_scalar("SELECT secret FROM webhook_registrations")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("sealed:v1:") && !stored.contains(&secret));
    let shown = app
        .get(&format!("/campaigns/{campaign}/propagation"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!shown.contains(&secret), "the secret is never shown");
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(
        m["sync_status"]["review"],
        json!({"approved": 0, "pending": 1, "rejected": 0})
    );

    seller.decide(&a, "approved", None);
    let (status, body) = seller
        .push(&push, &decision(&push, "decision-0000000001", &a, true, ""))
        .await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("processed")),
        "{body}"
    );
    assert_eq!(body["updated"], json!([a]));
    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        (&agent["status"], &agent["source"]),
        (&json!("approved"), &json!("webhook")),
        "{agent}"
    );
    assert!(agent["status_changed_at"].is_string());

    // Nothing in a webhook is the last word: the seller is asked, about that creative.
    assert!(seller.calls_of("list_creatives").is_empty());
    app.run_jobs().await;
    let asked = seller.calls_of("list_creatives");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].args["filters"]["creative_ids"], json!([a]));
    assert!(asked[0].args["account"].is_object());
    let m = manifest(&app, &campaign, &a).await;
    let agent = agent_of(&m);
    assert_eq!(
        (&agent["status"], &agent["source"]),
        (&json!("approved"), &json!("list_creatives")),
        "{agent}"
    );
    assert!(agent["platform_id"]
        .as_str()
        .unwrap()
        .starts_with("demo-cr-"));
    assert_eq!(
        m["sync_status"]["review"],
        json!({"approved": 1, "pending": 0, "rejected": 0})
    );
    let c = campaign_sellers(&app, &campaign).await;
    assert_eq!(c[0]["approved"], 1, "{c}");
    assert_eq!(c[0]["creatives"], 1);
    seller.assert_requests_valid();
}

#[tokio::test]
async fn forged_stale_oversized_and_replayed_webhooks_change_nothing() {
    let (app, seller, campaign, a, push) = pending(reviewing_seller()).await;
    let url = push["url"].as_str().unwrap().to_owned();
    let secret = push["authentication"]["credentials"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    let approve =
        serde_json::to_vec(&decision(&push, "decision-0000000002", &a, true, "")).unwrap();

    // Forged: signed with another secret; a good token does not rescue a bad signature.
    let other = webhook_hmac::generate_secret();
    let (status, body) = seller.send_signed(&url, &other, now, &approve).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("UNAUTHORIZED")),
        "{body}"
    );
    // Stale: the right secret, 301 s ago (and as far ahead).
    assert_eq!(
        seller
            .send_signed(&url, &secret, now - 301, &approve)
            .await
            .0,
        401
    );
    assert_eq!(
        seller
            // A little beyond 300 s: the service's clock reads a moment after this test's.
            .send_signed(&url, &secret, now + 305, &approve)
            .await
            .0,
        401
    );
    // Unsigned with a wrong token.
    let mut forged: Value = serde_json::from_slice(&approve).unwrap();
    forged["token"] = json!("f".repeat(32));
    assert_eq!(seller.send_webhook(&url, &forged).await.0, 401);
    // Oversized: refused before it is verified, however well signed.
    let mut big: Value = serde_json::from_slice(&approve).unwrap();
    big["padding"] = json!("x".repeat(1024 * 1024));
    let big = serde_json::to_vec(&big).unwrap();
    let (status, body) = seller.send_signed(&url, &secret, now, &big).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (413, &json!("PAYLOAD_TOO_LARGE")),
        "{body}"
    );
    // Signed, but with a duplicate key: valid signature, invalid body.
    let text = String::from_utf8(approve.clone()).unwrap();
    let dup = text.replacen('{', r#"{"status":"failed","#, 1);
    let (status, body) = seller.send_signed(&url, &secret, now, dup.as_bytes()).await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("body")),
        "{body}"
    );
    let (status, body) = seller.send_signed(&url, &secret, now, b"[1,").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("body")),
        "{body}"
    );

    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        agent["status"], "pending_review",
        "nothing changed: {agent}"
    );
    assert_eq!(app.count_rows("webhook_events").await, 0);
    assert_eq!(
        jobs_of_kind(&app, &campaign, "reconcile_creatives").await,
        0
    );

    // The genuine event is applied once; a replay of its key (even re-signed, even with other
    // content) answers 2xx and changes nothing.
    let (status, body) = seller.send_signed(&url, &secret, now, &approve).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("processed")),
        "{body}"
    );
    let reject =
        serde_json::to_vec(&decision(&push, "decision-0000000002", &a, false, "no")).unwrap();
    let (status, body) = seller.send_signed(&url, &secret, now + 1, &reject).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("duplicate")),
        "{body}"
    );
    assert_eq!(
        agent_of(&manifest(&app, &campaign, &a).await)["status"],
        "approved"
    );
    assert_eq!(
        jobs_of_kind(&app, &campaign, "reconcile_creatives").await,
        1
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn where_hmac_was_asked_the_echoed_token_alone_is_refused_and_changes_nothing() {
    let (app, seller, campaign, a, push) = pending(reviewing_seller()).await;
    let url = push["url"].as_str().unwrap().to_owned();
    // The right token, unsigned: the registration asked for HMAC-SHA256, so the token (which
    // travels in every request the seller received) proves nothing here.
    let approve = decision(&push, "decision-0000000010", &a, true, "");
    let (status, body) = seller.send_webhook(&url, &approve).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("UNAUTHORIZED")),
        "{body}"
    );
    assert_eq!(
        agent_of(&manifest(&app, &campaign, &a).await)["status"],
        "pending_review"
    );
    assert_eq!(app.count_rows("webhook_events").await, 0);
    assert_eq!(
        jobs_of_kind(&app, &campaign, "reconcile_creatives").await,
        0
    );
    // The same event signed is taken (its key was not spent by the refusal).
    let (status, body) = seller.push(&push, &approve).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("processed")),
        "{body}"
    );
    assert_eq!(
        agent_of(&manifest(&app, &campaign, &a).await)["status"],
        "approved"
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_registration_without_a_secret_keeps_working_with_its_token() {
    let (app, seller, campaign, a, push) = pending(reviewing_seller()).await;
    // A registration made before the service kept secrets: no stored secret, only the token.
    sqlx::query("DELETE FROM webhook_registrations")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let url = push["url"].as_str().unwrap().to_owned();
    let mut wrong = decision(&push, "decision-0000000011", &a, true, "");
    wrong["token"] = json!("0".repeat(32));
    assert_eq!(seller.send_webhook(&url, &wrong).await.0, 401);
    let approve = decision(&push, "decision-0000000011", &a, true, "");
    let (status, body) = seller.send_webhook(&url, &approve).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("processed")),
        "{body}"
    );
    assert_eq!(
        agent_of(&manifest(&app, &campaign, &a).await)["status"],
        "approved"
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn with_no_webhook_the_schedule_finds_the_rejection_and_its_reason_and_an_update_resubmits() {
    let (app, seller, campaign, a, _) = pending(reviewing_seller()).await;
    seller.decide(
        &a,
        "rejected",
        Some("logo smaller than the brand guidelines allow"),
    );
    let r = creative_manifests::services::reconciler(&app.state);
    assert_eq!(reconcile::schedule_due(&r).await.unwrap(), 1);
    // Not due again until the interval (15 minutes by default) has passed.
    assert_eq!(reconcile::schedule_due(&r).await.unwrap(), 0);
    app.run_jobs().await;
    let m = manifest(&app, &campaign, &a).await;
    let agent = agent_of(&m);
    assert_eq!(agent["status"], "rejected", "{m}");
    assert_eq!(
        agent["rejection_reason"],
        "logo smaller than the brand guidelines allow"
    );
    assert_eq!(agent["source"], "list_creatives");
    assert_eq!(
        m["sync_status"]["review"],
        json!({"approved": 0, "pending": 0, "rejected": 1})
    );
    let c = campaign_sellers(&app, &campaign).await;
    assert_eq!(c[0]["rejected"], 1, "{c}");

    // The buyer fixes it: synced again, it is back in review at that seller.
    let res = app
        .update(&campaign, &a, &json!({"name": "A, smaller logo"}), &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.run_jobs().await;
    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        (&agent["status"], &agent["rejection_reason"]),
        (&json!("pending_review"), &Value::Null),
        "{agent}"
    );
    assert_eq!(seller.review_status(&a).as_deref(), Some("pending_review"));
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_status_changed_event_is_applied_and_reconciled_and_refresh_asks_on_demand() {
    let (app, seller, campaign, a, push) = pending(reviewing_seller()).await;
    let (status, body) = seller
        .send_status_changed(
            &push,
            &a,
            "pending_review",
            "rejected",
            Some("alcohol ads need age gating"),
        )
        .await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("processed")),
        "{body}"
    );
    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        (&agent["status"], &agent["source"]),
        (&json!("rejected"), &json!("webhook"))
    );
    assert_eq!(agent["rejection_reason"], "alcohol ads need age gating");
    app.run_jobs().await;
    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        (&agent["status"], &agent["source"]),
        (&json!("rejected"), &json!("list_creatives"))
    );
    assert_eq!(agent["rejection_reason"], "alcohol ads need age gating");

    // On demand: every creative the seller holds, asked again.
    seller.decide(&a, "approved", None);
    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/propagation/refresh"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    app.run_jobs().await;
    assert_eq!(seller.calls_of("list_creatives").len(), 2);
    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        (&agent["status"], &agent["rejection_reason"]),
        (&json!("approved"), &Value::Null)
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_seller_without_list_creatives_keeps_what_its_sync_and_webhooks_said() {
    let mut config = reviewing_seller();
    config.truth.list_creatives = false;
    let (app, seller, campaign, a, push) = pending(config).await;
    let (status, _) = seller
        .push(
            &push,
            &decision(&push, "decision-0000000003", &a, false, "too loud"),
        )
        .await;
    assert_eq!(status, 200);
    app.run_jobs().await;
    let agent = agent_of(&manifest(&app, &campaign, &a).await).clone();
    assert_eq!(
        (&agent["status"], &agent["source"]),
        (&json!("rejected"), &json!("webhook")),
        "{agent}"
    );
    assert_eq!(agent["rejection_reason"], "too loud");
    assert!(seller.calls_of("list_creatives").is_empty());
    seller.assert_requests_valid();
}

/// End to end with the service's own storefront and its review queue (issue 11) as the seller: the
/// buyer executes, the storefront's operator approves one creative and rejects another with a note,
/// and the buyer's manifests show it through the signed webhooks and `list_creatives`, with no one
/// polling by hand.
#[tokio::test]
async fn the_storefronts_operator_decides_and_the_buyers_manifests_show_it() {
    const AGENT: &str = "https://ads.seller.example";
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.storefront_webhook_allow_loopback = true;
    })
    .await;
    // The storefront, in front of the test seller, with a buyer account.
    let underlying = Seller::start(SellerConfig {
        formats: vec![json!({
            "format_id": {"agent_url": AGENT, "id": "box"},
            "name": "Box",
            "renders": [{"role": "primary", "dimensions": {"width": 300, "height": 250}}],
            "assets": [{"item_type": "individual", "asset_id": "hero", "asset_type": "image", "required": true,
                "requirements": {"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}}]
        })],
        offers_sync: true,
        ..Default::default()
    })
    .await;
    let agent = app.register_seller(&underlying.url, None).await;
    assert_eq!(app.refresh_formats(&agent).await.status(), StatusCode::OK);
    let sf = app.create_storefront_for(&agent, "manual").await;
    let storefront_id = sf["storefront_id"].as_str().unwrap();
    let (_, buyer_key) = app.create_buyer_account(storefront_id, "acme.com").await;

    // The buyer: the storefront is its seller.
    let seller_id = app
        .register_seller(sf["mcp_url"].as_str().unwrap(), Some(&buyer_key))
        .await;
    let campaign = crate::propagation::campaign_buying(
        &app,
        &[(
            "prod_box".into(),
            &seller_id,
            vec![json!({"agent_url": AGENT, "id": "box"})],
        )],
    )
    .await;
    let a = banner(&app, &campaign, "A").await;
    let b = banner(&app, &campaign, "B").await;
    execute(&app, &campaign).await;
    // The storefront keeps a library and takes no media buys: the buy fails, the sync stands.
    app.expect_dead_jobs();
    app.run_jobs().await;
    for c in [&a, &b] {
        let agent = agent_of(&manifest(&app, &campaign, c).await).clone();
        assert_eq!(agent["status"], "pending_review", "{agent}");
    }

    // The operator decides.
    let note = "The logo is smaller than our 20 px minimum.";
    for (c, body) in [
        (&a, json!({"decision": "approved"})),
        (&b, json!({"decision": "rejected", "note": note})),
    ] {
        let res = app
            .client
            .post(format!(
                "{}/api/v2/storefront/creative-reviews/{c}/decide",
                app.base
            ))
            .bearer_auth(&app.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
    }
    // The storefront's webhooks reach the buyer, signed; the buyer then asks list_creatives.
    app.run_jobs().await;
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(agent_of(&m)["status"], "approved", "{m}");
    let m = manifest(&app, &campaign, &b).await;
    let agent = agent_of(&m);
    assert_eq!(agent["status"], "rejected", "{m}");
    assert_eq!(agent["rejection_reason"], note);
    assert_eq!(
        app.count_rows("webhook_events").await,
        2,
        "both decisions came by webhook"
    );
    let sellers = campaign_sellers(&app, &campaign).await;
    assert_eq!(
        (&sellers[0]["approved"], &sellers[0]["rejected"]),
        (&json!(1), &json!(1)),
        "{sellers}"
    );
}
