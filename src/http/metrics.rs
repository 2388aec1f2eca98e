//! `GET /metrics` (Prometheus text format) and the layer that counts every request by route.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Counts and times each request under its route template; requests no route matched share one
/// label, so probing random paths cannot add series.
pub async fn record(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let response = next.run(req).await;
    crate::metrics::request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        start.elapsed(),
    );
    response
}

/// Whether the request carries the configured token (compared as digests, so the time taken says
/// nothing about how much of it matched).
fn authorized(expected: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let token = state.config.metrics_token.as_ref().map(|t| t.expose());
    if !authorized(token, &headers) {
        return Err(ApiError::Unauthorized);
    }
    queue_gauges(&state).await?;
    let mut res = crate::metrics::render().into_response();
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

/// Pairs set on an earlier scrape: set to 0 when their jobs are gone, rather than repeating a
/// count that is no longer true.
static SEEN: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);

/// The queue as the database has it now: jobs by kind and status, and how long the oldest due job
/// has waited. Kinds are the registry's names and statuses a closed set: bounded labels.
async fn queue_gauges(state: &AppState) -> ApiResult<()> {
    let rows = sqlx::query("SELECT kind, status, COUNT(*) AS n FROM jobs GROUP BY kind, status")
        .fetch_all(&state.db.pool)
        .await?;
    let mut now = HashSet::new();
    for r in &rows {
        let (kind, status): (String, String) = (r.try_get("kind")?, r.try_get("status")?);
        crate::metrics::jobs_in_queue(&kind, &status, r.try_get::<i64, _>("n")?);
        now.insert((kind, status));
    }
    let oldest = sqlx::query(
        "SELECT kind, MIN(next_attempt_at) AS due FROM jobs WHERE status = 'pending' \
         AND next_attempt_at <= $1 GROUP BY kind",
    )
    .bind(crate::store::db::now())
    .fetch_all(&state.db.pool)
    .await?;
    let at = chrono::Utc::now();
    for r in &oldest {
        let kind: String = r.try_get("kind")?;
        let due: Option<String> = r.try_get("due")?;
        let waited = due
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
            .map(|d| {
                (at - d.with_timezone(&chrono::Utc))
                    .num_milliseconds()
                    .max(0) as f64
                    / 1e3
            })
            .unwrap_or(0.0);
        crate::metrics::job_oldest_due(&kind, waited);
    }
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    for (kind, status) in seen.get_or_insert_with(HashSet::new).difference(&now) {
        crate::metrics::jobs_in_queue(kind, status, 0);
    }
    seen.get_or_insert_with(HashSet::new).extend(now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_required_only_when_set() {
        let mut h = HeaderMap::new();
        assert!(authorized(None, &h));
        assert!(!authorized(Some("s3cret"), &h));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cre"));
        assert!(!authorized(Some("s3cret"), &h));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(authorized(Some("s3cret"), &h));
    }
}
