//! `/metrics` after a scripted workload (issue 14): every family the issue names, each with the
//! counts the workload makes. A fresh process, so the counts are this workload's alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{fixture, ServiceProcess};
use crate::ops::{agent_and_campaign, scrape_until, series, KEY, METRICS_TOKEN};
use crate::propagation::library_seller;
use crate::seller::Seller;
use crate::storefront_mcp::seller_format;

const AGENT: &str = "https://ads.seller.example";

/// A loopback receiver for the storefront's status webhooks: counts what it is sent.
async fn hook_receiver() -> (String, Arc<AtomicUsize>) {
    let got = Arc::new(AtomicUsize::new(0));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let g = g.clone();
            async move {
                g.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test]
async fn metrics_show_every_family_after_a_scripted_workload() {
    let mut config = library_seller();
    config.formats.push(seller_format("box", 300, 250));
    let seller = Seller::start(config).await;
    let (hook_url, hooks_got) = hook_receiver().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let svc = ServiceProcess::start(
        &dir.path().join("data"),
        &[
            ("DEV_API_KEY", KEY),
            ("METRICS_TOKEN", METRICS_TOKEN),
            ("OUTBOUND_ALLOW_PRIVATE", "true"),
            ("STOREFRONT_WEBHOOK_ALLOW_LOOPBACK", "true"),
            ("WORKER_POLL_MS", "50"),
        ],
    )
    .await
    .expect("the service starts");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |path: &str| svc.api(path);
    let owner = |path: &str| format!("{}/api/v2/storefront{path}", svc.base);

    // The token is required, and a wrong one is refused like none.
    let metrics = format!("{}/metrics", svc.base);
    assert_eq!(
        client.get(&metrics).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let res = client
        .get(&metrics)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Unmatched paths share one label whatever the path.
    for p in ["/nope/1", "/nope/2"] {
        client.get(format!("{}{p}", svc.base)).send().await.unwrap();
    }

    // A seller with a campaign buying from it; its formats fetched once more on request.
    let (agent, campaign) = agent_and_campaign(&client, &svc, &seller.url).await;
    let res = client
        .post(api(&format!("/sales-agents/{agent}/formats/refresh")))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // One upload of each kind the service processes.
    let html = b"<!doctype html><html><head><meta name=\"ad.size\" content=\"width=300,height=250\"></head><body><a href=\"https://acme.com\">x</a></body></html>".to_vec();
    let uploads: [(&str, Vec<u8>); 4] = [
        ("a.png", fixture("image_300x250.png")),
        ("ad.html", html),
        ("banner.zip", fixture("bundles/good.zip")),
        ("spot.xml", fixture("vast/inline_4.2.xml")),
    ];
    let mut png_manifest = Value::Null;
    for (name, bytes) in &uploads {
        let meta = json!({"name": name, "url_asset": {"url": "https://acme.com/x"}, "assets": [{"filename": name}]});
        let res = client
            .post(api(&format!("/campaigns/{campaign}/creatives/create")))
            .bearer_auth(KEY)
            .multipart(crate::helpers::TestApp::multipart(
                &meta,
                &[(name, bytes.clone())],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{name}");
        if *name == "a.png" {
            png_manifest = res.json().await.unwrap();
        }
    }

    // Propagation: one job, its first attempt run by the request.
    let res = client
        .post(api(&format!("/campaigns/{campaign}/execute")))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    // Trackers: three impressions and a click recorded.
    let imp = png_manifest["tracking"]["impression_tracker_url"]
        .as_str()
        .expect("impression tracker");
    let clk = png_manifest["tracking"]["click_tracker_url"]
        .as_str()
        .expect("click tracker");
    for n in 0..3 {
        let url = imp.replace("{CACHEBUSTER}", &n.to_string());
        assert_eq!(
            client.get(url).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    let res = client
        .get(clk.replace("{CACHEBUSTER}", "1"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    scrape_until(&client, &svc.base, |t| {
        series(t, "tracker_events_total", &[("outcome", "recorded")]) == Some(4.0)
    })
    .await;
    // Then the database refuses them for a while: two answered hits are dropped (and counted),
    // in one batch or two, before the refusal ends.
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("data/manifests.db").display()
    ))
    .await
    .expect("the service's database");
    sqlx::query(
        "CREATE TRIGGER refuse_events BEFORE INSERT ON tracking_events \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&db)
    .await
    .unwrap();
    for n in 10..12 {
        let url = imp.replace("{CACHEBUSTER}", &n.to_string());
        assert_eq!(
            client.get(url).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    scrape_until(&client, &svc.base, |t| {
        series(t, "tracker_events_total", &[("outcome", "dropped")]) == Some(2.0)
    })
    .await;
    sqlx::query("DROP TRIGGER refuse_events")
        .execute(&db)
        .await
        .unwrap();

    // Webhooks received: one with a forged token.
    let res = client
        .post(format!("{}/adcp/webhooks/job_x", svc.base))
        .json(&json!({"token": "forged", "task_id": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Webhooks sent: a buyer syncs through the storefront asking for status webhooks, the owner
    // approves, the buyer is told.
    let sf: Value = client
        .post(owner("/storefronts"))
        .bearer_auth(KEY)
        .json(&json!({"name": "Front", "sales_agent_id": agent, "review_mode": "manual"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sf_id = sf["storefront_id"].as_str().expect("storefront id");
    let account: Value = client
        .post(owner(&format!("/storefronts/{sf_id}/accounts")))
        .bearer_auth(KEY)
        .json(&json!({"name": "Acme", "brand_domains": ["acme.com"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let buyer_key = account["api_key"].as_str().expect("buyer key");
    let creative = json!({"creative_id": "spring", "name": "Spring", "format_id": {"agent_url": AGENT, "id": "box"},
        "assets": {"hero": {"asset_type": "image", "url": "https://cdn.buyer.example/spring.png", "width": 300, "height": 250}}});
    let synced: Value = client
        .post(sf["mcp_url"].as_str().expect("mcp url"))
        .bearer_auth(buyer_key)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sync_creatives",
            "arguments": {"idempotency_key": "metrics-sync-0000000001", "creatives": [creative],
            "push_notification_config": {"url": hook_url, "authentication": {"schemes": ["Bearer"],
                "credentials": "buyer-bearer-credential-0123456789abcdef"}}}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(synced["result"]["isError"], true, "{synced}");
    let res = client
        .post(owner("/creative-reviews/spring/decide"))
        .bearer_auth(KEY)
        .json(&json!({"decision": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );

    // Background work (formats fetch, the webhook and forward jobs) ends when the counts say so:
    // wait for the service, not for a time.
    let calls_match = |t: &str| {
        seller.calls().iter().all(|c| {
            series(t, "seller_calls_total", &[("tool", &c.tool)])
                == Some(seller.calls_of(&c.tool).len() as f64)
        })
    };
    let text = scrape_until(&client, &svc.base, |t| {
        series(
            t,
            "webhooks_total",
            &[("direction", "sent"), ("outcome", "delivered")],
        )
        .is_some()
            && calls_match(t)
    })
    .await;
    let got = |name: &str, labels: &[(&str, &str)]| series(&text, name, labels);

    // Requests by route and status, with their latency.
    let create = "/api/v2/buyer/campaigns/{campaign_id}/creatives/create";
    for name in ["http_requests_total", "http_request_duration_seconds_count"] {
        assert_eq!(
            got(
                name,
                &[("method", "POST"), ("route", create), ("status", "201")]
            ),
            Some(4.0),
            "{name}: {text}"
        );
        assert_eq!(
            got(
                name,
                &[("method", "GET"), ("route", "/t/imp"), ("status", "200")]
            ),
            Some(5.0),
            "{name}"
        );
    }
    assert!(text.contains("http_request_duration_seconds_bucket{"));
    assert_eq!(
        got(
            "http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        Some(2.0)
    );
    assert_eq!(
        got(
            "http_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ),
        Some(2.0)
    );
    assert!(!text.contains("/nope/"), "raw paths never become labels");

    // Upload bytes and files by detected type.
    for (kind, (_, bytes)) in ["image", "html", "bundle", "vast"].iter().zip(&uploads) {
        assert_eq!(
            got("upload_files_total", &[("type", kind)]),
            Some(1.0),
            "{kind}: {text}"
        );
        assert_eq!(
            got("upload_bytes_total", &[("type", kind)]),
            Some(bytes.len() as f64),
            "{kind}"
        );
    }

    // Processing time by kind: every single file is probed (the PNG, the HTML page, the VAST;
    // a bundle is read as one), HTML is rewritten twice (the page and the bundle's entry point).
    for (kind, n) in [
        ("probe", 3.0),
        ("html", 2.0),
        ("bundle", 1.0),
        ("vast", 1.0),
    ] {
        assert_eq!(
            got("processing_duration_seconds_count", &[("kind", kind)]),
            Some(n),
            "{kind}: {text}"
        );
    }

    // Propagation jobs: runs by status, attempts, queue age, and the queue by status.
    let propagate = [("kind", "propagate")];
    assert_eq!(
        got(
            "job_runs_total",
            &[("kind", "propagate"), ("status", "succeeded")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(got("job_attempt_count", &propagate), Some(1.0));
    assert_eq!(
        got("job_attempt_sum", &propagate),
        Some(1.0),
        "first attempt"
    );
    assert_eq!(got("job_queue_age_seconds_count", &propagate), Some(1.0));
    assert_eq!(
        got("jobs", &[("kind", "propagate"), ("status", "succeeded")]),
        Some(1.0)
    );

    // Seller calls by tool and outcome, with latency: each call the seller saw, counted once.
    let tools: std::collections::BTreeSet<String> =
        seller.calls().into_iter().map(|c| c.tool).collect();
    for tool in [
        "list_creative_formats",
        "create_media_buy",
        "sync_creatives",
    ] {
        assert!(tools.contains(tool), "{tool} not called: {tools:?}");
    }
    for tool in &tools {
        let n = Some(seller.calls_of(tool).len() as f64);
        assert_eq!(
            got("seller_calls_total", &[("tool", tool), ("outcome", "ok")]),
            n,
            "{tool}: {text}"
        );
        assert_eq!(
            got(
                "seller_call_duration_seconds_count",
                &[("tool", tool), ("outcome", "ok")]
            ),
            n,
            "{tool}"
        );
    }

    // Tracker events recorded and dropped.
    assert_eq!(
        got("tracker_events_total", &[("outcome", "recorded")]),
        Some(4.0)
    );
    assert_eq!(
        got("tracker_events_total", &[("outcome", "dropped")]),
        Some(2.0)
    );

    // Webhooks sent and received by outcome.
    assert_eq!(
        hooks_got.load(Ordering::SeqCst),
        1,
        "the buyer was told once"
    );
    assert_eq!(
        got(
            "webhooks_total",
            &[("direction", "sent"), ("outcome", "delivered")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        got(
            "webhooks_total",
            &[("direction", "received"), ("outcome", "bad_token")]
        ),
        Some(1.0)
    );

    // No unbounded label values: no ids, URLs or names.
    for unbounded in [
        agent.as_str(),
        campaign.as_str(),
        sf_id,
        seller.url.as_str(),
        "spring",
        &hook_url,
    ] {
        assert!(!text.contains(unbounded), "{unbounded} is a label value");
    }
}
