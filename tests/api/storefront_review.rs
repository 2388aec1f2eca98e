//! The storefront's creative review queue (issue 11) over HTTP: buyers sync over MCP, the operator
//! decides through `/api/v2/storefront/creative-reviews`, approved creatives reach the test seller
//! (the underlying agent), and the buyer's webhooks reach a loopback receiver (allowed by the
//! test-only setting). Every webhook body is checked against `core/mcp-webhook-payload.json` and
//! its `result` against the sync_creatives response schema.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use creative_manifests::adcp::webhook_hmac;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};
use crate::schemas::assert_valid;
use crate::seller::{Seller, SellerConfig};
use crate::storefront_mcp::{seller_format, Front};

const AGENT: &str = "https://ads.seller.example";
const HMAC_SECRET: &str = "9f2c1a7be04d4c1e8a6b3d5f7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a";
const BEARER: &str = "buyer-bearer-credential-0123456789abcdef";

fn creative(id: &str) -> Value {
    json!({
        "creative_id": id,
        "name": format!("Creative {id}"),
        "format_id": {"agent_url": AGENT, "id": "box"},
        "assets": {"hero": {"asset_type": "image", "url": format!("https://cdn.buyer.example/{id}.png"), "width": 300, "height": 250}},
        "tags": ["spring", "ünïcödé"],
        "ext": {"buyer": {"nested": [1, 2.5, null, {"z": true, "a": "x"}]}}
    })
}

fn key(n: u32) -> String {
    format!("review-key-{n:08}-abcdef")
}

