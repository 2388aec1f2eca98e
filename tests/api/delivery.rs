//! Delivery flowing back (issue 12): sellers' `get_creative_delivery` fetched by durable jobs over
//! several pages and days, the trackers' roll-up, and the report beside them as JSON and CSV.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use creative_manifests::demo_seller::truth::DeliveryRow;

use crate::helpers::TestApp;
use crate::propagation::{banner, execute, fast, library_seller, one_seller};
use crate::seller::SellerConfig;

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

/// Per creative and day, what the seller says it delivered: distinct figures so that any row
/// counted twice or dropped shows.
fn rows(creatives: &[&str]) -> Vec<DeliveryRow> {
    let mut out = Vec::new();
    for (i, c) in creatives.iter().enumerate() {
        for d in -3..=0 {
            let n = (i as u64 + 1) * 1000 + (d + 3) as u64 * 17;
            out.push(DeliveryRow {
                media_buy_id: "mb_1".into(),
                creative_id: (*c).into(),
                day: day(d),
                impressions: n,
                clicks: n / 100,
                spend: n as f64 * 0.0025,
                completed_views: (i == 0).then_some(n / 2),
            });
        }
    }
    out
}

async fn report(app: &TestApp, campaign: &str, group_by: &str) -> Value {
    let res = app
        .get(&format!(
            "/campaigns/{campaign}/delivery?start={}&end={}&group_by={group_by}",
            day(-3),
            day(0)
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_report_matches_the_sellers_pages_to_the_unit_and_the_trackers_hits_and_csv_agrees() {
    let app = TestApp::spawn_with(fast).await;
    let mut config: SellerConfig = library_seller();
    config.truth.delivery_page = 1;
    config.truth.currency = "EUR".into();
    config.truth.delivery_rows = Some(Vec::new());
    let (seller, agent, campaign) =
        one_seller(&app, config, json!({"has_creative_library": true})).await;
    let res = app
        .patch_json(
            &format!("/campaigns/{campaign}"),
            &json!({"start_time": format!("{}T00:00:00Z", day(-3)), "end_time": format!("{}T00:00:00Z", day(10))}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = banner(&app, &campaign, "A").await;
    let b = banner(&app, &campaign, "B").await;
    execute(&app, &campaign).await;
    app.run_jobs().await;
    let delivered = rows(&[&a, &b]);
    seller.configure(|c| c.truth.delivery_rows = Some(delivered.clone()));

    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/delivery/refresh"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    app.run_jobs().await;
    // Four days, two creatives a page of one each: every page was asked for.
    let calls = seller.calls_of("get_creative_delivery");
    assert_eq!(
        calls.len(),
        8,
        "{:?}",
        calls.iter().map(|c| &c.args).collect::<Vec<_>>()
    );
    assert_eq!(calls[0].args["media_buy_ids"], json!(["mb_1"]));

    // The trackers: hits as the seller serves them, for creative A under its media buy.
    let m = crate::propagation::manifest(&app, &campaign, &a).await;
    let imp = m["tracking"]["impression_tracker_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let clk = m["tracking"]["click_tracker_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for i in 0..7 {
        let url = imp
            .replace("{MEDIA_BUY_ID}", "mb_1")
            .replace("{CACHEBUSTER}", &i.to_string());
        assert_eq!(
            client.get(url).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    for i in 0..3 {
        let url = clk
            .replace("{MEDIA_BUY_ID}", "mb_1")
            .replace("{CACHEBUSTER}", &i.to_string());
        client.get(url).send().await.unwrap();
    }
    crate::tracking::delivery(&app, &campaign, &a, (7, 3)).await;

    let r = report(&app, &campaign, "creative").await;
    // An empty group_by groups by creative and says so (it echoed "" before).
    let unnamed = report(&app, &campaign, "").await;
    assert_eq!(unnamed["group_by"], "creative", "{unnamed}");
    assert_eq!(unnamed["rows"], r["rows"]);
    let rows_out = r["rows"].as_array().unwrap();
    assert_eq!(rows_out.len(), 2, "{r}");
    for (c, i) in [(&a, 0usize), (&b, 1)] {
        let want: Vec<&DeliveryRow> = delivered.iter().filter(|d| &d.creative_id == c).collect();
        let row = rows_out.iter().find(|x| x["key"] == **c).unwrap();
        let imps: u64 = want.iter().map(|d| d.impressions).sum();
        let clicks: u64 = want.iter().map(|d| d.clicks).sum();
        assert_eq!(row["impressions"].as_f64(), Some(imps as f64), "{row}");
        assert_eq!(row["clicks"].as_f64(), Some(clicks as f64));
        let spend: f64 = want.iter().map(|d| d.spend).sum();
        assert!((row["spend"].as_f64().unwrap() - spend).abs() < 1e-9);
        assert_eq!(row["currency"], "EUR");
        if i == 0 {
            let views: u64 = want.iter().filter_map(|d| d.completed_views).sum();
            assert_eq!(row["completed_views"].as_f64(), Some(views as f64));
            assert_eq!(
                (
                    row["measured_impressions"].as_i64(),
                    row["measured_clicks"].as_i64()
                ),
                (Some(7), Some(3))
            );
            let pct = ((7.0 - imps as f64) / imps as f64 * 100.0 * 100.0).round() / 100.0;
            assert_eq!(row["impressions_discrepancy_pct"].as_f64(), Some(pct));
        } else {
            assert_eq!(row["measured_impressions"], 0);
            assert!(row["completed_views"].is_null());
        }
    }
    let total: u64 = delivered.iter().map(|d| d.impressions).sum();
    assert_eq!(
        r["totals"].as_array().unwrap().len(),
        1,
        "one currency: {r}"
    );
    assert_eq!(r["totals"][0]["impressions"].as_f64(), Some(total as f64));
    assert_eq!(r["totals"][0]["currency"], "EUR");
    assert!(r["as_of"][&agent].is_string(), "{r}");

    // The manifest's own summary: the same figures, over the last 7 days and the flight to date.
    let m = crate::propagation::manifest(&app, &campaign, &a).await;
    let a_imps: u64 = delivered
        .iter()
        .filter(|d| d.creative_id == a)
        .map(|d| d.impressions)
        .sum();
    for window in ["last_7_days", "flight_to_date"] {
        let t = &m["performance"][window]["totals"][0];
        assert_eq!(
            t["impressions"].as_f64(),
            Some(a_imps as f64),
            "{window}: {m}"
        );
        assert_eq!(
            (&t["measured_impressions"], &t["currency"]),
            (&json!(7), &json!("EUR"))
        );
    }

    let by_seller = report(&app, &campaign, "seller").await;
    assert_eq!(by_seller["rows"][0]["key"], agent.as_str());
    assert_eq!(
        by_seller["rows"][0]["impressions"].as_f64(),
        Some(total as f64)
    );
    let by_day = report(&app, &campaign, "day").await;
    assert_eq!(by_day["rows"].as_array().unwrap().len(), 4);
    assert_eq!(
        by_day["rows"][3]["measured_impressions"], 7,
        "the hits are today's"
    );

    // CSV: the same rows, the same figures.
    let csv = app
        .client
        .get(app.api(&format!(
            "/campaigns/{campaign}/delivery?start={}&end={}",
            day(-3),
            day(0)
        )))
        .bearer_auth(&app.key)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "creative_id");
    let parsed: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(parsed.len(), rows_out.len());
    for (line, row) in parsed.iter().zip(rows_out) {
        for (i, name) in header.iter().enumerate() {
            let json_field = if *name == "creative_id" {
                &row["key"]
            } else {
                &row[*name]
            };
            match json_field {
                Value::Null => assert_eq!(line[i], "", "{name}"),
                Value::String(s) => assert_eq!(line[i], s, "{name}"),
                v => assert_eq!(line[i].parse::<f64>().ok(), v.as_f64(), "{name}"),
            }
        }
    }

    // Asking again skips the days already fetched, except the last three (restated).
    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/delivery/refresh"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    app.run_jobs().await;
    assert_eq!(seller.calls_of("get_creative_delivery").len(), 8 + 6);
    assert_eq!(
        report(&app, &campaign, "creative").await["rows"],
        r["rows"],
        "refetching changes nothing"
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn a_bad_report_request_is_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for (q, field) in [
        ("group_by=week", "group_by"),
        ("start=yesterday", "start"),
        ("start=2026-12-05&end=2026-12-01", "start"),
    ] {
        let res = app
            .get(&format!("/campaigns/{campaign}/delivery?{q}"))
            .await;
        let err = crate::helpers::error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], field, "{q}");
    }
}
