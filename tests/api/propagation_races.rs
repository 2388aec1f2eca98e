//! Executes that race (two API replicas on one database, at the same moment) and executes that
//! follow a finished one: one job per campaign and seller, no creative under two keys, and a later
//! execute sends only what the seller does not hold as it is now.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::propagation::{
    add_seller, banner, campaign, execute, fast, inline_seller, library_seller, propagation,
    settled,
};
use crate::seller::Seller;

/// Every creative id the seller received through `sync_creatives`, with the idempotency keys it came
/// under.
fn sync_keys_by_creative(seller: &Seller) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for call in seller.calls_of("sync_creatives") {
        let key = call.args["idempotency_key"].as_str().unwrap().to_owned();
        for c in call.args["creatives"].as_array().unwrap() {
            out.entry(c["creative_id"].as_str().unwrap().to_owned())
                .or_default()
                .insert(key.clone());
        }
    }
    out
}

fn status_of<'v>(out: &'v Value, agent: &str) -> &'v Value {
    &out["sellers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sales_agent_id"] == agent)
        .unwrap_or_else(|| panic!("{agent} in {out}"))["status"]
}

#[tokio::test]
async fn executes_racing_on_two_replicas_make_one_job_per_lane_and_send_each_creative_once() {
    let app = TestApp::spawn_with(fast).await;
    let replica = app.replica().await;
    // Slow answers keep the first job running while the other replica's execute arrives.
    let mut lib = library_seller();
    lib.delay
        .insert("sync_creatives".into(), Duration::from_millis(150));
    let mut inl = inline_seller();
    inl.delay
        .insert("create_media_buy".into(), Duration::from_millis(150));
    let (library, inline) = (Seller::start(lib).await, Seller::start(inl).await);
    let library_id = add_seller(&app, &library, json!({"has_creative_library": true})).await;
    let inline_id = add_seller(&app, &inline, json!({"has_creative_library": false})).await;

    // Several campaigns, so the two requests meet at every step of an execute at least once.
    let mut campaigns = Vec::new();
    for _ in 0..4 {
        let c = campaign(&app, &[&library_id, &inline_id]).await;
        for name in ["A", "B", "C"] {
            banner(&app, &c, name).await;
        }
        campaigns.push(c);
    }
    for c in &campaigns {
        let (one, two) = tokio::join!(execute(&app, c), execute(&replica, c));
        for agent in [&library_id, &inline_id] {
            let mut statuses = [
                status_of(&one, agent).as_str().unwrap().to_owned(),
                status_of(&two, agent).as_str().unwrap().to_owned(),
            ];
            statuses.sort();
            assert_eq!(statuses, ["in_progress", "succeeded"], "{one}\n{two}");
        }
    }
    for c in &campaigns {
        let p = settled(&app, c).await;
        let lanes: Vec<&str> = p["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["sales_agent_id"].as_str().unwrap())
            .collect();
        assert_eq!(lanes.len(), 2, "one job per lane: {p}");
        assert_eq!(lanes.iter().collect::<BTreeSet<_>>().len(), 2, "{p}");
        assert!(
            p["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["status"] == "succeeded"),
            "{p}"
        );
    }
    let sent = sync_keys_by_creative(&library);
    assert_eq!(sent.len(), 12, "every creative of the 4 campaigns");
    for (creative, keys) in &sent {
        assert_eq!(keys.len(), 1, "{creative} went under {keys:?}");
    }
    assert_eq!(library.calls_of("create_media_buy").len(), 4);
    assert_eq!(inline.calls_of("create_media_buy").len(), 4);
    assert!(inline.calls_of("update_media_buy").is_empty());
    assert!(library.calls_of("update_media_buy").is_empty());
    library.assert_requests_valid();
    inline.assert_requests_valid();
}

#[tokio::test]
async fn a_later_execute_sends_only_what_the_seller_does_not_hold_as_it_is_now() {
    let app = TestApp::spawn_with(fast).await;
    let mut lib = library_seller();
    lib.reject_creative_names = vec!["B".into()];
    let (library, inline) = (
        Seller::start(lib).await,
        Seller::start(inline_seller()).await,
    );
    let library_id = add_seller(&app, &library, json!({"has_creative_library": true})).await;
    let inline_id = add_seller(&app, &inline, json!({"has_creative_library": false})).await;
    let c = campaign(&app, &[&library_id, &inline_id]).await;
    let mut ids = BTreeMap::new();
    for name in ["A", "B", "C"] {
        ids.insert(name, banner(&app, &c, name).await);
    }
    let first = execute(&app, &c).await;
    assert_eq!(status_of(&first, &library_id), "succeeded", "{first}");
    assert_eq!(library.calls_of("sync_creatives").len(), 1);

    // Nothing changed for the inline seller, and the library seller lacks only B (it refused it).
    library.configure(|cfg| cfg.reject_creative_names.clear());
    let again = execute(&app, &c).await;
    let syncs = library.calls_of("sync_creatives");
    assert_eq!(syncs.len(), 2, "{again}");
    let resent: Vec<&str> = syncs[1].args["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["creative_id"].as_str().unwrap())
        .collect();
    assert_eq!(resent, [ids["B"].as_str()]);
    assert!(inline.calls_of("update_media_buy").is_empty(), "{again}");
    assert_eq!(inline.calls_of("create_media_buy").len(), 1);
    let inline_report = again["sellers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sales_agent_id"] == inline_id.as_str())
        .unwrap();
    assert_eq!(inline_report["creatives_sent"], 0, "{again}");

    // Once the seller holds everything as it is, an execute sends nothing at all.
    let syncs_before = library.calls_of("sync_creatives").len();
    let updates_before = library.calls_of("update_media_buy").len();
    let third = execute(&app, &c).await;
    assert_eq!(
        library.calls_of("sync_creatives").len(),
        syncs_before,
        "{third}"
    );
    assert_eq!(
        library.calls_of("update_media_buy").len(),
        updates_before,
        "{third}"
    );
    assert!(inline.calls_of("update_media_buy").is_empty());
    let p = propagation(&app, &c).await;
    assert_eq!(p["media_buys"].as_array().unwrap().len(), 2, "{p}");
}
