//! AdCP idempotency for mutating tools: the request hash and what a key's stored state means for a
//! new request. Pure; the store keeps the rows (see `library_store`).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Fields that do not change what a request asks for: they are left out of its hash (AdCP
/// idempotency rules), so a retry with a fresh trace context or rotated webhook credentials is
/// still the same request.
const NOT_HASHED: &[&str] = &["idempotency_key", "context", "governance_context"];

/// SHA-256 (hex) of the RFC 8785 canonical JSON of `request` without the fields above and without
/// the push-notification credentials (both spellings).
pub fn request_hash(request: &Value) -> String {
    let mut v = request.clone();
    if let Some(m) = v.as_object_mut() {
        for f in NOT_HASHED {
            m.remove(*f);
        }
        for cfg in ["push_notification_config", "pushNotificationConfig"] {
            if let Some(auth) = m
                .get_mut(cfg)
                .and_then(|c| c.get_mut("authentication"))
                .and_then(Value::as_object_mut)
            {
                auth.remove("credentials");
            }
        }
    }
    // A Value always serialises; the fallback keeps this total.
    let canonical = serde_jcs::to_string(&v).unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// A key as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    InFlight {
        request_hash: String,
    },
    Done {
        request_hash: String,
        response: String,
    },
}

/// What to do with a request whose key is already stored.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Same request, answered before: send that answer again, byte for byte.
    Replay(String),
    /// Same key, different request.
    Conflict,
    /// Same request, the first one is still running.
    InFlight,
}

pub fn decide(stored: &Stored, request_hash: &str) -> Decision {
    match stored {
        Stored::InFlight { request_hash: h } if h == request_hash => Decision::InFlight,
        Stored::Done {
            request_hash: h,
            response,
        } if h == request_hash => Decision::Replay(response.clone()),
        _ => Decision::Conflict,
    }
}

/// AdCP's key syntax (`^[A-Za-z0-9_.:-]{16,255}$`).
pub fn valid_key(key: &str) -> bool {
    (16..=255).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_key_context_order_and_credentials() {
        let a = json!({"idempotency_key": "k1k1k1k1k1k1k1k1", "context": {"t": 1}, "creatives": [{"b": 1, "a": 2}],
                       "push_notification_config": {"url": "https://x.example/h", "authentication": {"schemes": ["Bearer"], "credentials": "s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1"}}});
        let b = json!({"creatives": [{"a": 2, "b": 1}], "idempotency_key": "k2k2k2k2k2k2k2k2", "context": {"t": 2},
                       "push_notification_config": {"authentication": {"credentials": "other-secret-other-secret-000000", "schemes": ["Bearer"]}, "url": "https://x.example/h"}});
        assert_eq!(request_hash(&a), request_hash(&b));
        let c = json!({"creatives": [{"a": 2, "b": 2}]});
        assert_ne!(request_hash(&a), request_hash(&c));
        // RFC 8785 number form: 1.0 and 1 are the same number.
        assert_eq!(
            request_hash(&json!({"w": 1.0})),
            request_hash(&json!({"w": 1}))
        );
    }

    #[test]
    fn decisions() {
        let done = Stored::Done {
            request_hash: "h".into(),
            response: "{\"x\":1}".into(),
        };
        assert_eq!(decide(&done, "h"), Decision::Replay("{\"x\":1}".into()));
        assert_eq!(decide(&done, "g"), Decision::Conflict);
        let running = Stored::InFlight {
            request_hash: "h".into(),
        };
        assert_eq!(decide(&running, "h"), Decision::InFlight);
        assert_eq!(decide(&running, "g"), Decision::Conflict);
    }

    #[test]
    fn key_syntax() {
        assert!(valid_key("abcdefgh-1234:5678"));
        assert!(!valid_key("short"));
        assert!(!valid_key("has space in the key here"));
    }
}
