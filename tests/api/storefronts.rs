//! Storefronts and buyer accounts over the owner's REST API: creation, tenancy, keys shown once.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_of, TestApp};

impl TestApp {
    pub fn storefront_api(&self, path: &str) -> String {
        format!("{}/api/v2/storefront{path}", self.base)
    }

    pub async fn storefront_req(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.storefront_api(path))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request")
    }

    /// A storefront in front of a new sales agent, in `review_mode`.
    pub async fn create_storefront(&self, review_mode: &str) -> Value {
        let agent = self.create_sales_agent("Underlying").await;
        self.create_storefront_for(agent["sales_agent_id"].as_str().unwrap(), review_mode)
            .await
    }

    pub async fn create_storefront_for(&self, sales_agent_id: &str, review_mode: &str) -> Value {
        let res = self
            .storefront_req(
                reqwest::Method::POST,
                "/storefronts",
                Some(&json!({"name": "Front", "sales_agent_id": sales_agent_id, "review_mode": review_mode})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    /// A buyer account of the storefront for `brand` (operated by the brand itself): (account, key).
    pub async fn create_buyer_account(&self, storefront_id: &str, brand: &str) -> (Value, String) {
        let res = self
            .storefront_req(
                reqwest::Method::POST,
                &format!("/storefronts/{storefront_id}/accounts"),
                Some(&json!({"name": format!("{brand} buyer"), "brand_domains": [brand]})),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        let key = body["api_key"].as_str().expect("api_key").to_owned();
        (body, key)
    }
}

#[tokio::test]
async fn a_storefront_fronts_one_of_the_customers_agents_and_gives_its_mcp_url() {
    let app = TestApp::spawn().await;
    let sf = app.create_storefront("manual").await;
    let id = sf["storefront_id"].as_str().unwrap();
    assert!(id.starts_with("sf_"));
    assert_eq!(sf["review_mode"], "manual");
    assert_eq!(sf["mcp_url"], format!("{}/storefronts/{id}/mcp", app.base));

    let got: Value = app
        .storefront_req(reqwest::Method::GET, &format!("/storefronts/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, sf);
    let list: Value = app
        .storefront_req(reqwest::Method::GET, "/storefronts", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0], sf);
}

#[tokio::test]
async fn patch_changes_name_and_review_mode_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let sf = app.create_storefront("manual").await;
    let path = format!("/storefronts/{}", sf["storefront_id"].as_str().unwrap());
    let res = app
        .storefront_req(
            reqwest::Method::PATCH,
            &path,
            Some(&json!({"review_mode": "later"})),
        )
        .await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "review_mode");
    let res = app
        .storefront_req(reqwest::Method::PATCH, &path, Some(&json!({"name": " "})))
        .await;
    error_of(res, StatusCode::BAD_REQUEST).await;

    let res = app
        .storefront_req(
            reqwest::Method::PATCH,
            &path,
            Some(&json!({"name": "Renamed", "review_mode": "auto"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let got: Value = app
        .storefront_req(reqwest::Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["name"], "Renamed");
    assert_eq!(got["review_mode"], "auto");
}

#[tokio::test]
async fn a_storefront_needs_an_agent_of_the_same_customer_and_a_known_review_mode() {
    let mut app = TestApp::spawn().await;
    let agent = app.create_sales_agent("Mine").await;
    let agent_id = agent["sales_agent_id"].as_str().unwrap();
    for (body, field) in [
        (
            json!({"name": "F", "sales_agent_id": agent_id, "review_mode": "sometimes"}),
            "review_mode",
        ),
        (
            json!({"name": "", "sales_agent_id": agent_id, "review_mode": "auto"}),
            "name",
        ),
        (
            json!({"name": "F", "sales_agent_id": "sa_nope", "review_mode": "auto"}),
            "sales_agent_id",
        ),
        (
            json!({"name": "F", "sales_agent_id": agent_id, "review_mode": "auto", "extra": 1}),
            "extra",
        ),
    ] {
        let res = app
            .storefront_req(reqwest::Method::POST, "/storefronts", Some(&body))
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], field, "{body}");
    }
    // Another customer cannot front this customer's agent.
    app.key = app.other_customer("intruder").await;
    let res = app
        .storefront_req(
            reqwest::Method::POST,
            "/storefronts",
            Some(&json!({"name": "F", "sales_agent_id": agent_id, "review_mode": "auto"})),
        )
        .await;
    let err = error_of(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "sales_agent_id");
    assert_eq!(app.count_rows("storefronts").await, 0);
}

#[tokio::test]
async fn another_customers_storefronts_and_accounts_do_not_exist_for_you() {
    let mut app = TestApp::spawn().await;
    let sf = app.create_storefront("auto").await;
    let id = sf["storefront_id"].as_str().unwrap().to_owned();
    let (account, _) = app.create_buyer_account(&id, "acme.com").await;
    let account_id = account["account_id"].as_str().unwrap().to_owned();

    app.key = app.other_customer("intruder").await;
    use reqwest::Method;
    for (method, path, body) in [
        (Method::GET, format!("/storefronts/{id}"), None),
        (
            Method::PATCH,
            format!("/storefronts/{id}"),
            Some(json!({"name": "Mine now"})),
        ),
        (Method::DELETE, format!("/storefronts/{id}"), None),
        (Method::GET, format!("/storefronts/{id}/accounts"), None),
        (
            Method::POST,
            format!("/storefronts/{id}/accounts"),
            Some(json!({"name": "x", "brand_domains": ["x.com"]})),
        ),
        (
            Method::GET,
            format!("/storefronts/{id}/accounts/{account_id}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/storefronts/{id}/accounts/{account_id}"),
            None,
        ),
    ] {
        let res = app
            .storefront_req(method.clone(), &path, body.as_ref())
            .await;
        let err = error_of(res, StatusCode::NOT_FOUND).await;
        assert_eq!(err["code"], "NOT_FOUND", "{method} {path}");
    }
    let list: Value = app
        .storefront_req(reqwest::Method::GET, "/storefronts", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    assert_eq!(app.count_rows("storefronts").await, 1);
    assert_eq!(app.count_rows("storefront_accounts").await, 1);
}

#[tokio::test]
async fn storefront_routes_need_the_owners_key() {
    let app = TestApp::spawn().await;
    let sf = app.create_storefront("auto").await;
    let (_, buyer_key) = app
        .create_buyer_account(sf["storefront_id"].as_str().unwrap(), "acme.com")
        .await;
    for key in [None, Some("wrong"), Some(buyer_key.as_str())] {
        let mut req = app.client.get(app.storefront_api("/storefronts"));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        error_of(res, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn an_account_key_is_shown_once_and_stored_only_as_its_hash() {
    let app = TestApp::spawn().await;
    let sf = app.create_storefront("manual").await;
    let id = sf["storefront_id"].as_str().unwrap();
    let (account, key) = app.create_buyer_account(id, "Acme.com").await;
    assert!(key.starts_with("sfk_"));
    assert_eq!(account["brand_domains"], json!(["acme.com"]));
    assert_eq!(account["operator"], Value::Null);
    let account_id = account["account_id"].as_str().unwrap();
    assert!(account_id.starts_with("acct_"));

    let shown: Value = app
        .storefront_req(
            reqwest::Method::GET,
            &format!("/storefronts/{id}/accounts/{account_id}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(shown.get("api_key").is_none(), "{shown}");
    let listed: Value = app
        .storefront_req(
            reqwest::Method::GET,
            &format!("/storefronts/{id}/accounts"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert!(listed["items"][0].get("api_key").is_none());

    let stored: String = sqlx::query_scalar("SELECT key_hash FROM storefront_accounts")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, key);
    assert_eq!(stored, creative_manifests::store::customers::hash_key(&key));
}

#[tokio::test]
async fn account_input_is_checked_field_by_field() {
    let app = TestApp::spawn().await;
    let sf = app.create_storefront("manual").await;
    let path = format!(
        "/storefronts/{}/accounts",
        sf["storefront_id"].as_str().unwrap()
    );
    for (body, field) in [
        (json!({"name": "a", "brand_domains": []}), "brand_domains"),
        (
            json!({"name": "a", "brand_domains": ["ok.com", "localhost"]}),
            "brand_domains[1]",
        ),
        (
            json!({"name": "a", "brand_domains": ["ok.com"], "operator": "not a domain"}),
            "operator",
        ),
        (json!({"name": "", "brand_domains": ["ok.com"]}), "name"),
    ] {
        let res = app
            .storefront_req(reqwest::Method::POST, &path, Some(&body))
            .await;
        let err = error_of(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(err["field"], field, "{body}");
    }
    assert_eq!(app.count_rows("storefront_accounts").await, 0);
}

#[tokio::test]
async fn deleting_a_storefront_deletes_its_accounts() {
    let app = TestApp::spawn().await;
    let sf = app.create_storefront("manual").await;
    let id = sf["storefront_id"].as_str().unwrap();
    app.create_buyer_account(id, "acme.com").await;
    app.create_buyer_account(id, "other.com").await;
    let res = app
        .storefront_req(reqwest::Method::DELETE, &format!("/storefronts/{id}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("storefronts").await, 0);
    assert_eq!(app.count_rows("storefront_accounts").await, 0);
    let res = app
        .storefront_req(reqwest::Method::GET, &format!("/storefronts/{id}"), None)
        .await;
    error_of(res, StatusCode::NOT_FOUND).await;
}
