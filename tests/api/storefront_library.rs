//! `sync_creatives` and `list_creatives` on a storefront, over MCP, every answer checked against
//! its AdCP 3.1.19 response schema.

use serde_json::{json, Value};

use crate::schemas::assert_valid;
use crate::storefront_mcp::{adcp_error, Front};

const AGENT: &str = "https://ads.seller.example";

fn creative(id: &str) -> Value {
    json!({
        "creative_id": id,
        "name": format!("Creative {id}"),
        "format_id": {"agent_url": AGENT, "id": "box"},
        "assets": {"hero": {"asset_type": "image", "url": format!("https://cdn.buyer.example/{id}.png"), "width": 300, "height": 250}}
    })
}

fn bad_creative(id: &str) -> Value {
    let mut c = creative(id);
    c["assets"]["hero"]["width"] = json!(728);
    c
}

fn key(n: u32) -> String {
    format!("sync-key-{n:08}-abcdef")
}

impl Front {
    /// A sync answer (the tool result's `structuredContent`), checked against the schema.
    async fn sync(&self, args: Value) -> Value {
        let r = self.call("sync_creatives", args).await;
        let answer = r["structuredContent"].clone();
        assert_valid("creative/sync-creatives-response.json", &answer);
        answer
    }

    async fn list(&self, args: Value) -> Value {
        let r = self.call("list_creatives", args).await;
        assert!(r.get("isError").is_none(), "{r}");
        let answer = r["structuredContent"].clone();
        assert_valid("creative/list-creatives-response.json", &answer);
        answer
    }

    async fn rows(&self, table: &str) -> i64 {
        self.app.count_rows(table).await
    }
}

fn actions(answer: &Value) -> Vec<(String, String)> {
    answer["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["creative_id"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["creative_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn synced_creatives_are_listed_at_once_with_the_review_status() {
    for (mode, status) in [("manual", "pending_review"), ("auto", "approved")] {
        let f = Front::start(mode).await;
        let answer = f
            .sync(json!({"idempotency_key": key(1), "account": {"account_id": f.account_id}, "creatives": [creative("a"), creative("b")], "context": {"x": 1}}))
            .await;
        assert_eq!(answer["creatives"][0]["action"], "created");
        assert_eq!(answer["creatives"][0]["status"], status);
        assert_eq!(answer["context"], json!({"x": 1}));
        let list = f.list(json!({})).await;
        assert_eq!(list["query_summary"]["total_matching"], 2);
        assert_eq!(list["creatives"][0]["status"], status);
        assert_eq!(list["creatives"][0]["assets"]["hero"]["width"], 300);
        assert_eq!(list["status_summary"][status], 2);
    }
}

#[tokio::test]
async fn re_syncing_is_unchanged_or_updated_with_changes() {
    let f = Front::start("auto").await;
    f.sync(json!({"idempotency_key": key(1), "creatives": [creative("a"), creative("b")]}))
        .await;
    let mut changed = creative("b");
    changed["name"] = json!("Renamed");
    let answer = f
        .sync(json!({"idempotency_key": key(2), "creatives": [creative("a"), changed, creative("c")]}))
        .await;
    assert_eq!(
        actions(&answer),
        [
            ("a".into(), "unchanged".into()),
            ("b".into(), "updated".into()),
            ("c".into(), "created".into())
        ]
    );
    assert_eq!(answer["creatives"][1]["changes"], json!(["name"]));
    let list = f
        .list(json!({"filters": {"name_contains": "renamed"}}))
        .await;
    assert_eq!(ids(&list), ["b"]);
}

#[tokio::test]
async fn a_replay_is_the_stored_answer_and_a_different_body_conflicts() {
    let f = Front::start("manual").await;
    let args =
        json!({"idempotency_key": key(7), "creatives": [creative("a")], "context": {"try": 1}});
    let first = f.sync(args.clone()).await;
    assert!(first.get("replayed").is_none());
    // A retry with another context is the same request.
    let mut retry = args.clone();
    retry["context"] = json!({"try": 2});
    let mut again = f.sync(retry).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["context"], json!({"try": 2}));
    let obj = again.as_object_mut().unwrap();
    obj.remove("replayed");
    obj.remove("context");
    let mut first_plain = first.clone();
    first_plain.as_object_mut().unwrap().remove("context");
    assert_eq!(
        serde_json::to_string(&again).unwrap(),
        serde_json::to_string(&first_plain).unwrap()
    );
    assert_eq!(f.rows("storefront_creatives").await, 1);

    let r = f
        .call(
            "sync_creatives",
            json!({"idempotency_key": key(7), "creatives": [creative("other")]}),
        )
        .await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "IDEMPOTENCY_CONFLICT");
    assert_eq!(f.rows("storefront_creatives").await, 1);
}

