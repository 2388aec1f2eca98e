use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

#[path = "../../benches/common/manifest.rs"]
mod blank_manifest;

#[tokio::test]
async fn the_manifest_list_pages_searches_and_counts_assets() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for name in [
        "Summer Sale 300x250",
        "summer video",
        "Winter 100%_off",
        "Brand logo",
    ] {
        app.create_png_manifest(
            &campaign,
            &json!({"name": name, "assets": [{"filename": "a.png"}], "text_assets": [{"text": "t"}], "frequencyCaps": [{"suppress_minutes": 5}]}),
        )
        .await;
    }
    let all: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 4);
    assert_eq!(all["take"], 50);
    let first = &all["items"][0];
    assert_eq!(first["name"], "Brand logo", "newest first");
    assert_eq!(first["asset_count"], 2);
    assert!(first.get("frequencyCaps").is_none(), "only on request");

    let page: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?take=2&skip=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Winter 100%_off", "summer video"]);
    assert_eq!(page["total"], 4);

    let found: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?search=SUMMER"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 2);
    let literal: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?search=100%25_"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(literal["total"], 1, "% and _ are literal");
    let none: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest?search=_"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 1);

    let caps: Value = app
        .get(&format!(
            "/campaigns/{campaign}/creativeManifest?includeFrequencyCaps=true&take=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        caps["items"][0]["frequencyCaps"],
        json!([{"suppress_minutes": 5.0}])
    );
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for (q, field) in [
        ("take=0", "take"),
        ("take=251", "take"),
        ("take=abc", "take"),
        ("skip=-1", "skip"),
        ("includeFrequencyCaps=maybe", "includeFrequencyCaps"),
    ] {
        let err = error_of(
            app.get(&format!("/campaigns/{campaign}/creativeManifest?{q}"))
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(err["field"], field, "{q}");
    }
    let ok: Value = app
        .get(&format!("/campaigns/{campaign}/creativeManifest?take=250"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["take"], 250);
}

/// Names of the manifests `search` finds, sorted, and the list's total (which must agree).
async fn found(app: &TestApp, campaign: &str, search: &str) -> Vec<String> {
    let url = reqwest::Url::parse_with_params(
        &app.api(&format!("/campaigns/{campaign}/creativeManifest")),
        &[("search", search), ("take", "250")],
    )
    .unwrap();
    let res = app
        .client
        .get(url)
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let mut names: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        body["total"],
        names.len(),
        "{search}: total and items agree"
    );
    names.sort();
    names
}

/// Search is served by an index on each backend (trigrams on PostgreSQL, FTS5 on SQLite) and
/// answers the same on both: substrings anywhere, case folded beyond ASCII, wildcards of either
/// engine's syntax taken literally, short and non-ASCII needles, and renames and deletes followed.
#[tokio::test]
async fn search_finds_the_same_substrings_on_every_backend() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let names = [
        "Été 2026 — Crème brûlée",
        "ÉTÉ banner",
        "Straße 50%_off",
        "a*b?[c] weird",
        "back\\slash",
        "日本語バナー",
        "Summer Sale",
        "x",
        "Banner banner banner — longer than any stored part",
        "Aaaa",
    ];
    let mut ids = std::collections::HashMap::new();
    for name in names {
        let res = app
            .post_json(
                &format!("/campaigns/{campaign}/creatives/create"),
                &json!({"name": name, "url_asset": {"url": "https://example.com/x"}}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let m: Value = res.json().await.unwrap();
        ids.insert(name, m["creative_id"].as_str().unwrap().to_owned());
    }
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    let cases: &[(&str, &[&str])] = &[
        ("été", &["Été 2026 — Crème brûlée", "ÉTÉ banner"]),
        ("ÉTÉ", &["Été 2026 — Crème brûlée", "ÉTÉ banner"]),
        ("crème BRÛ", &["Été 2026 — Crème brûlée"]),
        ("STRASSE", &[]),
        ("straße", &["Straße 50%_off"]),
        ("%", &["Straße 50%_off"]),
        ("_", &["Straße 50%_off"]),
        ("50%_o", &["Straße 50%_off"]),
        ("*", &["a*b?[c] weird"]),
        ("?[c]", &["a*b?[c] weird"]),
        ("[", &["a*b?[c] weird"]),
        ("]", &["a*b?[c] weird"]),
        ("\\", &["back\\slash"]),
        ("本語", &["日本語バナー"]),
        ("バナー", &["日本語バナー"]),
        ("X", &["x"]),
        ("summer sale", &["Summer Sale"]),
        ("mer sa", &["Summer Sale"]),
        ("zz", &[]),
        ("r s", &["Summer Sale"]),
        // A needle found more than once in a name finds it once (PostgreSQL indexes each
        // suffix: three start with "anner" there).
        (
            "ANNER",
            &[
                "ÉTÉ banner",
                "Banner banner banner — longer than any stored part",
            ],
        ),
        // Past 16 characters (the suffixes PostgreSQL indexes), the start finds candidates and
        // the whole needle decides.
        (
            "banner banner — longer than",
            &["Banner banner banner — longer than any stored part"],
        ),
        ("banner banner banner — shorter", &[]),
        // Overlapping occurrences: "aa" three times in one name.
        ("AA", &["Aaaa"]),
    ];
    for (search, expected) in cases {
        assert_eq!(
            found(&app, &campaign, search).await,
            sorted(expected),
            "search {search:?}"
        );
    }

    // A rename is searched under its new name only; a deleted manifest is found no more.
    let summer = &ids["Summer Sale"];
    app.updated(&campaign, summer, &json!({"name": "Winter Sale"}))
        .await;
    assert!(found(&app, &campaign, "summer").await.is_empty());
    assert_eq!(
        found(&app, &campaign, "winter").await,
        sorted(&["Winter Sale"])
    );
    let res = app
        .delete(&format!(
            "/campaigns/{campaign}/creatives/{}",
            ids["ÉTÉ banner"]
        ))
        .await;
    assert!(res.status().is_success());
    assert_eq!(
        found(&app, &campaign, "été").await,
        sorted(&["Été 2026 — Crème brûlée"])
    );
}

/// Manifests stored before the folded search column existed (NULL there) are folded at start-up,
/// then found like any other.
#[tokio::test]
async fn names_stored_before_the_search_column_are_filled_in_at_start() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    for name in ["Été promo", "Winter"] {
        let res = app
            .post_json(
                &format!("/campaigns/{campaign}/creatives/create"),
                &json!({"name": name, "url_asset": {"url": "https://example.com/x"}}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    sqlx::query("UPDATE creatives SET name_search = NULL")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert!(found(&app, &campaign, "été").await.is_empty());
    let app = app.restart().await;
    assert_eq!(found(&app, &campaign, "ÉTÉ").await, vec!["Été promo"]);
    assert_eq!(found(&app, &campaign, "wint").await, vec!["Winter"]);
}

/// One page of `search` (all of `take`), as ids newest first, and the total.
async fn search_page(
    app: &TestApp,
    campaign: &str,
    search: &str,
    skip: usize,
    take: usize,
) -> (Vec<String>, u64) {
    let url = reqwest::Url::parse_with_params(
        &app.api(&format!("/campaigns/{campaign}/creativeManifest")),
        &[
            ("search", search),
            ("skip", &skip.to_string()),
            ("take", &take.to_string()),
        ],
    )
    .unwrap();
    let body: Value = app
        .client
        .get(url)
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["creative_id"].as_str().unwrap().to_owned())
        .collect();
    (ids, body["total"].as_u64().unwrap())
}

/// Past a thousand matches the page is found by walking the campaign's ordered index, newest
/// first or (for a page in the older half) oldest first; every plan answers the same pages as the
/// list without search filtered by hand, for trigram and short needles, and matches in another
/// campaign are not counted.
#[tokio::test]
async fn a_broad_search_pages_the_same_whichever_end_it_walks_from() {
    use creative_manifests::ids::CampaignId;
    use creative_manifests::store::{creatives, customers, search::fold};

    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let other = app.create_campaign().await;
    let customer = customers::ensure_customer(&app.state.db, "default")
        .await
        .unwrap();
    let mut tx = app.state.db.pool.begin().await.unwrap();
    for (campaign, n) in [(&campaign, 2_400), (&other, 300)] {
        let id = CampaignId::parse(campaign).unwrap();
        for i in 0..n {
            let name = match i % 2 {
                0 => format!("Promo ÉTÉ {i:04}"),
                _ => format!("Banner {i:04}"),
            };
            let m = blank_manifest::blank(&id, name);
            creatives::insert(&mut tx, &customer.id, &m).await.unwrap();
        }
    }
    tx.commit().await.unwrap();

    // Every manifest newest first, with its name, from the list without search.
    let mut all: Vec<(String, String)> = vec![];
    for skip in (0..2_400).step_by(250) {
        let page: Value = app
            .get(&format!(
                "/campaigns/{campaign}/creativeManifest?skip={skip}&take=250"
            ))
            .await
            .json()
            .await
            .unwrap();
        for i in page["items"].as_array().unwrap() {
            all.push((
                i["creative_id"].as_str().unwrap().to_owned(),
                i["name"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(all.len(), 2_400);
    // 1,200 matches each: a trigram needle, a short one and a non-ASCII one in another case.
    for needle in ["promo", "o ", "été 1"] {
        let expected: Vec<&String> = all
            .iter()
            .filter(|(_, name)| fold(name).contains(&fold(needle)))
            .map(|(id, _)| id)
            .collect();
        let total = expected.len() as u64;
        assert!(total > 100, "{needle}: {total}");
        for (skip, take) in [
            (0, 50),
            (30, 7),
            (1_180, 50),
            (700, 100),
            (total as usize, 10),
        ] {
            let (ids, got_total) = search_page(&app, &campaign, needle, skip, take).await;
            assert_eq!(got_total, total, "{needle}: total");
            let want: Vec<String> = expected
                .iter()
                .skip(skip)
                .take(take)
                .map(|s| s.to_string())
                .collect();
            assert_eq!(ids, want, "{needle}: skip {skip} take {take}");
        }
    }
}

/// Manifests stored by a release before migration 0035 (PostgreSQL's suffix index; on SQLite
/// nothing is left to apply) are found, counted once each and paged after the upgrade, and the
/// index follows writes made after it.
#[tokio::test]
async fn manifests_stored_before_the_suffix_index_are_searched_after_the_upgrade() {
    use creative_manifests::ids::CampaignId;
    use creative_manifests::store::campaigns::{self, Campaign};
    use creative_manifests::store::{creatives, customers, db::now};

    let campaign_id = CampaignId::new();
    let id = campaign_id.clone();
    let app = TestApp::spawn_upgrading(35, |db| async move {
        let customer = customers::ensure_customer(&db, "default").await.unwrap();
        let at = now();
        let campaign = Campaign {
            campaign_id: id.clone(),
            name: "Stored before".into(),
            brand_domain: "acme.com".into(),
            products: vec![],
            start_time: None,
            end_time: None,
            created_at: at.clone(),
            updated_at: at,
        };
        campaigns::insert(&db, &customer.id, &campaign)
            .await
            .unwrap();
        let mut tx = db.pool.begin().await.unwrap();
        for i in 0..30 {
            let name = match i % 3 {
                0 => format!("Summer summer {i:02}"),
                _ => format!("Winter {i:02}"),
            };
            let m = blank_manifest::blank(&id, name);
            creatives::insert(&mut tx, &customer.id, &m).await.unwrap();
        }
        tx.commit().await.unwrap();
    })
    .await;
    let campaign = campaign_id.as_str();
    assert_eq!(found(&app, campaign, "SUMMER").await.len(), 10);
    assert_eq!(found(&app, campaign, "r 0").await.len(), 10);
    let (ids, total) = search_page(&app, campaign, "winter", 15, 10).await;
    assert_eq!((ids.len(), total), (5, 20));

    let res = app
        .post_json(
            &format!("/campaigns/{campaign}/creatives/create"),
            &json!({"name": "Summer after", "url_asset": {"url": "https://example.com/x"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(found(&app, campaign, "summer").await.len(), 11);
}
