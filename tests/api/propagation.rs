//! Propagation to sellers over AdCP: execute, library sync or inline, fallbacks, durable retried
//! jobs, re-sync after changes, sync_status. The counterparty is the test seller (`seller.rs`),
//! which checks every request against the AdCP schemas.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use creative_manifests::config::Config;

use crate::helpers::{error_of, fixture, TestApp};
use crate::seller::{Call, QueueTask, Seller, SellerConfig};

const STANDARD: &str = "https://creative.adcontextprotocol.org";

fn fid(id: &str) -> Value {
    json!({"agent_url": STANDARD, "id": id})
}

/// Quick retries and a short lease, so retries and take-overs happen within a test; queued seller
/// tasks are polled every 50 ms.
pub(crate) fn fast(c: &mut Config) {
    c.job_retry_base_ms = 50;
    c.job_retry_cap_secs = 1;
    c.worker_poll_ms = 50;
    c.job_lease_secs = 3;
    c.seller_task_poll_ms = 50;
    // Jobs run when the test runs them (`settled`), not on the service's own worker.
    c.run_worker = false;
}

pub(crate) fn library_seller() -> SellerConfig {
    SellerConfig {
        has_creative_library: Some(true),
        ..Default::default()
    }
}

pub(crate) fn inline_seller() -> SellerConfig {
    SellerConfig {
        has_creative_library: Some(false),
        ..Default::default()
    }
}

/// A library seller that refuses every `sync_creatives` with AdCP error `code`.
fn refusing_sync(code: &str) -> SellerConfig {
    let mut cfg = library_seller();
    cfg.errors.insert(
        "sync_creatives".into(),
        json!([{"code": code, "message": "refused by the test seller", "recovery": "terminal"}]),
    );
    cfg
}

