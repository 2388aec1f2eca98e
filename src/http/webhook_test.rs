//! `POST .../creatives/:id/webhooks/:assetId/test`: one call to a webhook asset's endpoint, as a
//! seller would make it (signed or keyed, sample macro values), so the buyer sees it works before a
//! seller does. Through the outbound guard, the asset's own time-out over the whole exchange, the
//! answer's body capped. The report is the answer whatever the endpoint did; only our own failures
//! (no such asset, a secret that does not open) are errors.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;

use super::creatives::load_manifest;
use super::views::{WebhookTest, WebhookTestSecurity};
use super::{CurrentCustomer, Id};
use crate::adcp::webhook_hmac;
use crate::error::{ApiError, ApiResult};
use crate::ids::{AssetId, CampaignId, CreativeId};
use crate::manifest::webhook::{HttpMethod, SecurityMethod, Webhook, WebhookSecret};
use crate::manifest::webhook_call::{matches_response_type, test_request};
use crate::outbound::{read_capped, BodyError, OutboundError};
use crate::state::AppState;

/// The most of an answer the test reads: a render-time fragment is far smaller.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/campaigns/{campaign_id}/creatives/{creative_id}/webhooks/{asset_id}/test",
        post(test),
    )
}

/// How the call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = WebhookTestOutcome, rename_all = "snake_case")]
pub(super) enum Outcome {
    /// A 2xx answer of the promised type.
    Ok,
    /// A 2xx answer of another content type than `response_type`.
    WrongType,
    /// The endpoint answered, not with a 2xx.
    HttpError,
    /// No complete answer within `timeout_ms`.
    Timeout,
    /// An answer larger than the cap.
    TooLarge,
    /// The guard refused the target (not public).
    Blocked,
    /// No connection (DNS, refused, TLS).
    Unreachable,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::WrongType => "wrong_type",
            Outcome::HttpError => "http_error",
            Outcome::Timeout => "timeout",
            Outcome::TooLarge => "too_large",
            Outcome::Blocked => "blocked",
            Outcome::Unreachable => "unreachable",
        }
    }
}