#[tokio::test]
async fn a_key_still_in_flight_answers_in_flight_with_retry_after() {
    let f = Front::start("auto").await;
    let args = json!({"idempotency_key": key(3), "creatives": [creative("a")]});
    let hash = creative_manifests::storefront::idempotency::request_hash(&args);
    let now = creative_manifests::store::db::now();
    sqlx::query(
        "INSERT INTO storefront_idempotency (account_id, idempotency_key, request_hash, state, response, created_at, expires_at) \
         VALUES ($1, $2, $3, 'in_flight', NULL, $4, '9999-01-01T00:00:00.000Z')",
    )
    .bind(&f.account_id)
    .bind(key(3))
    .bind(hash)
    .bind(now)
    .execute(&f.app.state.db.pool)
    .await
    .unwrap();
    let r = f.call("sync_creatives", args).await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "IDEMPOTENCY_IN_FLIGHT");
    assert_eq!(err["retry_after"], 1);
    assert_eq!(f.rows("storefront_creatives").await, 0);
}

#[tokio::test]
async fn a_missing_idempotency_key_is_invalid_request_and_changes_nothing() {
    let f = Front::start("auto").await;
    let r = f
        .call("sync_creatives", json!({"creatives": [creative("a")]}))
        .await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "INVALID_REQUEST");
    assert_eq!(err["field"], "idempotency_key");
    assert_valid(
        "creative/sync-creatives-response.json",
        &r["structuredContent"],
    );
    assert_eq!(f.rows("storefront_creatives").await, 0);
}

#[tokio::test]
async fn strict_fails_the_whole_batch_lenient_applies_the_good_ones() {
    let f = Front::start("auto").await;
    let strict = f
        .sync(json!({"idempotency_key": key(1), "creatives": [creative("good"), bad_creative("bad")]}))
        .await;
    assert_eq!(
        actions(&strict),
        [
            ("good".into(), "failed".into()),
            ("bad".into(), "failed".into())
        ]
    );
    assert_eq!(
        strict["creatives"][1]["errors"][0]["field"],
        "creatives[1].assets.hero.width"
    );
    assert!(strict["creatives"][1].get("status").is_none());
    assert_eq!(f.rows("storefront_creatives").await, 0);
    // Not a success: the key was not kept, and can be used again.
    assert_eq!(f.rows("storefront_idempotency").await, 0);

    let lenient = f
        .sync(json!({"idempotency_key": key(1), "validation_mode": "lenient", "creatives": [creative("good"), bad_creative("bad")]}))
        .await;
    assert_eq!(
        actions(&lenient),
        [
            ("good".into(), "created".into()),
            ("bad".into(), "failed".into())
        ]
    );
    assert_eq!(ids(&f.list(json!({})).await), ["good"]);
}

#[tokio::test]
async fn a_dry_run_answers_the_same_and_writes_nothing() {
    let f = Front::start("manual").await;
    let answer = f
        .sync(json!({"idempotency_key": key(1), "dry_run": true, "creatives": [creative("a")],
                     "push_notification_config": {"url": "https://hooks.buyer.example/adcp", "authentication": {"schemes": ["Bearer"], "credentials": "a-very-secret-token-of-32-chars!!"}}}))
        .await;
    assert_eq!(answer["dry_run"], true);
    assert_eq!(actions(&answer), [("a".into(), "created".into())]);
    for table in [
        "storefront_creatives",
        "storefront_idempotency",
        "storefront_push_configs",
    ] {
        assert_eq!(f.rows(table).await, 0, "{table}");
    }
    assert!(f.app.stored_objects().await.is_empty());
}

