//! Storefront benchmark over MCP: `sync_creatives` of 100 creatives, then `list_creatives` (a page
//! of 50, default sort; a filtered sort; a projection; a page behind a cursor halfway through) over
//! an account holding 10,000 creatives; p50/p99 of each. Issue 19 asks list p99 under 20 ms.
//!
//! Run: `cargo bench --bench storefront` (BENCH_CREATIVES changes the 10,000).

#[path = "../tests/api/schemas.rs"]
#[allow(dead_code)]
mod schemas;
#[path = "../tests/api/seller.rs"]
#[allow(dead_code)]
mod seller;

#[path = "common/stats.rs"]
mod stats;
use stats::report;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use creative_manifests::app::Application;
use creative_manifests::config::Config;
use seller::{Seller, SellerConfig};

const KEY: &str = "bench-key-0123456789";
const AGENT: &str = "https://ads.seller.example";

async fn post(client: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let res = client.post(url).bearer_auth(KEY).json(&body).send().await?;
    anyhow::ensure!(res.status().is_success(), "{}", res.text().await?);
    Ok(res.json().await?)
}

fn creative(i: usize) -> Value {
    json!({
        "creative_id": format!("c{i:06}"),
        "name": format!("Creative {i}"),
        "format_id": {"agent_url": AGENT, "id": "box"},
        "tags": [if i.is_multiple_of(2) { "even" } else { "odd" }],
        "assets": {"hero": {"asset_type": "image", "url": format!("https://cdn.buyer.example/{i}.png"), "width": 300, "height": 250}}
    })
}

struct Mcp {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl Mcp {
    async fn call(&self, tool: &str, args: Value) -> anyhow::Result<(Duration, Value)> {
        let started = Instant::now();
        let res = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}))
            .send()
            .await?;
        let body: Value = res.json().await?;
        let took = started.elapsed();
        anyhow::ensure!(
            body["result"].get("isError").is_none(),
            "{tool} failed: {body}"
        );
        Ok((took, body["result"]["structuredContent"].clone()))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_CREATIVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_data_dir(dir.path().to_owned());
    config.dev_api_key = Some(KEY.into());
    config.outbound_allow_private = true;
    config.run_worker = false;
    let app = Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();

    let seller = Seller::start(SellerConfig {
        formats: vec![json!({
            "format_id": {"agent_url": AGENT, "id": "box"}, "name": "Box",
            "renders": [{"role": "primary", "dimensions": {"width": 300, "height": 250}}],
            "assets": [{"item_type": "individual", "asset_id": "hero", "asset_type": "image", "required": true,
                        "requirements": {"min_width": 300, "max_width": 300, "min_height": 250, "max_height": 250}}]
        })],
        skip_schema_checks: true,
        ..Default::default()
    })
    .await;
    let agent = post(
        &client,
        format!("{base}/api/v2/buyer/sales-agents"),
        json!({"name": "Underlying", "endpoint_url": seller.url}),
    )
    .await?;
    let agent_id = agent["sales_agent_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    post(
        &client,
        format!("{base}/api/v2/buyer/sales-agents/{agent_id}/formats/refresh"),
        json!({}),
    )
    .await?;
    let sf = post(
        &client,
        format!("{base}/api/v2/storefront/storefronts"),
        json!({"name": "Bench", "sales_agent_id": agent_id, "review_mode": "auto"}),
    )
    .await?;
    let sf_id = sf["storefront_id"].as_str().unwrap_or_default();
    let account = post(
        &client,
        format!("{base}/api/v2/storefront/storefronts/{sf_id}/accounts"),
        json!({"name": "Buyer", "brand_domains": ["acme.com"]}),
    )
    .await?;
    let mcp = Mcp {
        client: client.clone(),
        url: sf["mcp_url"].as_str().unwrap_or_default().to_owned(),
        key: account["api_key"].as_str().unwrap_or_default().to_owned(),
    };

    // Syncs of 100 new creatives each, until the account holds n.
    let mut sync_times = Vec::new();
    for batch in 0..n.div_ceil(100) {
        let creatives: Vec<Value> = (batch * 100..((batch + 1) * 100).min(n))
            .map(creative)
            .collect();
        let (took, answer) = mcp
            .call(
                "sync_creatives",
                json!({"idempotency_key": format!("bench-sync-{batch:08}"), "creatives": creatives}),
            )
            .await?;
        anyhow::ensure!(answer["creatives"][0]["action"] == "created", "{answer}");
        sync_times.push(took);
    }
    report("sync_creatives of 100 creatives", sync_times);

    // A page from the middle of the account: the keyset path behind a cursor.
    let mut args = json!({"pagination": {"max_results": 100}, "fields": ["creative_id"]});
    for _ in 0..n / 200 {
        let (_, page) = mcp.call("list_creatives", args.clone()).await?;
        args["pagination"]["cursor"] = page["pagination"]["cursor"].clone();
    }
    let middle = json!({"pagination": {"cursor": args["pagination"]["cursor"], "max_results": 100}, "fields": ["creative_id"]});

    for (label, args) in [
        ("list_creatives page of 50", json!({})),
        ("list_creatives page after a cursor mid-account", middle),
        (
            "list_creatives tags filter",
            json!({"filters": {"tags": ["even"]}, "sort": {"field": "name", "direction": "asc"}}),
        ),
        (
            "list_creatives tags_any filter",
            json!({"filters": {"tags_any": ["even", "none"]}}),
        ),
        (
            "list_creatives name_contains filter",
            json!({"filters": {"name_contains": "7"}}),
        ),
        (
            "list_creatives projection",
            json!({"fields": ["creative_id", "name"], "pagination": {"max_results": 100}}),
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..200 {
            let (took, answer) = mcp.call("list_creatives", args.clone()).await?;
            anyhow::ensure!(
                answer["query_summary"]["total_matching"]
                    .as_u64()
                    .unwrap_or(0)
                    > 0,
                "{answer}"
            );
            times.push(took);
        }
        report(&format!("{label} over {n} creatives"), times);
    }
    Ok(())
}
