//! `list_creatives` edges: tags served by the tag table follow every write, `name_contains` folds
//! non-ASCII names on every backend, and a page agrees with its total under concurrent syncs.

use serde_json::{json, Value};

use crate::storefront_mcp::Front;

fn creative(id: &str, name: &str, tags: Value) -> Value {
    json!({
        "creative_id": id,
        "name": name,
        "format_id": {"agent_url": "https://ads.seller.example", "id": "box"},
        "assets": {"hero": {"asset_type": "image", "url": format!("https://cdn.buyer.example/{id}.png"), "width": 300, "height": 250}},
        "tags": tags,
    })
}

async fn sync(f: &Front, key: &str, creatives: Vec<Value>, extra: Value) -> Value {
    let mut args = json!({"idempotency_key": key, "creatives": creatives});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            args[k] = v;
        }
    }
    let r = f.call("sync_creatives", args).await;
    assert!(r.get("isError").is_none(), "{r}");
    r["structuredContent"].clone()
}

async fn list(f: &Front, args: Value) -> Value {
    let r = f.call("list_creatives", args).await;
    assert!(r.get("isError").is_none(), "{r}");
    r["structuredContent"].clone()
}

async fn matching(f: &Front, filters: Value) -> Vec<String> {
    let answer = list(f, json!({"filters": filters})).await;
    let mut ids: Vec<String> = answer["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["creative_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        answer["query_summary"]["total_matching"],
        ids.len(),
        "{answer}"
    );
    ids
}

#[tokio::test]
async fn tag_filters_follow_updates_duplicates_and_archiving() {
    let f = Front::start("auto").await;
    sync(
        &f,
        "tags-key-0001-abcdef",
        vec![
            creative("a", "A", json!(["spring", "spring"])),
            creative("b", "B", json!(["spring", "hero"])),
        ],
        json!({}),
    )
    .await;
    // A tag listed twice is one match, not two.
    assert_eq!(matching(&f, json!({"tags": ["spring"]})).await, ["a", "b"]);
    assert_eq!(
        matching(&f, json!({"tags": ["spring", "hero"]})).await,
        ["b"]
    );
    // Re-tagged: the old tag no longer finds it, the new one does.
    sync(
        &f,
        "tags-key-0002-abcdef",
        vec![creative("a", "A", json!(["autumn"]))],
        json!({}),
    )
    .await;
    assert_eq!(matching(&f, json!({"tags": ["spring"]})).await, ["b"]);
    assert_eq!(
        matching(&f, json!({"tags_any": ["autumn", "hero"]})).await,
        ["a", "b"]
    );
    // Archived by delete_missing: hidden by default, found with its tags when archived is asked for.
    sync(
        &f,
        "tags-key-0003-abcdef",
        vec![creative("a", "A", json!(["autumn"]))],
        json!({"delete_missing": true}),
    )
    .await;
    assert!(matching(&f, json!({"tags": ["hero"]})).await.is_empty());
    assert_eq!(
        matching(&f, json!({"tags": ["hero"], "statuses": ["archived"]})).await,
        ["b"]
    );
}

/// SQLite's LOWER folds only ASCII; the service folds names itself, so both backends agree.
#[tokio::test]
async fn name_contains_folds_non_ascii_names_on_every_backend() {
    let f = Front::start("auto").await;
    sync(
        &f,
        "name-key-0001-abcdef",
        vec![
            creative("ecole", "École d'ÉTÉ", json!([])),
            creative("strasse", "STRAẞE Ölfeld", json!([])),
            creative("plain", "ecole ete", json!([])),
        ],
        json!({}),
    )
    .await;
    assert_eq!(
        matching(&f, json!({"name_contains": "école"})).await,
        ["ecole"]
    );
    assert_eq!(
        matching(&f, json!({"name_contains": "ÉCOLE D'été"})).await,
        ["ecole"]
    );
    assert_eq!(
        matching(&f, json!({"name_contains": "ölfeld"})).await,
        ["strasse"]
    );
    assert_eq!(
        matching(&f, json!({"name_contains": "ECOLE"})).await,
        ["plain"]
    );
}

/// While syncs commit, every single-page answer's creatives are exactly its `total_matching`: the
/// page and the count come from one snapshot.
#[tokio::test]
async fn a_page_and_its_total_agree_under_concurrent_syncs() {
    let f = std::sync::Arc::new(Front::start("auto").await);
    let writer = {
        let f = f.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                sync(
                    &f,
                    &format!("snap-key-{i:04}-abcdef"),
                    vec![creative(&format!("c{i:03}"), "N", json!(["t"]))],
                    json!({}),
                )
                .await;
            }
        })
    };
    let mut lists = 0;
    while !writer.is_finished() || lists == 0 {
        let answer = list(
            &f,
            json!({"filters": {"tags": ["t"]}, "pagination": {"max_results": 100}}),
        )
        .await;
        let shown = answer["creatives"].as_array().unwrap().len();
        assert_eq!(
            answer["query_summary"]["total_matching"], shown,
            "a page of {shown} with a total from another moment"
        );
        lists += 1;
    }
    writer.await.unwrap();
}