#[tokio::test]
async fn delete_missing_archives_the_rest_and_refuses_creative_ids() {
    let f = Front::start("auto").await;
    f.sync(json!({"idempotency_key": key(1), "creatives": [creative("a"), creative("b")]}))
        .await;
    let r = f
        .call(
            "sync_creatives",
            json!({"idempotency_key": key(2), "delete_missing": true, "creative_ids": ["a"], "creatives": [creative("a")]}),
        )
        .await;
    assert_eq!(adcp_error(&r)["code"], "VALIDATION_ERROR");

    let answer = f
        .sync(json!({"idempotency_key": key(3), "delete_missing": true, "creatives": [creative("a")]}))
        .await;
    assert_eq!(
        actions(&answer),
        [
            ("a".into(), "unchanged".into()),
            ("b".into(), "deleted".into())
        ]
    );
    assert!(answer["creatives"][1].get("status").is_none());
    assert_eq!(ids(&f.list(json!({})).await), ["a"]);
    let archived = f.list(json!({"filters": {"statuses": ["archived"]}})).await;
    assert_eq!(ids(&archived), ["b"]);
}

#[tokio::test]
async fn creative_ids_limit_the_scope() {
    let f = Front::start("auto").await;
    let answer = f
        .sync(json!({"idempotency_key": key(1), "creative_ids": ["b"], "creatives": [creative("a"), creative("b")]}))
        .await;
    assert_eq!(actions(&answer), [("b".into(), "created".into())]);
}

#[tokio::test]
async fn a_101_creative_sync_is_refused_whole() {
    let f = Front::start("auto").await;
    let many: Vec<Value> = (0..101).map(|i| creative(&format!("c{i}"))).collect();
    let r = f
        .call(
            "sync_creatives",
            json!({"idempotency_key": key(1), "creatives": many}),
        )
        .await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "VALIDATION_ERROR");
    assert_eq!(err["field"], "creatives");
    assert_eq!(f.rows("storefront_creatives").await, 0);
}

#[tokio::test]
async fn keyed_tools_without_a_valid_key_are_401_with_www_authenticate() {
    let f = Front::start("auto").await;
    for tool in ["sync_creatives", "list_creatives"] {
        for key in [None, Some("sfk_wrong")] {
            let res = f
                .rpc_raw(
                    key,
                    &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}}),
                )
                .await;
            assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED, "{tool}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
        }
    }
}

#[tokio::test]
async fn another_account_sees_nothing_and_cannot_name_this_one() {
    let f = Front::start("auto").await;
    f.sync(json!({"idempotency_key": key(1), "creatives": [creative("a")]}))
        .await;
    let (_, other_key) = f
        .app
        .create_buyer_account(&f.storefront_id, "other.com")
        .await;
    let r = f
        .call_as(Some(&other_key), "list_creatives", json!({}))
        .await;
    assert_eq!(r["structuredContent"]["creatives"], json!([]));
    let r = f
        .call_as(
            Some(&other_key),
            "list_creatives",
            json!({"account": {"account_id": f.account_id}}),
        )
        .await;
    assert_eq!(adcp_error(&r)["code"], "ACCOUNT_NOT_FOUND");
    // The same idempotency key in another account is another key.
    let r = f
        .call_as(
            Some(&other_key),
            "sync_creatives",
            json!({"idempotency_key": key(1), "creatives": [creative("z")]}),
        )
        .await;
    assert_eq!(r["structuredContent"]["creatives"][0]["action"], "created");
    assert_eq!(ids(&f.list(json!({})).await), ["a"]);
}

