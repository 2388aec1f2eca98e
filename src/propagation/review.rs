//! Sellers' review decisions: what a seller's webhook or `list_creatives` answer says about each
//! creative, read into [`StatusUpdate`]s, and how a webhook is authenticated. Pure functions; the
//! HTTP face (`http/webhooks.rs`) and the reconciliation job (`reconcile.rs`) do the I/O.

use serde::Serialize;
use serde_json::Value;

use crate::adcp::webhook_hmac::{self, VerifyError};

/// AdCP `enums/creative-status.json`.
pub const STATUSES: &[&str] = &[
    "processing",
    "pending_review",
    "approved",
    "rejected",
    "suspended",
    "archived",
];

/// Statuses a seller has not decided yet: the scheduled reconciliation asks again about these.
pub const UNDECIDED: &[&str] = &["processing", "pending_review"];

/// Where a seller's status for a creative came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The `sync_creatives` answer.
    Sync,
    /// A webhook the seller sent (a task event or `creative.status_changed`).
    Webhook,
    /// The seller's `list_creatives`, the authoritative snapshot.
    ListCreatives,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sync => "sync",
            Source::Webhook => "webhook",
            Source::ListCreatives => "list_creatives",
        }
    }
}

/// A seller's word on one creative's review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub creative_id: String,
    pub status: String,
    /// The seller's reason or note, for a rejection (or a suspension); cleared otherwise.
    pub reason: Option<String>,
    pub platform_id: Option<String>,
    /// When the seller says the status changed (else: when we learnt it).
    pub changed_at: Option<String>,
    pub source: Source,
}

/// Seller text kept and shown to people: bounded, no control characters.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(2000)
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// One `creatives[]` item of a `sync_creatives` answer (direct or in a task event's `result`) as a
/// status. A `failed` item carries no `status` (the schema forbids it); a storefront's rejection
/// travels as its `CREATIVE_REJECTED` error, whose message is the reviewer's note.
pub fn from_sync_item(item: &Value, source: Source) -> Option<StatusUpdate> {
    let creative_id = str_of(item, "creative_id")?.to_owned();
    let rejected = item
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| {
            errors
                .iter()
                .find(|e| str_of(e, "code") == Some("CREATIVE_REJECTED"))
        });
    let (status, reason) = match (str_of(item, "status"), rejected) {
        (Some(s), _) if STATUSES.contains(&s) => (s.to_owned(), None),
        (None, Some(e)) => ("rejected".to_owned(), str_of(e, "message").map(printable)),
        _ => return None,
    };
    Some(StatusUpdate {
        creative_id,
        status,
        reason,
        platform_id: str_of(item, "platform_id").map(printable),
        changed_at: None,
        source,
    })
}

/// What a verified webhook body is.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An AdCP task event (`core/mcp-webhook-payload.json`): wakes the job waiting for the task, and
    /// carries review decisions when its result has `creatives[]`.
    Task {
        idempotency_key: String,
        task_id: Option<String>,
        updates: Vec<StatusUpdate>,
    },
    /// `creative/creative-status-changed-webhook.json`.
    StatusChanged {
        idempotency_key: String,
        update: StatusUpdate,
    },
}

impl Event {
    pub fn idempotency_key(&self) -> &str {
        match self {
            Event::Task {
                idempotency_key, ..
            }
            | Event::StatusChanged {
                idempotency_key, ..
            } => idempotency_key,
        }
    }

    pub fn updates(&self) -> Vec<StatusUpdate> {
        match self {
            Event::Task { updates, .. } => updates.clone(),
            Event::StatusChanged { update, .. } => vec![update.clone()],
        }
    }
}

/// Reads a verified webhook body. Both kinds require `idempotency_key` (AdCP: receivers dedupe on
/// it); a body without one is refused, so a replay can never be applied twice.
pub fn read_event(body: &Value) -> Result<Event, String> {
    let idempotency_key = str_of(body, "idempotency_key")
        .filter(|k| (16..=255).contains(&k.len()))
        .ok_or("the webhook has no usable idempotency_key")?
        .to_owned();
    if str_of(body, "notification_type") == Some("creative.status_changed") {
        let creative_id = str_of(body, "creative_id").ok_or("no creative_id")?;
        let transition = body.get("transition").ok_or("no transition")?;
        let to = str_of(transition, "to")
            .filter(|s| STATUSES.contains(s))
            .ok_or("transition.to is not an AdCP creative status")?;
        let reason = str_of(body, "reason_detail")
            .or_else(|| str_of(body, "reason_code"))
            .map(printable);
        return Ok(Event::StatusChanged {
            idempotency_key,
            update: StatusUpdate {
                creative_id: creative_id.to_owned(),
                status: to.to_owned(),
                reason,
                platform_id: None,
                changed_at: str_of(transition, "observed_at").map(printable),
                source: Source::Webhook,
            },
        });
    }
    let completed = str_of(body, "status") == Some("completed");
    let updates = match body
        .get("result")
        .and_then(|r| r.get("creatives"))
        .and_then(Value::as_array)
    {
        Some(items) if completed => items
            .iter()
            .filter_map(|i| from_sync_item(i, Source::Webhook))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Event::Task {
        idempotency_key,
        task_id: str_of(body, "task_id").map(str::to_owned),
        updates,
    })
}

