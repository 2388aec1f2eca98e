//! Manifest-list search at scale: 100,000 manifests in one campaign (BENCH_SEARCH_SIZE changes it),
//! `GET .../creativeManifest?search=` over HTTP, p50/p99 per kind of needle. SQLite by default;
//! PostgreSQL with TEST_DATABASE_URL set (a fresh database is made and dropped).
//!
//! Run: `cargo bench --bench search` (with `TEST_DATABASE_URL` set, as for the tests, for PostgreSQL;
//! with `BENCH_SEARCH_EXPLAIN=1` each needle's page plan and query plans are printed first).

#[path = "common/manifest.rs"]
mod blank_manifest;
#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/stats.rs"]
mod stats;

use postgres::fresh_postgres;

use stats::percentile;

use std::time::Instant;

use serde_json::{json, Value};

use creative_manifests::app::Application;
use creative_manifests::config::Config;
use creative_manifests::ids::CampaignId;
use creative_manifests::manifest::model::Manifest;
use creative_manifests::store::creatives;
use creative_manifests::store::customers;
use creative_manifests::store::manifest_search;

const KEY: &str = "bench-key-0123456789";
const WORDS: [&str; 8] = [
    "Summer Sale",
    "Été promo",
    "Brand logo",
    "Video preroll",
    "Banner",
    "Straße 50%_off",
    "Newsletter",
    "Retargeting",
];

fn manifest(campaign: &CampaignId, i: usize) -> Manifest {
    blank_manifest::blank(campaign, format!("{} {i:06}", WORDS[i % WORDS.len()]))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_SEARCH_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_data_dir(dir.path().to_owned());
    config.dev_api_key = Some(KEY.into());
    config.run_worker = false;
    let pg = fresh_postgres().await?;
    let backend = if let Some((url, _)) = &pg {
        config.database_url = Some(url.clone());
        config.tracking_secret = Some("0123456789abcdef".repeat(4).as_str().into());
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let app = Application::build(config).await?;
    let base = format!("http://{}/api/v2/buyer", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let campaign: Value = client
        .post(format!("{base}/campaigns"))
        .bearer_auth(KEY)
        .json(&json!({"name": "Bench", "brand_domain": "acme.com"}))
        .send()
        .await?
        .json()
        .await?;
    let campaign_id = CampaignId::parse(campaign["campaign_id"].as_str().unwrap_or_default())
        .ok_or_else(|| anyhow::anyhow!("no campaign id"))?;
    let customer = customers::ensure_customer(&state.db, "default").await?;
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut tx = state.db.pool.begin().await?;
        for &i in chunk {
            creatives::insert(&mut tx, &customer.id, &manifest(&campaign_id, i)).await?;
        }
        tx.commit().await?;
    }
    if let Some((url, _)) = &pg {
        postgres::analyze(url).await?;
    }
    println!(
        "{backend}: seeded {n} manifests in one campaign in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let explain = std::env::var_os("BENCH_SEARCH_EXPLAIN").is_some();
    for (label, needle, skip) in [
        ("a whole name (\"banner 004244\")", "banner 004244", 0),
        ("digits (\"4242\")", "4242", 0),
        (
            "non-ASCII, other case (\"ÉTÉ PROMO 0999\")",
            "ÉTÉ PROMO 0999",
            0,
        ),
        ("a word in 1/8 of the names (\"summer\")", "summer", 0),
        (
            "the same, a page deep in the older half (skip 10,000)",
            "summer",
            10_000,
        ),
        ("two characters (\"42\")", "42", 0),
        ("one character in 1/8 of the names (\"ß\")", "ß", 0),
    ] {
        if explain {
            for line in
                manifest_search::explain(&state.db, &customer.id, &campaign_id, needle, 50, skip)
                    .await?
            {
                println!("    {line}");
            }
        }
        let url = reqwest::Url::parse_with_params(
            &format!("{base}/campaigns/{campaign_id}/creativeManifest"),
            &[
                ("search", needle),
                ("take", "50"),
                ("skip", &skip.to_string()),
            ],
        )?;
        let mut times = Vec::new();
        let mut total = Value::Null;
        for _ in 0..200 {
            let t = Instant::now();
            let res = client.get(url.clone()).bearer_auth(KEY).send().await?;
            anyhow::ensure!(res.status().is_success(), "{}", res.status());
            let body: Value = res.json().await?;
            times.push(t.elapsed());
            total = body["total"].clone();
        }
        times.sort();
        println!(
            "{backend} search {label}: total {total}, p50 {:.2} ms, p99 {:.2} ms",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
    }
    drop(state);
    if let Some((_, name)) = pg {
        postgres::drop_database(&name).await;
    }
    Ok(())
}
