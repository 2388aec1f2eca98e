//! The delivery roll-ups stay exact (issue 12): after random writes through the real write paths
//! (sellers' days replaced, restated, emptied, moved to another currency; tracker batches with late
//! events on past days), the report over HTTP equals, to the unit, a report built from scratch over
//! the raw rows (`seller_delivery`, `tracking_events`), for random spans and every grouping.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use creative_manifests::delivery::report::{self, GroupBy, MeasuredRow, SellerRow};
use creative_manifests::delivery::rollup::Figures;
use creative_manifests::store::delivery as store;
use creative_manifests::tracking::events::{self, media_buy_of, Event};

use crate::helpers::TestApp;

const SELLERS: [(&str, &str); 2] = [("sa_a", "mb_a"), ("sa_b", "mb_b")];
const CREATIVES: [&str; 5] = ["cr_1", "cr_2", "cr_3", "cr_4", "cr_5"];

fn day(d: i64) -> String {
    (chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Duration::days(d)).to_string()
}

/// A seller's answer for one day: a random subset of the creatives, random figures (spend in
/// cents, completed views sometimes), in `currency`.
fn answer(rng: &mut StdRng, seller: &str, d: &str, currency: &str) -> Vec<SellerRow> {
    let chosen: Vec<&str> = CREATIVES
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.7))
        .collect();
    chosen
        .into_iter()
        .map(|c| SellerRow {
            sales_agent_id: seller.into(),
            creative_id: c.into(),
            day: d.into(),
            currency: currency.into(),
            impressions: f64::from(rng.gen_range(0..100_000u32)),
            clicks: f64::from(rng.gen_range(0..1_000u32)),
            spend: f64::from(rng.gen_range(0..100_000u32)) / 100.0,
            completed_views: rng
                .gen_bool(0.3)
                .then(|| f64::from(rng.gen_range(0..5_000u32))),
            quartiles: [
                rng.gen_bool(0.2)
                    .then(|| f64::from(rng.gen_range(0..50u32))),
                None,
                None,
                None,
            ],
        })
        .collect()
}

/// Every grouping of the campaign's report over `span` equals a report built from scratch over
/// the raw rows; answers how many raw seller and tracker rows each grouping summed.
async fn report_equals_scratch(
    app: &TestApp,
    campaign: &str,
    (start, end): (&str, &str),
    seller_of: &HashMap<String, String>,
    context: &str,
) -> Vec<(usize, usize)> {
    let mut summed = Vec::new();
    for group in [GroupBy::Creative, GroupBy::Seller, GroupBy::Day] {
        let name = group.name();
        let got: Value = app
            .get(&format!(
                "/campaigns/{campaign}/delivery?start={start}&end={end}&group_by={name}"
            ))
            .await
            .json()
            .await
            .unwrap();
        let (sellers, measured) = from_scratch(app, campaign, start, end, group).await;
        let (rows, totals) = report::build(group, &sellers, &measured, seller_of);
        assert_eq!(
            (&got["rows"], &got["totals"]),
            (&json!(rows), &json!(totals)),
            "{context}, {start}..{end} by {name}"
        );
        summed.push((sellers.len(), measured.len()));
        if group == GroupBy::Creative {
            one_creative_equals_scratch(
                app,
                campaign,
                (start, end),
                seller_of,
                &sellers,
                &measured,
            )
            .await;
        }
    }
    summed
}

