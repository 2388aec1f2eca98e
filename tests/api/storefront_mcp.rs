//! The storefront's MCP face over HTTP: JSON-RPC framing, discovery tools, authentication, and
//! every answer checked against its AdCP 3.1.19 response schema.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::schemas::assert_valid;
use crate::seller::{Seller, SellerConfig};

const AGENT: &str = "https://ads.seller.example";

pub fn seller_format(id: &str, w: u32, h: u32) -> Value {
    json!({
        "format_id": {"agent_url": AGENT, "id": id},
        "name": format!("Seller {id}"),
        "renders": [{"role": "primary", "dimensions": {"width": w, "height": h}}],
        "assets": [{
            "item_type": "individual", "asset_id": "hero", "asset_type": "image", "required": true,
            "requirements": {"min_width": w, "max_width": w, "min_height": h, "max_height": h}
        }]
    })
}

/// A storefront in front of a running test seller with three display formats, and a buyer key.
pub struct Front {
    pub app: TestApp,
    pub seller: Seller,
    pub mcp: String,
    pub storefront_id: String,
    pub buyer_key: String,
    pub account_id: String,
}

impl Front {
    pub async fn start(review_mode: &str) -> Front {
        Self::start_with(review_mode, |_| {}).await
    }

    /// As [`Front::start`], with the underlying seller's switches adjusted by `tweak`.
    pub async fn start_with(review_mode: &str, tweak: impl FnOnce(&mut SellerConfig)) -> Front {
        let mut config = SellerConfig {
            formats: vec![
                seller_format("box", 300, 250),
                seller_format("leaderboard", 728, 90),
                seller_format("sticky_footer", 320, 50),
            ],
            ..Default::default()
        };
        tweak(&mut config);
        Self::build(review_mode, config, |_| {}).await
    }

    /// A service configured by `app_tweak`, a test seller with `seller`, the storefront in front of
    /// it (formats refreshed) and a buyer account for acme.com.
    pub async fn build(
        review_mode: &str,
        seller: SellerConfig,
        app_tweak: impl FnOnce(&mut creative_manifests::config::Config),
    ) -> Front {
        let app = TestApp::spawn_with(app_tweak).await;
        let seller = Seller::start(seller).await;
        let agent = app.register_seller(&seller.url, None).await;
        assert_eq!(app.refresh_formats(&agent).await.status(), StatusCode::OK);
        let sf = app.create_storefront_for(&agent, review_mode).await;
        let storefront_id = sf["storefront_id"].as_str().unwrap().to_owned();
        let (account, buyer_key) = app.create_buyer_account(&storefront_id, "acme.com").await;
        Front {
            mcp: sf["mcp_url"].as_str().unwrap().to_owned(),
            storefront_id,
            buyer_key,
            account_id: account["account_id"].as_str().unwrap().to_owned(),
            app,
            seller,
        }
    }

    pub async fn rpc_raw(&self, key: Option<&str>, body: &Value) -> Response {
        let mut req = self
            .app
            .client
            .post(&self.mcp)
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().await.expect("request")
    }

    /// `tools/call` with the buyer's key: the tool result (`structuredContent`, `isError`, …).
    pub async fn call(&self, tool: &str, args: Value) -> Value {
        self.call_as(Some(&self.buyer_key.clone()), tool, args)
            .await
    }

    pub async fn call_as(&self, key: Option<&str>, tool: &str, args: Value) -> Value {
        let res = self
            .rpc_raw(
                key,
                &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["id"], 1, "{body}");
        body["result"].clone()
    }
}

/// A failed tool result's `adcp_error`, checked for the shape AdCP requires.
pub fn adcp_error(result: &Value) -> Value {
    assert_eq!(result["isError"], true, "{result}");
    let err = result["structuredContent"]["adcp_error"].clone();
    assert_valid("core/error.json", &err);
    assert_eq!(result["structuredContent"]["errors"][0], err);
    err
}