/// How a webhook proved who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticated {
    Hmac,
    Token,
}

/// Why a webhook is refused before anything in it is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Hmac(#[from] VerifyError),
    #[error("the webhook's token does not match its registration")]
    BadToken,
    #[error("the webhook is signed, but its registration has no secret")]
    NoSecret,
    #[error("the registration asked for HMAC-SHA256, and the webhook is not signed")]
    Unsigned,
}

/// What a registration asked its seller to prove a webhook with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered<'a> {
    /// AdCP's legacy HMAC-SHA256 with this secret: only a valid signature will do.
    Hmac(&'a str),
    /// The echoed `token` only (registered before the service kept secrets).
    Token,
}

/// Authenticates a webhook from its raw bytes. Where the registration asked for HMAC-SHA256 only a
/// valid signature is accepted: the token travels in every request body the seller receives (and
/// may log), so a token-only event there is refused rather than taken as a weaker proof. A signed
/// webhook is never rescued by its token either (AdCP: never fall back from a signature to another
/// scheme). A token registration must echo the token. A valid body then must be one JSON value with
/// unique keys.
pub fn authenticate(
    registered: Registered<'_>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
    token_matches: impl FnOnce(&[u8]) -> bool,
) -> Result<Authenticated, AuthError> {
    let how = match (registered, signature) {
        (Registered::Hmac(secret), Some(_)) => {
            webhook_hmac::verify(secret, timestamp, signature, body, now)?;
            Authenticated::Hmac
        }
        (Registered::Hmac(_), None) => return Err(AuthError::Unsigned),
        (Registered::Token, Some(_)) => return Err(AuthError::NoSecret),
        (Registered::Token, None) if token_matches(body) => Authenticated::Token,
        (Registered::Token, None) => return Err(AuthError::BadToken),
    };
    webhook_hmac::check_unique_keys(body).map_err(|_| VerifyError::Malformed)?;
    Ok(how)
}

/// The status a creative has at a seller after a sync answer: the seller's word when it gave one;
/// else an updated creative the seller had rejected is back in review (a new submission), and any
/// other keeps what it had.
pub fn after_sync(
    previous: Option<&str>,
    action: Option<&str>,
    answered: Option<&str>,
) -> Option<String> {
    match (answered, previous, action) {
        (Some(s), _, _) => Some(s.to_owned()),
        (None, Some("rejected"), Some("created" | "updated")) => Some("pending_review".to_owned()),
        (None, p, _) => p.map(str::to_owned),
    }
}

/// Review counts of one creative's sellers, for the manifest summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewCounts {
    pub approved: u32,
    pub pending: u32,
    pub rejected: u32,
}

