//! Signing in with an API key (the key goes in a POST body only: never a URL, page or log line)
//! and signing out.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::form::{Fields, Posted};
use super::page::{render, UiResult};
use super::session;
use super::{csrf, UiState};

/// The sign-in form's own CSRF cookie (there is no session yet to hold the token): a forged
/// cross-site form cannot read or set it, so it cannot sign a browser into someone else's account.
const SIGN_IN_COOKIE: &str = "cm_signin";

pub async fn page(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    form_page(&state, &headers, &flash, StatusCode::OK)
}

fn form_page(
    state: &UiState,
    headers: &HeaderMap,
    flash: &HashMap<String, String>,
    status: StatusCode,
) -> UiResult {
    let token = csrf::generate();
    let mut res = render(
        &state.pages,
        "sign_in.html",
        None,
        "sign-in",
        flash,
        json!({"signin_csrf": token}),
    )?;
    *res.status_mut() = status;
    let secure = session::behind_https(state.app.config.tracker_base_url.as_deref(), headers);
    let cookie = format!(
        "{SIGN_IN_COOKIE}={token}; Path=/ui/sign-in; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

pub async fn submit(State(state): State<UiState>, headers: HeaderMap, body: Bytes) -> UiResult {
    let fields = Fields::parse(&body);
    let expected = session::cookie_value(&headers, SIGN_IN_COOKIE).unwrap_or("");
    if !csrf::matches(expected, fields.get(csrf::FIELD)) {
        return Err(super::page::UiError::CsrfRefused);
    }
    let refused = |msg: &str| {
        let flash = HashMap::from([("error".to_owned(), msg.to_owned())]);
        form_page(&state, &headers, &flash, StatusCode::UNAUTHORIZED)
    };
    let Some(key) = fields.get("api_key") else {
        return refused("Enter your API key.");
    };
    let Some((token, _)) =
        session::open(&state.app.db, key, state.app.config.web_session_secs).await?
    else {
        return refused("That API key is not valid.");
    };
    let secure = session::behind_https(state.app.config.tracker_base_url.as_deref(), &headers);
    let cookie = session::set_cookie(
        session::COOKIE_NAME,
        Some(&token),
        state.app.config.web_session_secs,
        secure,
    );
    let mut res = Redirect::to("/ui/campaigns").into_response();
    set(&mut res, &cookie);
    set(
        &mut res,
        &format!("{SIGN_IN_COOKIE}=; Path=/ui/sign-in; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}

pub async fn sign_out(
    State(state): State<UiState>,
    headers: HeaderMap,
    _checked: Posted,
) -> UiResult {
    if let Some(token) = session::cookie_value(&headers, session::COOKIE_NAME) {
        session::close(&state.app.db, token).await?;
    }
    let secure = session::behind_https(state.app.config.tracker_base_url.as_deref(), &headers);
    let mut res = super::page::back_to("/ui/sign-in", Ok("You are signed out."));
    set(
        &mut res,
        &session::set_cookie(session::COOKIE_NAME, None, 0, secure),
    );
    Ok(res)
}

fn set(res: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}
