//! Operations: `/metrics` after a scripted workload, rate limits on the API and public endpoints.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, fixture, ServiceProcess, TestApp};

pub(crate) const KEY: &str = "ops-test-dev-key-0123456789";
pub(crate) const METRICS_TOKEN: &str = "scrape-token-for-tests";

/// The value of the series `name{labels…}` in a Prometheus text exposition (labels in any order).
pub(crate) fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let Some(rest) = l.strip_prefix(name) else {
                return false;
            };
            let (inside, _) = match rest.strip_prefix('{') {
                Some(r) => r.rsplit_once('}').unwrap_or((r, "")),
                None if labels.is_empty() && rest.starts_with(' ') => ("", rest),
                None => return false,
            };
            labels
                .iter()
                .all(|(k, v)| inside.split(',').any(|p| p == format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub(crate) async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let res = client
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    res.text().await.expect("text")
}

/// Scrapes `/metrics` until `ready` holds (an event written by a background task, a job run
/// counted at its end): waits for the service, not for a time. Answers the last scrape.
pub(crate) async fn scrape_until(
    client: &reqwest::Client,
    base: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    let mut text = String::new();
    for _ in 0..400 {
        text = scrape(client, base).await;
        if ready(&text) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    text
}

/// A sales agent at `endpoint` (keeping a library) and a campaign with a flight buying one
/// 300x250 product from it, made through `svc`'s API: (agent id, campaign id).
pub(crate) async fn agent_and_campaign(
    client: &reqwest::Client,
    svc: &ServiceProcess,
    endpoint: &str,
) -> (String, String) {
    let post = |path: &str, body: Value| {
        let req = client.post(svc.api(path)).bearer_auth(KEY).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let agent = post(
        "/sales-agents",
        json!({"name": "Seller", "endpoint_url": endpoint, "capabilities": {"has_creative_library": true}}),
    )
    .await["sales_agent_id"]
        .as_str()
        .expect("agent id")
        .to_owned();
    let campaign = post(
        "/campaigns",
        json!({"name": "Ops", "brand_domain": "acme.com", "products": [{
            "product_id": "p", "sales_agent_id": agent, "budget": 5000.0, "pricing_option_id": "cpm_usd_fixed",
            "format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"}]}],
            "start_time": "2027-01-01T00:00:00Z", "end_time": "2027-02-01T00:00:00Z"}),
    )
    .await["campaign_id"]
        .as_str()
        .expect("campaign id")
        .to_owned();
    (agent, campaign)
}

/// Uploads the 300x250 PNG fixture as `a.png` under `meta` into `campaign`.
pub(crate) fn upload_png(
    client: &reqwest::Client,
    svc: &ServiceProcess,
    campaign: &str,
    meta: &Value,
) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
    client
        .post(svc.api(&format!("/campaigns/{campaign}/creatives/create")))
        .bearer_auth(KEY)
        .multipart(TestApp::multipart(
            meta,
            &[("a.png", fixture("image_300x250.png"))],
        ))
        .send()
}