/// A manifest's `performance` reads one creative's series (not summed over sellers in SQL): for
/// each creative, its report equals the from-scratch one of its rows alone.
async fn one_creative_equals_scratch(
    app: &TestApp,
    campaign: &str,
    (start, end): (&str, &str),
    seller_of: &HashMap<String, String>,
    sellers: &[SellerRow],
    measured: &[MeasuredRow],
) {
    for c in CREATIVES {
        let span = store::Span {
            campaign,
            start,
            end,
            grain: store::Grain::Creative(Some(c)),
        };
        let got = report::build(
            GroupBy::Creative,
            &store::seller_rows(&app.state.db, &span).await.unwrap(),
            &store::measured_rows(&app.state.db, &span).await.unwrap(),
            seller_of,
        );
        let mine_s: Vec<SellerRow> = sellers
            .iter()
            .filter(|r| r.creative_id == c)
            .cloned()
            .collect();
        let mine_m: Vec<MeasuredRow> = measured
            .iter()
            .filter(|r| r.creative_id == c)
            .cloned()
            .collect();
        let want = report::build(GroupBy::Creative, &mine_s, &mine_m, seller_of);
        assert_eq!(got, want, "{c}, {start}..{end}");
    }
}

/// Each series row's first and last day and its totals are its running rows' (migration 0034: a
/// report reaching a series' last day reads its totals there), and every running row has its
/// series.
async fn series_rows_agree_with_their_running_rows(app: &TestApp, context: &str) {
    let seller_figures = Figures::COLUMNS;
    for (series, running, key, columns) in [
        (
            "seller_delivery_series",
            "seller_delivery_running",
            &["campaign_id", "sales_agent_id", "currency", "creative_id"][..],
            &seller_figures[..],
        ),
        (
            "tracking_series",
            "tracking_running",
            &["campaign_id", "media_buy_id", "creative_id"][..],
            &["impressions", "clicks"][..],
        ),
        (
            "seller_creative_series",
            "seller_creative_running",
            &["campaign_id", "currency", "creative_id"][..],
            &seller_figures[..],
        ),
        (
            "tracking_creative_series",
            "tracking_creative_running",
            &["campaign_id", "creative_id"][..],
            &["impressions", "clicks"][..],
        ),
    ] {
        let same = key
            .iter()
            .map(|k| format!("r.{k} = s.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let totals = columns
            .iter()
            .map(|c| format!("r.{c} = s.{c}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let wrong: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {series} s WHERE \
               s.first_day <> COALESCE((SELECT MIN(r.day) FROM {running} r WHERE {same}), '') \
               OR s.last_day <> COALESCE((SELECT MAX(r.day) FROM {running} r WHERE {same}), '') \
               OR NOT EXISTS (SELECT 1 FROM {running} r WHERE {same} AND r.day = s.last_day AND {totals})"
        ))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(
            wrong, 0,
            "{series} rows disagreeing with {running}, {context}"
        );
        let orphans: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {running} r WHERE NOT EXISTS (SELECT 1 FROM {series} s WHERE {same})"
        ))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "{running} rows without a series, {context}");
    }
    // One level up: the sums of the series below, over the same days.
    for (upper, lower, key, columns) in [
        (
            "seller_creative_series",
            "seller_delivery_series",
            "campaign_id, currency, creative_id",
            &seller_figures[..],
        ),
        (
            "tracking_creative_series",
            "tracking_series",
            "campaign_id, creative_id",
            &["impressions", "clicks"][..],
        ),
    ] {
        let figures = columns.join(", ");
        let sums = columns
            .iter()
            .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = |sql: String| async move {
            let mut out: Vec<String> = sqlx::query(&sql)
                .fetch_all(&app.state.db.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<String, _>(i)
                                .or_else(|_| r.try_get::<i64, _>(i).map(|v| v.to_string()))
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect();
            out.sort();
            out
        };
        let want = rows(format!(
            "SELECT {key}, MIN(first_day), MAX(last_day), {sums} FROM {lower} GROUP BY {key}"
        ))
        .await;
        let got = rows(format!(
            "SELECT {key}, first_day, last_day, {figures} FROM {upper}"
        ))
        .await;
        assert_eq!(got, want, "{upper} against {lower}, {context}");
    }
}

