//! Delivery benchmarks (issue 12), in process on SQLite:
//! 1. the report (`GET /campaigns/:id/delivery`, 90 days, by creative / seller / day) over 1,000
//!    creatives x 90 days x 5 sellers of seller rows (written as fetches write them), beside 10
//!    million tracker events counted through the roll-up's write path (raw event rows aside: the
//!    ingest path is measured in 2), p50/p99;
//! 2. tracker ingest: sustained `/t/imp` hits per second with every hit recorded (checked against
//!    the roll-up), beside a bare handler answering the same GIF in the same process (the ceiling),
//!    with a tokio + hyper (reqwest) client loop as the load generator; p99 latency of each.
//!
//! Run: `cargo bench --bench delivery`; with TEST_DATABASE_URL set (as for the tests) the report is
//! measured again on a fresh PostgreSQL database (dropped after). BENCH_CREATIVES, BENCH_DAYS, BENCH_SELLERS, BENCH_EVENTS,
//! BENCH_INGEST_SECS and BENCH_CONCURRENCY change the sizes.

#[path = "common/postgres.rs"]
mod postgres;
#[path = "common/stats.rs"]
mod stats;
use stats::percentile;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use creative_manifests::app::Application;
use creative_manifests::config::Config;
use creative_manifests::delivery::report::SellerRow;
use creative_manifests::store::delivery;
use creative_manifests::tracking::events::{Event, Rollup};
use serde_json::{json, Value};

