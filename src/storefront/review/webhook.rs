//! The buyer's webhook for a review event, as a durable job: an AdCP task event
//! (`core/mcp-webhook-payload.json`, `task_type: "sync_creatives"`, `status: "completed"`) whose
//! `result` is a `sync_creatives` success body with the one creative's item. Authenticated the way
//! the buyer registered: `Bearer` (its credentials in `Authorization`) or `HMAC-SHA256`
//! (`X-ADCP-Signature` over `"{timestamp}.{body}"`, see `crate::adcp::webhook_hmac`).
//!
//! One `idempotency_key` per event, the same on every retry. Retried with capped backoff on
//! network errors, 5xx and 429 (never sooner than `Retry-After`); given up a day after the event;
//! every attempt's outcome is on the review row. The URL is checked again before each send and the
//! request goes through the SSRF guard: the name resolved once and the connection pinned to the
//! checked addresses, no redirects, the answer's body read no further than a few KiB.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::deliveries::{self, Push};
use super::jobs::{self, Event, WebhookJob};
use crate::adcp::webhook_hmac;
use crate::jobs::{Job, JobKind, Outcome};
use crate::outbound::public_url::{self as callback, Policy};
use crate::outbound::{read_capped, Outbound};
use crate::store::db::{from_json, now, Db};

/// How long an event is tried before it is given up.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The most of a receiver's answer that is read (and then dropped).
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The job kind.
pub struct SendWebhook {
    pub db: Db,
    /// A client whose connections pass the SSRF guard (private targets allowed only with the
    /// test-only loopback setting).
    pub outbound: Outbound,
    pub policy: Policy,
}

/// The legacy scheme the buyer registered (`push_notification_config.authentication.schemes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    HmacSha256,
    /// No `authentication` block: AdCP's default is the RFC 9421 profile, which this service does
    /// not sign with yet; the event goes with its echoed `token` only.
    None,
}

impl Scheme {
    pub fn of(config: &Value) -> Result<Scheme, String> {
        match config["authentication"]["schemes"][0].as_str() {
            None if config.get("authentication").is_none() => Ok(Scheme::None),
            Some("Bearer") => Ok(Scheme::Bearer),
            Some("HMAC-SHA256") => Ok(Scheme::HmacSha256),
            other => Err(format!(
                "authentication scheme {} is not supported (Bearer or HMAC-SHA256)",
                other.unwrap_or("(none)")
            )),
        }
    }
}

/// The event's envelope (`core/mcp-webhook-payload.json`), the same bytes on every retry.
pub fn envelope(event: &Event, idempotency_key: &str, task_id: &str, config: &Value) -> Value {
    let mut result = json!({"status": "completed", "creatives": [event.item]});
    if let Some(ctx) = &event.context {
        // The request's `context`, where the sync_creatives response carries it.
        result["context"] = ctx.clone();
    }
    let mut body = json!({
        "idempotency_key": idempotency_key,
        // Required by the schema; a buyer that registered none correlates by task_id.
        "operation_id": config["operation_id"].as_str().unwrap_or(task_id),
        "task_id": task_id,
        "task_type": "sync_creatives",
        "protocol": "creative",
        "status": "completed",
        "timestamp": event.timestamp,
        "message": event.message,
        "result": result,
    });
    if let Some(token) = config["token"].as_str() {
        body["token"] = json!(token);
    }
    body
}

/// The authentication headers of one send.
pub fn auth_headers(
    scheme: Scheme,
    credentials: Option<&str>,
    body: &[u8],
    unix_now: i64,
) -> Result<Vec<(&'static str, String)>, String> {
    match (scheme, credentials) {
        (Scheme::None, _) => Ok(vec![]),
        (Scheme::Bearer, Some(c)) => Ok(vec![("authorization", format!("Bearer {c}"))]),
        (Scheme::HmacSha256, Some(c)) => Ok(vec![
            (webhook_hmac::TIMESTAMP_HEADER, unix_now.to_string()),
            (
                webhook_hmac::SIGNATURE_HEADER,
                webhook_hmac::sign(c, unix_now, body),
            ),
        ]),
        (_, None) => Err("the registration has no credentials for its scheme".into()),
    }
}