/// The seller rows and tracker counts of `campaign` in `start..=end`, summed from scratch over the
/// raw rows to the grain of `group`.
async fn from_scratch(
    app: &TestApp,
    campaign: &str,
    start: &str,
    end: &str,
    group: GroupBy,
) -> (Vec<SellerRow>, Vec<MeasuredRow>) {
    let grain = |creative: String, d: String| match group {
        GroupBy::Creative => (creative, String::new()),
        GroupBy::Seller => (String::new(), String::new()),
        GroupBy::Day => (String::new(), d),
    };
    let mut sellers: BTreeMap<(String, String, String, String), Figures> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT sales_agent_id, creative_id, day, currency, impressions, clicks, spend, completed_views, \
           q1_views, q2_views, q3_views, q4_views FROM seller_delivery \
         WHERE campaign_id = $1 AND day >= $2 AND day <= $3",
    )
    .bind(campaign)
    .bind(start)
    .bind(end)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    {
        let row = SellerRow {
            sales_agent_id: r.get("sales_agent_id"),
            creative_id: r.get("creative_id"),
            day: r.get("day"),
            currency: r.get("currency"),
            impressions: r.get("impressions"),
            clicks: r.get("clicks"),
            spend: r.get("spend"),
            completed_views: r.get("completed_views"),
            quartiles: [
                r.get("q1_views"),
                r.get("q2_views"),
                r.get("q3_views"),
                r.get("q4_views"),
            ],
        };
        let (c, d) = grain(row.creative_id.clone(), row.day.clone());
        let f = sellers
            .entry((row.sales_agent_id.clone(), c, d, row.currency.clone()))
            .or_default();
        *f = f.plus(&Figures::of(&row));
    }
    let sellers = sellers
        .into_iter()
        .map(|((s, c, d, cur), f)| f.row(s, c, d, cur))
        .collect();
    let mut measured: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT creative_id, kind, macros, at FROM tracking_events WHERE campaign_id = $1",
    )
    .bind(campaign)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    {
        let at: String = r.get("at");
        let d = at[..10].to_owned();
        if d.as_str() < start || d.as_str() > end {
            continue;
        }
        let macros: BTreeMap<String, String> =
            serde_json::from_str(&r.get::<String, _>("macros")).unwrap();
        let (c, d) = grain(r.get("creative_id"), d);
        let m = measured.entry((c, media_buy_of(&macros), d)).or_default();
        if r.get::<String, _>("kind") == "click" {
            m.1 += 1;
        } else {
            m.0 += 1;
        }
    }
    let measured = measured
        .into_iter()
        .map(|((c, mb, d), (i, k))| MeasuredRow {
            creative_id: c,
            media_buy_id: mb,
            day: d,
            impressions: i,
            clicks: k,
        })
        .collect();
    (sellers, measured)
}