/// Registers a seller with these capabilities and waits for its first format fetch (and probe).
pub(crate) async fn add_seller(app: &TestApp, seller: &Seller, capabilities: Value) -> String {
    let res = app
        .post_json(
            "/sales-agents",
            &json!({"name": "Seller", "endpoint_url": seller.url, "capabilities": capabilities}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["sales_agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..200 {
        let a: Value = app
            .get(&format!("/sales-agents/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if a["formats"]["last_attempted_at"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    id
}

async fn sales_agent(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/sales-agents/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// A seller, registered with `capabilities`, and a campaign buying from it alone.
pub(crate) async fn one_seller(
    app: &TestApp,
    config: SellerConfig,
    capabilities: Value,
) -> (Seller, String, String) {
    let seller = Seller::start(config).await;
    let agent = add_seller(app, &seller, capabilities).await;
    let campaign = campaign(app, &[&agent]).await;
    (seller, agent, campaign)
}

/// A seller whose creatives can only go through its library (it refuses inline creatives, and is
/// registered as not supporting them), and a campaign buying from it alone.
async fn library_only_seller(app: &TestApp, mut config: SellerConfig) -> (Seller, String, String) {
    config.rejects_inline = true;
    one_seller(
        app,
        config,
        json!({"has_creative_library": true, "supports_inline": false}),
    )
    .await
}

/// A campaign buying one display 300x250 product from each seller, with a flight and budgets.
pub(crate) async fn campaign(app: &TestApp, sellers: &[&str]) -> String {
    let products: Vec<(String, &str, Vec<Value>)> = sellers
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("prod_{i}"), *s, vec![fid("display_300x250")]))
        .collect();
    campaign_buying(app, &products).await
}

/// A campaign with a flight buying `products`: (product id, seller, its format ids), each with a
/// budget and a pricing option.
pub(crate) async fn campaign_buying(
    app: &TestApp,
    products: &[(String, &str, Vec<Value>)],
) -> String {
    let products: Vec<Value> = products
        .iter()
        .map(|(product, seller, formats)| {
            json!({"product_id": product, "sales_agent_id": seller, "format_ids": formats,
                   "budget": 5000.0, "pricing_option_id": "cpm_usd_fixed"})
        })
        .collect();
    let res = app
        .post_json(
            "/campaigns",
            &json!({"name": "Launch", "brand_domain": "acme.com", "products": products,
                    "start_time": "2027-01-01T00:00:00Z", "end_time": "2027-02-01T00:00:00Z"}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    body["campaign_id"].as_str().expect("campaign").to_owned()
}

pub(crate) async fn banner(app: &TestApp, campaign: &str, name: &str) -> String {
    let m = app
        .create_png_manifest(
            campaign,
            &json!({"name": name, "url_asset": {"url": "https://acme.com/landing"}, "assets": [{"filename": "a.png"}]}),
        )
        .await;
    m["creative_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn execute(app: &TestApp, campaign: &str) -> Value {
    let res = app
        .post_json(&format!("/campaigns/{campaign}/execute"), &json!({}))
        .await;
    let status = res.status();
    let body = crate::views::key_sorted(&res.text().await.unwrap());
    assert_eq!(status, StatusCode::OK, "{body}");
    crate::openapi::assert_conforms(
        "POST",
        "/api/v2/buyer/campaigns/{campaign_id}/execute",
        200,
        &body,
    );
    body
}

pub(crate) async fn manifest(app: &TestApp, campaign: &str, creative: &str) -> Value {
    let res = app
        .get(&format!("/campaigns/{campaign}/creatives/{creative}"))
        .await;
    let status = res.status().as_u16();
    let body = res.json().await.unwrap();
    crate::openapi::assert_conforms(
        "GET",
        "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}",
        status,
        &body,
    );
    body
}

pub(crate) async fn propagation(app: &TestApp, campaign: &str) -> Value {
    let res = app.get(&format!("/campaigns/{campaign}/propagation")).await;
    let status = res.status().as_u16();
    let body = crate::views::key_sorted(&res.text().await.unwrap());
    crate::openapi::assert_conforms(
        "GET",
        "/api/v2/buyer/campaigns/{campaign_id}/propagation",
        status,
        &body,
    );
    body
}

/// Runs the jobs to empty, and asserts every job of the campaign has finished (succeeded or dead).
pub(crate) async fn settled(app: &TestApp, campaign: &str) -> Value {
    app.run_jobs().await;
    let p = propagation(app, campaign).await;
    let jobs = p["jobs"].as_array().unwrap();
    assert!(
        !jobs.is_empty()
            && jobs
                .iter()
                .all(|j| j["status"] == "succeeded" || j["status"] == "dead"),
        "jobs did not settle: {p}"
    );
    p
}

/// Waits until every job of the campaign has finished, and asserts they all succeeded.
async fn all_succeeded(app: &TestApp, campaign: &str) -> Value {
    let p = settled(app, campaign).await;
    let jobs = p["jobs"].as_array().unwrap();
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"), "{p}");
    p
}

/// The last `update_media_buy` the seller received.
fn last_update(seller: &Seller) -> Call {
    seller
        .calls_of("update_media_buy")
        .pop()
        .expect("an update")
}

/// A library seller and a campaign with one banner, executed: the banner is assigned on the buy.
/// Returns the seller, the campaign and the banner's creative id.
async fn bought_from_library_seller(app: &TestApp) -> (Seller, String, String) {
    let (seller, _, campaign) =
        one_seller(app, library_seller(), json!({"has_creative_library": true})).await;
    let a = banner(app, &campaign, "A").await;
    let out = execute(app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "succeeded", "{out}");
    assert_eq!(assigned(&seller), vec![vec![a.clone()]]);
    (seller, campaign, a)
}

/// The only seller's result in `out`, asserted failed for a reason naming `cause`, with no media buy
/// and its job dead (a refusal or an unreadable answer is not retried).
fn failed_without_buy<'v>(out: &'v Value, cause: &str) -> &'v Value {
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "failed", "{out}");
    assert!(s["error"].as_str().unwrap().contains(cause), "{s}");
    assert!(s["media_buy_id"].is_null(), "{s}");
    assert_eq!(s["job"]["status"], "dead", "{s}");
    s
}

pub(crate) fn keys(calls: &[Call]) -> BTreeSet<String> {
    calls
        .iter()
        .map(|c| c.args["idempotency_key"].as_str().unwrap().to_owned())
        .collect()
}

fn assigned(seller: &Seller) -> Vec<Vec<String>> {
    seller
        .media_buys()
        .iter()
        .flat_map(|b| b["packages"].as_array().unwrap().clone())
        .map(|p| {
            let mut ids: Vec<String> = p["creative_assignments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        })
        .collect()
}

#[tokio::test]
async fn a_library_seller_gets_sync_creatives_then_a_buy_that_assigns_them() {
    let app = TestApp::spawn().await;
    let (seller, agent, campaign) = one_seller(
        &app,
        library_seller(),
        json!({"has_creative_library": true}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;
    let b = banner(&app, &campaign, "B").await;
    // A video no product of this campaign needs: never sent.
    app.create_manifest(
        &campaign,
        &json!({"name": "Spot", "assets": [{"filename": "v.mp4"}]}),
        &[("v.mp4", fixture("video_64x36_15s.mp4"))],
    )
    .await;

    let requests = seller.http_requests();
    let out = execute(&app, &campaign).await;
    assert_eq!(
        seller.http_requests() - requests,
        4,
        "initialize, initialized, sync_creatives, create_media_buy"
    );
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "succeeded", "{out}");
    assert_eq!(s["transport"], "library");
    assert_eq!(s["media_buy_id"], "mb_1");
    assert_eq!(s["creatives_sent"], 2);
    let actions: BTreeSet<(String, String)> = s["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["creative_id"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([(a.clone(), "created".into()), (b.clone(), "created".into())])
    );

    let syncs = seller.calls_of("sync_creatives");
    assert_eq!(syncs.len(), 1);
    let sent = &syncs[0].args;
    assert_eq!(
        sent["account"],
        json!({"brand": {"domain": "acme.com"}, "operator": "acme.com"})
    );
    let creative = &sent["creatives"][0];
    assert_eq!(creative["format_id"], fid("display_300x250"));
    assert!(
        creative["assets"].as_object().unwrap().values().any(
            |v| v["asset_type"] == "image" && v["url"].as_str().unwrap().starts_with(&app.base)
        ),
        "{creative}"
    );
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 1);
    let pkg = &buys[0].args["packages"][0];
    assert_eq!(pkg["product_id"], "prod_0");
    assert_eq!(pkg["budget"], 5000.0);
    assert_eq!(buys[0].args["start_time"], "2027-01-01T00:00:00.000Z");
    assert!(
        pkg.get("creatives").is_none(),
        "library sellers get references"
    );
    assert_eq!(
        assigned(&seller),
        vec![{
            let mut v = vec![a.clone(), b.clone()];
            v.sort();
            v
        }]
    );
    seller.assert_requests_valid();

    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["synced"], true);
    assert_eq!(m["sync_status"]["agent_count"], 1);
    assert!(m["sync_status"]["last_synced_at"].is_string());
    let detail = &m["sync_status"]["agents"][0];
    assert_eq!(detail["sales_agent_id"], agent);
    assert_eq!(detail["transport"], "library");
    assert_eq!(detail["action"], "created");
    assert_eq!(detail["status"], "approved");
    let list: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest"))
        .await
        .json()
        .await
        .unwrap();
    let synced: Vec<bool> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sync_status"]["synced"].as_bool().unwrap())
        .collect();
    assert_eq!(synced, [false, true, true], "the video went nowhere");

    let p = propagation(&app, &campaign).await;
    assert_eq!(p["media_buys"][0]["media_buy_id"], "mb_1");
    assert_eq!(p["media_buys"][0]["packages"][0]["package_id"], "pkg_1");
    assert_eq!(p["jobs"][0]["status"], "succeeded");
    assert_eq!(p["jobs"][0]["attempts"], 1);
}

#[tokio::test]
async fn a_library_gets_at_most_100_creatives_per_call_and_the_buy_assigns_all() {
    let app = TestApp::spawn().await;
    let (seller, _, campaign) = one_seller(
        &app,
        library_seller(),
        json!({"has_creative_library": true}),
    )
    .await;
    let mut ids = BTreeSet::new();
    for n in 0..101 {
        ids.insert(banner(&app, &campaign, &format!("Banner {n}")).await);
    }
    let requests = seller.http_requests();
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "succeeded", "{out}");
    assert_eq!(out["sellers"][0]["creatives_sent"], 101);
    let syncs = seller.calls_of("sync_creatives");
    let sizes: Vec<usize> = syncs
        .iter()
        .map(|c| c.args["creatives"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![100, 1], "batches of at most 100");
    assert_eq!(keys(&syncs).len(), 2, "a key per batch");
    let sent: BTreeSet<String> = syncs
        .iter()
        .flat_map(|c| c.args["creatives"].as_array().unwrap().clone())
        .map(|c| c["creative_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ids, "each creative once");
    assert_eq!(
        seller.http_requests() - requests,
        5,
        "initialize, initialized, 2 x sync_creatives, create_media_buy"
    );
    let assigned: BTreeSet<String> = assigned(&seller).concat().into_iter().collect();
    assert_eq!(assigned, ids);
    seller.assert_requests_valid();
}

#[tokio::test]
async fn an_inline_seller_gets_the_creatives_on_its_packages() {
    let app = TestApp::spawn().await;
    let (seller, _, campaign) = one_seller(
        &app,
        inline_seller(),
        json!({"has_creative_library": false}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(
        (&s["status"], &s["transport"]),
        (&json!("succeeded"), &json!("inline")),
        "{out}"
    );
    assert!(seller.calls_of("sync_creatives").is_empty());
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 1);
    let inline = &buys[0].args["packages"][0]["creatives"];
    assert_eq!(inline[0]["creative_id"], a, "{inline}");
    assert!(buys[0].args["packages"][0]
        .get("creative_assignments")
        .is_none());
    seller.assert_requests_valid();
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["synced"], true);
    assert_eq!(m["sync_status"]["agents"][0]["transport"], "inline");
}

#[tokio::test]
async fn an_unknown_seller_is_asked_and_its_answer_decides_the_transport() {
    let app = TestApp::spawn().await;
    // Says it keeps a library when asked with get_adcp_capabilities.
    let asked = Seller::start(library_seller()).await;
    let agent = add_seller(&app, &asked, json!({"has_creative_library": "unknown"})).await;
    let a = sales_agent(&app, &agent).await;
    assert_eq!(a["capabilities"]["has_creative_library"], true, "{a}");
    // Cannot be asked, but advertises sync_creatives.
    let advertising = Seller::start(SellerConfig {
        offers_sync: true,
        ..Default::default()
    })
    .await;
    let agent2 = add_seller(
        &app,
        &advertising,
        json!({"has_creative_library": "unknown"}),
    )
    .await;
    // Can be asked nothing and advertises no sync: inline.
    let plain = Seller::start(SellerConfig::default()).await;
    let agent3 = add_seller(&app, &plain, json!({"has_creative_library": "unknown"})).await;
    let campaign = campaign(&app, &[&agent, &agent2, &agent3]).await;
    banner(&app, &campaign, "A").await;

    let asked_before = asked.calls_of("get_adcp_capabilities").len();
    assert!(asked_before >= 1, "asked when registered");
    let out = execute(&app, &campaign).await;
    let transports: Vec<&Value> = out["sellers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["transport"])
        .collect();
    assert_eq!(
        transports,
        [&json!("library"), &json!("library"), &json!("inline")],
        "{out}"
    );
    assert_eq!(
        asked.calls_of("get_adcp_capabilities").len(),
        asked_before,
        "the recorded answer is used, not asked again"
    );
    assert_eq!(advertising.calls_of("sync_creatives").len(), 1);
    assert_eq!(plain.calls_of("sync_creatives").len(), 0);
    for s in [&asked, &advertising, &plain] {
        s.assert_requests_valid();
    }
}

#[tokio::test]
async fn a_failed_sync_falls_back_to_inline_and_says_why() {
    let app = TestApp::spawn().await;
    let (seller, _, campaign) = one_seller(
        &app,
        refusing_sync("ACCOUNT_SUSPENDED"),
        json!({"has_creative_library": true, "supports_inline": true}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "succeeded", "{out}");
    assert_eq!(s["transport"], "inline");
    assert!(
        s["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("ACCOUNT_SUSPENDED"),
        "{s}"
    );
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(
        buys[0].args["packages"][0]["creatives"][0]["creative_id"],
        a
    );
    let p = propagation(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["transport"], "inline");
    assert!(p["jobs"][0]["fallback_reason"].is_string());
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_sync_that_fails_transiently_is_retried_before_any_fallback_to_inline() {
    /// A library seller that accepts inline too and answers its first `fails` syncs with 503s; a
    /// campaign buying from it, with one banner.
    async fn flaky_library(app: &TestApp, fails: u32) -> (Seller, String, String) {
        let mut cfg = library_seller();
        cfg.fail_times.insert("sync_creatives".into(), fails);
        let (seller, _, campaign) = one_seller(
            app,
            cfg,
            json!({"has_creative_library": true, "supports_inline": true}),
        )
        .await;
        let a = banner(app, &campaign, "A").await;
        (seller, campaign, a)
    }
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.job_max_attempts = 3;
    })
    .await;
    // A 503 is not a refusal: the library is tried again.
    let (seller, campaign, a) = flaky_library(&app, 1).await;
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "retrying", "{out}");
    assert!(out["sellers"][0]["fallback_reason"].is_null(), "{out}");
    let p = settled(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["status"], "succeeded", "{p}");
    assert_eq!(p["media_buys"][0]["transport"], "library", "{p}");
    assert!(p["jobs"][0]["fallback_reason"].is_null(), "{p}");
    let syncs = seller.calls_of("sync_creatives");
    assert_eq!(syncs.len(), 2);
    assert_eq!(keys(&syncs).len(), 1, "the retry repeats its key");
    assert_eq!(assigned(&seller), vec![vec![a.clone()]]);
    assert!(seller.calls_of("create_media_buy")[0].args["packages"][0]["creatives"].is_null());

    // A seller whose library stays away until the last attempt gets the creatives inline then.
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.job_max_attempts = 2;
    })
    .await;
    let (seller, campaign, a) = flaky_library(&app, 100).await;
    execute(&app, &campaign).await;
    let p = settled(&app, &campaign).await;
    let job = &p["jobs"][0];
    assert_eq!(job["status"], "succeeded", "{p}");
    assert_eq!(job["transport"], "inline", "{p}");
    assert!(
        job["fallback_reason"].as_str().unwrap().contains("503"),
        "{job}"
    );
    assert_eq!(seller.calls_of("sync_creatives").len(), 2);
    assert_eq!(
        seller.calls_of("create_media_buy")[0].args["packages"][0]["creatives"][0]["creative_id"],
        a
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_library_only_seller_whose_sync_fails_gets_no_buy_and_execute_says_so() {
    let app = TestApp::spawn().await;
    let cfg = refusing_sync("INVALID_REQUEST");
    let (seller, _, campaign) = library_only_seller(&app, cfg).await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    failed_without_buy(&out, "INVALID_REQUEST");
    assert_eq!(out["summary"]["failed"], 1);
    assert!(
        seller.calls_of("create_media_buy").is_empty(),
        "no buy without its creatives"
    );
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["synced"], false);
}

#[tokio::test]
async fn an_answer_outside_the_adcp_schema_is_the_sellers_error() {
    let app = TestApp::spawn().await;
    let mut cfg = library_seller();
    // `creative_id` must be a string and `action` is required.
    cfg.malformed.insert(
        "sync_creatives".into(),
        json!({"creatives": [{"creative_id": 42}]}),
    );
    let (seller, _, campaign) = library_only_seller(&app, cfg).await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    failed_without_buy(&out, "does not fit the AdCP schema");
    assert!(seller.calls_of("create_media_buy").is_empty());
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["synced"], false);

    // The same for media buy answers that are not one: a wrong type, a success missing what its
    // schema requires, a success that also carries errors, and sync actions outside the enum.
    let broken = [
        (
            "create_media_buy",
            json!({"media_buy_id": ["not", "a", "string"], "confirmed_at": null, "revision": 1, "packages": []}),
            "invalid type",
        ),
        (
            "create_media_buy",
            json!({"media_buy_id": "mb_9", "packages": []}),
            "confirmed_at",
        ),
        (
            "create_media_buy",
            json!({"media_buy_id": "mb_9", "confirmed_at": null, "revision": 1, "packages": [],
                   "errors": [{"code": "INVALID_REQUEST", "message": "no"}]}),
            "errors",
        ),
    ];
    for (tool, answer, says) in broken {
        let mut cfg = inline_seller();
        cfg.malformed.insert(tool.into(), answer);
        let (_seller, _, campaign) =
            one_seller(&app, cfg, json!({"has_creative_library": false})).await;
        banner(&app, &campaign, "B").await;
        let out = execute(&app, &campaign).await;
        let s = failed_without_buy(&out, "does not fit the AdCP schema");
        assert!(s["error"].as_str().unwrap().contains(says), "{says}: {s}");
    }
    let mut cfg = library_seller();
    cfg.malformed.insert(
        "sync_creatives".into(),
        json!({"creatives": [{"creative_id": "x", "action": "approved"}]}),
    );
    let (_seller, _, campaign) = library_only_seller(&app, cfg).await;
    banner(&app, &campaign, "C").await;
    let out = execute(&app, &campaign).await;
    failed_without_buy(&out, "not an AdCP creative action");
}

#[tokio::test]
async fn creatives_the_seller_rejects_are_reported_and_not_assigned() {
    let app = TestApp::spawn().await;
    let mut cfg = library_seller();
    cfg.reject_creative_names = vec!["Bad".into()];
    let (seller, _, campaign) = one_seller(&app, cfg, json!({"has_creative_library": true})).await;
    let good = banner(&app, &campaign, "Good").await;
    let bad = banner(&app, &campaign, "Bad").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    let rejected = s["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["creative_id"] == bad)
        .unwrap();
    assert_eq!(rejected["action"], "failed");
    assert_eq!(rejected["errors"][0]["code"], "CREATIVE_REJECTED");
    assert_eq!(assigned(&seller), vec![vec![good.clone()]]);
    let m = manifest(&app, &campaign, &bad).await;
    assert_eq!(m["sync_status"]["synced"], false);
    assert_eq!(
        m["sync_status"]["agents"][0]["errors"][0]["code"],
        "CREATIVE_REJECTED"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_by_the_worker_with_the_same_keys() {
    let app = TestApp::spawn_with(fast).await;
    let mut cfg = library_seller();
    cfg.fail_times.insert("create_media_buy".into(), 2);
    let (seller, _, campaign) = one_seller(&app, cfg, json!({"has_creative_library": true})).await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "retrying", "{out}");
    assert!(s["error"].as_str().unwrap().contains("503"), "{s}");
    assert_eq!(s["job"]["status"], "pending");
    assert!(s["job"]["next_attempt_at"].is_string());
    assert_eq!(
        manifest(&app, &campaign, &a).await["sync_status"]["synced"],
        true,
        "the library confirmed it even though the buy is not made yet"
    );

    let p = settled(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["status"], "succeeded", "{p}");
    assert_eq!(p["jobs"][0]["attempts"], 3);
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 3);
    assert_eq!(keys(&buys).len(), 1, "one key for every attempt");
    assert_eq!(
        seller.calls_of("sync_creatives").len(),
        1,
        "the confirmed batch is not sent again"
    );
    assert_eq!(seller.media_buys().len(), 1);
    assert_eq!(p["media_buys"][0]["media_buy_id"], "mb_1");
}

#[tokio::test]
async fn a_sellers_retry_after_holds_the_retry_back_in_seconds_or_as_a_date() {
    let app = TestApp::spawn_with(fast).await;
    for (retry_after, at_least) in [
        ("30".to_owned(), 29),
        (
            (chrono::Utc::now() + chrono::Duration::seconds(120))
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
            100,
        ),
    ] {
        let mut cfg = inline_seller();
        cfg.fail_times.insert("create_media_buy".into(), 1);
        cfg.retry_after = Some(retry_after.clone());
        let (_seller, _, campaign) =
            one_seller(&app, cfg, json!({"has_creative_library": false})).await;
        banner(&app, &campaign, "A").await;
        let out = execute(&app, &campaign).await;
        let job = &out["sellers"][0]["job"];
        assert_eq!(job["status"], "pending", "{out}");
        let due =
            chrono::DateTime::parse_from_rfc3339(job["next_attempt_at"].as_str().unwrap()).unwrap();
        let failed =
            chrono::DateTime::parse_from_rfc3339(job["updated_at"].as_str().unwrap()).unwrap();
        // The fast test backoff alone would retry within a second.
        assert!(
            (due - failed).num_seconds() >= at_least,
            "Retry-After {retry_after}: due {due}, failed {failed}"
        );
    }
}

#[tokio::test]
async fn a_job_is_dead_after_its_last_attempt_and_says_why() {
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.job_max_attempts = 2;
    })
    .await;
    app.expect_dead_jobs();
    let mut cfg = inline_seller();
    cfg.fail_times.insert("create_media_buy".into(), 100);
    let (seller, _, campaign) = one_seller(&app, cfg, json!({"has_creative_library": false})).await;
    banner(&app, &campaign, "A").await;

    execute(&app, &campaign).await;
    let p = settled(&app, &campaign).await;
    let job = &p["jobs"][0];
    assert_eq!(job["status"], "dead", "{p}");
    assert_eq!(job["attempts"], 2);
    assert!(job["last_error"].as_str().unwrap().contains("503"), "{job}");
    assert!(job["next_attempt_at"].is_null());
    assert_eq!(seller.calls_of("create_media_buy").len(), 2);
    assert_eq!(keys(&seller.calls_of("create_media_buy")).len(), 1);
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_job_loses_nothing_and_reuses_its_keys() {
    let app = TestApp::spawn_with(|c| {
        fast(c);
        // The service's own worker takes the job up, and is stopped in the middle of it.
        c.run_worker = true;
    })
    .await;
    let mut cfg = library_seller();
    // The first attempt (in the execute request) fails, so the worker owns the job.
    cfg.fail_times.insert("sync_creatives".into(), 1);
    // The seller makes the buy but answers late: the service is stopped before the answer.
    cfg.delay
        .insert("create_media_buy".into(), Duration::from_secs(30));
    let (seller, _, campaign) = library_only_seller(&app, cfg).await;
    banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "retrying", "{out}");
    tokio::time::timeout(
        Duration::from_secs(20),
        seller.wait_for_calls("create_media_buy", 1),
    )
    .await
    .expect("the worker calls create_media_buy");
    assert_eq!(
        seller.calls_of("create_media_buy").len(),
        1,
        "the worker is mid-call"
    );
    seller.configure(|c| c.delay.clear());
    let app = app.restart().await;

    let p = settled(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["status"], "succeeded", "{p}");
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 2, "sent again after the restart");
    assert_eq!(keys(&buys).len(), 1, "with the same key");
    assert!(buys[1].replayed, "the seller recognised the retry");
    assert_eq!(seller.media_buys().len(), 1, "one buy");
    assert_eq!(
        seller
            .calls_of("sync_creatives")
            .iter()
            .filter(|c| c.http_status.is_none())
            .count(),
        1
    );
    assert_eq!(p["media_buys"][0]["media_buy_id"], "mb_1");
}

#[tokio::test]
async fn several_workers_never_send_one_job_twice() {
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.run_worker = false;
    })
    .await;
    let seller = Seller::start(library_seller()).await;
    let agent = add_seller(&app, &seller, json!({"has_creative_library": true})).await;
    let customer = creative_manifests::store::customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    let mut campaigns = Vec::new();
    for _ in 0..6 {
        let c = campaign(&app, &[&agent]).await;
        banner(&app, &c, "A").await;
        use creative_manifests::jobs::{queue, NewJob};
        use creative_manifests::propagation::{run, Propagate};
        queue::enqueue(
            &app.state.db.pool,
            NewJob::of::<Propagate>(
                customer.id.clone(),
                &run::Payload::new(run::Reason::Execute, None),
                3,
            )
            .unwrap()
            .in_lane(
                creative_manifests::ids::CampaignId::parse(&c).unwrap(),
                creative_manifests::ids::SalesAgentId::parse(&agent).unwrap(),
            ),
        )
        .await
        .unwrap();
        campaigns.push(c);
    }
    let workers: Vec<_> = (0..3)
        .map(|_| creative_manifests::services::worker(&app.state).spawn(Duration::from_millis(20)))
        .collect();
    for c in &campaigns {
        let p = settled(&app, c).await;
        assert_eq!(p["jobs"][0]["status"], "succeeded");
        assert_eq!(p["jobs"][0]["attempts"], 1, "{p}");
    }
    for w in workers {
        w.abort();
    }
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 6, "one create per campaign");
    assert_eq!(keys(&buys).len(), 6);
    assert_eq!(seller.calls_of("sync_creatives").len(), 6);
    assert_eq!(seller.media_buys().len(), 6);
}

#[tokio::test]
async fn after_execute_changes_are_resynced_and_deletes_unassigned() {
    let app = TestApp::spawn_with(fast).await;
    let (seller, campaign, a) = bought_from_library_seller(&app).await;

    // A new manifest: synced, then added to the package.
    let b = banner(&app, &campaign, "B").await;
    settled(&app, &campaign).await;
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(assigned(&seller), vec![both]);
    assert_eq!(seller.library().len(), 2);
    let m = manifest(&app, &campaign, &b).await;
    assert_eq!(m["sync_status"]["synced"], true, "{m}");
    let updates = seller.calls_of("update_media_buy");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].args["media_buy_id"], "mb_1");

    // An update: re-sent to the library; assignments unchanged, so no update of the buy.
    let res = app
        .update(&campaign, &a, &json!({"name": "A, renamed"}), &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    settled(&app, &campaign).await;
    let last_sync = seller.calls_of("sync_creatives").pop().unwrap();
    assert_eq!(last_sync.args["creatives"][0]["creative_id"], a);
    assert_eq!(last_sync.args["creatives"][0]["name"], "A, renamed");
    assert_eq!(seller.library()[&a]["name"], "A, renamed");
    assert_eq!(seller.calls_of("update_media_buy").len(), 1);

    // A preview re-rendered changes nothing a seller holds: no job.
    let jobs = propagation(&app, &campaign).await["jobs"]
        .as_array()
        .unwrap()
        .len();
    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/creatives/{a}/preview"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let preview: Value = res.json().await.unwrap();
    assert_eq!(
        preview["preview_url"],
        manifest(&app, &campaign, &a).await["preview_url"]
    );
    assert_eq!(
        propagation(&app, &campaign).await["jobs"]
            .as_array()
            .unwrap()
            .len(),
        jobs
    );

    // A delete: unassigned from the package.
    assert_eq!(
        app.delete(&format!("/campaigns/{campaign}/creatives/{a}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    settled(&app, &campaign).await;
    assert_eq!(assigned(&seller), vec![vec![b.clone()]]);
    let p = propagation(&app, &campaign).await;
    let reasons: Vec<&str> = p["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["deleted", "updated", "created", "execute"]);
    seller.assert_requests_valid();
}

#[tokio::test]
async fn an_inline_seller_gets_updated_creatives_again_on_its_package() {
    let app = TestApp::spawn_with(fast).await;
    let (seller, _, campaign) = one_seller(
        &app,
        inline_seller(),
        json!({"has_creative_library": false}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;
    execute(&app, &campaign).await;
    let res = app
        .update(&campaign, &a, &json!({"name": "A v2"}), &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    settled(&app, &campaign).await;
    let updates = seller.calls_of("update_media_buy");
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].args["packages"][0]["creatives"][0]["name"],
        "A v2"
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn execute_refuses_a_campaign_that_cannot_be_bought() {
    let app = TestApp::spawn().await;
    let seller = Seller::start(library_seller()).await;
    let agent = add_seller(&app, &seller, json!({"has_creative_library": true})).await;
    let res = app
        .post_json(
            "/campaigns",
            &json!({"name": "Draft", "brand_domain": "acme.com", "products": [
                {"product_id": "p", "sales_agent_id": agent, "format_ids": [fid("display_300x250")]}]}),
        )
        .await;
    let c: Value = res.json().await.unwrap();
    let id = c["campaign_id"].as_str().unwrap();
    let path = format!("/campaigns/{id}/execute");
    let e = error_of(
        app.post_json(&path, &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "start_time");
    let res = app
        .patch_json(
            &format!("/campaigns/{id}"),
            &json!({"start_time": "asap", "end_time": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let e = error_of(
        app.post_json(&path, &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "products[0].budget");
    let e = error_of(
        app.patch_json(
            &format!("/campaigns/{id}"),
            &json!({"end_time": "tomorrow"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "end_time");
    assert!(seller.calls_of("create_media_buy").is_empty());
    assert_eq!(app.count_rows("jobs").await, 0, "nothing queued");
    error_of(
        app.post_json(
            "/campaigns/cmp_00000000000000000000000000000000/execute",
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn concurrent_executes_make_one_buy() {
    let app = TestApp::spawn_with(fast).await;
    let mut cfg = library_seller();
    cfg.delay
        .insert("create_media_buy".into(), Duration::from_millis(300));
    let (seller, _, campaign) = one_seller(&app, cfg, json!({"has_creative_library": true})).await;
    banner(&app, &campaign, "A").await;

    let (one, two) = tokio::join!(execute(&app, &campaign), execute(&app, &campaign));
    let mut statuses = [
        one["sellers"][0]["status"].as_str().unwrap().to_owned(),
        two["sellers"][0]["status"].as_str().unwrap().to_owned(),
    ];
    statuses.sort();
    assert_eq!(statuses, ["in_progress", "succeeded"], "{one}\n{two}");
    settled(&app, &campaign).await;
    assert_eq!(seller.calls_of("create_media_buy").len(), 1);
    assert_eq!(seller.media_buys().len(), 1);
}

#[tokio::test]
async fn a_seller_that_answers_too_late_is_retried_and_makes_one_buy() {
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.outbound_timeout_secs = 1;
    })
    .await;
    let mut cfg = inline_seller();
    cfg.delay
        .insert("create_media_buy".into(), Duration::from_secs(3));
    let (seller, _, campaign) = one_seller(&app, cfg, json!({"has_creative_library": false})).await;
    banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "retrying", "{out}");
    assert!(s["error"].as_str().unwrap().contains("in time"), "{s}");
    seller.configure(|c| c.delay.clear());
    let p = settled(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["status"], "succeeded", "{p}");
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 2);
    assert_eq!(keys(&buys).len(), 1);
    assert_eq!(buys[0].args, buys[1].args, "the create is resent unchanged");
    assert!(buys[1].replayed);
    assert_eq!(
        seller.media_buys().len(),
        1,
        "the late answer's buy is the only one"
    );
}

/// A seller that queues `tool` as a task, unfinished for `polls` polls, then done or rejected.
fn queueing(mut cfg: SellerConfig, tool: &str, polls: u32, reject: Option<&str>) -> SellerConfig {
    cfg.queue_tasks.insert(
        tool.into(),
        QueueTask {
            polls,
            reject: reject.map(str::to_owned),
            ..Default::default()
        },
    );
    cfg
}

#[tokio::test]
async fn a_buy_the_seller_queues_is_polled_until_it_completes_and_never_sent_twice() {
    let app = TestApp::spawn_with(fast).await;
    let (seller, _, campaign) = one_seller(
        &app,
        queueing(library_seller(), "create_media_buy", 3, None),
        json!({"has_creative_library": true}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "waiting", "{out}");
    assert_eq!(out["summary"]["waiting"], 1);
    assert_eq!(s["seller_task"]["task_id"], "task_1");
    assert_eq!(s["seller_task"]["status"], "submitted");
    assert!(s["error"].is_null(), "waiting is not an error: {s}");
    assert!(s["media_buy_id"].is_null());
    assert_eq!(s["job"]["status"], "pending");
    assert_eq!(s["job"]["attempts"], 0, "waiting spends no attempt");
    assert_eq!(s["job"]["seller_task"]["task_id"], "task_1");
    assert_eq!(s["job"]["seller_task"]["step"], "buy");
    assert!(seller.media_buys().is_empty(), "nothing bought yet");

    let p = settled(&app, &campaign).await;
    let job = &p["jobs"][0];
    assert_eq!(job["status"], "succeeded", "{p}");
    assert!(job["seller_task"].is_null(), "the task is done: {job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(p["media_buys"][0]["media_buy_id"], "mb_1");
    assert_eq!(p["media_buys"][0]["packages"][0]["package_id"], "pkg_1");
    assert_eq!(seller.calls_of("create_media_buy").len(), 1, "sent once");
    assert_eq!(seller.calls_of("sync_creatives").len(), 1, "synced once");
    let polls = seller.calls_of("get_task_status");
    assert_eq!(polls.len(), 4, "three unfinished answers, then completed");
    assert!(polls
        .iter()
        .all(|c| c.args["task_id"] == "task_1" && c.args["include_result"] == true));
    assert_eq!(assigned(&seller), vec![vec![a.clone()]]);
    seller.assert_requests_valid();
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["synced"], true);
}

#[tokio::test]
async fn a_queued_sync_is_polled_under_the_legacy_name_and_its_creatives_assigned() {
    let app = TestApp::spawn_with(fast).await;
    let mut cfg = queueing(library_seller(), "sync_creatives", 1, None);
    cfg.legacy_task_tool = true;
    let (seller, _, campaign) = one_seller(&app, cfg, json!({"has_creative_library": true})).await;
    let a = banner(&app, &campaign, "A").await;

    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "waiting", "{out}");
    assert_eq!(
        s["transport"], "library",
        "waiting on a sync is no reason to go inline"
    );
    assert!(s["fallback_reason"].is_null());
    assert_eq!(s["job"]["seller_task"]["step"], "s0");
    assert!(
        seller.calls_of("create_media_buy").is_empty(),
        "the buy waits for the sync"
    );

    let p = settled(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["status"], "succeeded", "{p}");
    assert_eq!(seller.calls_of("sync_creatives").len(), 1);
    assert!(
        !seller.calls_of("tasks/get").is_empty(),
        "polled under the legacy name"
    );
    assert_eq!(assigned(&seller), vec![vec![a.clone()]]);
    let buys = seller.calls_of("create_media_buy");
    assert_eq!(buys.len(), 1);
    assert!(
        buys[0].args["packages"][0].get("creatives").is_none(),
        "by reference"
    );
    seller.assert_requests_valid();
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["agents"][0]["action"], "created");
}

#[tokio::test]
async fn a_queued_buy_the_seller_rejects_fails_with_its_reason() {
    let app = TestApp::spawn_with(fast).await;
    app.expect_dead_jobs();
    let (seller, _, campaign) = one_seller(
        &app,
        queueing(
            inline_seller(),
            "create_media_buy",
            1,
            Some("budget below the IO minimum"),
        ),
        json!({"has_creative_library": false}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;
    assert_eq!(
        execute(&app, &campaign).await["sellers"][0]["status"],
        "waiting"
    );

    let p = settled(&app, &campaign).await;
    let job = &p["jobs"][0];
    assert_eq!(job["status"], "dead", "a rejection is final: {p}");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.contains("task_1 ended rejected"), "{error}");
    assert!(error.contains("budget below the IO minimum"), "{error}");
    assert!(p["media_buys"].as_array().unwrap().is_empty());
    assert!(seller.media_buys().is_empty());
    let m = manifest(&app, &campaign, &a).await;
    assert_eq!(m["sync_status"]["synced"], false);
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_queued_task_that_outlasts_the_timeout_is_given_up() {
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.seller_task_timeout_secs = 1;
    })
    .await;
    app.expect_dead_jobs();
    let (seller, _, campaign) = one_seller(
        &app,
        queueing(library_seller(), "create_media_buy", 10_000, None),
        json!({"has_creative_library": true}),
    )
    .await;
    banner(&app, &campaign, "A").await;
    execute(&app, &campaign).await;

    let p = settled(&app, &campaign).await;
    let job = &p["jobs"][0];
    assert_eq!(job["status"], "dead", "{p}");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.contains("task_1 is still submitted"), "{error}");
    assert!(error.contains("SELLER_TASK_TIMEOUT_SECS"), "{error}");
    assert_eq!(seller.calls_of("create_media_buy").len(), 1);
    assert!(seller.media_buys().is_empty());
}

#[tokio::test]
async fn a_queued_update_holds_back_later_changes_until_it_completes() {
    let app = TestApp::spawn_with(fast).await;
    let (seller, campaign, a) = bought_from_library_seller(&app).await;
    seller.configure(|c| {
        c.queue_tasks.insert(
            "update_media_buy".into(),
            QueueTask {
                polls: 2,
                ..Default::default()
            },
        );
    });

    let b = banner(&app, &campaign, "B").await;
    let c = banner(&app, &campaign, "C").await;
    let p = settled(&app, &campaign).await;
    let jobs = p["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{p}");
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"), "{p}");
    let updates = seller.calls_of("update_media_buy");
    assert!(!updates.is_empty() && updates.len() <= 2, "{updates:?}");
    assert!(!seller.calls_of("get_task_status").is_empty());
    let mut want = vec![a, b, c];
    want.sort();
    assert_eq!(assigned(&seller), vec![want], "both changes landed");
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_seller_webhook_wakes_the_waiting_job_and_a_forged_one_does_not() {
    // Polls are an hour apart: only the webhook can bring the job back within the test.
    let app = TestApp::spawn_with(|c| {
        fast(c);
        c.seller_task_poll_ms = 3_600_000;
    })
    .await;
    let (seller, _, campaign) = one_seller(
        &app,
        queueing(library_seller(), "create_media_buy", u32::MAX, None),
        json!({"has_creative_library": true}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;
    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "waiting", "{out}");
    let job_id = s["job"]["job_id"].as_str().unwrap().to_owned();

    // Every request registers the job's webhook, with a token that is never shown back.
    let push = &seller.calls_of("create_media_buy")[0].args["push_notification_config"];
    let url = push["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/adcp/webhooks/{job_id}", app.base));
    assert_eq!(push["operation_id"], format!("{job_id}.buy"));
    let token = push["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert!(
        seller.calls_of("sync_creatives")[0].args["push_notification_config"]["url"] == url,
        "the sync registers it too"
    );
    let shown = app
        .get(&format!("/campaigns/{campaign}/propagation"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!shown.contains(&token), "the token is a secret");
    let due_before = propagation(&app, &campaign).await["jobs"][0]["next_attempt_at"].clone();

    let forged = json!({"idempotency_key": "forged-webhook-0001", "operation_id": format!("{job_id}.buy"),
        "task_id": "task_1", "task_type": "create_media_buy", "status": "completed",
        "timestamp": "2026-12-01T00:00:00Z", "token": "0".repeat(32)});
    let (status, body) = seller.send_webhook(url, &forged).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    let other_job = url.replace(&job_id, "job_00000000000000000000000000000000");
    let mut replayed = forged.clone();
    replayed["token"] = json!(token);
    assert_eq!(
        seller.send_webhook(&other_job, &replayed).await.0,
        401,
        "a token is for one job"
    );
    let p = propagation(&app, &campaign).await;
    assert_eq!(
        p["jobs"][0]["next_attempt_at"], due_before,
        "not woken: {p}"
    );
    assert_eq!(p["jobs"][0]["status"], "pending");
    let mut other_task = replayed.clone();
    other_task["task_id"] = json!("task_9");
    // Signed, as the registration asks (the token alone is refused there).
    let (status, body) = seller.push(push, &other_task).await;
    assert_eq!(
        (status, &body["woken"]),
        (200, &json!(false)),
        "not the task it waits for"
    );

    let (status, body) = seller.finish_task("task_1").await;
    assert_eq!((status, &body["woken"]), (200, &json!(true)), "{body}");
    let p = settled(&app, &campaign).await;
    assert_eq!(p["jobs"][0]["status"], "succeeded", "{p}");
    assert_eq!(
        seller.calls_of("get_task_status").len(),
        1,
        "asked once, after the webhook"
    );
    assert_eq!(p["media_buys"][0]["media_buy_id"], "mb_1");
    assert_eq!(assigned(&seller), vec![vec![a]]);
    let (status, body) = seller.finish_task("task_1").await;
    assert_eq!(
        (status, &body["woken"]),
        (200, &json!(false)),
        "a repeat changes nothing"
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_queued_sync_that_fails_transiently_is_sent_afresh() {
    let app = TestApp::spawn_with(fast).await;
    // Library only: a failed sync cannot fall back to inline, so the sync itself is retried.
    let mut cfg = library_seller();
    cfg.queue_tasks.insert(
        "sync_creatives".into(),
        QueueTask {
            fail_transient: true,
            ..Default::default()
        },
    );
    let (seller, _, campaign) = library_only_seller(&app, cfg).await;
    let a = banner(&app, &campaign, "A").await;
    assert_eq!(
        execute(&app, &campaign).await["sellers"][0]["status"],
        "waiting"
    );
    // From now on the seller answers at once: the retry must be a new sync, not another poll.
    seller.configure(|c| c.queue_tasks.clear());

    let p = settled(&app, &campaign).await;
    let job = &p["jobs"][0];
    assert_eq!(job["status"], "succeeded", "{p}");
    assert_eq!(
        job["attempts"], 2,
        "the failed task cost one attempt: {job}"
    );
    assert!(job["seller_task"].is_null());
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("SERVICE_UNAVAILABLE"),
        "{job}"
    );
    let syncs = seller.calls_of("sync_creatives");
    assert_eq!(syncs.len(), 2, "sent again after the task failed");
    assert_eq!(keys(&syncs).len(), 1, "same content, same key");
    assert_eq!(seller.calls_of("get_task_status").len(), 1);
    assert_eq!(assigned(&seller), vec![vec![a]]);
    seller.assert_requests_valid();
}

#[tokio::test]
async fn propagation_speaks_to_sellers_with_sessions_tokens_and_open_event_streams() {
    // A client that waited for each stream to end would time out here.
    let app = TestApp::spawn_with(|c| c.outbound_timeout_secs = 3).await;
    let seller = Seller::start(SellerConfig {
        sse: true,
        sse_keep_open: true,
        sessions: true,
        token: Some("seller-secret-token".into()),
        ..library_seller()
    })
    .await;
    let agent = app
        .register_seller(&seller.url, Some("seller-secret-token"))
        .await;
    let campaign = campaign(&app, &[&agent]).await;
    let a = banner(&app, &campaign, "A").await;
    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "succeeded", "{out}");
    assert_eq!(
        s["transport"], "library",
        "asked, over the same streams: {out}"
    );
    assert_eq!(assigned(&seller), vec![vec![a]]);
    for call in seller.calls() {
        assert_eq!(
            call.authorization.as_deref(),
            Some("Bearer seller-secret-token")
        );
    }
    assert!(!out.to_string().contains("seller-secret-token"));
    let p = propagation(&app, &campaign).await;
    assert!(!p.to_string().contains("seller-secret-token"));
    seller.assert_requests_valid();
}

#[tokio::test]
async fn what_a_seller_says_of_itself_is_kept_when_its_format_listing_fails() {
    let app = TestApp::spawn().await;
    let mut cfg = library_seller();
    cfg.fail_times.insert("list_creative_formats".into(), 1000);
    let seller = Seller::start(cfg).await;
    let agent = add_seller(&app, &seller, json!({})).await;
    let a = sales_agent(&app, &agent).await;
    assert!(
        a["formats"]["last_error"].as_str().unwrap().contains("503"),
        "{a}"
    );
    assert_eq!(a["capabilities"]["has_creative_library"], true, "{a}");
    let campaign = campaign(&app, &[&agent]).await;
    let id = banner(&app, &campaign, "A").await;
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["transport"], "library", "{out}");
    assert_eq!(assigned(&seller), vec![vec![id]]);
}

#[tokio::test]
async fn after_a_fallback_the_library_buy_assigns_only_what_the_library_holds() {
    let app = TestApp::spawn_with(fast).await;
    let (seller, _, campaign) = one_seller(
        &app,
        refusing_sync("ACCOUNT_SUSPENDED"),
        json!({"has_creative_library": true, "supports_inline": true}),
    )
    .await;
    let a = banner(&app, &campaign, "A").await;
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["transport"], "inline", "{out}");
    assert_eq!(
        seller.calls_of("create_media_buy")[0].args["packages"][0]["creatives"][0]["creative_id"],
        a
    );

    // The library works again: B goes there. A, which the seller confirmed only inline on the
    // package, is not assigned as if it were in the library.
    seller.configure(|c| {
        c.errors.remove("sync_creatives");
    });
    let b = banner(&app, &campaign, "B").await;
    all_succeeded(&app, &campaign).await;
    let update = last_update(&seller);
    let assigned: Vec<&str> = update.args["packages"][0]["creative_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["creative_id"].as_str())
        .collect();
    assert_eq!(assigned, vec![b.as_str()], "{update:?}");
    seller.assert_requests_valid();
}

/// The seller's own formats for one size: an image format and an HTML format, each naming its
/// slot as the standard formats do (`banner_image`, `html_creative`).
fn seller_display_formats(agent_url: &str) -> Vec<Value> {
    let size = json!([{"role": "primary", "dimensions": {"width": 300, "height": 250}}]);
    vec![
        json!({"format_id": {"agent_url": agent_url, "id": "display_300x250"}, "name": "Image 300x250",
               "renders": size, "assets": [{"item_type": "individual", "asset_id": "banner_image",
               "asset_type": "image", "required": true,
               "requirements": {"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}}]}),
        json!({"format_id": {"agent_url": agent_url, "id": "display_300x250_html"}, "name": "HTML 300x250",
               "renders": size, "assets": [{"item_type": "individual", "asset_id": "html_creative",
               "asset_type": "html", "required": true}]}),
    ]
}

/// An HTML manifest goes out under its own format, its page under that format's slot id, both
/// to the library and inline, even though its backup image also fits the product's image format
/// (issue 9 item 2: it went out as the image format, its page keyed by its file name).
#[tokio::test]
async fn an_html_manifest_goes_out_under_its_own_format_and_slot() {
    let app = TestApp::spawn().await;
    for (config, caps, transport) in [
        (
            library_seller(),
            json!({"has_creative_library": true}),
            "library",
        ),
        (
            inline_seller(),
            json!({"has_creative_library": false}),
            "inline",
        ),
    ] {
        let agent_url = "https://ads.seller.example";
        let seller = Seller::start(SellerConfig {
            formats: seller_display_formats(agent_url),
            ..config
        })
        .await;
        let agent = add_seller(&app, &seller, caps).await;
        let image = json!({"agent_url": agent_url, "id": "display_300x250"});
        let html = json!({"agent_url": agent_url, "id": "display_300x250_html"});
        let campaign = campaign_buying(
            &app,
            &[("p".into(), agent.as_str(), vec![image, html.clone()])],
        )
        .await;
        let page = b"<html><head><meta name=\"ad.size\" content=\"width=300,height=250\"></head>\
            <body><script>var clickTag = 'https://acme.com/';</script></body></html>";
        let m = app
            .create_manifest(
                &campaign,
                &json!({"name": "Page", "format_id": html, "url_asset": {"url": "https://acme.com/"},
                        "assets": [{"filename": "banner.html"}, {"filename": "backup.png"}]}),
                &[
                    ("banner.html", page.to_vec()),
                    ("backup.png", fixture("image_300x250.png")),
                ],
            )
            .await;
        let out = execute(&app, &campaign).await;
        assert_eq!(out["sellers"][0]["status"], "succeeded", "{out}");
        assert_eq!(out["sellers"][0]["transport"], transport, "{out}");
        let sent = match transport {
            "library" => seller.calls_of("sync_creatives")[0].args["creatives"][0].clone(),
            _ => seller.calls_of("create_media_buy")[0].args["packages"][0]["creatives"][0].clone(),
        };
        assert_eq!(sent["creative_id"], m["creative_id"], "{sent}");
        assert_eq!(sent["format_id"], html, "{transport}: {sent}");
        assert_eq!(
            sent["assets"]["html_creative"]["asset_type"], "html",
            "{transport}: {sent}"
        );
        assert!(
            sent["assets"].get("banner_html").is_none(),
            "{transport}: {sent}"
        );
        seller.assert_requests_valid();
    }
}

/// After the library refused `sync_creatives` and the creatives went inline on both packages,
/// deleting one manifest leaves the other two on both packages (issue 9 item 3: the delete sent
/// `creative_assignments: []` on every package and recorded the buy as `library`).
#[tokio::test]
async fn after_an_inline_fallback_a_delete_keeps_every_other_creative_in_place() {
    let app = TestApp::spawn_with(fast).await;
    let seller = Seller::start(refusing_sync("ACCOUNT_SUSPENDED")).await;
    let agent = add_seller(
        &app,
        &seller,
        json!({"has_creative_library": true, "supports_inline": true}),
    )
    .await;
    let products: Vec<(String, &str, Vec<Value>)> = ["home", "news"]
        .iter()
        .map(|p| (p.to_string(), agent.as_str(), vec![fid("display_300x250")]))
        .collect();
    let campaign = campaign_buying(&app, &products).await;
    let mut creatives = Vec::new();
    for name in ["A", "B", "C"] {
        creatives.push(banner(&app, &campaign, name).await);
    }
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["transport"], "inline", "{out}");
    let inline_ids = |seller: &Seller| -> Vec<Vec<String>> {
        seller.media_buys()[0]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut ids: Vec<String> = p["creatives"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(p["creative_assignments"].as_array().unwrap())
                    .map(|c| c["creative_id"].as_str().or(c.as_str()).unwrap().to_owned())
                    .collect();
                ids.sort();
                ids
            })
            .collect()
    };
    let mut all = creatives.clone();
    all.sort();
    assert_eq!(inline_ids(&seller), vec![all.clone(), all.clone()]);

    let deleted = creatives.pop().unwrap();
    let res = app
        .delete(&format!("/campaigns/{campaign}/creatives/{deleted}"))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let p = all_succeeded(&app, &campaign).await;
    let update = last_update(&seller);
    for package in update.args["packages"].as_array().unwrap() {
        assert!(
            package.get("creative_assignments").is_none(),
            "the inline creatives are not unassigned: {package}"
        );
    }
    creatives.sort();
    assert_eq!(
        inline_ids(&seller),
        vec![creatives.clone(), creatives.clone()],
        "{update:?}"
    );
    assert_eq!(p["media_buys"][0]["transport"], "inline", "{p}");
    for kept in &creatives {
        let m = manifest(&app, &campaign, kept).await;
        assert_eq!(m["sync_status"]["synced"], true, "{m}");
    }
    seller.assert_requests_valid();
}

/// Every request says which AdCP release it speaks, and a seller answering as AdCP 3.0 did (the
/// media buy's status as the top-level `status`) has its status read (issue 9 item 4).
#[tokio::test]
async fn requests_carry_the_adcp_version_and_a_3_0_answers_status_is_read() {
    let app = TestApp::spawn().await;
    let (seller, _, campaign) = one_seller(
        &app,
        SellerConfig {
            adcp_3_0: true,
            ..library_seller()
        },
        json!({"has_creative_library": true}),
    )
    .await;
    banner(&app, &campaign, "A").await;
    let out = execute(&app, &campaign).await;
    let s = &out["sellers"][0];
    assert_eq!(s["status"], "succeeded", "{out}");
    assert_eq!(s["media_buy_status"], "active", "{out}");
    let p = propagation(&app, &campaign).await;
    assert_eq!(p["media_buys"][0]["status"], "active", "{p}");
    let calls = seller.calls();
    for tool in [
        "list_creative_formats",
        "sync_creatives",
        "create_media_buy",
    ] {
        assert!(calls.iter().any(|c| c.tool == tool), "no {tool} call");
    }
    for c in &calls {
        assert_eq!(
            (&c.args["adcp_version"], &c.args["adcp_major_version"]),
            (&json!("3.1"), &json!(3)),
            "{}: {}",
            c.tool,
            c.args
        );
    }
    seller.assert_requests_valid();
}

/// `/propagation` shows how every job carried its creatives, not only the jobs that fell back
/// (issue 9 item 5: `transport` was null unless the job had fallen back to inline).
#[tokio::test]
async fn every_job_shows_its_transport() {
    let app = TestApp::spawn_with(fast).await;
    let library = Seller::start(library_seller()).await;
    let inline = Seller::start(inline_seller()).await;
    let l = add_seller(&app, &library, json!({"has_creative_library": true})).await;
    let i = add_seller(&app, &inline, json!({"has_creative_library": false})).await;
    let campaign = campaign(&app, &[&l, &i]).await;
    banner(&app, &campaign, "A").await;
    execute(&app, &campaign).await;
    // A change after the buy: one re-sync job per seller, run by the workers.
    banner(&app, &campaign, "B").await;
    let p = all_succeeded(&app, &campaign).await;
    let jobs = p["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 4, "{p}");
    for job in jobs {
        let expected = if job["sales_agent_id"] == json!(l) {
            "library"
        } else {
            "inline"
        };
        assert_eq!(job["transport"], expected, "{job}");
    }
    library.assert_requests_valid();
    inline.assert_requests_valid();
}

/// Execute gives the answer validate gives: a page sized 300x250 by its `<meta name="ad.size">`
/// goes to the 300x250 HTML product only, not to the 728x90 one (issue 9 item 1).
#[tokio::test]
async fn a_page_sized_by_its_meta_is_bought_only_at_its_size() {
    let app = TestApp::spawn().await;
    let seller = Seller::start(inline_seller()).await;
    let agent = add_seller(&app, &seller, json!({"has_creative_library": false})).await;
    let products: Vec<(String, &str, Vec<Value>)> = ["display_300x250_html", "display_728x90_html"]
        .iter()
        .map(|f| (f.to_string(), agent.as_str(), vec![fid(f)]))
        .collect();
    let campaign = campaign_buying(&app, &products).await;
    let page: &[u8] = b"<meta name=\"ad.size\" content=\"width=300,height=250\">\
        <script>var clickTag = 'https://acme.com/';</script>";
    let m = app
        .create_manifest(
            &campaign,
            &json!({"name": "Bundle", "assets": [{"filename": "ad.zip"}]}),
            &[("ad.zip", crate::processing::zip_of(&[("index.html", page)]))],
        )
        .await;
    let out = execute(&app, &campaign).await;
    assert_eq!(out["sellers"][0]["status"], "succeeded", "{out}");
    let buy = &seller.calls_of("create_media_buy")[0].args;
    let carried: Vec<(&str, usize)> = buy["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = p["creatives"].as_array().map_or(0, Vec::len);
            (p["product_id"].as_str().unwrap(), n)
        })
        .collect();
    assert_eq!(
        carried,
        [("display_300x250_html", 1), ("display_728x90_html", 0)],
        "{buy}"
    );
    assert_eq!(
        buy["packages"][0]["creatives"][0]["creative_id"],
        m["creative_id"]
    );
    seller.assert_requests_valid();
}