/// How one send went.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// Worth another try: network trouble, 5xx, 429.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Not worth another try: the receiver refused it (other 4xx, a redirect), or the URL is not
    /// allowed.
    Refused(String),
}

/// What an HTTP status means for the event.
pub fn judge(status: u16, retry_after: Option<Duration>) -> Sent {
    match status {
        200..=299 => Sent::Delivered,
        429 | 500..=599 => Sent::Retry {
            error: format!("the receiver answered HTTP {status}"),
            retry_after,
        },
        300..=399 => Sent::Refused(format!(
            "the receiver answered HTTP {status}: redirects are not followed"
        )),
        _ => Sent::Refused(format!("the receiver answered HTTP {status}")),
    }
}

impl JobKind for SendWebhook {
    const NAME: &'static str = jobs::SEND_WEBHOOK;
    type Payload = WebhookJob;

    fn run<'a>(&'a self, job: &'a Job, _worker: &'a str, p: WebhookJob) -> BoxFuture<'a, Outcome> {
        async move {
            match self.attempt(job, &p).await {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Retry {
                    error: format!("{e:#}"),
                    retry_after: None,
                },
            }
        }
        .boxed()
    }
}

impl SendWebhook {
    async fn attempt(&self, job: &Job, p: &WebhookJob) -> anyhow::Result<Outcome> {
        let Some(w) = deliveries::webhook(&self.db, &p.webhook_id).await? else {
            return Ok(Outcome::Done);
        };
        if w.status == "delivered" {
            return Ok(Outcome::Done);
        }
        let created = chrono::DateTime::parse_from_rfc3339(&w.created_at)?;
        let age = (chrono::Utc::now() - created.with_timezone(&chrono::Utc))
            .to_std()
            .unwrap_or_default();
        if age > GIVE_UP_AFTER {
            let error = format!(
                "given up a day after the event; last error: {}",
                w.last_error.as_deref().unwrap_or("none")
            );
            deliveries::record_webhook(
                &self.db,
                &w.id,
                "failed",
                job.attempts - 1,
                Some(&error),
                None,
            )
            .await?;
            return Ok(Outcome::failed(error));
        }
        let sent = match deliveries::push_config(&self.db, &w.account_id, &w.push_key).await? {
            None => Sent::Refused("the sync's push config is gone".into()),
            Some(push) => {
                let event: Event = from_json(&w.body)?;
                let body = serde_json::to_vec(&envelope(
                    &event,
                    &w.idempotency_key,
                    &w.review_id,
                    &push.config,
                ))?;
                self.send(&push, &body).await
            }
        };
        crate::metrics::webhook(
            "sent",
            match &sent {
                Sent::Delivered => "delivered",
                Sent::Retry { .. } => "retry",
                Sent::Refused(_) => "refused",
            },
        );
        let attempts = job.attempts;
        Ok(match sent {
            Sent::Delivered => {
                deliveries::record_webhook(
                    &self.db,
                    &w.id,
                    "delivered",
                    attempts,
                    None,
                    Some(&now()),
                )
                .await?;
                Outcome::Done
            }
            Sent::Retry { error, retry_after } => {
                deliveries::record_webhook(
                    &self.db,
                    &w.id,
                    "retrying",
                    attempts,
                    Some(&error),
                    None,
                )
                .await?;
                Outcome::Retry { error, retry_after }
            }
            Sent::Refused(error) => {
                deliveries::record_webhook(&self.db, &w.id, "failed", attempts, Some(&error), None)
                    .await?;
                Outcome::failed(error)
            }
        })
    }