#[tokio::test]
async fn initialize_ping_and_notifications_follow_mcp() {
    let f = Front::start("auto").await;
    let res = f
        .rpc_raw(
            None,
            &json!({"jsonrpc": "2.0", "id": "a", "method": "initialize", "params": {
                "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], "a");
    assert_eq!(body["result"]["protocolVersion"], "2025-03-26");
    assert!(body["result"]["capabilities"]["tools"].is_object());

    let res = f
        .rpc_raw(
            None,
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = f
        .rpc_raw(None, &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"jsonrpc": "2.0", "id": 2, "result": {}}));
    let body: Value = f
        .rpc_raw(
            None,
            &json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"]["code"], -32601);

    let res = f.app.client.get(&f.mcp).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn malformed_json_rpc_gets_a_json_rpc_error() {
    let f = Front::start("auto").await;
    let res = f
        .app
        .client
        .post(&f.mcp)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(body["id"], Value::Null);
    let res = f
        .rpc_raw(
            None,
            &json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_a_clear_error() {
    let f = Front::start("auto").await;
    let huge = "x".repeat(11 * 1024 * 1024);
    let res = f
        .rpc_raw(
            Some(&f.buyer_key),
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_creative_formats", "arguments": {"name_search": huge}}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600);
}

#[tokio::test]
async fn an_unknown_storefront_is_404() {
    let f = Front::start("auto").await;
    for url in [
        format!("{}/storefronts/sf_nope/mcp", f.app.base),
        f.mcp.replace(
            &f.storefront_id,
            &creative_manifests::ids::StorefrontId::new().to_string(),
        ),
    ] {
        let res = f
            .app
            .client
            .post(&url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{url}");
    }
}

#[tokio::test]
async fn tools_list_gives_each_tool_a_self_contained_input_schema() {
    let f = Front::start("auto").await;
    let body: Value = f
        .rpc_raw(
            None,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let tools = body["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"get_adcp_capabilities"));
    assert!(names.contains(&"list_creative_formats"));
    for t in tools {
        let schema = &t["inputSchema"];
        assert_eq!(schema["type"], "object", "{}", t["name"]);
        let text = schema.to_string();
        assert!(
            !text.contains("\"/schemas/"),
            "{} refers outside itself",
            t["name"]
        );
        // The schema compiles and its references resolve.
        let compiled =
            jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{}: {e}", t["name"]));
        assert!(compiled.is_valid(&json!({})) || t["name"] != "get_adcp_capabilities");
    }
}

#[tokio::test]
async fn capabilities_are_public_and_schema_valid() {
    let f = Front::start("manual").await;
    let r = f
        .call_as(
            None,
            "get_adcp_capabilities",
            json!({"context": {"trace": "t-1"}}),
        )
        .await;
    assert!(r.get("isError").is_none(), "{r}");
    let caps = &r["structuredContent"];
    assert_valid("protocol/get-adcp-capabilities-response.json", caps);
    assert_eq!(caps["status"], "completed");
    assert_eq!(caps["adcp"]["major_versions"], json!([3]));
    assert_eq!(
        caps["adcp"]["idempotency"],
        json!({"supported": true, "replay_ttl_seconds": 86400})
    );
    assert_eq!(caps["creative"]["has_creative_library"], true);
    assert_eq!(caps["context"], json!({"trace": "t-1"}));
    assert!(r["content"][0]["text"].is_string());
}

#[tokio::test]
async fn sse_is_answered_to_clients_that_accept_only_sse() {
    let f = Front::start("auto").await;
    let res = f
        .app
        .client
        .post(&f.mcp)
        .header("accept", "text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "get_adcp_capabilities", "arguments": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let text = res.text().await.unwrap();
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let body: Value = serde_json::from_str(data).unwrap();
    assert_eq!(body["id"], 9);
    assert_valid(
        "protocol/get-adcp-capabilities-response.json",
        &body["result"]["structuredContent"],
    );
}

#[tokio::test]
async fn list_creative_formats_serves_the_underlying_agents_formats_with_filters() {
    let f = Front::start("auto").await;
    let r = f.call_as(None, "list_creative_formats", json!({})).await;
    let answer = &r["structuredContent"];
    assert_valid("creative/list-creative-formats-response.json", answer);
    assert_eq!(answer["formats"].as_array().unwrap().len(), 3);
    assert_eq!(answer["pagination"]["has_more"], false);

    let r = f
        .call(
            "list_creative_formats",
            json!({"min_width": 300, "max_height": 100, "ignored_extra": true}),
        )
        .await;
    let answer = &r["structuredContent"];
    assert_valid("creative/list-creative-formats-response.json", answer);
    let ids: Vec<&str> = answer["formats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["format_id"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["leaderboard", "sticky_footer"]);

    let first = f
        .call(
            "list_creative_formats",
            json!({"pagination": {"max_results": 2}}),
        )
        .await;
    let page = &first["structuredContent"];
    assert_valid("creative/list-creative-formats-response.json", page);
    assert_eq!(page["pagination"]["has_more"], true);
    let next = f
        .call(
            "list_creative_formats",
            json!({"pagination": {"max_results": 2, "cursor": page["pagination"]["cursor"]}}),
        )
        .await;
    assert_eq!(
        next["structuredContent"]["formats"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(next["structuredContent"]["pagination"]["has_more"], false);
}

#[tokio::test]
async fn an_unknown_format_id_is_reference_not_found_naming_the_field() {
    let f = Front::start("auto").await;
    let r = f
        .call(
            "list_creative_formats",
            json!({"format_ids": [{"agent_url": AGENT, "id": "box"}, {"agent_url": AGENT, "id": "nope"}], "context": {"c": 1}}),
        )
        .await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "REFERENCE_NOT_FOUND");
    assert_eq!(err["field"], "format_ids[1]");
    assert_eq!(err["recovery"], "correctable");
    assert_eq!(r["structuredContent"]["context"], json!({"c": 1}));

    let r = f
        .call("list_creative_formats", json!({"min_width": "wide"}))
        .await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "VALIDATION_ERROR");
    assert_eq!(err["field"], "min_width");
}

#[tokio::test]
async fn an_unknown_tool_is_an_adcp_error_not_a_protocol_error() {
    let f = Front::start("auto").await;
    let r = f.call("make_coffee", json!({})).await;
    let err = adcp_error(&r);
    assert_eq!(err["code"], "INVALID_REQUEST");
}

#[tokio::test]
async fn a_key_of_another_storefront_is_no_key_here() {
    let f = Front::start("auto").await;
    let other = f.app.create_storefront("auto").await;
    let (_, other_key) = f
        .app
        .create_buyer_account(other["storefront_id"].as_str().unwrap(), "acme.com")
        .await;
    // Public tools still answer with a foreign key (it is simply not used).
    let r = f
        .call_as(Some(&other_key), "get_adcp_capabilities", json!({}))
        .await;
    assert!(r.get("isError").is_none(), "{r}");
    let _ = &f.account_id;
}