#[tokio::test]
async fn an_api_key_over_its_rate_gets_429_with_retry_after() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_key_per_sec = 1;
        c.rate_limit_key_burst = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/campaigns").await.status(), StatusCode::OK);
    }
    let res = app.get("/campaigns").await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1).contains(&retry), "{retry}");
    let e = error_of(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(e["code"], "RATE_LIMITED");
    assert_eq!(e["details"]["retry_after"], 1);
    // Another customer's key has its own bucket.
    let other = app.other_customer("Other").await;
    let res = app
        .client
        .get(app.api("/campaigns"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A made-up key is refused as unauthenticated, not counted against anyone.
    let res = app
        .client
        .get(app.api("/campaigns"))
        .bearer_auth("made-up-key-made-up-key")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn trackers_are_limited_per_client_address() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_public_per_sec = 1;
        c.rate_limit_public_burst = 2;
    })
    .await;
    let url = format!("{}/t/imp?c=whatever", app.base);
    for _ in 0..2 {
        let s = app.client.get(&url).send().await.unwrap().status();
        assert_ne!(s, StatusCode::TOO_MANY_REQUESTS);
    }
    let res = app.client.get(&url).send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    let e = error_of(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(e["code"], "RATE_LIMITED");
    // The API is not a public endpoint: its key is not limited by the address's bucket.
    assert_eq!(app.get("/campaigns").await.status(), StatusCode::OK);
    // Without a configured proxy header, a forged X-Forwarded-For does not buy a new bucket.
    let res = app
        .client
        .get(&url)
        .header("x-forwarded-for", "203.0.113.50")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_its_header_names_the_client() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_public_per_sec = 1;
        c.rate_limit_public_burst = 1;
        c.trusted_proxy_header = Some("X-Forwarded-For".into());
    })
    .await;
    let hit = |ip: &'static str| {
        app.client
            .get(format!("{}/t/imp?c=x", app.base))
            .header("x-forwarded-for", format!("1.1.1.1, {ip}"))
            .send()
    };
    assert_ne!(
        hit("198.51.100.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        hit("198.51.100.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy (same peer) has its own bucket.
    assert_ne!(
        hit("198.51.100.2").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_storefront_mcp_answers_rate_limited_in_adcp_terms() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_public_per_sec = 1;
        c.rate_limit_public_burst = 1;
    })
    .await;
    let url = format!("{}/storefronts/sf_unknown/mcp", app.base);
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "list_creative_formats", "arguments": {"context": {"k": 1}}}});
    // The first passes the limit (and finds no storefront).
    let res = app.client.post(&url).json(&call).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // A tool call over the limit: a tool result carrying AdCP's RATE_LIMITED.
    let res = app.client.post(&url).json(&call).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["id"], 7);
    let r = &v["result"];
    assert_eq!(r["isError"], true);
    let e = &r["structuredContent"]["adcp_error"];
    assert_eq!(e["code"], "RATE_LIMITED");
    assert_eq!(e["recovery"], "transient");
    assert!(e["retry_after"].as_u64().is_some_and(|s| s >= 1), "{e}");
    assert_eq!(r["structuredContent"]["context"], json!({"k": 1}));
    crate::schemas::assert_valid("core/error.json", e);
    // No tool call to carry it (tools/list): HTTP 429 with Retry-After.
    let res = app
        .client
        .post(&url)
        .json(&json!({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    let e = error_of(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(e["code"], "RATE_LIMITED");
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                files_under(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

/// SIGTERM while 20 uploads and a burst of tracker hits are in flight: the process exits 0, every
/// upload is either stored whole or left nothing, and every hit answered 200 is in the database.
#[tokio::test]
async fn sigterm_finishes_in_flight_work_and_loses_no_answered_hit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut svc = ServiceProcess::start(&data, &[("DEV_API_KEY", KEY)])
        .await
        .expect("the service starts");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (_, campaign) = agent_and_campaign(&client, &svc, "https://seller.example/mcp").await;
    let upload = |name: String| {
        let meta = json!({"name": name, "url_asset": {"url": "https://acme.com/x"},
            "assets": [{"filename": "a.png"}]});
        upload_png(&client, &svc, &campaign, &meta)
    };
    let first: Value = upload("first".into()).await.unwrap().json().await.unwrap();
    let creative = first["creative_id"].as_str().unwrap().to_owned();
    let imp = first["tracking"]["impression_tracker_url"]
        .as_str()
        .unwrap()
        .to_owned();

    // Counts of answers so far: the signal goes once some answers are in and the rest in flight.
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let done_uploads = std::sync::Arc::new(AtomicUsize::new(0));
    let done_hits = std::sync::Arc::new(AtomicUsize::new(0));
    let uploads: Vec<_> = (0..20)
        .map(|n| {
            let (req, done) = (upload(format!("u{n}")), done_uploads.clone());
            tokio::spawn(async move {
                let r = req.await;
                done.fetch_add(1, SeqCst);
                r
            })
        })
        .collect();
    let hits: Vec<_> = (0..400)
        .map(|n| {
            let req = client
                .get(imp.replace("{CACHEBUSTER}", &n.to_string()))
                .send();
            let done = done_hits.clone();
            tokio::spawn(async move {
                let r = req.await;
                done.fetch_add(1, SeqCst);
                r
            })
        })
        .collect();
    while done_uploads.load(SeqCst) < 1 || done_hits.load(SeqCst) < 50 {
        tokio::task::yield_now().await;
    }
    let in_flight = (20 - done_uploads.load(SeqCst), 400 - done_hits.load(SeqCst));
    let status = svc.terminate();
    assert!(status.success(), "exit {status:?}: {}", svc.log());

    let mut stored = Vec::new();
    for u in uploads {
        if let Ok(Ok(res)) = u.await {
            if res.status() == StatusCode::CREATED {
                let m: Value = res.json().await.unwrap();
                stored.push(m["creative_id"].as_str().unwrap().to_owned());
            }
        }
    }
    let mut answered = 0;
    for h in hits {
        if let Ok(Ok(res)) = h.await {
            if res.status() == StatusCode::OK {
                answered += 1;
            }
        }
    }
    eprintln!(
        "in flight at SIGTERM: {in_flight:?}; uploads stored {} of 20, hits answered {answered} of 400",
        stored.len()
    );
    // Nothing left in the spool by the process that exited.
    assert!(
        files_under(&data.join("spool")).is_empty(),
        "spool files left"
    );

    let svc = ServiceProcess::start(&data, &[("DEV_API_KEY", KEY)])
        .await
        .expect("the service restarts");
    let d: Value = client
        .get(svc.api(&format!(
            "/campaigns/{campaign}/creatives/{creative}/delivery"
        )))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        d["impressions"], answered,
        "every hit answered 200 was recorded"
    );
    // Objects only of creatives that exist: an upload cut off left none behind.
    let listed: Value = client
        .get(svc.api(&format!("/campaigns/{campaign}/creativeManifest?limit=100")))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = listed.to_string();
    for id in &stored {
        assert!(
            text.contains(id.as_str()),
            "answered 201 but not stored: {id}"
        );
    }
    for f in files_under(&data.join("objects").join("creatives")) {
        let rel = f
            .strip_prefix(data.join("objects").join("creatives"))
            .unwrap();
        let owner = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        assert!(
            text.contains(owner.as_ref()),
            "orphan object {}",
            f.display()
        );
    }
}

/// The flush writes every event queued before it returns (the shutdown path relies on it); events
/// recorded after it are dropped, not half-written.
#[tokio::test]
async fn flushing_the_tracker_queue_writes_every_queued_event() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "T", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let creative = m["creative_id"].as_str().unwrap();
    for n in 0..2000 {
        app.state.events.record(
            creative.to_owned(),
            Some(campaign.clone()),
            "impression",
            [("n".to_owned(), n.to_string())].into(),
            None,
        );
    }
    app.state.events.flush().await;
    assert_eq!(app.count_rows("tracking_events").await, 2000);
}

/// A stopping worker gives its jobs back: another takes them at once, not when the lease expires.
#[tokio::test]
async fn a_stopping_worker_gives_its_leases_back() {
    use creative_manifests::jobs::{queue, NewJob};
    let app = TestApp::spawn_with(|c| c.run_worker = false).await;
    let customer = creative_manifests::store::customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    let job = queue::enqueue(
        &app.state.db.pool,
        NewJob::named("held_by_test", customer.id, &json!({}), 3).unwrap(),
    )
    .await
    .unwrap();
    let lease = std::time::Duration::from_secs(3600);
    let held = queue::claim(&app.state.db, "w1", lease).await.unwrap();
    assert_eq!(held.map(|j| j.id), Some(job.id.clone()));
    assert!(queue::claim(&app.state.db, "w2", lease)
        .await
        .unwrap()
        .is_none());
    assert_eq!(queue::release(&app.state.db, "w1").await.unwrap(), 1);
    let taken = queue::claim(&app.state.db, "w2", lease).await.unwrap();
    assert_eq!(taken.map(|j| j.id), Some(job.id));
    // Another worker's jobs are not touched.
    assert_eq!(queue::release(&app.state.db, "w1").await.unwrap(), 0);
}
