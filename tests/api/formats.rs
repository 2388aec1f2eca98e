use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{body_of, error_of, TestApp};
use crate::schemas::assert_valid;
use crate::seller::{Seller, SellerConfig};

const STANDARD: &str = "https://creative.adcontextprotocol.org";

fn seller_format(agent_url: &str, id: &str, w: u32, h: u32) -> Value {
    json!({
        "format_id": {"agent_url": agent_url, "id": id},
        "name": format!("Seller {id}"),
        "renders": [{"role": "primary", "dimensions": {"width": w, "height": h}}],
        "assets": [{
            "item_type": "individual", "asset_id": "hero", "asset_type": "image", "required": true,
            "requirements": {"min_width": w, "max_width": w, "min_height": h, "max_height": h}
        }]
    })
}

#[tokio::test]
async fn standard_formats_are_served_as_valid_adcp_formats_and_filter() {
    let app = TestApp::spawn().await;
    let all: Value = app.get("/formats").await.json().await.unwrap();
    let formats = all["formats"].as_array().unwrap();
    assert!(formats.len() >= 25, "{}", formats.len());
    for f in formats {
        assert_valid("core/format.json", f);
    }
    let ids = |v: &Value| -> Vec<String> {
        v["formats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["format_id"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let sized: Value = app
        .get("/formats?width=300&height=250")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&sized), ["display_300x250", "display_300x250_html"]);
    let video: Value = app.get("/formats?type=video").await.json().await.unwrap();
    assert!(
        ids(&video).iter().all(|id| id.starts_with("video_")),
        "{:?}",
        ids(&video)
    );
    assert!(ids(&video).contains(&"video_standard_30s".to_owned()));
    let found: Value = app
        .get("/formats?search=NATIVE")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&found), ["native_standard"]);
    let by_agent: Value = app
        .get(&format!(
            "/formats?agent={}",
            "HTTPS://Creative.AdContextProtocol.org/"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_agent["total"], all["total"]);

    for (q, field) in [
        ("width=0", "width"),
        ("height=x", "height"),
        ("type=print", "type"),
        ("agent=nope", "agent"),
    ] {
        assert_eq!(
            error_of(
                app.get(&format!("/formats?{q}")).await,
                StatusCode::BAD_REQUEST
            )
            .await["field"],
            field,
            "{q}"
        );
    }
}

