//! Propagation benchmark: execute a campaign of 5,000 manifests to 5 test sellers (3 with a
//! creative library, 2 inline-only) and report creatives propagated per second and the HTTP
//! requests each seller received. Library sellers should see about creatives/100 `sync_creatives`.
//!
//! Run: `cargo bench --bench propagation` (BENCH_MANIFESTS changes the 5,000).

#[path = "../tests/api/schemas.rs"]
#[allow(dead_code)]
mod schemas;
#[path = "../tests/api/seller.rs"]
#[allow(dead_code)]
mod seller;

#[path = "common/manifest.rs"]
mod blank_manifest;

use std::time::Instant;

use serde_json::{json, Value};

use creative_manifests::adcp::types::FormatId;
use creative_manifests::app::Application;
use creative_manifests::config::Config;
use creative_manifests::ids::{AssetId, CampaignId, CreativeId};
use creative_manifests::manifest::asset_type::AssetType;
use creative_manifests::manifest::model::{Asset, AssetContent, Manifest, Processing, StoredFile};
use creative_manifests::store::creatives;
use creative_manifests::store::customers;
use creative_manifests::store::db::now;
use seller::{Seller, SellerConfig};

const KEY: &str = "bench-key-0123456789";
const STANDARD: &str = "https://creative.adcontextprotocol.org";

fn manifest(campaign: &CampaignId, i: usize) -> Manifest {
    let at = now();
    let id = CreativeId::new();
    Manifest {
        creative_id: id.clone(),
        template_id: Some("display_image".into()),
        target_format_ids: vec![FormatId {
            agent_url: STANDARD.into(),
            id: "display_300x250".into(),
            width: None,
            height: None,
            duration_ms: None,
        }],
        assets: vec![Asset {
            asset_id: AssetId::new(),
            name: "banner.png".into(),
            asset_type: AssetType::Image,
            content: AssetContent::Upload(StoredFile {
                object_key: format!("creatives/{id}/banner.png"),
                original_filename: "banner.png".into(),
                content_type: "image/png".into(),
                file_size: 24_000,
                sha256: "0".repeat(64),
                width: Some(300),
                height: Some(250),
                duration_ms: None,
                processing: Processing::default(),
            }),
            label: None,
            slot_asset_id: None,
            warnings: vec![],
            created_at: at.clone(),
        }],
        ..blank_manifest::blank(campaign, format!("Banner {i}"))
    }
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let res = client.post(url).bearer_auth(KEY).json(&body).send().await?;
    let status = res.status();
    let v: Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "{status}: {v}");
    Ok(v)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_MANIFESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_data_dir(dir.path().to_owned());
    config.dev_api_key = Some(KEY.into());
    config.outbound_allow_private = true;
    config.run_worker = false;
    let app = Application::build(config).await?;
    let base = format!("http://{}/api/v2/buyer", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();

    let mut sellers = Vec::new();
    let mut products = Vec::new();
    for (i, library) in [true, true, true, false, false].into_iter().enumerate() {
        let seller = Seller::start(SellerConfig {
            has_creative_library: Some(library),
            skip_schema_checks: true,
            ..Default::default()
        })
        .await;
        let agent = post(
            &client,
            format!("{base}/sales-agents"),
            json!({"name": format!("Seller {i}"), "endpoint_url": seller.url,
                   "capabilities": {"has_creative_library": library, "supports_inline": !library}}),
        )
        .await?;
        products.push(
            json!({"product_id": format!("prod_{i}"), "sales_agent_id": agent["sales_agent_id"],
            "format_ids": [{"agent_url": STANDARD, "id": "display_300x250"}],
            "budget": 10000.0, "pricing_option_id": "cpm_usd_fixed"}),
        );
        sellers.push((library, seller));
    }
    let campaign = post(
        &client,
        format!("{base}/campaigns"),
        json!({"name": "Bench", "brand_domain": "acme.com", "products": products,
               "start_time": "2027-01-01T00:00:00Z", "end_time": "2027-02-01T00:00:00Z"}),
    )
    .await?;
    let campaign_id = CampaignId::parse(campaign["campaign_id"].as_str().unwrap_or_default())
        .ok_or_else(|| anyhow::anyhow!("no campaign id"))?;
    let customer = customers::ensure_customer(&state.db, "default").await?;
    let mut tx = state.db.pool.begin().await?;
    for i in 0..n {
        creatives::insert(&mut tx, &customer.id, &manifest(&campaign_id, i)).await?;
    }
    tx.commit().await?;
    // Registration fetched formats in the background; count only what execute sends.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before: Vec<usize> = sellers.iter().map(|(_, s)| s.http_requests()).collect();

    let started = Instant::now();
    let out = post(
        &client,
        format!("{base}/campaigns/{campaign_id}/execute"),
        json!({}),
    )
    .await?;
    let took = started.elapsed();

    println!("execute: {n} manifests to 5 sellers (3 library, 2 inline) in {took:.2?}");
    let mut total = 0u64;
    for ((library, seller), (report, before)) in sellers
        .iter()
        .zip(out["sellers"].as_array().into_iter().flatten().zip(&before))
    {
        let sent = report["creatives_sent"].as_u64().unwrap_or(0);
        total += sent;
        let calls = |tool: &str| seller.calls_of(tool).len();
        println!(
            "  {:<7} status {:<9} creatives sent {:>5}  HTTP requests {:>3} (sync_creatives {}, create_media_buy {}, update_media_buy {})",
            if *library { "library" } else { "inline" },
            report["status"].as_str().unwrap_or("?"),
            sent,
            seller.http_requests() - before,
            calls("sync_creatives"),
            calls("create_media_buy"),
            calls("update_media_buy"),
        );
    }
    println!(
        "  {total} creatives propagated: {:.0} creatives/s",
        total as f64 / took.as_secs_f64()
    );
    Ok(())
}