/// What the loopback receiver got: headers and the raw body.
#[derive(Clone)]
struct Got {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A buyer's webhook receiver on loopback that records every call and answers 503 to the first
/// `fail` of them.
struct Hooks {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    fail: Arc<AtomicU32>,
}

impl Hooks {
    async fn start() -> Hooks {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let fail = Arc::new(AtomicU32::new(0));
        let (g, f) = (got.clone(), fail.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (g, f) = (g.clone(), f.clone());
                async move {
                    g.lock().unwrap().push(Got {
                        headers,
                        body: body.to_vec(),
                    });
                    let failing = f
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        (
                            AxumStatus::SERVICE_UNAVAILABLE,
                            [("retry-after", "0")],
                            "busy",
                        )
                            .into_response()
                    } else {
                        AxumStatus::NO_CONTENT.into_response()
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hooks {
            url: format!("http://{addr}/hook"),
            got,
            fail,
        }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// Checks a received webhook: its envelope and result against the schemas, and its
/// authentication as the buyer verifies it.
fn check_webhook(got: &Got, scheme: &str) -> Value {
    let body = got.json();
    assert_valid("core/mcp-webhook-payload.json", &body);
    assert_valid("creative/sync-creatives-response.json", &body["result"]);
    let header = |n: &str| got.headers.get(n).and_then(|v| v.to_str().ok());
    match scheme {
        "HMAC-SHA256" => {
            webhook_hmac::verify(
                HMAC_SECRET,
                header("x-adcp-timestamp"),
                header("x-adcp-signature"),
                &got.body,
                chrono::Utc::now().timestamp(),
            )
            .expect("the signature verifies with the buyer's secret");
            webhook_hmac::check_unique_keys(&got.body).expect("unique keys");
            assert!(header("authorization").is_none());
            // A tampered body does not verify.
            let mut tampered = got.body.clone();
            tampered.push(b' ');
            assert!(webhook_hmac::verify(
                HMAC_SECRET,
                header("x-adcp-timestamp"),
                header("x-adcp-signature"),
                &tampered,
                chrono::Utc::now().timestamp()
            )
            .is_err());
        }
        "Bearer" => {
            assert_eq!(
                header("authorization"),
                Some(format!("Bearer {BEARER}").as_str())
            );
            assert!(header("x-adcp-signature").is_none());
        }
        other => panic!("{other}"),
    }
    body
}

/// A storefront in front of the test seller, a buyer account, a webhook receiver; the in-process
/// worker is off so each test runs the jobs when it means to.
struct Rig {
    front: Front,
    hooks: Hooks,
}

impl std::ops::Deref for Rig {
    type Target = Front;
    fn deref(&self) -> &Front {
        &self.front
    }
}

impl Rig {
    async fn start(mode: &str) -> Rig {
        Self::start_with(mode, |_| {}, |_| {}).await
    }

    async fn start_with(
        mode: &str,
        seller_tweak: impl FnOnce(&mut SellerConfig),
        app_tweak: impl FnOnce(&mut creative_manifests::config::Config),
    ) -> Rig {
        let mut config = SellerConfig {
            formats: vec![seller_format("box", 300, 250)],
            offers_sync: true,
            ..Default::default()
        };
        seller_tweak(&mut config);
        let front = Front::build(mode, config, |c| {
            c.run_worker = false;
            c.storefront_webhook_allow_loopback = true;
            app_tweak(c);
        })
        .await;
        Rig {
            front,
            hooks: Hooks::start().await,
        }
    }

    /// `tools/call` as `buyer_key`: the AdCP answer (`structuredContent`).
    async fn call_with(&self, buyer_key: &str, tool: &str, args: Value) -> Value {
        self.call_as(Some(buyer_key), tool, args).await["structuredContent"].clone()
    }

    async fn sync(&self, args: Value) -> Value {
        let answer = self
            .call_with(&self.buyer_key, "sync_creatives", args)
            .await;
        assert_valid("creative/sync-creatives-response.json", &answer);
        answer
    }

    async fn list_creatives(&self, args: Value) -> Value {
        let answer = self
            .call_with(&self.buyer_key, "list_creatives", args)
            .await;
        assert_valid("creative/list-creatives-response.json", &answer);
        answer
    }

    fn push(&self, scheme: &str) -> Value {
        let credentials = if scheme == "Bearer" {
            BEARER
        } else {
            HMAC_SECRET
        };
        json!({"url": self.hooks.url, "operation_id": "op-spring-1", "token": "buyer-echo-token-0123456789",
               "authentication": {"schemes": [scheme], "credentials": credentials}})
    }

    fn reviews(&self, path: &str) -> String {
        format!("{}/api/v2/storefront/creative-reviews{path}", self.app.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(self.reviews(path))
            .bearer_auth(&self.app.key)
            .send()
            .await
            .unwrap()
    }

    async fn review(&self, creative_id: &str) -> Value {
        let res = self.get(&format!("/{creative_id}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.json().await.unwrap();
        crate::openapi::assert_conforms(
            "GET",
            "/api/v2/storefront/creative-reviews/{creative_id}",
            200,
            &body,
        );
        body
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app
            .client
            .post(self.reviews(path))
            .bearer_auth(&self.app.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn decide(&self, creative_id: &str, body: Value) -> Value {
        let res = self.post(&format!("/{creative_id}/decide"), &body).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.json().await.unwrap();
        crate::openapi::assert_conforms(
            "POST",
            "/api/v2/storefront/creative-reviews/{creative_id}/decide",
            200,
            &body,
        );
        body
    }
}

#[tokio::test]
async fn approve_forwards_the_creative_verbatim_and_the_signed_webhook_verifies() {
    let rig = Rig::start("manual").await;
    let c = creative("spring-1");
    let answer = rig
        .sync(json!({"idempotency_key": key(1), "creatives": [c],
            "assignments": [{"creative_id": "spring-1", "package_id": "pkg-7"}],
            "push_notification_config": rig.push("HMAC-SHA256"), "context": {"trace": "t-1"}}))
        .await;
    assert_eq!(answer["creatives"][0]["action"], "created");
    assert_eq!(answer["creatives"][0]["status"], "pending_review");

    // The queue: pending by default, the creative as the buyer sent it, no webhook credentials.
    let queue: Value = rig.get("").await.json().await.unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["creative_id"], "spring-1");
    assert_eq!(queue["items"][0]["status"], "pending");
    let row = rig.review("spring-1").await;
    assert_eq!(row["submittedPayload"], c);
    assert_eq!(row["account_id"], rig.account_id.as_str());
    assert_eq!(row["storefront_id"], rig.storefront_id.as_str());
    assert_eq!(row["history"][0]["event"], "submitted");
    let text = row.to_string();
    assert!(!text.contains(HMAC_SECRET) && !text.contains("push_notification_config"));
    // Nothing reaches the agent before a decision.
    rig.app.run_jobs().await;
    assert!(rig.seller.calls_of("sync_creatives").is_empty());

    let decided = rig
        .decide("spring-1", json!({"decision": "approved"}))
        .await;
    assert_eq!(decided["status"], "approved");
    assert!(decided["decided_by"]
        .as_str()
        .is_some_and(|b| !b.is_empty()));
    assert!(decided["decided_at"].is_string());
    assert_eq!(decided["forwarding"]["status"], "queued");
    rig.app.run_jobs().await;

    // The agent got the creative exactly as submitted, with the buyer's assignment and a key.
    let calls = rig.seller.calls_of("sync_creatives");
    assert_eq!(calls.len(), 1);
    let sent = &calls[0].args;
    assert_eq!(sent["creatives"], json!([c]));
    assert_eq!(
        serde_json::to_string(&sent["creatives"][0]).unwrap(),
        serde_json::to_string(&c).unwrap()
    );
    assert_eq!(
        sent["assignments"],
        json!([{"creative_id": "spring-1", "package_id": "pkg-7"}])
    );
    assert_eq!(
        sent["account"],
        json!({"brand": {"domain": "acme.com"}, "operator": "acme.com"})
    );
    assert!(sent["idempotency_key"]
        .as_str()
        .is_some_and(|k| k.len() >= 16));
    assert!(rig.seller.library().contains_key("spring-1"));
    let row = rig.review("spring-1").await;
    assert_eq!(row["forwarding"]["status"], "forwarded");
    assert_eq!(row["forwarding"]["attempts"], 1);
    assert_eq!(row["forwarding"]["agent_status"], "approved");
    assert!(row["forwarding"]["platform_id"]
        .as_str()
        .is_some_and(|p| p.starts_with("demo-cr-")));

    // The buyer's webhook: signed, schema-valid, with operation_id, token and context echoed.
    let got = rig.hooks.got();
    assert_eq!(got.len(), 1);
    let body = check_webhook(&got[0], "HMAC-SHA256");
    assert_eq!(body["task_type"], "sync_creatives");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["operation_id"], "op-spring-1");
    assert_eq!(body["token"], "buyer-echo-token-0123456789");
    assert_eq!(body["result"]["context"], json!({"trace": "t-1"}));
    assert_eq!(
        body["result"]["creatives"],
        json!([{"creative_id": "spring-1", "action": "updated", "status": "approved"}])
    );
    assert_eq!(row["webhooks"][0]["status"], "delivered");

    // What the buyer reads now.
    let list = rig.list_creatives(json!({})).await;
    assert_eq!(list["creatives"][0]["status"], "approved");
    let again = rig
        .sync(json!({"idempotency_key": key(2), "creatives": [c]}))
        .await;
    assert_eq!(
        again["creatives"][0],
        json!({"creative_id": "spring-1", "action": "updated", "status": "approved"})
    );
}

#[tokio::test]
async fn a_rejection_carries_the_note_to_the_webhook_the_resync_and_the_library() {
    let rig = Rig::start("manual").await;
    let c = creative("bad-1");
    rig.sync(json!({"idempotency_key": key(1), "creatives": [c], "pushNotificationConfig": rig.push("Bearer")}))
        .await;
    let note = "The logo is smaller than our 20 px minimum.";
    let decided = rig
        .decide("bad-1", json!({"decision": "rejected", "note": note}))
        .await;
    assert_eq!(decided["status"], "rejected");
    assert_eq!(decided["note"], note);
    rig.app.run_jobs().await;
    assert!(
        rig.seller.calls_of("sync_creatives").is_empty(),
        "a rejected creative is never forwarded"
    );

    let got = rig.hooks.got();
    assert_eq!(got.len(), 1);
    let body = check_webhook(&got[0], "Bearer");
    let item = &body["result"]["creatives"][0];
    assert_eq!(item["action"], "failed");
    assert!(item.get("status").is_none());
    assert_eq!(item["errors"][0]["code"], "CREATIVE_REJECTED");
    assert_eq!(item["errors"][0]["message"], note);

    let again = rig
        .sync(json!({"idempotency_key": key(2), "creatives": [c]}))
        .await;
    assert_eq!(again["creatives"][0]["action"], "failed");
    assert!(again["creatives"][0].get("status").is_none());
    assert_eq!(again["creatives"][0]["errors"][0]["message"], note);

    let list = rig
        .list_creatives(json!({"filters": {"statuses": ["rejected"]}}))
        .await;
    assert_eq!(list["creatives"][0]["status"], "rejected");
    assert_eq!(list["creatives"][0]["rejection_reason"], note);

    // Changed content is a new submission, pending again.
    let mut fixed = c.clone();
    fixed["assets"]["hero"]["url"] = json!("https://cdn.buyer.example/bigger-logo.png");
    let resubmitted = rig
        .sync(json!({"idempotency_key": key(3), "creatives": [fixed]}))
        .await;
    assert_eq!(resubmitted["creatives"][0]["action"], "updated");
    assert_eq!(resubmitted["creatives"][0]["status"], "pending_review");
    let row = rig.review("bad-1").await;
    assert_eq!(row["status"], "pending");
    assert_eq!(row["submission"], 2);
    assert!(row["note"].is_null());
    assert_eq!(row["submittedPayload"], fixed);
    let events: Vec<&str> = row["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["submitted", "rejected", "submitted"]);
    assert_eq!(row["history"][1]["note"], note);
}

#[tokio::test]
async fn a_decided_row_is_409_naming_its_status_and_revoked_cannot_be_decided() {
    let rig = Rig::start("manual").await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("a")]}))
        .await;
    rig.decide("a", json!({"decision": "approved"})).await;
    for body in [
        json!({"decision": "rejected"}),
        json!({"decision": "approved"}),
    ] {
        let err = error_of(rig.post("/a/decide", &body).await, StatusCode::CONFLICT).await;
        assert_eq!(err["code"], "INVALID_STATE");
        assert!(
            err["message"].as_str().unwrap().contains("approved"),
            "{err}"
        );
    }
    let err = error_of(
        rig.post("/a/decide", &json!({"decision": "revoked"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "decision");
    let err = error_of(
        rig.post(
            "/a/decide",
            &json!({"decision": "rejected", "note": "x".repeat(2001)}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["field"], "note");
    let err = error_of(rig.get("/nope").await, StatusCode::NOT_FOUND).await;
    assert_eq!(err["code"], "NOT_FOUND");
    // Revoking a pending one is refused too.
    rig.sync(json!({"idempotency_key": key(2), "creatives": [creative("b")]}))
        .await;
    let err = error_of(
        rig.post("/b/revoke", &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("pending"),
        "{err}"
    );
    rig.app.run_jobs().await;
}

#[tokio::test]
async fn of_two_concurrent_decisions_exactly_one_wins() {
    let rig = Rig::start("manual").await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("race")], "push_notification_config": rig.push("Bearer")}))
        .await;
    let approve = json!({"decision": "approved"});
    let reject = json!({"decision": "rejected", "note": "no"});
    let attempts: Vec<_> = (0..8)
        .map(|i| rig.post("/race/decide", if i % 2 == 0 { &approve } else { &reject }))
        .collect();
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7,
        "{statuses:?}"
    );
    let row = rig.review("race").await;
    assert_eq!(
        row["history"].as_array().unwrap().len(),
        2,
        "one submission, one decision"
    );
    rig.app.run_jobs().await;
    assert_eq!(rig.hooks.got().len(), 1, "one decision, one webhook");
    let forwarded = rig.seller.calls_of("sync_creatives").len();
    assert_eq!(forwarded, usize::from(row["status"] == "approved"));
}

#[tokio::test]
async fn revoke_archives_at_the_agent_and_tells_the_buyer() {
    let rig = Rig::start("manual").await;
    let c = creative("pull-me");
    rig.sync(json!({"idempotency_key": key(1), "creatives": [c], "push_notification_config": rig.push("HMAC-SHA256")}))
        .await;
    rig.decide("pull-me", json!({"decision": "approved"})).await;
    rig.app.run_jobs().await;
    let res = rig
        .post(
            "/pull-me/revoke",
            &json!({"note": "brand safety complaint"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let row: Value = res.json().await.unwrap();
    assert_eq!(row["status"], "revoked");
    rig.app.run_jobs().await;

    // Archived at the agent: a sync of that creative alone, marked archived.
    let calls = rig.seller.calls_of("sync_creatives");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].args["creative_ids"], json!(["pull-me"]));
    assert_eq!(calls[1].args["creatives"][0]["status"], "archived");
    assert_ne!(
        calls[0].args["idempotency_key"],
        calls[1].args["idempotency_key"]
    );
    assert_eq!(rig.seller.library()["pull-me"]["status"], "archived");
    let row = rig.review("pull-me").await;
    assert_eq!(row["forwarding"]["status"], "archived");

    let got = rig.hooks.got();
    assert_eq!(got.len(), 2);
    let body = check_webhook(&got[1], "HMAC-SHA256");
    assert_eq!(body["result"]["creatives"][0]["status"], "archived");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("brand safety complaint"));
    let first = got[0].json();
    assert_ne!(
        first["idempotency_key"], body["idempotency_key"],
        "one key per event"
    );

    let list = rig
        .list_creatives(json!({"filters": {"statuses": ["archived"]}}))
        .await;
    assert_eq!(list["creatives"][0]["status"], "archived");
    let err = error_of(
        rig.post("/pull-me/revoke", &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn forwarding_survives_a_restart_and_a_503_with_one_idempotency_key() {
    let rig = Rig::start_with(
        "manual",
        |s| {
            s.fail_times.insert("sync_creatives".into(), 1);
        },
        |_| {},
    )
    .await;
    let c = creative("durable");
    rig.sync(json!({"idempotency_key": key(1), "creatives": [c]}))
        .await;
    rig.decide("durable", json!({"decision": "approved"})).await;
    // The process stops between the approval and the send; a new one on the same data sends it.
    let Rig {
        front: Front { app, seller, .. },
        ..
    } = rig;
    let app = app.restart().await;
    app.run_jobs().await;
    let calls = seller.calls_of("sync_creatives");
    assert_eq!(calls.len(), 2, "a 503, then the retry");
    assert_eq!(calls[0].http_status, Some(503));
    assert_eq!(
        calls[0].args["idempotency_key"],
        calls[1].args["idempotency_key"]
    );
    assert_eq!(calls[1].args["creatives"], json!([c]));
    assert_eq!(seller.library().len(), 1);
    let row: Value = app
        .client
        .get(format!(
            "{}/api/v2/storefront/creative-reviews/durable",
            app.base
        ))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(row["forwarding"]["status"], "forwarded");
    assert_eq!(row["forwarding"]["attempts"], 2);
    // Nothing is sent twice: the job is done.
    app.run_jobs().await;
    assert_eq!(seller.calls_of("sync_creatives").len(), 2);
}

#[tokio::test]
async fn forwarding_is_dead_after_the_last_attempt_with_the_error_on_the_row() {
    let rig = Rig::start_with(
        "manual",
        |s| {
            s.fail_times.insert("sync_creatives".into(), 100);
        },
        |c| c.job_max_attempts = 2,
    )
    .await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("x")]}))
        .await;
    rig.decide("x", json!({"decision": "approved"})).await;
    rig.app.expect_dead_jobs();
    rig.app.run_jobs().await;
    let row = rig.review("x").await;
    assert_eq!(row["forwarding"]["status"], "dead");
    assert_eq!(row["forwarding"]["attempts"], 2);
    assert!(
        row["forwarding"]["last_error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{row}"
    );
}

#[tokio::test]
async fn the_webhook_is_retried_after_a_503_with_the_same_idempotency_key() {
    let rig = Rig::start("manual").await;
    rig.hooks.fail.store(1, Ordering::SeqCst);
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("w")], "push_notification_config": rig.push("HMAC-SHA256")}))
        .await;
    rig.decide("w", json!({"decision": "approved"})).await;
    rig.app.run_jobs().await;
    let got = rig.hooks.got();
    assert_eq!(got.len(), 2);
    let (first, second) = (
        check_webhook(&got[0], "HMAC-SHA256"),
        check_webhook(&got[1], "HMAC-SHA256"),
    );
    assert_eq!(first["idempotency_key"], second["idempotency_key"]);
    assert_eq!(first, second, "the same event");
    let row = rig.review("w").await;
    assert_eq!(row["webhooks"][0]["status"], "delivered");
    assert_eq!(row["webhooks"][0]["attempts"], 2);
    assert!(row["webhooks"][0]["delivered_at"].is_string());
}

#[tokio::test]
async fn an_agent_rejection_is_on_the_row_and_told_to_the_buyer() {
    let rig = Rig::start_with(
        "manual",
        |s| s.reject_creative_names = vec!["Creative edgy".into()],
        |_| {},
    )
    .await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("edgy")], "push_notification_config": rig.push("Bearer")}))
        .await;
    rig.decide("edgy", json!({"decision": "approved"})).await;
    rig.app.run_jobs().await;
    let row = rig.review("edgy").await;
    assert_eq!(row["forwarding"]["status"], "rejected");
    let message = row["forwarding"]["last_error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("CREATIVE_REJECTED") && message.contains("ad policy"),
        "{message}"
    );
    let got = rig.hooks.got();
    assert_eq!(got.len(), 2, "the approval, then the agent's rejection");
    let body = check_webhook(&got[1], "Bearer");
    assert_eq!(body["result"]["creatives"][0]["action"], "failed");
    assert_eq!(
        body["result"]["creatives"][0]["errors"][0]["message"],
        message.as_str()
    );
    let list = rig
        .list_creatives(json!({"filters": {"statuses": ["rejected"]}}))
        .await;
    assert_eq!(list["creatives"][0]["rejection_reason"], message.as_str());
}