#[tokio::test]
async fn one_format_is_found_by_its_agent_url_in_any_spelling() {
    let app = TestApp::spawn().await;
    for agent in [
        "https%3A%2F%2Fcreative.adcontextprotocol.org",
        "HTTPS%3A%2F%2FCreative.AdContextProtocol.org%2F",
    ] {
        let res = app
            .get(&format!("/formats/{agent}/video_standard_30s"))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{agent}");
        let f: Value = res.json().await.unwrap();
        assert_valid("core/format.json", &f);
        assert_eq!(
            f["format_id"],
            json!({"agent_url": STANDARD, "id": "video_standard_30s"})
        );
    }
    error_of(
        app.get("/formats/https%3A%2F%2Fcreative.adcontextprotocol.org/nope")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_sellers_formats_are_fetched_over_mcp_and_served() {
    let app = TestApp::spawn().await;
    let seller_agent = "https://ads.seller.example";
    let seller = Seller::start(SellerConfig {
        formats: vec![
            seller_format(seller_agent, "homepage_takeover", 970, 250),
            seller_format(seller_agent, "sticky_footer", 320, 50),
        ],
        sessions: true,
        token: Some("seller-token".into()),
        ..Default::default()
    })
    .await;
    let id = app.register_seller(&seller.url, Some("seller-token")).await;
    let res = app.refresh_formats(&id).await;
    let agent = body_of(res, StatusCode::OK).await;
    assert_eq!(agent["formats"]["count"], 2);
    assert!(agent["formats"]["last_fetched_at"].is_string());
    assert_eq!(agent["formats"]["last_error"], Value::Null);

    let listed: Value = app
        .get(&format!("/formats?agent={seller_agent}"))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed["formats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format_id"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["homepage_takeover", "sticky_footer"]);
    for f in listed["formats"].as_array().unwrap() {
        assert_valid("core/format.json", f);
    }
    let calls = seller.calls();
    assert!(calls
        .iter()
        .any(|c| c.tool == "list_creative_formats" && c.args.is_object()));
    assert!(calls
        .iter()
        .all(|c| c.authorization.as_deref() == Some("Bearer seller-token")));
    assert!(
        calls
            .iter()
            .all(|c| c.session.as_deref() == Some("session-123")),
        "the session id is sent back"
    );
    seller.assert_requests_valid();
}

#[tokio::test]
async fn event_stream_answers_are_understood() {
    let app = TestApp::spawn().await;
    let seller = Seller::start(SellerConfig {
        formats: vec![seller_format("https://s.example", "box", 300, 250)],
        sse: true,
        ..Default::default()
    })
    .await;
    let id = app.register_seller(&seller.url, None).await;
    let res = app.refresh_formats(&id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let one = app.get("/formats/https%3A%2F%2Fs.example/box").await;
    assert_eq!(one.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_seller_keeps_its_last_formats_and_says_when_it_was_last_seen() {
    let app = TestApp::spawn().await;
    let mut seller = Seller::start(SellerConfig {
        formats: vec![seller_format("https://s.example", "box", 300, 250)],
        ..Default::default()
    })
    .await;
    let id = app.register_seller(&seller.url, None).await;
    let refresh = || async { app.refresh_formats(&id).await };
    let first: Value = refresh().await.json().await.unwrap();
    seller.stop();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = error_of(refresh().await, StatusCode::BAD_GATEWAY).await;
    assert_eq!(err["code"], "AGENT_ERROR");
    let agent: Value = app
        .get(&format!("/sales-agents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(agent["formats"]["count"], 1, "last known formats kept");
    assert_eq!(
        agent["formats"]["last_fetched_at"],
        first["formats"]["last_fetched_at"]
    );
    assert!(agent["formats"]["last_error"].is_string());
    assert_ne!(
        agent["formats"]["last_attempted_at"],
        first["formats"]["last_attempted_at"]
    );
    assert_eq!(
        app.get("/formats/https%3A%2F%2Fs.example/box")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_ssrf_guard_refuses_private_targets() {
    let app = TestApp::spawn_with(|c| c.outbound_allow_private = false).await;
    let seller = Seller::start(SellerConfig::default()).await;
    let id = app.register_seller(&seller.url, None).await;
    let res = app.refresh_formats(&id).await;
    let err = error_of(res, StatusCode::BAD_GATEWAY).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{err}"
    );
    // The refusal names the setting that lifts it, so a newcomer's local seller is one step away.
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("OUTBOUND_ALLOW_PRIVATE=true"),
        "{err}"
    );
    // A name that resolves to loopback is refused at resolution time.
    let id = app
        .register_seller(&seller.url.replace("127.0.0.1", "localhost"), None)
        .await;
    let res = app.refresh_formats(&id).await;
    let err = error_of(res, StatusCode::BAD_GATEWAY).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no public address"),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("OUTBOUND_ALLOW_PRIVATE=true"),
        "{err}"
    );
    assert!(
        seller.calls().is_empty(),
        "nothing reached the private address"
    );
}

#[tokio::test]
async fn a_seller_of_unknown_library_support_is_asked_and_the_answer_kept() {
    let app = TestApp::spawn().await;
    let seller = Seller::start(SellerConfig {
        has_creative_library: Some(false),
        ..Default::default()
    })
    .await;
    let res = app
        .post_json(
            "/sales-agents",
            &json!({"name": "Unknown", "endpoint_url": seller.url}),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["sales_agent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed: Value = app.refresh_formats(&id).await.json().await.unwrap();
    let caps = &refreshed["capabilities"];
    assert_eq!(
        caps["has_creative_library"], false,
        "the seller's answer is recorded: {refreshed}"
    );
    assert_eq!(
        caps["advertised_tools"],
        json!([
            "list_creative_formats",
            "get_adcp_capabilities",
            "create_media_buy",
            "update_media_buy",
            "tasks/get",
            "get_task_status"
        ])
    );
    assert!(caps["probed_at"].is_string());
    assert!(seller
        .calls()
        .iter()
        .any(|c| c.tool == "get_adcp_capabilities"));
    seller.assert_requests_valid();

    // A buyer's explicit setting is not overwritten by what the seller says.
    let seller = Seller::start(SellerConfig {
        has_creative_library: Some(false),
        ..Default::default()
    })
    .await;
    let id = app.register_seller(&seller.url, None).await; // registered as has_creative_library: true
    let agent: Value = app
        .get(&format!("/sales-agents/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(agent["capabilities"]["has_creative_library"], true);
    assert!(
        !seller
            .calls()
            .iter()
            .any(|c| c.tool == "get_adcp_capabilities"),
        "no need to ask"
    );
}