#[tokio::test]
async fn the_report_equals_a_sum_over_the_raw_rows_after_random_writes_and_restatements() {
    let app = TestApp::spawn().await;
    let res = app
        .post_json(
            "/campaigns",
            &json!({"name": "Roll-up", "brand_domain": "acme.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let campaign = res.json::<Value>().await.unwrap()["campaign_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = &app.state.db;
    for (seller, buy) in SELLERS {
        sqlx::query(
            "INSERT INTO media_buys (campaign_id, sales_agent_id, customer_id, media_buy_id, transport, packages, \
               created_at, updated_at) VALUES ($1, $2, 'cus', $3, 'library', '[]', '', '')",
        )
        .bind(&campaign)
        .bind(seller)
        .bind(buy)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let mut rng = StdRng::seed_from_u64(12);
    let mut dedup = 0;
    for step in 0..120 {
        if rng.gen_bool(0.5) {
            // A seller's day, fetched (again: a restatement), maybe empty, maybe in another currency.
            let (seller, buy) = SELLERS[rng.gen_range(0..2)];
            let d = day(rng.gen_range(0..12));
            let currency = if rng.gen_bool(0.8) { "USD" } else { "EUR" };
            let mut rows = answer(&mut rng, seller, &d, currency);
            if rng.gen_bool(0.1) {
                rows.clear();
            }
            // A creative listed twice (on two pages) is summed.
            if let Some(first) = rows.first().cloned().filter(|_| rng.gen_bool(0.1)) {
                rows.push(first);
            }
            store::replace_day(db, &campaign, seller, buy, &d, (&d, &d), &rows)
                .await
                .unwrap();
        } else {
            // A tracker batch; events on past days arrive late, replayed clicks count once.
            let batch: Vec<Event> = (0..rng.gen_range(1..40))
                .map(|i| {
                    let mb = ["mb_a", "mb_b", "", "{MEDIA_BUY_ID}"][rng.gen_range(0..4)];
                    let click = rng.gen_bool(0.2);
                    let dedup_key = (click && rng.gen_bool(0.5)).then(|| {
                        dedup += 1;
                        format!("k{}", dedup / 2)
                    });
                    Event {
                        creative_id: CREATIVES[rng.gen_range(0..5)].into(),
                        campaign_id: Some(campaign.clone()),
                        kind: if click { "click" } else { "impression" },
                        macros: [("mb".to_owned(), mb.to_owned())].into(),
                        at: format!("{}T{:02}:00:00.000Z", day(rng.gen_range(0..12)), i % 24),
                        dedup_key,
                    }
                })
                .collect();
            events::write(db, &batch).await.unwrap();
        }
        if step % 40 != 39 {
            continue;
        }
        series_rows_agree_with_their_running_rows(&app, &format!("step {step}")).await;
        let seller_of: HashMap<String, String> = SELLERS
            .iter()
            .map(|(s, b)| ((*b).to_owned(), (*s).to_owned()))
            .collect();
        let mut spans = vec![(0, 11), (3, 3), (0, 0), (11, 11)];
        for _ in 0..4 {
            let a = rng.gen_range(0..13);
            spans.push((a, rng.gen_range(a..14)));
        }
        for (a, b) in spans {
            let (start, end) = (day(a), day(b));
            report_equals_scratch(
                &app,
                &campaign,
                (&start, &end),
                &seller_of,
                &format!("step {step}"),
            )
            .await;
        }
    }
    // The roll-ups keep nothing a raw row does not back: emptied days left no running row behind.
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM seller_delivery_running r WHERE NOT EXISTS (SELECT 1 FROM seller_delivery d \
         WHERE d.campaign_id = r.campaign_id AND d.sales_agent_id = r.sales_agent_id AND d.currency = r.currency \
         AND d.creative_id = r.creative_id AND d.day = r.day)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(orphans, 0);
}

async fn count_of(app: &TestApp, table: &str, creative: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {table} WHERE creative_id = $1"
    ))
    .bind(creative)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn deleting_a_manifest_takes_its_delivery_out_and_deleting_the_campaign_takes_it_all() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let mut ids = Vec::new();
    for name in ["A", "B"] {
        let m = app
            .create_manifest(
                &campaign,
                &json!({"name": name, "assets": [{"filename": "image_300x250.png"}]}),
                &[(
                    "image_300x250.png",
                    crate::helpers::fixture("image_300x250.png"),
                )],
            )
            .await;
        ids.push(m["creative_id"].as_str().unwrap().to_owned());
    }
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let db = &app.state.db;
    let mut rng = StdRng::seed_from_u64(3);
    for (seller, buy) in SELLERS {
        for d in 0..3 {
            let d = day(d);
            let rows: Vec<SellerRow> = [&a, &b]
                .iter()
                .map(|c| SellerRow {
                    sales_agent_id: seller.into(),
                    creative_id: (*c).clone(),
                    day: d.clone(),
                    currency: "USD".into(),
                    impressions: f64::from(rng.gen_range(1..10_000u32)),
                    clicks: f64::from(rng.gen_range(0..100u32)),
                    spend: f64::from(rng.gen_range(0..10_000u32)) / 100.0,
                    completed_views: rng.gen_bool(0.5).then_some(7.0),
                    ..SellerRow::default()
                })
                .collect();
            store::replace_day(db, &campaign, seller, buy, &d, (&d, &d), &rows)
                .await
                .unwrap();
        }
    }
    let events: Vec<Event> = (0..30)
        .map(|i| Event {
            creative_id: ids[i % 2].clone(),
            campaign_id: Some(campaign.clone()),
            kind: if i % 5 == 0 { "click" } else { "impression" },
            macros: [("mb".to_owned(), ["mb_a", "mb_b"][i % 3 % 2].to_owned())].into(),
            at: format!("{}T10:00:00.000Z", day((i % 3) as i64)),
            dedup_key: None,
        })
        .collect();
    events::write(db, &events).await.unwrap();

    let res = app
        .delete(&format!("/campaigns/{campaign}/creatives/{a}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for table in [
        "seller_delivery",
        "seller_delivery_running",
        "seller_delivery_series",
        "tracking_events",
        "tracking_daily",
        "tracking_running",
        "tracking_series",
    ] {
        assert_eq!(count_of(&app, table, &a).await, 0, "{table} keeps {a}");
        assert!(count_of(&app, table, &b).await > 0, "{table} lost {b}");
    }
    // The campaign's per-day sums now hold B alone: every grouping equals a sum over B's raw rows.
    let seller_of: HashMap<String, String> = HashMap::new();
    let (start, end) = (day(0), day(2));
    let summed = report_equals_scratch(
        &app,
        &campaign,
        (&start, &end),
        &seller_of,
        "after the deletion",
    )
    .await;
    for (sellers, measured) in summed {
        assert!(sellers > 0 && measured > 0);
    }

    assert_eq!(
        app.delete(&format!("/campaigns/{campaign}")).await.status(),
        StatusCode::NO_CONTENT
    );
    for table in [
        "seller_delivery",
        "seller_delivery_running",
        "seller_delivery_series",
        "seller_delivery_days",
        "seller_delivery_fetches",
        "tracking_events",
        "tracking_daily",
        "tracking_running",
        "tracking_series",
        "tracking_days",
    ] {
        assert_eq!(
            app.count_rows(table).await,
            0,
            "{table} outlived its campaign"
        );
    }
}

/// The writer inserts a hundred events a statement: a batch of several statements writes every
/// impression, and a click replayed in the same statement, in a later statement of the batch or in
/// a later batch is written and counted once, in the raw rows and in the roll-ups alike.
#[tokio::test]
async fn a_batch_of_several_statements_counts_each_event_once_and_each_replayed_click_once() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let creative = "cr_batch";
    let event = |key: Option<String>| Event {
        creative_id: creative.into(),
        campaign_id: Some(campaign.clone()),
        kind: if key.is_some() { "click" } else { "impression" },
        macros: [("mb".to_owned(), "mb_a".to_owned())].into(),
        at: format!("{}T10:00:00.000Z", day(0)),
        dedup_key: key,
    };
    let click = |k: usize| event(Some(format!("k{k}")));
    let mut first: Vec<Event> = (0..250).map(|_| event(None)).collect();
    first.extend((0..30).map(click)); // rows 250-279
    first.push(click(10)); // row 280: the same statement as its first (260)
    first.extend((0..60).map(|_| event(None)));
    first.extend((0..10).map(click)); // rows 341-350: the next statement
    events::write(&app.state.db, &first).await.unwrap();
    let mut second: Vec<Event> = (0..5).map(click).collect();
    second.extend((0..5).map(|_| event(None)));
    events::write(&app.state.db, &second).await.unwrap();

    let (impressions, clicks) = (250 + 60 + 5, 30);
    assert_eq!(
        count_of(&app, "tracking_events", creative).await,
        impressions + clicks
    );
    let row = sqlx::query(
        "SELECT CAST(SUM(impressions) AS BIGINT) AS i, CAST(SUM(clicks) AS BIGINT) AS c \
         FROM tracking_daily WHERE creative_id = $1",
    )
    .bind(creative)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (row.get::<i64, _>("i"), row.get::<i64, _>("c")),
        (impressions, clicks)
    );
}