#[tokio::test]
async fn two_hundred_fifty_creatives_page_without_duplicates_or_gaps() {
    let f = Front::start("auto").await;
    for (n, range) in [(0..100), (100..200), (200..250)].into_iter().enumerate() {
        let cs: Vec<Value> = range.map(|i| creative(&format!("c{i:03}"))).collect();
        f.sync(json!({"idempotency_key": key(n as u32), "creatives": cs}))
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut args =
            json!({"pagination": {"max_results": 40}, "fields": ["creative_id", "name"]});
        if !cursor.is_null() {
            args["pagination"]["cursor"] = cursor.clone();
        }
        let page = f.list(args).await;
        seen.extend(ids(&page));
        if page["pagination"]["has_more"] == false {
            break;
        }
        cursor = page["pagination"]["cursor"].clone();
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (250, 250));
}

#[tokio::test]
async fn push_config_is_stored_sealed_never_echoed_and_must_be_public_https() {
    let f = Front::start("manual").await;
    let secret = "a-very-secret-token-of-32-chars!!";
    // Refused per creative (the review-queue issue): each creative fails naming the field, and
    // nothing is stored or queued for it.
    let r = f
        .sync(
            json!({"idempotency_key": key(1), "creatives": [creative("a")],
                   "push_notification_config": {"url": "http://hooks.buyer.example/adcp"}}),
        )
        .await;
    assert_eq!(r["creatives"][0]["action"], "failed");
    assert_eq!(
        r["creatives"][0]["errors"][0]["field"],
        "push_notification_config.url"
    );
    assert_eq!(f.rows("storefront_creatives").await, 0);
    let r = f
        .call(
            "sync_creatives",
            json!({"idempotency_key": key(2), "creatives": [creative("a")],
                   "pushNotificationConfig": {"url": "https://hooks.buyer.example/adcp", "authentication": {"schemes": ["Bearer"], "credentials": secret}}}),
        )
        .await;
    assert!(!r.to_string().contains(secret));
    let (config, sealed): (String, String) =
        sqlx::query_as("SELECT config, credentials FROM storefront_push_configs")
            .fetch_one(&f.app.state.db.pool)
            .await
            .unwrap();
    assert!(!config.contains(secret));
    assert!(sealed.starts_with("sealed:v1:"));
    assert_eq!(f.app.state.db.open(&sealed).unwrap(), secret);
    let stored: String = sqlx::query_scalar("SELECT response FROM storefront_idempotency")
        .fetch_one(&f.app.state.db.pool)
        .await
        .unwrap();
    assert!(!stored.contains(secret));
}

#[tokio::test]
async fn list_filters_sort_projection_and_assignments() {
    let f = Front::start("auto").await;
    let mut tagged = creative("t");
    tagged["tags"] = json!(["spring", "hero"]);
    f.sync(
        json!({"idempotency_key": key(1), "creatives": [creative("a"), tagged, creative("b")],
                  "assignments": [{"creative_id": "a", "package_id": "pkg_1"}]}),
    )
    .await;
    let list = f.list(json!({"filters": {"tags": ["spring"]}})).await;
    assert_eq!(ids(&list), ["t"]);
    assert_eq!(list["query_summary"]["filters_applied"], json!(["tags"]));
    let list = f
        .list(json!({"filters": {"assigned_to_packages": ["pkg_1"]}}))
        .await;
    assert_eq!(ids(&list), ["a"]);
    assert_eq!(list["creatives"][0]["assignments"]["assignment_count"], 1);
    let list = f
        .list(
            json!({"filters": {"unassigned": true}, "sort": {"field": "name", "direction": "asc"}}),
        )
        .await;
    assert_eq!(ids(&list), ["b", "t"]);
    let list = f.list(json!({"fields": ["creative_id", "name"]})).await;
    assert!(list["creatives"][0].get("assets").is_none());
    assert!(list["creatives"][0].get("tags").is_none());
    let list = f.list(json!({"include_assignments": false})).await;
    assert!(list["creatives"][0].get("assignments").is_none());
    assert_eq!(list["format_summary"]["box"], 3);
}