#[derive(Serialize, Default)]
struct Answer {
    status: Option<u16>,
    content_type: Option<String>,
    body_bytes: Option<usize>,
    error: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "webhook_test_test",
    path = "/api/v2/buyer/campaigns/{campaign_id}/creatives/{creative_id}/webhooks/{asset_id}/test",
    tag = "creatives",
    summary = "Call a webhook asset's endpoint once",
    params(("campaign_id" = String, Path, description = "campaign id"), ("creative_id" = String, Path, description = "creative id"), ("asset_id" = String, Path, description = "asset id")),
    responses((status = 200, description = "Call a webhook asset's endpoint once", body = super::views::WebhookTest), super::responses::Always, super::responses::NotFound),
    security(("bearer" = []))
)]
pub(super) async fn test(
    State(state): State<AppState>,
    customer: CurrentCustomer,
    Id(campaign_id): Id<CampaignId>,
    Id(creative_id): Id<CreativeId>,
    Id(asset_id): Id<AssetId>,
) -> ApiResult<Json<WebhookTest>> {
    let (_, manifest) = load_manifest(&state, &customer, &campaign_id, &creative_id).await?;
    let webhook = manifest
        .assets
        .iter()
        .find(|a| a.asset_id == asset_id)
        .and_then(|a| a.webhook())
        .ok_or(ApiError::NotFound("webhook asset"))?;
    let secret = match &webhook.secret {
        Some(WebhookSecret::Sealed(s)) => Some(state.db.open(s)?),
        Some(WebhookSecret::Plain(p)) => Some(p.clone()),
        None => None,
    };
    let started = Instant::now();
    let limit = Duration::from_millis(u64::from(webhook.timeout_ms));
    let (outcome, answer) = match tokio::time::timeout(
        limit,
        call(
            &state,
            webhook,
            secret.as_deref(),
            manifest.creative_id.as_str(),
        ),
    )
    .await
    {
        Ok(done) => done,
        Err(_) => (
            Outcome::Timeout,
            Answer {
                error: Some(format!(
                    "no complete answer within {} ms",
                    webhook.timeout_ms
                )),
                ..Answer::default()
            },
        ),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    Ok(Json(WebhookTest {
        asset_id: asset_id.as_str().to_owned(),
        body_bytes: answer.body_bytes,
        matches_response_type: answer.content_type.is_some()
            && matches_response_type(webhook.response_type, answer.content_type.as_deref()),
        content_type: answer.content_type,
        error: answer.error,
        latency_ms,
        method: webhook.method,
        ok: outcome == Outcome::Ok,
        outcome: outcome.as_str(),
        response_type: webhook.response_type,
        security: WebhookTestSecurity {
            header: webhook.auth_header().map(str::to_owned),
            method: webhook.security.method,
        },
        status: answer.status,
        timeout_ms: webhook.timeout_ms,
        url: webhook.url.clone(),
    }))
}

/// Sends the request and reads the answer (the caller bounds the time).
async fn call(
    state: &AppState,
    w: &Webhook,
    secret: Option<&str>,
    creative_id: &str,
) -> (Outcome, Answer) {
    let failed = |outcome, e: String| {
        (
            outcome,
            Answer {
                error: Some(e),
                ..Answer::default()
            },
        )
    };
    let url = match state.outbound.check(&w.url).await {
        Ok(u) => u,
        Err(OutboundError::Blocked(e)) => return failed(Outcome::Blocked, e),
        Err(e @ OutboundError::InvalidUrl(_)) => {
            return failed(Outcome::Unreachable, e.to_string())
        }
    };
    let req = test_request(w, creative_id);
    let client = state.outbound.client();
    let mut builder = match w.method {
        HttpMethod::Post => client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json"),
        HttpMethod::Get => client.get(url).query(&req.query),
    };
    // hmac_sha256 as AdCP's webhook scheme signs (the schema names only the header): HMAC-SHA256
    // keyed with the secret over "{unix seconds}.{raw body}", the timestamp in X-ADCP-Timestamp and
    // `sha256=<hex>` in the asset's hmac_header (X-ADCP-Signature unless it names another). A GET
    // has an empty body: the signature then covers "{timestamp}." alone.
    match (w.security.method, secret, w.auth_header()) {
        (SecurityMethod::HmacSha256, Some(secret), Some(header)) => {
            let ts = chrono::Utc::now().timestamp();
            builder = builder
                .header(webhook_hmac::TIMESTAMP_HEADER, ts.to_string())
                .header(header, webhook_hmac::sign(secret, ts, &req.body));
        }
        (SecurityMethod::ApiKey, Some(key), Some(header)) => {
            builder = builder.header(header, key);
        }
        _ => {}
    }
    if w.method == HttpMethod::Post {
        builder = builder.body(req.body);
    }
    let res = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            let outcome = if e.is_timeout() {
                Outcome::Timeout
            } else if e.to_string().contains("public address")
                || error_chain(&e).contains("public address")
            {
                Outcome::Blocked
            } else {
                Outcome::Unreachable
            };
            return failed(outcome, error_chain(&e));
        }
    };
    let status = res.status();
    let content_type = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut answer = Answer {
        status: Some(status.as_u16()),
        content_type,
        ..Answer::default()
    };
    match read_capped(res, MAX_ANSWER_BYTES).await {
        Ok(body) => answer.body_bytes = Some(body.len()),
        Err(BodyError::TooLarge(max)) => {
            answer.error = Some(format!("the answer is larger than {max} bytes"));
            return (Outcome::TooLarge, answer);
        }
        Err(BodyError::Read(e)) => {
            answer.error = Some(error_chain(&e));
            return (Outcome::Unreachable, answer);
        }
    }
    let outcome = if !status.is_success() {
        Outcome::HttpError
    } else if matches_response_type(w.response_type, answer.content_type.as_deref()) {
        Outcome::Ok
    } else {
        Outcome::WrongType
    };
    (outcome, answer)
}

/// An error with its causes: reqwest's own message hides the resolver's refusal.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
