//! The UI acts only through the JSON API: every read and every action is a request to the same
//! routes, handlers and rules, made in-process as the session's customer (no rule lives twice).
//! `/ui/api/...` lets the page's own scripts (upload progress, live refresh) do the same from the
//! browser, with the session cookie and the CSRF header instead of a key.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

use super::page::{ApiFailure, UiError, UiResult};
use super::session::{self, Session};
use super::{csrf, UiState};
use crate::http::auth::SessionActor;

/// The API routes, with their state, to call in-process.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// Largest API answer a page reads (reports and lists are far smaller).
const ANSWER_LIMIT: usize = 32 * 1024 * 1024;

impl Api {
    pub fn new(router: Router) -> Api {
        Api { router }
    }

    /// Sends `req` to the API as the session's customer.
    pub async fn send(&self, actor: &SessionActor, mut req: Request) -> Response {
        req.extensions_mut().insert(actor.clone());
        match self.router.clone().oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    }

    /// A JSON call; the answer's JSON, or the API's refusal.
    pub async fn call(
        &self,
        actor: &SessionActor,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, UiError> {
        let mut builder = Request::builder().method(method).uri(path);
        let body = match body {
            Some(v) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(v).map_err(anyhow::Error::new)?)
            }
            None => Body::empty(),
        };
        let req = builder.body(body).map_err(anyhow::Error::new)?;
        let res = self.send(actor, req).await;
        if !res.status().is_success() {
            return Err(UiError::Api(refusal(res).await?));
        }
        let bytes = read(res).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes).map_err(anyhow::Error::new)?)
    }

    pub async fn get(&self, actor: &SessionActor, path: &str) -> Result<Value, UiError> {
        self.call(actor, Method::GET, path, None).await
    }

    /// A form's call: the answer, or the API's refusal for the form's page to show (`page::after`);
    /// only the UI's own failures are errors.
    pub async fn submit(
        &self,
        actor: &SessionActor,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Result<Value, ApiFailure>, UiError> {
        match self.call(actor, method, path, body).await {
            Ok(v) => Ok(Ok(v)),
            Err(UiError::Api(f)) => Ok(Err(f)),
            Err(e) => Err(e),
        }
    }
}

async fn read(res: Response) -> Result<axum::body::Bytes, UiError> {
    Ok(axum::body::to_bytes(res.into_body(), ANSWER_LIMIT)
        .await
        .map_err(|e| anyhow::anyhow!("reading an API answer: {e}"))?)
}

/// An unsuccessful API answer as the failure it names.
pub async fn refusal(res: Response) -> Result<ApiFailure, UiError> {
    let status = res.status();
    Ok(failure(status, &read(res).await?))
}

/// Pure: the API's error body as a failure (an unreadable one keeps the status).
fn failure(status: StatusCode, body: &[u8]) -> ApiFailure {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = &v["error"];
    ApiFailure {
        status,
        code: e["code"].as_str().unwrap_or("ERROR").to_owned(),
        message: e["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| status.to_string()),
        field: e["field"].as_str().map(str::to_owned),
    }
}

/// `/ui/api/{*rest}` → `/api/v2/{rest}` as the session's customer. State-changing methods need
/// the CSRF header; without a session the answer is the API's own 401.
pub async fn proxy(
    State(state): State<UiState>,
    Path(rest): Path<String>,
    req: Request,
) -> UiResult {
    let Some(token) = session::cookie_value(req.headers(), session::COOKIE_NAME) else {
        return Ok(crate::error::ApiError::Unauthorized.into_response());
    };
    let Some(session) = session::find(&state.app.db, token).await? else {
        return Ok(crate::error::ApiError::Unauthorized.into_response());
    };
    if !is_safe(req.method()) && !header_token_ok(&session, &req) {
        return Ok((
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": {"code": "CSRF_REFUSED",
                "message": "missing or wrong X-CSRF-Token for this session"}})),
        )
            .into_response());
    }
    let (mut parts, body) = req.into_parts();
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    parts.uri = format!("/api/v2/{rest}{query}")
        .parse()
        .map_err(|_| UiError::Api(not_found()))?;
    // The cookie is the UI's, not the API's business.
    parts.headers.remove(header::COOKIE);
    Ok(state
        .api
        .send(&session.actor, Request::from_parts(parts, body))
        .await)
}

fn not_found() -> ApiFailure {
    ApiFailure {
        status: StatusCode::NOT_FOUND,
        code: "NOT_FOUND".into(),
        message: "route not found".into(),
        field: None,
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn header_token_ok(session: &Session, req: &Request) -> bool {
    let sent = req
        .headers()
        .get(csrf::HEADER)
        .and_then(|v| v.to_str().ok());
    csrf::matches(&session.csrf, sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_body_becomes_a_failure() {
        let f = failure(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"code":"VALIDATION_ERROR","message":"bad","field":"name"}}"#,
        );
        assert_eq!(
            (f.code.as_str(), f.message.as_str(), f.field.as_deref()),
            ("VALIDATION_ERROR", "bad", Some("name"))
        );
        let f = failure(StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(f.code, "ERROR");
    }
}