const KEY: &str = "bench-key-0123456789";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct App {
    base: String,
    state: creative_manifests::state::AppState,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The service in process: on SQLite, or on the PostgreSQL database at `database_url`.
async fn start(database_url: Option<&str>) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_data_dir(dir.path().to_owned());
    if let Some(url) = database_url {
        config.database_url = Some(url.to_owned());
        config.tracking_secret = Some("0123456789abcdef".repeat(4).as_str().into());
    }
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.dev_api_key = Some(KEY.into());
    config.run_worker = false;
    let app = Application::build(config).await.expect("build");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    App {
        base,
        state,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl App {
    async fn post(&self, path: &str, body: &Value) -> Value {
        self.client
            .post(format!("{}/api/v2/buyer{path}", self.base))
            .bearer_auth(KEY)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn report_bench(app: &App, postgres_url: Option<&str>) {
    let (creatives, days, sellers) = (
        env("BENCH_CREATIVES", 1000),
        env("BENCH_DAYS", 90),
        env("BENCH_SELLERS", 5),
    );
    let events = env("BENCH_EVENTS", 10_000_000);
    let campaign = app
        .post(
            "/campaigns",
            &json!({"name": "Bench", "brand_domain": "acme.com"}),
        )
        .await["campaign_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let db = &app.state.db;
    let cells = creatives * days * sellers;
    // Events spread over the cells, the remainder one each to the first cells: exactly `events`.
    let (per_cell, extra) = (events / cells.max(1), events % cells.max(1));
    for s in 0..sellers {
        sqlx::query(
            "INSERT INTO media_buys (campaign_id, sales_agent_id, customer_id, media_buy_id, transport, packages, \
               created_at, updated_at) VALUES ($1, $2, 'cus', $3, 'library', '[]', '', '')",
        )
        .bind(&campaign)
        .bind(format!("sa_{s}"))
        .bind(format!("mb_{s}"))
        .execute(&db.pool)
        .await
        .unwrap();
    }
    // Seller rows through the write path a fetch uses: one seller's day (all its creatives)
    // replaced at a time, with the roll-ups, in one transaction.
    let loaded = Instant::now();
    for d in 0..days {
        let day = (start + chrono::Duration::days(d as i64)).to_string();
        for s in 0..sellers {
            let rows: Vec<SellerRow> = (0..creatives)
                .map(|c| {
                    let n = 1000.0 + (c * 7 + d * 3 + s) as f64;
                    SellerRow {
                        sales_agent_id: format!("sa_{s}"),
                        creative_id: format!("cr_{c:05}"),
                        day: day.clone(),
                        currency: "USD".into(),
                        impressions: n,
                        clicks: (n / 100.0).floor(),
                        spend: n * 0.002,
                        ..SellerRow::default()
                    }
                })
                .collect();
            delivery::replace_day(
                db,
                &campaign,
                &format!("sa_{s}"),
                &format!("mb_{s}"),
                &day,
                (&day, &day),
                &rows,
            )
            .await
            .unwrap();
        }
    }
    let sellers_loaded = loaded.elapsed();
    // Tracker events through the roll-up's write path: each event counted into a batch's
    // `Rollup` (as the tracker's writer does), a day's events per batch, each batch applied in one
    // transaction. Only the raw event rows are not written (10 million of them would be the
    // ingest benchmark's job, and gigabytes of disk).
    let loaded = Instant::now();
    let mut counted = 0u64;
    for d in 0..days {
        let at = format!("{}T12:00:00.000Z", start + chrono::Duration::days(d as i64));
        let mut rollup = Rollup::default();
        for s in 0..sellers {
            let macros: std::collections::BTreeMap<String, String> =
                [("mb".to_owned(), format!("mb_{s}"))].into();
            for c in 0..creatives {
                let cell = (d * sellers + s) * creatives + c;
                let n = per_cell + u64::from(cell < extra);
                let mut e = Event {
                    creative_id: format!("cr_{c:05}"),
                    campaign_id: Some(campaign.clone()),
                    kind: "impression",
                    macros: macros.clone(),
                    at: at.clone(),
                    dedup_key: None,
                };
                for _ in 0..n - n / 100 {
                    rollup.add(&e);
                }
                e.kind = "click";
                for _ in 0..n / 100 {
                    rollup.add(&e);
                }
                counted += n;
            }
        }
        let mut tx = db.pool.begin().await.unwrap();
        rollup.apply(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    if let Some(url) = postgres_url {
        postgres::analyze(url).await.expect("ANALYZE");
    }
    println!(
        "report data: {creatives} creatives x {days} days x {sellers} sellers = {cells} seller rows \
         (written in {:.1} s), and {counted} tracker events rolled up ({:.1} s)",
        sellers_loaded.as_secs_f64(),
        loaded.elapsed().as_secs_f64()
    );
    let end = (start + chrono::Duration::days(days as i64 - 1)).to_string();
    // The whole flight by each grouping, then a span inside it (its ends need a step back along
    // each series rather than its last row).
    let inner = (
        (start + chrono::Duration::days(days as i64 / 3)).to_string(),
        (start + chrono::Duration::days(2 * days as i64 / 3)).to_string(),
    );
    for (group, from, to) in [
        ("creative", start.to_string(), end.clone()),
        ("seller", start.to_string(), end.clone()),
        ("day", start.to_string(), end.clone()),
        ("creative", inner.0.clone(), inner.1.clone()),
    ] {
        let url = format!(
            "{}/api/v2/buyer/campaigns/{campaign}/delivery?start={from}&end={to}&group_by={group}",
            app.base
        );
        let mut times = Vec::new();
        let mut rows = 0;
        for i in 0..21 {
            let t = Instant::now();
            let r: Value = app
                .client
                .get(&url)
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if i > 0 {
                times.push(t.elapsed());
            }
            rows = r["rows"].as_array().map_or(0, Vec::len);
        }
        times.sort();
        println!(
            "report group_by={group} {from}..{to}: {rows} rows, p50 {:.1} ms, p99 {:.1} ms (20 runs)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
        if group == "creative" {
            explain(app, sellers, &campaign, (&from, &to)).await;
        }
    }
}

/// The query plans of the report by creative's two queries over `from..=to` (every bench seller
/// reports in USD): SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN ANALYZE.
async fn explain(app: &App, sellers: u64, campaign: &str, (from, to): (&str, &str)) {
    use creative_manifests::store::db::Backend;
    use sqlx::Row;
    let db = &app.state.db;
    let by_buy: std::collections::BTreeMap<String, String> = (0..sellers)
        .map(|s| (format!("mb_{s}"), "USD".to_owned()))
        .collect();
    let (sellers_sql, trackers_sql) =
        creative_manifests::store::delivery_report::creative_report_sql(db.backend, &by_buy);
    for (name, sql, pairs) in [
        ("sellers", sellers_sql, false),
        ("trackers", trackers_sql, true),
    ] {
        let prefix = match db.backend {
            Backend::Sqlite => "EXPLAIN QUERY PLAN ",
            Backend::Postgres => "EXPLAIN (ANALYZE, COSTS OFF) ",
        };
        let sql = format!("{prefix}{sql}");
        let mut q = sqlx::query(&sql).bind(campaign).bind(from).bind(to);
        if pairs {
            q = creative_manifests::store::delivery_report::bind_report_currencies(q, &by_buy);
        }
        println!("  plan of the {name} query:");
        for r in q.fetch_all(&db.pool).await.expect("EXPLAIN") {
            let line: String = match db.backend {
                Backend::Sqlite => r.get("detail"),
                Backend::Postgres => r.get(0),
            };
            println!("    {line}");
        }
    }
}

/// Fires GETs at `url` from `concurrency` tasks for `secs`: hits answered 200, and their latencies.
async fn load(url: String, concurrency: u64, secs: u64) -> (u64, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, url, ok) = (client.clone(), url.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client.get(format!("{url}&cb={w}-{i}")).send().await;
                if let Ok(r) = res {
                    if r.status().is_success() && r.bytes().await.is_ok() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat.push(t.elapsed());
                i += 1;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    (ok.load(Ordering::Relaxed), all)
}

async fn ingest_bench(app: &App) {
    let (secs, concurrency) = (env("BENCH_INGEST_SECS", 10), env("BENCH_CONCURRENCY", 32));
    let campaign = app
        .post(
            "/campaigns",
            &json!({"name": "Ingest", "brand_domain": "acme.com"}),
        )
        .await["campaign_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/image_300x250.png"
    ))
    .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("metadata", json!({"name": "Pixel", "url_asset": {"url": "https://acme.com/"}, "assets": [{"filename": "a.png"}]}).to_string())
        .part("files", reqwest::multipart::Part::bytes(png).file_name("a.png"));
    let m: Value = app
        .client
        .post(format!(
            "{}/api/v2/buyer/campaigns/{campaign}/creatives/create",
            app.base
        ))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creative = m["creative_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a manifest: {m}"))
        .to_owned();
    // The pixel's known set reloads every minute; a fresh creative is added at once by its create.
    let imp = format!(
        "{}/t/imp?cr={creative}&cmp={campaign}&mb=mb_bench",
        app.base
    );

    // The ceiling: the same GIF from a bare handler in this process.
    let gif: &'static [u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let bare = axum::Router::new().route(
        "/gif",
        axum::routing::get(move || async move { ([("content-type", "image/gif")], gif) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_url = format!("http://{}/gif?x=1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bare).await });

    let (bare_ok, bare_lat) = load(bare_url, concurrency, secs).await;
    let (imp_ok, imp_lat) = load(imp, concurrency, secs).await;
    // Every hit answered must be recorded: wait for the writer to catch up, then compare.
    let mut recorded = 0i64;
    for _ in 0..600 {
        recorded = sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE(SUM(impressions), 0) FROM tracking_daily WHERE creative_id = $1",
        )
        .bind(&creative)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        if recorded as u64 >= imp_ok {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rate = |n: u64| n as f64 / secs as f64;
    println!(
        "bare GIF handler (ceiling): {:.0} hits/s, p99 {:.2} ms ({concurrency} connections, {secs} s)",
        rate(bare_ok),
        percentile(&bare_lat, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "/t/imp: {:.0} hits/s ({:.0}% of the ceiling), p99 {:.2} ms; {imp_ok} answered, {recorded} recorded{}",
        rate(imp_ok),
        rate(imp_ok) / rate(bare_ok).max(1.0) * 100.0,
        percentile(&imp_lat, 0.99).as_secs_f64() * 1e3,
        if recorded as u64 == imp_ok { " (none dropped)" } else { " (SOME DROPPED)" }
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = start(None).await;
        println!("SQLite:");
        report_bench(&app, None).await;
        ingest_bench(&app).await;
        drop(app);
        // With TEST_DATABASE_URL (as for the tests), the report again on PostgreSQL.
        if let Some((url, name)) = postgres::fresh_postgres().await.expect("PostgreSQL") {
            let app = start(Some(&url)).await;
            println!("PostgreSQL:");
            report_bench(&app, Some(&url)).await;
            drop(app);
            postgres::drop_database(&name).await;
        }
    });
}