/// Per-seller backoff of the scheduled reconciliation: the interval, doubled per failure in a row,
/// at most a day.
pub fn backoff(interval: std::time::Duration, failures: u32) -> std::time::Duration {
    let factor = 1u32 << failures.min(16);
    interval
        .saturating_mul(factor)
        .min(std::time::Duration::from_secs(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_storefront_rejection_carries_its_note_and_an_approval_its_status() {
        let ok = from_sync_item(
            &json!({"creative_id": "c1", "action": "updated", "status": "approved", "platform_id": "p9"}),
            Source::Webhook,
        )
        .unwrap();
        assert_eq!(
            (ok.status.as_str(), ok.platform_id.as_deref()),
            ("approved", Some("p9"))
        );
        let no = from_sync_item(
            &json!({"creative_id": "c2", "action": "failed",
                "errors": [{"code": "CREATIVE_REJECTED", "message": "logo too small\nFAKE"}]}),
            Source::Webhook,
        )
        .unwrap();
        assert_eq!(no.status, "rejected");
        assert_eq!(no.reason.as_deref(), Some("logo too small FAKE"));
        // A failure that is not a review decision says nothing about review.
        assert_eq!(
            from_sync_item(
                &json!({"creative_id": "c3", "action": "failed", "errors": [{"code": "X", "message": "y"}]}),
                Source::Sync
            ),
            None
        );
        assert_eq!(
            from_sync_item(
                &json!({"creative_id": "c3", "action": "created", "status": "great"}),
                Source::Sync
            ),
            None
        );
    }

    #[test]
    fn events_need_a_key_and_read_by_kind() {
        assert!(read_event(&json!({"task_id": "t"})).is_err());
        let e = read_event(&json!({"idempotency_key": "k".repeat(16), "task_id": "t1", "status": "completed",
            "result": {"creatives": [{"creative_id": "c1", "action": "updated", "status": "approved"}]}}))
        .unwrap();
        assert_eq!(e.updates().len(), 1);
        // A task that is not completed carries no decision.
        let e = read_event(&json!({"idempotency_key": "k".repeat(16), "task_id": "t1", "status": "working",
            "result": {"creatives": [{"creative_id": "c1", "action": "updated", "status": "approved"}]}}))
        .unwrap();
        assert!(e.updates().is_empty());
        let e = read_event(&json!({"idempotency_key": "k".repeat(16), "notification_type": "creative.status_changed",
            "creative_id": "c1", "reason_code": "policy_violation", "reason_detail": "alcohol",
            "transition": {"from": "pending_review", "to": "rejected", "observed_at": "2026-12-01T00:00:00Z"}}))
        .unwrap();
        let u = &e.updates()[0];
        assert_eq!(
            (u.status.as_str(), u.reason.as_deref()),
            ("rejected", Some("alcohol"))
        );
    }

    #[test]
    fn a_signed_webhook_is_judged_by_its_signature_alone() {
        let secret = webhook_hmac::generate_secret();
        let hmac = Registered::Hmac(&secret);
        let body = br#"{"a":1}"#;
        let sig = webhook_hmac::sign(&secret, 1000, body);
        let ok = authenticate(hmac, Some("1000"), Some(&sig), body, 1000, |_| false);
        assert_eq!(ok, Ok(Authenticated::Hmac));
        // A good token does not rescue a bad signature.
        let bad = authenticate(hmac, Some("1000"), Some("sha256=00"), body, 1000, |_| true);
        assert_eq!(bad, Err(AuthError::Hmac(VerifyError::BadSignature)));
        let stale = authenticate(hmac, Some("1000"), Some(&sig), body, 1301, |_| true);
        assert_eq!(stale, Err(AuthError::Hmac(VerifyError::Stale)));
        assert_eq!(
            authenticate(
                Registered::Token,
                Some("1000"),
                Some(&sig),
                body,
                1000,
                |_| true
            ),
            Err(AuthError::NoSecret)
        );
        let dup = br#"{"a":1,"a":2}"#;
        let sig = webhook_hmac::sign(&secret, 1000, dup);
        assert_eq!(
            authenticate(hmac, Some("1000"), Some(&sig), dup, 1000, |_| false),
            Err(AuthError::Hmac(VerifyError::Malformed))
        );
    }

    #[test]
    fn the_token_alone_serves_only_a_registration_that_asked_for_no_signature() {
        let secret = webhook_hmac::generate_secret();
        let body = br#"{"a":1}"#;
        assert_eq!(
            authenticate(Registered::Hmac(&secret), None, None, body, 0, |_| true),
            Err(AuthError::Unsigned)
        );
        assert_eq!(
            authenticate(Registered::Token, None, None, body, 0, |_| true),
            Ok(Authenticated::Token)
        );
        assert_eq!(
            authenticate(Registered::Token, None, None, body, 0, |_| false),
            Err(AuthError::BadToken)
        );
    }

    #[test]
    fn an_updated_rejected_creative_is_back_in_review() {
        assert_eq!(
            after_sync(Some("rejected"), Some("updated"), None).as_deref(),
            Some("pending_review")
        );
        assert_eq!(
            after_sync(Some("rejected"), Some("unchanged"), None).as_deref(),
            Some("rejected")
        );
        assert_eq!(
            after_sync(Some("approved"), Some("updated"), Some("pending_review")).as_deref(),
            Some("pending_review")
        );
        assert_eq!(after_sync(None, None, None), None);
    }

    #[test]
    fn backoff_doubles_per_failure_up_to_a_day() {
        let i = std::time::Duration::from_secs(900);
        assert_eq!(backoff(i, 0), i);
        assert_eq!(backoff(i, 2), i * 4);
        assert_eq!(backoff(i, 40), std::time::Duration::from_secs(86_400));
    }
}