#[tokio::test]
async fn creative_delivery_is_an_honest_empty_answer_in_the_schemas_shape() {
    let f = Front::start("auto").await;
    f.sync(json!({"idempotency_key": key(1), "creatives": [creative("a")]}))
        .await;
    let r = f
        .call(
            "get_creative_delivery",
            json!({"creative_ids": ["a"], "start_date": "2026-01-01", "end_date": "2026-01-31", "context": {"q": 1}}),
        )
        .await;
    let answer = &r["structuredContent"];
    assert_valid("creative/get-creative-delivery-response.json", answer);
    assert_eq!(answer["creatives"], json!([]));
    assert_eq!(answer["reporting_period"]["start"], "2026-01-01T00:00:00Z");
    assert_eq!(answer["context"], json!({"q": 1}));
    let r = f.call("get_creative_delivery", json!({})).await;
    assert_eq!(adcp_error(&r)["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn delivery_is_forwarded_when_the_agent_offers_it_and_kept_to_the_callers_creatives() {
    let f = Front::start_with("auto", |c| {
        c.delivery = Some(json!({
            "status": "completed",
            "reporting_period": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-31T23:59:59Z"},
            "currency": "EUR",
            "creatives": [{"creative_id": "a", "variants": []}, {"creative_id": "someone-elses", "variants": []}]
        }))
    })
    .await;
    f.sync(json!({"idempotency_key": key(1), "creatives": [creative("a")]}))
        .await;
    let r = f
        .call(
            "get_creative_delivery",
            json!({"creative_ids": ["a", "someone-elses"], "context": {"q": 2}}),
        )
        .await;
    let answer = &r["structuredContent"];
    assert_valid("creative/get-creative-delivery-response.json", answer);
    assert_eq!(answer["currency"], "EUR");
    assert_eq!(
        answer["creatives"],
        json!([{"creative_id": "a", "variants": []}])
    );
    assert_eq!(answer["account_id"], f.account_id.as_str());
    assert_eq!(answer["context"], json!({"q": 2}));
    let calls = f.seller.calls_of("get_creative_delivery");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].args["creative_ids"], json!(["a"]));
    assert!(calls[0].args.get("context").is_none());
    f.seller.assert_requests_valid();
}

#[tokio::test]
async fn idempotency_keys_are_forgotten_after_their_window() {
    let f = Front::start("auto").await;
    f.sync(json!({"idempotency_key": key(1), "creatives": [creative("a")]}))
        .await;
    let db = &f.app.state.db;
    let lib = creative_manifests::storefront::library_store::forget_expired;
    // Within the window nothing goes; a day and a bit later it does.
    assert_eq!(
        lib(db, &creative_manifests::store::db::now())
            .await
            .unwrap(),
        0
    );
    let later = (chrono::Utc::now() + chrono::Duration::seconds(86_401))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(lib(db, &later).await.unwrap(), 1);
    assert_eq!(f.rows("storefront_idempotency").await, 0);
    // The creative stays, and the key can be used afresh.
    let again = f
        .sync(json!({"idempotency_key": key(1), "creatives": [creative("a")]}))
        .await;
    assert!(again.get("replayed").is_none());
    assert_eq!(again["creatives"][0]["action"], "unchanged");
}

/// Pages every sort (field and direction) of `filters` `size` rows at a time; the creatives seen,
/// each as (sort key, creative_id), after checking every page's counts.
async fn walk(
    f: &Front,
    filters: &Value,
    field: &str,
    dir: &str,
    size: u64,
) -> Vec<(String, String)> {
    let key_of = match field {
        "created_date" | "updated_date" | "name" | "status" => field,
        other => panic!("{other}"),
    };
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    let mut total = None;
    loop {
        let mut args = json!({"filters": filters, "sort": {"field": field, "direction": dir},
                              "pagination": {"max_results": size}, "fields": ["creative_id", "name"]});
        if !cursor.is_null() {
            args["pagination"]["cursor"] = cursor.clone();
        }
        let page = f.list(args).await;
        // The summaries count the whole match, not the page, on every page alike.
        let t = page["query_summary"]["total_matching"].clone();
        assert_eq!(*total.get_or_insert(t.clone()), t);
        assert_eq!(page["status_summary"]["approved"], t);
        assert_eq!(page["format_summary"]["box"], t);
        for c in page["creatives"].as_array().unwrap() {
            seen.push((
                c[key_of].as_str().unwrap().to_owned(),
                c["creative_id"].as_str().unwrap().to_owned(),
            ));
        }
        if page["pagination"]["has_more"] == false {
            assert!(page["pagination"].get("cursor").is_none());
            break;
        }
        cursor = page["pagination"]["cursor"].clone();
    }
    assert_eq!(total.unwrap(), json!(seen.len()));
    seen
}