#[tokio::test]
async fn auto_mode_forwards_every_creative_at_sync_time() {
    let rig = Rig::start("auto").await;
    let answer = rig
        .sync(json!({"idempotency_key": key(1), "creatives": [creative("a1"), creative("a2")]}))
        .await;
    assert_eq!(answer["creatives"][0]["status"], "approved");
    let queue: Value = rig.get("").await.json().await.unwrap();
    assert_eq!(queue["total"], 0, "nothing waits for review");
    rig.app.run_jobs().await;
    assert_eq!(rig.seller.library().len(), 2);
    let row = rig.review("a1").await;
    assert_eq!(row["status"], "approved");
    assert_eq!(row["decided_by"], "auto");
    assert_eq!(row["forwarding"]["status"], "forwarded");
}

/// The queue's search folds case beyond ASCII, in the name and in the creative id, on every
/// backend (SQL LOWER folded only ASCII on SQLite); queue rows stored before the folded columns
/// are filled in at start.
#[tokio::test]
async fn the_queue_search_folds_non_ascii_names_and_ids() {
    let rig = Rig::start("manual").await;
    let mut accented = creative("Été-7");
    accented["name"] = json!("Crème ÉTÉ Straße");
    rig.sync(json!({"idempotency_key": key(1), "creatives": [accented, creative("plain")]}))
        .await;
    let found = |search: &'static str| {
        let rig = &rig;
        async move {
            let search_q =
                percent_encoding::utf8_percent_encode(search, percent_encoding::NON_ALPHANUMERIC);
            let url = format!("?status=all&search={search_q}");
            let page: Value = rig.get(&url).await.json().await.unwrap();
            let ids: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["creative_id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(page["total"], ids.len(), "{search}");
            ids
        }
    };
    assert_eq!(found("crème été").await, ["Été-7"]);
    assert_eq!(found("STRASSE").await, Vec::<String>::new());
    assert_eq!(
        found("STRAẞE").await,
        ["Été-7"],
        "capital sharp s folds to ß"
    );
    assert_eq!(found("été-7").await, ["Été-7"], "by creative id");
    assert_eq!(
        found("%").await,
        Vec::<String>::new(),
        "wildcards are literal"
    );

    sqlx::query("UPDATE storefront_reviews SET name_folded = NULL, creative_id_folded = NULL")
        .execute(&rig.app.state.db.pool)
        .await
        .unwrap();
    let Rig { mut front, hooks } = rig;
    front.app = front.app.restart().await;
    let rig = Rig { front, hooks };
    let page: Value = rig
        .get("?status=all&search=%C3%89T%C3%89-7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["creative_id"], "Été-7");
}

#[tokio::test]
async fn the_queue_filters_searches_pages_and_disambiguates_accounts() {
    let rig = Rig::start("manual").await;
    for i in 0..5 {
        rig.sync(json!({"idempotency_key": key(i), "creatives": [creative(&format!("q{i}"))]}))
            .await;
    }
    rig.decide("q0", json!({"decision": "approved"})).await;
    rig.decide("q1", json!({"decision": "rejected"})).await;
    let page = |q: &str| {
        let q = q.to_owned();
        let rig = &rig;
        async move { rig.get(&q).await.json::<Value>().await.unwrap() }
    };
    let pending = page("").await;
    assert_eq!(pending["total"], 3);
    let ids: Vec<&str> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["creative_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q4", "q3", "q2"], "newest first");
    assert_eq!(page("?status=all").await["total"], 5);
    assert_eq!(
        page("?status=approved").await["items"][0]["creative_id"],
        "q0"
    );
    assert_eq!(
        page("?status=rejected").await["items"][0]["creative_id"],
        "q1"
    );
    let two = page("?status=all&take=2&skip=2").await;
    assert_eq!(
        (
            two["total"].as_i64(),
            two["items"].as_array().unwrap().len()
        ),
        (Some(5), 2)
    );
    assert_eq!(
        page("?status=all&search=CREATIVE%20Q3").await["items"][0]["creative_id"],
        "q3"
    );
    assert_eq!(
        page(&format!("?status=all&account_id={}", rig.account_id)).await["total"],
        5
    );
    assert_eq!(page("?status=all&storefront_id=sf_none").await["total"], 0);
    let err = error_of(rig.get("?status=maybe").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "status");

    // The same creative id in a second account: the caller must say which.
    let (other, other_key) = rig
        .app
        .create_buyer_account(&rig.storefront_id, "other.com")
        .await;
    let other_id = other["account_id"].as_str().unwrap();
    rig.call_with(
        &other_key,
        "sync_creatives",
        json!({"idempotency_key": key(9), "creatives": [creative("q2")]}),
    )
    .await;
    let err = error_of(rig.get("/q2").await, StatusCode::CONFLICT).await;
    let choices = err["details"]["choices"].to_string();
    assert!(
        choices.contains(&rig.account_id) && choices.contains(other_id),
        "{err}"
    );
    let one: Value = rig
        .get(&format!("/q2?account_id={other_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["account_id"], other_id);
    let res = rig
        .post(
            &format!("/q2/decide?account_id={other_id}"),
            &json!({"decision": "approved"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        rig.review(&format!("q2?account_id={}", rig.account_id))
            .await["status"],
        "pending"
    );

    // Another customer sees none of it.
    let stranger = rig.app.other_customer("stranger").await;
    let res = rig
        .app
        .client
        .get(rig.reviews("?status=all"))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["total"], 0);
    let res = rig
        .app
        .client
        .post(rig.reviews("/q3/decide"))
        .bearer_auth(&stranger)
        .json(&json!({"decision": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    rig.app.run_jobs().await;
}

/// Every callback form the issue names, refused per creative at submit time with nothing stored.
const BLOCKED: &[&str] = &[
    "http://hooks.buyer.com/adcp",
    "https://localhost/x",
    "https://hooks.localhost/x",
    "https://10.0.0.1/x",
    "https://172.16.5.4/x",
    "https://192.168.1.1/x",
    "https://127.0.0.1/x",
    "https://2130706433/x",
    "https://[::1]/x",
    "https://169.254.10.10/x",
    "https://[fe80::1]/x",
    "https://100.64.0.1/x",
    "https://224.0.0.1/x",
    "https://[ff02::1]/x",
    "https://240.0.0.1/x",
    "https://0.0.0.0/x",
    "https://[::ffff:10.0.0.1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[fd00:ec2::254]/x",
    "https://metadata.google.internal/computeMetadata/v1",
    "https://intranet/x",
    "https://hooks.corp.internal/x",
];

#[tokio::test]
async fn every_blocked_callback_url_is_refused_per_creative_and_nothing_is_queued() {
    // The default policy: no loopback allowance.
    let rig = Rig::start_with(
        "manual",
        |_| {},
        |c| c.storefront_webhook_allow_loopback = false,
    )
    .await;
    let mut urls: Vec<String> = BLOCKED.iter().map(|u| u.to_string()).collect();
    // The suite's own receiver is loopback: refused without the test setting.
    urls.push(rig.hooks.url.clone());
    for (i, url) in urls.iter().enumerate() {
        let answer = rig
            .sync(json!({"idempotency_key": key(i as u32), "creatives": [creative("c1"), creative("c2")],
                "push_notification_config": {"url": url, "operation_id": "op-1"}}))
            .await;
        for item in answer["creatives"].as_array().unwrap() {
            assert_eq!(item["action"], "failed", "{url}: {answer}");
            assert_eq!(
                item["errors"][0]["field"], "push_notification_config.url",
                "{url}"
            );
        }
    }
    assert_eq!(rig.app.count_rows("storefront_creatives").await, 0);
    assert_eq!(rig.app.count_rows("storefront_reviews").await, 0);
    assert_eq!(rig.app.count_rows("storefront_push_configs").await, 0);
    assert_eq!(rig.app.count_rows("jobs").await, 0);

    // Even with the test setting, only loopback literals open: names and other ranges do not.
    let lab = Rig::start("manual").await;
    for url in [
        "http://localhost:9/hook",
        "https://10.0.0.1/x",
        "https://169.254.169.254/x",
    ] {
        let answer = lab
            .sync(
                json!({"idempotency_key": key(1), "creatives": [creative("c1")],
                "push_notification_config": {"url": url}}),
            )
            .await;
        assert_eq!(answer["creatives"][0]["action"], "failed", "{url}");
    }
    assert_eq!(lab.app.count_rows("storefront_reviews").await, 0);
}

#[tokio::test]
async fn weak_webhook_credentials_are_refused_at_submit_time() {
    let rig = Rig::start("manual").await;
    for (scheme, creds) in [
        ("HMAC-SHA256", "short"),
        ("HMAC-SHA256", &*"a".repeat(40)),
        ("Bearer", "tiny"),
    ] {
        let answer = rig
            .sync(json!({"idempotency_key": key(1), "creatives": [creative("c1")],
                "push_notification_config": {"url": rig.hooks.url, "authentication": {"schemes": [scheme], "credentials": creds}}}))
            .await;
        assert_eq!(answer["creatives"][0]["action"], "failed");
        assert_eq!(
            answer["creatives"][0]["errors"][0]["field"],
            "push_notification_config.authentication.credentials"
        );
    }
    for (auth, field) in [
        (
            json!({"schemes": ["Bearer"]}),
            "push_notification_config.authentication.credentials",
        ),
        (
            json!({"schemes": ["Basic"], "credentials": BEARER}),
            "push_notification_config.authentication.schemes",
        ),
    ] {
        let answer = rig
            .sync(
                json!({"idempotency_key": key(2), "creatives": [creative("c1")],
                "push_notification_config": {"url": rig.hooks.url, "authentication": auth}}),
            )
            .await;
        assert_eq!(
            answer["creatives"][0]["errors"][0]["field"], field,
            "{answer}"
        );
    }
    assert_eq!(rig.app.count_rows("storefront_reviews").await, 0);
}

/// The running binary, as an operator runs it: webhook credentials appear in no answer of the
/// queue and in no line of the log, through a whole submit → decide → deliver cycle.
#[tokio::test]
async fn webhook_credentials_never_reach_the_queue_or_the_log() {
    const DEV_KEY: &str = "dev-key-review-logs-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let seller = Seller::start(SellerConfig {
        formats: vec![seller_format("box", 300, 250)],
        offers_sync: true,
        ..Default::default()
    })
    .await;
    let hooks = Hooks::start().await;
    let service = crate::helpers::ServiceProcess::start(
        &dir.path().join("data"),
        &[
            ("DEV_API_KEY", DEV_KEY),
            ("OUTBOUND_ALLOW_PRIVATE", "true"),
            ("STOREFRONT_WEBHOOK_ALLOW_LOOPBACK", "true"),
            ("WORKER_POLL_MS", "50"),
        ],
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let post =
        |url: String, key: &str, body: Value| client.post(url).bearer_auth(key).json(&body).send();
    let agent: Value = post(
        service.api("/sales-agents"),
        DEV_KEY,
        json!({"name": "Seller", "endpoint_url": seller.url, "capabilities": {"has_creative_library": true}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let agent_id = agent["sales_agent_id"].as_str().unwrap();
    let res = post(
        service.api(&format!("/sales-agents/{agent_id}/formats/refresh")),
        DEV_KEY,
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let sf_api = format!("{}/api/v2/storefront", service.base);
    let sf: Value = post(
        format!("{sf_api}/storefronts"),
        DEV_KEY,
        json!({"name": "Front", "sales_agent_id": agent_id, "review_mode": "manual"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let sf_id = sf["storefront_id"].as_str().unwrap();
    let account: Value = post(
        format!("{sf_api}/storefronts/{sf_id}/accounts"),
        DEV_KEY,
        json!({"name": "Acme", "brand_domains": ["acme.com"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let buyer_key = account["api_key"].as_str().unwrap();
    let mcp = sf["mcp_url"].as_str().unwrap();
    for (n, (field, scheme, creds)) in [
        ("push_notification_config", "HMAC-SHA256", HMAC_SECRET),
        ("pushNotificationConfig", "Bearer", BEARER),
    ]
    .into_iter()
    .enumerate()
    {
        let mut args =
            json!({"idempotency_key": key(n as u32), "creatives": [creative(&format!("log-{n}"))]});
        args[field] = json!({"url": hooks.url, "operation_id": "op-log",
            "authentication": {"schemes": [scheme], "credentials": creds}});
        let res: Value = post(
            mcp.to_owned(),
            buyer_key,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sync_creatives", "arguments": args}}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(
            res["result"]["structuredContent"]["creatives"][0]["status"], "pending_review",
            "{res}"
        );
    }
    let mut seen = String::new();
    for n in 0..2 {
        let url = format!("{sf_api}/creative-reviews/log-{n}");
        seen.push_str(
            &client
                .get(&url)
                .bearer_auth(DEV_KEY)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let res = post(
            format!("{url}/decide"),
            DEV_KEY,
            json!({"decision": "approved"}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        seen.push_str(&res.text().await.unwrap());
    }
    seen.push_str(
        &client
            .get(format!("{sf_api}/creative-reviews?status=all"))
            .bearer_auth(DEV_KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    // The service's own worker delivers both webhooks: wait for them, not for a time.
    for _ in 0..400 {
        if hooks.got().len() >= 2 && seller.calls_of("sync_creatives").len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(hooks.got().len(), 2, "{}", service.log());
    let log = service.log();
    assert!(
        log.contains("job done"),
        "the jobs ran in the service:\n{log}"
    );
    for secret in [HMAC_SECRET, BEARER] {
        assert!(
            !log.contains(secret),
            "a webhook credential in the log:\n{log}"
        );
        assert!(
            !seen.contains(secret),
            "a webhook credential in the queue's answers: {seen}"
        );
    }
    assert!(!seen.contains("push_notification_config") && !seen.contains("pushNotificationConfig"));
}

#[tokio::test]
async fn the_callback_is_checked_again_at_send_time() {
    let rig = Rig::start("manual").await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("s")], "push_notification_config": rig.push("Bearer")}))
        .await;
    rig.decide("s", json!({"decision": "approved"})).await;
    // The loopback allowance is gone by the time the event is sent: the send refuses it.
    let Rig {
        front: Front {
            mut app, seller, ..
        },
        hooks,
    } = rig;
    app.config.storefront_webhook_allow_loopback = false;
    let app = app.restart().await;
    app.expect_dead_jobs();
    app.run_jobs().await;
    assert!(hooks.got().is_empty());
    assert_eq!(
        seller.calls_of("sync_creatives").len(),
        1,
        "forwarding is not affected"
    );
    let row: Value = app
        .client
        .get(format!("{}/api/v2/storefront/creative-reviews/s", app.base))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(row["webhooks"][0]["status"], "failed");
    assert!(
        row["webhooks"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("https"),
        "{row}"
    );
}

#[tokio::test]
async fn a_webhook_is_given_up_a_day_after_its_event() {
    let rig = Rig::start("manual").await;
    rig.hooks.fail.store(u32::MAX, Ordering::SeqCst);
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("old")], "push_notification_config": rig.push("Bearer")}))
        .await;
    rig.decide("old", json!({"decision": "rejected"})).await;
    let two_days_ago = (chrono::Utc::now() - chrono::Duration::days(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    sqlx::query("UPDATE storefront_review_webhooks SET created_at = $1")
        .bind(two_days_ago)
        .execute(&rig.app.state.db.pool)
        .await
        .unwrap();
    rig.app.expect_dead_jobs();
    rig.app.run_jobs().await;
    assert!(rig.hooks.got().is_empty());
    let row = rig.review("old").await;
    assert_eq!(row["webhooks"][0]["status"], "failed");
    assert!(row["webhooks"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("given up"));
}

#[tokio::test]
async fn a_sync_the_agent_queues_is_polled_to_its_end_not_sent_again() {
    let rig = Rig::start_with(
        "manual",
        |s| {
            s.queue_tasks.insert(
                "sync_creatives".into(),
                crate::seller::QueueTask {
                    polls: 1,
                    ..Default::default()
                },
            );
        },
        |c| c.seller_task_poll_ms = 20,
    )
    .await;
    let c = creative("queued");
    rig.sync(json!({"idempotency_key": key(1), "creatives": [c]}))
        .await;
    rig.decide("queued", json!({"decision": "approved"})).await;
    rig.app.run_jobs().await;
    assert_eq!(rig.seller.calls_of("sync_creatives").len(), 1, "sent once");
    assert!(
        !rig.seller.calls_of("get_task_status").is_empty(),
        "then polled"
    );
    assert_eq!(rig.seller.library()["queued"], c);
    let row = rig.review("queued").await;
    assert_eq!(row["forwarding"]["status"], "forwarded", "{row}");
    assert!(row["forwarding"]["platform_id"].is_string());
}

#[tokio::test]
async fn a_pending_creative_the_buyer_archives_leaves_the_queue() {
    let rig = Rig::start("manual").await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("keep"), creative("drop")]}))
        .await;
    let answer = rig
        .sync(json!({"idempotency_key": key(2), "creatives": [creative("keep")], "delete_missing": true}))
        .await;
    assert_eq!(answer["creatives"][1]["action"], "deleted");
    let queue: Value = rig.get("?status=all").await.json().await.unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["creative_id"], "keep");
    error_of(
        rig.post("/drop/decide", &json!({"decision": "approved"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn forwarding_uses_the_storefronts_credentials_and_the_agents_account() {
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let seller = Seller::start(SellerConfig {
        formats: vec![seller_format("box", 300, 250)],
        offers_sync: true,
        token: Some("storefront-seller-token-0123456789".into()),
        ..Default::default()
    })
    .await;
    let res = app
        .post_json(
            "/sales-agents",
            &json!({"name": "Seller", "endpoint_url": seller.url, "account_id": "agent-acct-42",
                "auth": {"token": "storefront-seller-token-0123456789"},
                "capabilities": {"has_creative_library": true}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let agent: Value = res.json().await.unwrap();
    let agent_id = agent["sales_agent_id"].as_str().unwrap();
    assert_eq!(app.refresh_formats(agent_id).await.status(), StatusCode::OK);
    let sf = app.create_storefront_for(agent_id, "manual").await;
    let (_, buyer_key) = app
        .create_buyer_account(sf["storefront_id"].as_str().unwrap(), "acme.com")
        .await;
    let res = app
        .client
        .post(sf["mcp_url"].as_str().unwrap())
        .bearer_auth(&buyer_key)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sync_creatives",
            "arguments": {"idempotency_key": key(1), "creatives": [creative("cred")]}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .post(format!(
            "{}/api/v2/storefront/creative-reviews/cred/decide",
            app.base
        ))
        .bearer_auth(&app.key)
        .json(&json!({"decision": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.run_jobs().await;
    let calls = seller.calls_of("sync_creatives");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some("Bearer storefront-seller-token-0123456789"),
        "the storefront's credentials, never the buyer's key"
    );
    assert_eq!(
        calls[0].args["account"],
        json!({"account_id": "agent-acct-42"})
    );
    assert!(!calls[0].args.to_string().contains(&buyer_key));
}

#[tokio::test]
async fn an_answer_lost_in_flight_is_retried_with_the_same_key_and_applied_once() {
    let rig = Rig::start_with(
        "manual",
        |s| {
            // The seller applies the sync, then answers too late for the service's time-out.
            s.delay.insert(
                "sync_creatives".into(),
                std::time::Duration::from_millis(1500),
            );
        },
        |c| c.outbound_timeout_secs = 1,
    )
    .await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("lost")]}))
        .await;
    rig.decide("lost", json!({"decision": "approved"})).await;
    let worker = creative_manifests::services::worker(&rig.app.state);
    assert!(worker.run_one("first").await.unwrap());
    let row = rig.review("lost").await;
    assert_eq!(row["forwarding"]["status"], "retrying", "{row}");
    rig.seller.configure(|c| c.delay.clear());
    rig.app.run_jobs().await;
    let calls = rig.seller.calls_of("sync_creatives");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].args["idempotency_key"],
        calls[1].args["idempotency_key"]
    );
    assert!(
        calls[1].replayed,
        "the agent recognised the retry and applied nothing again"
    );
    assert_eq!(
        rig.review("lost").await["forwarding"]["status"],
        "forwarded"
    );
}

/// A decision made on the web UI's review page is the API's own decision, made by the key the
/// operator signed in with (no key header reaches the handler: the session names the actor).
#[tokio::test]
async fn a_decision_from_the_web_ui_is_recorded_by_the_key_signed_in_with() {
    let rig = Rig::start("manual").await;
    rig.sync(json!({"idempotency_key": key(1), "creatives": [creative("a"), creative("b")]}))
        .await;
    let by_key = rig.decide("b", json!({"decision": "approved"})).await["decided_by"].clone();
    let b = crate::ui::Browser::signed_in(&rig.app).await;
    let token = b.csrf().await;
    let note = "Too small a logo.";
    let res = b
        .post_form(
            "/ui/reviews/a/decide",
            &[("csrf", &token), ("decision", "rejected"), ("note", note)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(crate::ui::location(&res).contains("notice=Rejected"));
    let row = rig.review("a").await;
    assert_eq!(row["status"], "rejected");
    assert_eq!(row["note"], note);
    assert_eq!(row["decided_by"], by_key, "{row}");
    // The page shows the decision, the note and the payload.
    let page = b.get("/ui/reviews/a").await.text().await.unwrap();
    assert!(page.contains(note), "{page}");
    assert!(page.contains("rejected"));
    rig.app.run_jobs().await;
}
