//! Storefronts and their buyer accounts: create, rename, review mode; accounts with their key
//! shown once, on the page that answers the creation (never in a URL), then never again.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use serde_json::{json, Value};

use super::form::{Fields, Posted};
use super::page::{after, back_to, UiResult};
use super::session::Session;
use super::{enc, UiState};

pub async fn list(
    State(state): State<UiState>,
    session: Session,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    let storefronts = state
        .api
        .get(&session.actor, "/api/v2/storefront/storefronts?take=250")
        .await?;
    let agents = state
        .api
        .get(&session.actor, "/api/v2/buyer/sales-agents?take=250")
        .await?;
    state.render(
        "storefronts.html",
        &session,
        "storefronts",
        &flash,
        json!({"storefronts": storefronts["items"], "agents": agents["items"]}),
    )
}

pub async fn create(State(state): State<UiState>, form: Posted) -> UiResult {
    let f = &form.fields;
    let body = json!({
        "name": f.get("name").unwrap_or(""),
        "sales_agent_id": f.get("sales_agent_id").unwrap_or(""),
        "review_mode": f.get("review_mode").unwrap_or("manual"),
    });
    let path = "/api/v2/storefront/storefronts";
    let outcome = state
        .api
        .submit(&form.session.actor, Method::POST, path, Some(&body))
        .await?;
    Ok(after(outcome, "/ui/storefronts", |sf| {
        let id = sf["storefront_id"].as_str().unwrap_or_default();
        back_to(&format!("/ui/storefronts/{id}"), Ok("Storefront created."))
    }))
}

async fn page(
    state: &UiState,
    session: &Session,
    storefront_id: &str,
    flash: &HashMap<String, String>,
    new_key: Option<Value>,
) -> UiResult {
    let base = format!("/api/v2/storefront/storefronts/{}", enc(storefront_id));
    let sf = state.api.get(&session.actor, &base).await?;
    let accounts = state
        .api
        .get(&session.actor, &format!("{base}/accounts?take=250"))
        .await?;
    state.render(
        "storefront.html",
        session,
        "storefronts",
        flash,
        json!({"sf": sf, "accounts": accounts["items"], "new_key": new_key}),
    )
}

pub async fn show(
    State(state): State<UiState>,
    session: Session,
    Path(storefront_id): Path<String>,
    Query(flash): Query<HashMap<String, String>>,
) -> UiResult {
    page(&state, &session, &storefront_id, &flash, None).await
}

pub async fn update(
    State(state): State<UiState>,
    Path(storefront_id): Path<String>,
    form: Posted,
) -> UiResult {
    let f = &form.fields;
    let mut body = json!({});
    if let Some(n) = f.get("name") {
        body["name"] = json!(n);
    }
    if let Some(m) = f.get("review_mode") {
        body["review_mode"] = json!(m);
    }
    let path = format!("/api/v2/storefront/storefronts/{}", enc(&storefront_id));
    let back = format!("/ui/storefronts/{storefront_id}");
    let outcome = state
        .api
        .submit(&form.session.actor, Method::PATCH, &path, Some(&body))
        .await?;
    Ok(after(outcome, &back, |_| {
        back_to(&back, Ok("Storefront saved."))
    }))
}

pub async fn remove(
    State(state): State<UiState>,
    Path(storefront_id): Path<String>,
    form: Posted,
) -> UiResult {
    let path = format!("/api/v2/storefront/storefronts/{}", enc(&storefront_id));
    let outcome = state
        .api
        .submit(&form.session.actor, Method::DELETE, &path, None)
        .await?;
    Ok(after(
        outcome,
        &format!("/ui/storefronts/{storefront_id}"),
        |_| {
            back_to(
                "/ui/storefronts",
                Ok("Storefront deleted: its accounts' keys no longer work."),
            )
        },
    ))
}

/// Pure: the account body from the form (brand domains separated by commas or spaces).
pub fn account_body(f: &Fields) -> Value {
    let domains: Vec<&str> = f
        .get("brand_domains")
        .unwrap_or("")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let mut body = json!({"name": f.get("name").unwrap_or(""), "brand_domains": domains});
    if let Some(op) = f.get("operator") {
        body["operator"] = json!(op);
    }
    body
}

pub async fn create_account(
    State(state): State<UiState>,
    Path(storefront_id): Path<String>,
    form: Posted,
) -> UiResult {
    let path = format!(
        "/api/v2/storefront/storefronts/{}/accounts",
        enc(&storefront_id)
    );
    let body = account_body(&form.fields);
    let outcome = state
        .api
        .submit(&form.session.actor, Method::POST, &path, Some(&body))
        .await?;
    match outcome {
        // The key is on this answer only: the page says so, and nothing stores or redirects it.
        Ok(account) => {
            let flash = HashMap::from([("notice".to_owned(), "Account created.".to_owned())]);
            page(&state, &form.session, &storefront_id, &flash, Some(account)).await
        }
        Err(e) => Ok(back_to(
            &format!("/ui/storefronts/{storefront_id}"),
            Err(&e.in_words()),
        )),
    }
}

pub async fn delete_account(
    State(state): State<UiState>,
    Path((storefront_id, account_id)): Path<(String, String)>,
    form: Posted,
) -> UiResult {
    let path = format!(
        "/api/v2/storefront/storefronts/{}/accounts/{}",
        enc(&storefront_id),
        enc(&account_id)
    );
    let back = format!("/ui/storefronts/{storefront_id}");
    let outcome = state
        .api
        .submit(&form.session.actor, Method::DELETE, &path, None)
        .await?;
    Ok(after(outcome, &back, |_| {
        back_to(&back, Ok("Account deleted: its key no longer works."))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[test]
    fn brand_domains_split_on_commas_and_spaces() {
        let f = Fields::parse(&Bytes::from_static(
            b"name=A&brand_domains=a.com%2C+b.com&operator=",
        ));
        assert_eq!(
            account_body(&f),
            json!({"name": "A", "brand_domains": ["a.com", "b.com"]})
        );
    }
}