#[tokio::test]
async fn filtered_pages_in_every_sort_have_no_duplicates_gaps_or_misorder_despite_ties() {
    let f = Front::start("auto").await;
    // Two syncs: half the creatives share one created_at, half another; names repeat every 4;
    // every status is the same. Only creative_id breaks the ties.
    for (n, range) in [(0..30), (30..60)].into_iter().enumerate() {
        let cs: Vec<Value> = range
            .map(|i: usize| {
                let mut c = creative(&format!("c{i:02}"));
                c["name"] = json!(format!("N{}", i % 4));
                let mut tags = vec![];
                if i.is_multiple_of(2) {
                    tags.push("two");
                }
                if i.is_multiple_of(3) {
                    tags.push("three");
                }
                c["tags"] = json!(tags);
                c
            })
            .collect();
        f.sync(json!({"idempotency_key": key(n as u32), "creatives": cs}))
            .await;
    }
    let expect = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..60)
            .filter(|&i| keep(i))
            .map(|i| format!("c{i:02}"))
            .collect()
    };
    let cases: Vec<(Value, Vec<String>)> = vec![
        (json!({}), expect(&|_| true)),
        (
            json!({"tags_any": ["three"], "name_contains": "n1"}),
            expect(&|i| i % 3 == 0 && i % 4 == 1),
        ),
        (json!({"tags": ["two", "three"]}), expect(&|i| i % 6 == 0)),
        (
            json!({"tags_any": ["two", "three"], "unassigned": true}),
            expect(&|i| i % 2 == 0 || i % 3 == 0),
        ),
    ];
    for (filters, want) in &cases {
        for field in ["created_date", "updated_date", "name", "status"] {
            for dir in ["asc", "desc"] {
                let seen = walk(&f, filters, field, dir, 7).await;
                let mut sorted = seen.clone();
                sorted.sort();
                if dir == "desc" {
                    sorted.reverse();
                }
                assert_eq!(seen, sorted, "{filters} {field} {dir}: out of order");
                let mut got: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
                got.sort();
                assert_eq!(&got, want, "{filters} {field} {dir}");
            }
        }
    }
}

#[tokio::test]
async fn name_and_tag_filters_match_literally() {
    let f = Front::start("auto").await;
    let named = |id: &str, name: &str, tags: Value| {
        let mut c = creative(id);
        c["name"] = json!(name);
        c["tags"] = tags;
        c
    };
    f.sync(json!({"idempotency_key": key(1), "creatives": [
        named("pct", "Sale 50% off", json!(["say \"even\""])),
        named("num", "Sale 500 off", json!(["even"])),
        named("und", "a_b", json!(["odd,\"even\""])),
        named("any", "axb", json!([])),
    ]}))
    .await;
    // `%` and `_` are characters to look for, not LIKE wildcards.
    assert_eq!(matching(&f, json!({"name_contains": "50%"})).await, ["pct"]);
    assert_eq!(matching(&f, json!({"name_contains": "A_B"})).await, ["und"]);
    // A tag is matched whole, never as a piece of another tag's JSON text.
    assert_eq!(matching(&f, json!({"tags": ["even"]})).await, ["num"]);
    assert_eq!(
        matching(&f, json!({"tags_any": ["\"even\"", "even"]})).await,
        ["num"]
    );
}

async fn matching(f: &Front, filters: Value) -> Vec<String> {
    let mut got = ids(&f.list(json!({"filters": filters})).await);
    got.sort();
    got
}