    async fn send(&self, push: &Push, body: &[u8]) -> Sent {
        // Checked again: the rules may have tightened since the sync, and this is the last gate.
        if let Err(why) = callback::check(&push.url, self.policy) {
            return Sent::Refused(why);
        }
        let url = match self.outbound.check(&push.url).await {
            Ok(u) => u,
            Err(e) => return Sent::Refused(e.to_string()),
        };
        let scheme = match Scheme::of(&push.config) {
            Ok(s) => s,
            Err(e) => return Sent::Refused(e),
        };
        let headers = match auth_headers(
            scheme,
            push.credentials.as_deref(),
            body,
            chrono::Utc::now().timestamp(),
        ) {
            Ok(h) => h,
            Err(e) => return Sent::Refused(e),
        };
        let mut req = self
            .outbound
            .client()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            req = req.header(name, value);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let retry_after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| crate::adcp::mcp::retry_after(v, chrono::Utc::now()));
                // Read (bounded) so the connection can be reused; the content is not used.
                let _ = read_capped(res, MAX_ANSWER_BYTES).await;
                judge(status, retry_after)
            }
            Err(e) => Sent::Retry {
                // Without the URL: it may carry the buyer's routing secrets in its query.
                error: format!("the receiver could not be reached: {}", e.without_url()),
                retry_after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            item: json!({"creative_id": "c1", "action": "updated", "status": "approved"}),
            message: "creative c1 was approved".into(),
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            context: Some(json!({"trace": 7})),
        }
    }

    #[test]
    fn the_envelope_echoes_operation_id_token_and_context() {
        let config =
            json!({"url": "https://h.example", "operation_id": "op-1", "token": "t".repeat(20)});
        let body = envelope(&event(), "whk_0123456789abcdef", "rev_1", &config);
        assert_eq!(body["operation_id"], "op-1");
        assert_eq!(body["token"], "t".repeat(20));
        assert_eq!(body["task_type"], "sync_creatives");
        assert_eq!(body["status"], "completed");
        assert_eq!(body["result"]["context"], json!({"trace": 7}));
        assert_eq!(body["result"]["creatives"][0]["status"], "approved");
        let bare = envelope(&event(), "whk_0123456789abcdef", "rev_1", &json!({}));
        assert_eq!(bare["operation_id"], "rev_1");
        assert!(bare.get("token").is_none());
    }

    #[test]
    fn schemes_sign_or_carry_the_credentials() {
        let body = br#"{"a":1}"#;
        let h = auth_headers(Scheme::Bearer, Some("secret-token"), body, 1).unwrap();
        assert_eq!(h, vec![("authorization", "Bearer secret-token".to_owned())]);
        let secret = "0123456789abcdef0123456789abcdef";
        let h = auth_headers(Scheme::HmacSha256, Some(secret), body, 1_700_000_000).unwrap();
        assert_eq!(h[0], ("x-adcp-timestamp", "1700000000".to_owned()));
        assert!(
            webhook_hmac::verify(secret, Some(&h[0].1), Some(&h[1].1), body, 1_700_000_010).is_ok()
        );
        assert!(auth_headers(Scheme::Bearer, None, body, 1).is_err());
        assert_eq!(
            Scheme::of(&json!({"authentication": {"schemes": ["HMAC-SHA256"]}})),
            Ok(Scheme::HmacSha256)
        );
        assert_eq!(Scheme::of(&json!({})), Ok(Scheme::None));
        assert!(Scheme::of(&json!({"authentication": {"schemes": ["Basic"]}})).is_err());
    }

    #[test]
    fn only_network_trouble_5xx_and_429_are_retried() {
        assert_eq!(judge(204, None), Sent::Delivered);
        assert!(
            matches!(judge(503, Some(Duration::from_secs(3))), Sent::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(3))
        );
        assert!(matches!(judge(429, None), Sent::Retry { .. }));
        assert!(matches!(judge(302, None), Sent::Refused(_)));
        assert!(matches!(judge(401, None), Sent::Refused(_)));
    }
}
