//! Web UI sessions: signing in with an API key opens one, kept server side (only the token's
//! SHA-256 is stored) and named by an `HttpOnly`, `SameSite=Strict` cookie, `Secure` behind HTTPS.
//! Sessions expire after `WEB_SESSION_SECS` without sliding; signing out deletes the row.

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::csrf;
use super::error::UiError;
use super::UiState;
use crate::http::auth::SessionActor;
use crate::ids::CustomerId;
use crate::store::customers::{self, Customer};
use crate::store::db::{now, Db};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "cm_session";

/// A signed-in browser: who it acts as and the token its forms must send back.
#[derive(Clone)]
pub struct Session {
    pub actor: SessionActor,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// What a presented session cookie amounts to, decided from the stored row and the clock.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    Live,
    Expired,
}

/// Pure: a session is live strictly before its expiry.
pub fn standing(expires_at: DateTime<Utc>, at: DateTime<Utc>) -> Standing {
    if at < expires_at {
        Standing::Live
    } else {
        Standing::Expired
    }
}

/// Pure: the value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Pure: the `Set-Cookie` value for a session token (or, with `None`, the one that clears it).
pub fn set_cookie(name: &str, token: Option<&str>, max_age_secs: u64, secure: bool) -> String {
    let (value, age) = match token {
        Some(t) => (t, max_age_secs),
        None => ("", 0),
    };
    format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Pure: whether the browser reached us over HTTPS: the public base is HTTPS, or the proxy in
/// front says so (`X-Forwarded-Proto`), as a TLS-terminating proxy does.
pub fn behind_https(public_base: Option<&str>, headers: &HeaderMap) -> bool {
    public_base.is_some_and(|b| b.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Opens a session for the customer of `key`, or `None` when the key is unknown.
/// Answers the new session token (for the cookie only) and the session.
pub async fn open(
    db: &Db,
    key: &str,
    lifetime_secs: u64,
) -> anyhow::Result<Option<(String, Session)>> {
    let Some(customer) = customers::find_by_key(db, key).await? else {
        return Ok(None);
    };
    let key_label = crate::storefront::review::reads::key_name(db, key)
        .await?
        .unwrap_or_else(|| customer.name.clone());
    let token = csrf::generate();
    let csrf = csrf::generate();
    let expires_at = Utc::now()
        + Duration::seconds(
            i64::try_from(lifetime_secs)
                .unwrap_or(i64::MAX / 2_000)
                .max(1),
        );
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, customer_id, key_label, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(customers::hash_key(&token))
    .bind(customer.id.as_str().to_owned())
    .bind(&key_label)
    .bind(&csrf)
    .bind(now())
    .bind(expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    .execute(&db.pool)
    .await?;
    // Expired rows of anyone are swept as sessions open, so the table stays small without a job.
    sqlx::query("DELETE FROM web_sessions WHERE expires_at < $1")
        .bind(now())
        .execute(&db.pool)
        .await?;
    Ok(Some((
        token,
        Session {
            actor: SessionActor {
                customer,
                key_label,
            },
            csrf,
            expires_at,
        },
    )))
}

/// The live session a token names, if any.
pub async fn find(db: &Db, token: &str) -> anyhow::Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT s.customer_id, s.key_label, s.csrf_token, s.expires_at, c.name \
         FROM web_sessions s JOIN customers c ON c.id = s.customer_id WHERE s.token_hash = $1",
    )
    .bind(customers::hash_key(token))
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at: String = row.try_get("expires_at")?;
    let expires_at = DateTime::parse_from_rfc3339(&expires_at)?.with_timezone(&Utc);
    if standing(expires_at, Utc::now()) == Standing::Expired {
        return Ok(None);
    }
    Ok(Some(Session {
        actor: SessionActor {
            customer: Customer {
                id: CustomerId::from_db(row.try_get("customer_id")?),
                name: row.try_get("name")?,
            },
            key_label: row.try_get("key_label")?,
        },
        csrf: row.try_get("csrf_token")?,
        expires_at,
    }))
}

/// Ends the session a token names (signing out); nothing if there is none.
pub async fn close(db: &Db, token: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
        .bind(customers::hash_key(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The request's live session; a page without one sends the browser to sign in.
impl FromRequestParts<UiState> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let Some(token) = cookie_value(&parts.headers, COOKIE_NAME) else {
            return Err(UiError::SignIn);
        };
        match find(&state.app.db, token).await {
            Ok(Some(session)) => Ok(session),
            Ok(None) => Err(UiError::SignIn),
            Err(e) => Err(UiError::Internal(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_session_is_live_until_its_expiry() {
        let t = Utc::now();
        assert_eq!(standing(t, t - Duration::seconds(1)), Standing::Live);
        assert_eq!(standing(t, t), Standing::Expired);
        assert_eq!(standing(t, t + Duration::seconds(1)), Standing::Expired);
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; cm_session=abc ; b=2"),
        );
        assert_eq!(cookie_value(&h, COOKIE_NAME), Some("abc"));
        assert_eq!(cookie_value(&h, "cm"), None);
        h.insert(COOKIE, HeaderValue::from_static("cm_session="));
        assert_eq!(cookie_value(&h, COOKIE_NAME), None);
    }

    #[test]
    fn the_cookie_is_strict_http_only_and_secure_behind_https() {
        let c = set_cookie(COOKIE_NAME, Some("t"), 60, true);
        assert_eq!(
            c,
            "cm_session=t; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        let c = set_cookie(COOKIE_NAME, None, 60, false);
        assert_eq!(
            c,
            "cm_session=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0"
        );
        let mut h = HeaderMap::new();
        assert!(!behind_https(Some("http://x"), &h));
        assert!(behind_https(Some("https://x"), &h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(behind_https(None, &h));
    }
}
