//! The storefront's creative review queue (issue 11): in `manual` mode every new or changed
//! creative waits for the seller's operator, who approves or rejects it; an approved one can later
//! be revoked. Approved creatives are forwarded to the underlying sales agent ([`forward`]); every
//! decision is told to the buyer by a signed webhook when its sync asked for one ([`webhook`]).
//!
//! This file holds the pure rules: the state machine, what a re-sync of a decided creative
//! answers, and the `creatives[]` items the buyer is told. SQL is in [`store`].

pub mod deliveries;
pub mod forward;
pub mod jobs;
pub mod reads;
pub mod store;
pub mod webhook;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The callback URL policy of this service: public HTTPS, or loopback too under the test-only
/// setting.
pub fn callback_policy(config: &crate::config::Config) -> crate::outbound::public_url::Policy {
    crate::outbound::public_url::Policy {
        allow_loopback: config.storefront_webhook_allow_loopback,
        // Never opened by OUTBOUND_ALLOW_PRIVATE: that setting is for the operator's sellers.
        allow_private: false,
    }
}

/// The client buyer webhooks go out with: its own SSRF guard, which allows non-public targets
/// only under the test-only loopback setting (the sellers' client may be opened to a lab's private
/// network by OUTBOUND_ALLOW_PRIVATE; buyers' URLs never are).
pub fn webhook_outbound(state: &crate::state::AppState) -> crate::outbound::Outbound {
    let c = &state.config;
    crate::outbound::Outbound::new(
        c.storefront_webhook_allow_loopback,
        std::time::Duration::from_secs(c.outbound_timeout_secs.max(1)),
        c.outbound_proxy.as_ref().map(|p| p.expose()),
    )
    // The same settings built the service's own client at start-up, so this cannot fail here;
    // falling back to that client would lend buyers' URLs its private-network allowance.
    .expect("the outbound settings were checked at start-up")
}

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
    Revoked,
}

impl ReviewStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Revoked => "revoked",
        }
    }

    /// A stored value; an unknown one is an error that surfaces, never a default.
    pub fn from_db(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(ReviewStatus::Pending),
            "approved" => Ok(ReviewStatus::Approved),
            "rejected" => Ok(ReviewStatus::Rejected),
            "revoked" => Ok(ReviewStatus::Revoked),
            other => Err(format!("unknown stored review status '{other}'")),
        }
    }

    /// The creative's status in the buyer's library (`enums/creative-status.json`).
    pub fn library_status(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending_review",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Revoked => "archived",
        }
    }
}

/// What an operator asks of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gesture {
    Approve,
    Reject,
    Revoke,
}

/// Why a gesture is refused: the row's current status, named in the 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub current: ReviewStatus,
}

impl Refused {
    pub fn message(&self, gesture: Gesture) -> String {
        let what = match gesture {
            Gesture::Approve | Gesture::Reject => "only a pending creative can be decided",
            Gesture::Revoke => "only an approved creative can be revoked",
        };
        format!("{what}; this one is {}", self.current.as_db())
    }
}

/// The state machine: pending → approved | rejected; approved → revoked; nothing else.
pub fn transition(current: ReviewStatus, gesture: Gesture) -> Result<ReviewStatus, Refused> {
    match (current, gesture) {
        (ReviewStatus::Pending, Gesture::Approve) => Ok(ReviewStatus::Approved),
        (ReviewStatus::Pending, Gesture::Reject) => Ok(ReviewStatus::Rejected),
        (ReviewStatus::Approved, Gesture::Revoke) => Ok(ReviewStatus::Revoked),
        (current, _) => Err(Refused { current }),
    }
}

/// The status a gesture needs the row to be in (the `WHERE status = …` of its UPDATE).
pub fn required_status(gesture: Gesture) -> ReviewStatus {
    match gesture {
        Gesture::Approve | Gesture::Reject => ReviewStatus::Pending,
        Gesture::Revoke => ReviewStatus::Approved,
    }
}

/// Reviewer notes: plain text, at most this many characters.
pub const MAX_NOTE: usize = 2000;

/// A note as stored: trimmed, empty as none, at most [`MAX_NOTE`] characters, no control
/// characters but line breaks and tabs (it is shown to people and travels in webhooks).
pub fn check_note(note: Option<&str>) -> Result<Option<String>, String> {
    let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if note.chars().count() > MAX_NOTE {
        return Err(format!("note is at most {MAX_NOTE} characters"));
    }
    if note
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err("note must be plain text (no control characters)".into());
    }
    Ok(Some(note.to_owned()))
}

