//! The web UI's server side (issue 13) over HTTP: sessions opened by an API key, CSRF on every
//! form and script call, sign-out and expiry, the key never on a page, and the dry run of execute
//! the propagation page shows. The journeys themselves run in Chromium (tests/browser).

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{TestApp, KEY};
use crate::propagation::{banner, one_seller};
use crate::seller::SellerConfig;

/// A browser: no redirects followed, the session cookie kept by hand.
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    pub(crate) cookie: Option<String>,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser::at(&app.base)
    }

    /// A browser for the service at `base` (a test app or a service process).
    pub(crate) fn at(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: None,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    pub(crate) async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// The sign-in page's form token and its cookie, as a browser gets them.
    async fn sign_in_form(&self) -> (String, String) {
        let res = self.get("/ui/sign-in").await;
        let cookie = set_cookie(&res, "cm_signin").expect("sign-in cookie");
        let token = hidden_csrf(&res.text().await.unwrap());
        (cookie_pair(&cookie), token)
    }

    pub(crate) async fn sign_in_with(&self, key: &str, extra: Option<(&str, &str)>) -> Response {
        let (cookie, token) = self.sign_in_form().await;
        let mut req = self
            .client
            .post(format!("{}/ui/sign-in", self.base))
            .header(COOKIE, cookie)
            .form(&[("csrf", token.as_str()), ("api_key", key)]);
        if let Some((k, v)) = extra {
            req = req.header(k, v);
        }
        req.send().await.unwrap()
    }

    pub(crate) async fn signed_in(app: &TestApp) -> Browser {
        let mut b = Browser::new(app);
        let res = b.sign_in_with(KEY, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let c = set_cookie(&res, "cm_session").expect("session cookie");
        b.cookie = Some(cookie_pair(&c));
        b
    }

    /// The session's CSRF token, from any page's forms.
    pub(crate) async fn csrf(&self) -> String {
        hidden_csrf(&self.get("/ui/campaigns").await.text().await.unwrap())
    }
}

pub(crate) fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn hidden_csrf(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a csrf field");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

pub(crate) fn location(res: &Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn signing_in_opens_a_strict_http_only_session_and_the_key_is_on_no_page() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let mut b = Browser::new(&app);
    let res = b.sign_in_with(KEY, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/ui/campaigns");
    let cookie = set_cookie(&res, "cm_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/ui"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!cookie.contains(KEY));
    // Only a hash of the session token is stored.
    let token = cookie_pair(&cookie)["cm_session=".len()..].to_owned();
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM web_sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, token);
    b.cookie = Some(cookie_pair(&cookie));
    for page in [
        "/ui/campaigns".to_owned(),
        format!("/ui/campaigns/{campaign}"),
        "/ui/sales-agents".to_owned(),
        "/ui/reviews".to_owned(),
        "/ui/storefronts".to_owned(),
    ] {
        let res = b.get(&page).await;
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let html = res.text().await.unwrap();
        assert!(!html.contains(KEY), "the key is on {page}");
        assert!(html.contains("Sign out"), "{page}");
    }
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure() {
    let app = TestApp::spawn().await;
    let res = Browser::new(&app)
        .sign_in_with(KEY, Some(("x-forwarded-proto", "https")))
        .await;
    let cookie = set_cookie(&res, "cm_session").expect("session cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let res = Browser::new(&app)
        .client
        .get(format!("{}/ui/sign-in", app.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&res, "cm_signin").expect("sign-in cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_key_or_a_forged_sign_in_opens_no_session() {
    let app = TestApp::spawn().await;
    let b = Browser::new(&app);
    let res = b.sign_in_with("not-a-key-of-anyone-at-all", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res, "cm_session").is_none());
    assert!(res.text().await.unwrap().contains("not valid"));
    // A sign-in form posted from elsewhere has no sign-in cookie to match its token.
    let (_, token) = b.sign_in_form().await;
    let res = b
        .post_form("/ui/sign-in", &[("csrf", &token), ("api_key", KEY)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&res, "cm_session").is_none());
    assert_eq!(app.count_rows("web_sessions").await, 0);
}

#[tokio::test]
async fn without_a_session_pages_send_to_sign_in_and_the_script_api_is_refused() {
    let app = TestApp::spawn().await;
    let b = Browser::new(&app);
    for page in ["/ui/campaigns", "/ui/reviews", "/ui/sales-agents"] {
        let res = b.get(page).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(location(&res), "/ui/sign-in");
    }
    let res = b.get("/ui/api/buyer/campaigns").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The session cookie is the UI's: the JSON API does not take it instead of a key.
    let signed = Browser::signed_in(&app).await;
    let res = signed.get("/api/v2/buyer/campaigns").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forms_and_script_calls_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let b = Browser::signed_in(&app).await;
    let other = Browser::signed_in(&app).await;
    let others_token = other.csrf().await;
    let form = |csrf: &'static str| {
        vec![
            ("csrf", csrf),
            ("name", "Forged"),
            ("brand_domain", "acme.com"),
        ]
    };
    for fields in [form(""), form("0000")] {
        let res = b.post_form("/ui/campaigns", &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    // Another session's token is not this session's.
    let mut fields = form("");
    fields[0].1 = &others_token;
    let res = b.post_form("/ui/campaigns", &fields).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The script API: a state-changing call needs the header.
    let body = json!({"name": "Forged", "brand_domain": "acme.com"});
    let post = |token: Option<&str>| {
        let mut req = b
            .client
            .post(format!("{}/ui/api/buyer/campaigns", b.base))
            .header(COOKIE, b.cookie.clone().unwrap())
            .json(&body);
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        req.send()
    };
    let res = post(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "CSRF_REFUSED"
    );
    assert_eq!(
        post(Some(&others_token)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let res = b.post_form("/ui/sign-out", &[("csrf", "")]).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "signing out is a form too"
    );
    assert_eq!(app.count_rows("campaigns").await, 0);
    // With the token, the same calls go through the API's own handlers.
    let token = b.csrf().await;
    let res = post(Some(&token)).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut fields = form("");
    fields[0].1 = &token;
    let res = b.post_form("/ui/campaigns", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/ui/campaigns/cmp_"),
        "{}",
        location(&res)
    );
    assert_eq!(app.count_rows("campaigns").await, 2);
}

#[tokio::test]
async fn a_form_the_api_refuses_comes_back_with_its_reason_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let b = Browser::signed_in(&app).await;
    let token = b.csrf().await;
    let res = b
        .post_form(
            "/ui/campaigns",
            &[
                ("csrf", &token),
                ("name", "No brand"),
                ("product_id_0", "p"),
                ("sales_agent_id_0", "sa_nope"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/ui/campaigns/new?error="), "{to}");
    let page = b.get(&to).await.text().await.unwrap();
    assert!(page.contains("role=\"alert\""), "{page}");
    assert_eq!(app.count_rows("campaigns").await, 0);
}

#[tokio::test]
async fn signing_out_and_expiry_end_the_session() {
    let app = TestApp::spawn().await;
    let b = Browser::signed_in(&app).await;
    assert_eq!(b.get("/ui/campaigns").await.status(), StatusCode::OK);
    let token = b.csrf().await;
    let res = b.post_form("/ui/sign-out", &[("csrf", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookie(&res, "cm_session").expect("cleared cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie, replayed, opens nothing.
    assert_eq!(b.get("/ui/campaigns").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.get("/ui/api/buyer/campaigns").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.count_rows("web_sessions").await, 0);

    // A session past its expiry is refused as a missing one.
    let b = Browser::signed_in(&app).await;
    assert_eq!(b.get("/ui/campaigns").await.status(), StatusCode::OK);
    sqlx::query("UPDATE web_sessions SET expires_at = $1")
        .bind("2020-01-01T00:00:00.000Z")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(b.get("/ui/campaigns").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.get("/ui/api/buyer/campaigns").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_session_acts_as_its_customer_only() {
    let app = TestApp::spawn().await;
    let mine = app.create_campaign().await;
    let other_key = app.other_customer("Other").await;
    let mut other = Browser::new(&app);
    let res = other.sign_in_with(&other_key, None).await;
    other.cookie = Some(cookie_pair(&set_cookie(&res, "cm_session").unwrap()));
    assert_eq!(
        other.get(&format!("/ui/campaigns/{mine}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .get(&format!("/ui/api/buyer/campaigns/{mine}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let b = Browser::signed_in(&app).await;
    assert_eq!(
        b.get(&format!("/ui/campaigns/{mine}")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_execute_preview_says_what_goes_to_whom_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let (seller, agent, campaign) = one_seller(
        &app,
        SellerConfig::default(),
        json!({"has_creative_library": true, "supports_inline": true}),
    )
    .await;
    let creative = banner(&app, &campaign, "A").await;
    let res = app
        .get(&format!("/campaigns/{campaign}/execute/preview"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["executable"], true, "{p}");
    let s = &p["sellers"][0];
    assert_eq!(s["sales_agent_id"], agent.as_str());
    assert_eq!(
        s["plan"],
        json!({"transport": "library", "fallback_inline": true})
    );
    assert_eq!(s["packages"][0]["product_id"], "prod_0");
    assert_eq!(
        s["packages"][0]["creatives"][0]["creative_id"],
        creative.as_str()
    );
    assert_eq!(
        s["packages"][0]["creatives"][0]["as"]["format_id"]["id"],
        "display_300x250"
    );
    for tool in ["sync_creatives", "create_media_buy", "update_media_buy"] {
        assert!(seller.calls_of(tool).is_empty(), "a preview sent {tool}");
    }
    // A campaign that cannot be executed says why, naming the field.
    let res = app
        .patch_json(
            &format!("/campaigns/{campaign}"),
            &json!({"products": [{"product_id": "x", "sales_agent_id": agent}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p: Value = app
        .get(&format!("/campaigns/{campaign}/execute/preview"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["executable"], false);
    assert_eq!(p["blocker"]["field"], "products[0].budget");
}

#[tokio::test]
async fn deleting_a_manifest_from_its_page_needs_the_confirmation() {
    let app = TestApp::spawn().await;
    let campaign = app.create_campaign().await;
    let m = app
        .create_png_manifest(
            &campaign,
            &json!({"name": "A", "assets": [{"filename": "a.png"}]}),
        )
        .await;
    let id = m["creative_id"].as_str().unwrap();
    let b = Browser::signed_in(&app).await;
    let token = b.csrf().await;
    let path = format!("/ui/campaigns/{campaign}/creatives/{id}/delete");
    let res = b.post_form(&path, &[("csrf", &token)]).await;
    assert!(location(&res).contains("error="), "{}", location(&res));
    assert_eq!(app.count_rows("creatives").await, 1);
    let res = b
        .post_form(&path, &[("csrf", &token), ("confirm", "yes")])
        .await;
    assert_eq!(
        location(&res),
        format!("/ui/campaigns/{campaign}?notice=Manifest+deleted.")
    );
    assert_eq!(app.count_rows("creatives").await, 0);
}

#[tokio::test]
async fn every_form_refuses_a_post_without_the_sessions_token() {
    let app = TestApp::spawn().await;
    let b = Browser::signed_in(&app).await;
    // Every POST route of the UI's forms (ids need not exist: the token is checked first).
    let forms = [
        "/ui/campaigns",
        "/ui/campaigns/c_1/edit",
        "/ui/campaigns/c_1/delete",
        "/ui/campaigns/c_1/execute",
        "/ui/campaigns/c_1/creatives/cr_1/edit",
        "/ui/campaigns/c_1/creatives/cr_1/validate",
        "/ui/campaigns/c_1/creatives/cr_1/delete",
        "/ui/reviews/cr_1/decide",
        "/ui/reviews/cr_1/revoke",
        "/ui/storefronts",
        "/ui/storefronts/sf_1/edit",
        "/ui/storefronts/sf_1/delete",
        "/ui/storefronts/sf_1/accounts",
        "/ui/storefronts/sf_1/accounts/acc_1/delete",
        "/ui/sales-agents",
        "/ui/sales-agents/sa_1/edit",
        "/ui/sales-agents/sa_1/refresh",
        "/ui/sign-out",
    ];
    for path in forms {
        let res = b
            .post_form(path, &[("csrf", "0000"), ("name", "Forged")])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            res.text().await.unwrap().contains("Form expired"),
            "{path} says why"
        );
    }
    assert_eq!(app.count_rows("campaigns").await, 0);
    assert_eq!(app.count_rows("storefronts").await, 0);
    assert_eq!(app.count_rows("sales_agents").await, 0);
}