/// What the buyer reads when the reviewer gave no note.
pub const DEFAULT_REJECTION: &str = "the seller's review rejected this creative";

/// The `creatives[]` item (of a `sync_creatives` success body) that tells the buyer where a
/// decided creative stands. A failed item carries no `status`: the schema forbids it, so a
/// rejection travels as a `CREATIVE_REJECTED` error whose message is the note.
pub fn decision_item(creative_id: &str, status: ReviewStatus, note: Option<&str>) -> Value {
    match status {
        ReviewStatus::Rejected => rejected_item(creative_id, note.unwrap_or(DEFAULT_REJECTION)),
        other => {
            json!({"creative_id": creative_id, "action": "updated", "status": other.library_status()})
        }
    }
}

/// A `failed` item saying the creative was rejected (by the reviewer or by the sales agent).
pub fn rejected_item(creative_id: &str, message: &str) -> Value {
    json!({"creative_id": creative_id, "action": "failed",
           "errors": [{"code": "CREATIVE_REJECTED", "message": message}]})
}

/// What a re-sync of an unchanged creative answers in manual mode: the current decision (approved
/// → `updated` + `approved`; rejected → `failed` with the note), else `None` (the plain
/// `unchanged` item stands: pending, or archived which the plan treats as a new submission).
pub fn resync_item(creative_id: &str, library_status: &str, note: Option<&str>) -> Option<Value> {
    match library_status {
        "approved" => Some(decision_item(creative_id, ReviewStatus::Approved, None)),
        "rejected" => Some(decision_item(creative_id, ReviewStatus::Rejected, note)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewStatus::*;

    #[test]
    fn only_pending_is_decided_and_only_approved_is_revoked() {
        assert_eq!(transition(Pending, Gesture::Approve), Ok(Approved));
        assert_eq!(transition(Pending, Gesture::Reject), Ok(Rejected));
        assert_eq!(transition(Approved, Gesture::Revoke), Ok(Revoked));
        for (from, g) in [
            (Approved, Gesture::Approve),
            (Approved, Gesture::Reject),
            (Rejected, Gesture::Approve),
            (Rejected, Gesture::Revoke),
            (Revoked, Gesture::Approve),
            (Revoked, Gesture::Revoke),
            (Pending, Gesture::Revoke),
        ] {
            let refused = transition(from, g).unwrap_err();
            assert_eq!(refused.current, from);
            assert!(refused.message(g).contains(from.as_db()));
        }
        for g in [Gesture::Approve, Gesture::Reject, Gesture::Revoke] {
            assert!(transition(required_status(g), g).is_ok());
        }
    }

    #[test]
    fn statuses_round_trip_and_unknown_is_an_error() {
        for s in [Pending, Approved, Rejected, Revoked] {
            assert_eq!(ReviewStatus::from_db(s.as_db()), Ok(s));
        }
        assert!(ReviewStatus::from_db("maybe").is_err());
        assert_eq!(Revoked.library_status(), "archived");
    }

    #[test]
    fn notes_are_bounded_plain_text() {
        assert_eq!(check_note(None), Ok(None));
        assert_eq!(check_note(Some("  ")), Ok(None));
        assert_eq!(
            check_note(Some(" logo too small \n")),
            Ok(Some("logo too small".into()))
        );
        assert!(check_note(Some(&"x".repeat(2000))).is_ok());
        assert!(check_note(Some(&"x".repeat(2001))).is_err());
        assert!(check_note(Some("bell\u{7}")).is_err());
    }

    #[test]
    fn a_rejection_is_a_failed_item_with_the_note_and_no_status() {
        let item = decision_item("c1", Rejected, Some("logo too small"));
        assert_eq!(item["action"], "failed");
        assert!(item.get("status").is_none());
        assert_eq!(item["errors"][0]["code"], "CREATIVE_REJECTED");
        assert_eq!(item["errors"][0]["message"], "logo too small");
        assert_eq!(
            decision_item("c1", Rejected, None)["errors"][0]["message"],
            DEFAULT_REJECTION
        );
        let ok = decision_item("c1", Approved, None);
        assert_eq!(
            (ok["action"].as_str(), ok["status"].as_str()),
            (Some("updated"), Some("approved"))
        );
        assert_eq!(decision_item("c1", Revoked, None)["status"], "archived");
    }

    #[test]
    fn a_resync_answers_the_current_decision() {
        assert_eq!(
            resync_item("c", "approved", None).unwrap()["status"],
            "approved"
        );
        let r = resync_item("c", "rejected", Some("no")).unwrap();
        assert_eq!(r["errors"][0]["message"], "no");
        assert!(resync_item("c", "pending_review", None).is_none());
    }
}
