//! AdCP's legacy webhook authentication, `HMAC-SHA256` (`enums/webhook-security-method.json`,
//! `push_notification_config.authentication.schemes: ["HMAC-SHA256"]`): the sender signs
//! `"{X-ADCP-Timestamp}.{raw body}"` with the registration's `credentials` string as the key and
//! sends `X-ADCP-Signature: sha256=<lowercase hex>`. One module for both directions: the storefront
//! signs the events it sends buyers, the buyer face verifies the events sellers send it.
//!
//! Pure functions (no clock, no I/O): the caller passes `now`, so the window is testable. Checked
//! against AdCP's published vectors (`testdata/webhook-hmac-sha256.json`, copied from the AdCP
//! repository's `static/test-vectors/`, version 1).

use std::collections::HashSet;
use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-adcp-signature";
pub const TIMESTAMP_HEADER: &str = "x-adcp-timestamp";
/// How far a timestamp may be from the receiver's clock, either way (AdCP: 5 minutes).
pub const WINDOW_SECONDS: i64 = 300;
/// AdCP: a secret MUST carry at least 256 bits; shorter ones are refused at configuration time.
pub const MIN_SECRET_BYTES: usize = 32;

const PREFIX: &str = "sha256=";

/// Why a webhook was not accepted. `Malformed` is distinct from `BadSignature` on purpose: AdCP
/// asks verifiers to say "the signature is valid, the body is not" for duplicate keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the X-ADCP-Signature header is missing")]
    MissingSignature,
    #[error("the X-ADCP-Timestamp header is missing or not a whole number of seconds")]
    BadTimestamp,
    #[error("the X-ADCP-Timestamp is more than 300 seconds from the receiver's clock")]
    Stale,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the body is not one JSON value with unique keys")]
    Malformed,
}

/// Why a secret cannot be used for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("an HMAC-SHA256 secret must be at least 32 bytes")]
    TooShort,
    #[error("an HMAC-SHA256 secret must not repeat one character")]
    NoEntropy,
}

/// A fresh secret: 32 random bytes as 64 hex characters (the credentials string itself is the key).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Refuses secrets AdCP forbids: under 32 bytes, or one byte repeated (all zeros, all `a`).
pub fn check_secret(secret: &str) -> Result<(), SecretError> {
    let bytes = secret.as_bytes();
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort);
    }
    if bytes.iter().all(|b| *b == bytes[0]) {
        return Err(SecretError::NoEntropy);
    }
    Ok(())
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-ADCP-Signature` value for `body` sent at `timestamp` (Unix seconds). Sign the bytes that
/// go on the wire, never a re-serialisation.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{PREFIX}{}", hex::encode(digest))
}

/// Verifies a received webhook: headers as received (absent = `None`), the raw body before any
/// parsing, and the receiver's clock. Checks, in order: both headers present, the timestamp a
/// number within the window, the signature (constant-time). A receiver then parses the body with
/// [`check_unique_keys`] first: a signed body with a duplicate key is valid as a signature but
/// would let two parsers read two different events, so it is refused as malformed.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MissingSignature)?;
    let timestamp = timestamp.ok_or(VerifyError::BadTimestamp)?;
    let seconds: i64 = timestamp
        .parse()
        .ok()
        .filter(|_| timestamp.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(VerifyError::BadTimestamp)?;
    if (now - seconds).abs() > WINDOW_SECONDS {
        return Err(VerifyError::Stale);
    }
    let hex_digest = signature
        .strip_prefix(PREFIX)
        .ok_or(VerifyError::BadSignature)?;
    // Length first: a truncated or doubled signature is refused before any comparison.
    if hex_digest.len() != 64 {
        return Err(VerifyError::BadSignature);
    }
    let expected = hex::decode(hex_digest).map_err(|_| VerifyError::BadSignature)?;
    mac(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| VerifyError::BadSignature)
}

/// `Ok` when `body` is one JSON value in which no object repeats a key. serde_json keeps the last
/// of two equal keys silently, so this walks the document itself.
pub fn check_unique_keys(body: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    UniqueKeys.deserialize(&mut de)?;
    de.end()
}

#[derive(Clone, Copy)]
struct UniqueKeys;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueKeys)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(de::Error::custom("duplicate object key"));
            }
            map.next_value_seed(UniqueKeys)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("testdata/webhook-hmac-sha256.json")).unwrap()
    }

    fn ts(v: &Value) -> String {
        match &v["timestamp"] {
            Value::String(s) => s.clone(),
            n => n.to_string(),
        }
    }

    #[test]
    fn signs_every_published_vector() {
        let all = vectors();
        let secret = all["secret"].as_str().unwrap();
        for v in all["vectors"].as_array().unwrap() {
            let body = v["raw_body"].as_str().unwrap().as_bytes();
            let t = v["timestamp"].as_i64().unwrap();
            assert_eq!(
                sign(secret, t, body),
                v["expected_signature"].as_str().unwrap(),
                "{}",
                v["id"]
            );
            let outcome = verify(
                secret,
                Some(&ts(v)),
                v["expected_signature"].as_str(),
                body,
                t,
            );
            assert_eq!(outcome, Ok(()), "{}", v["id"]);
            let malformed = v["expected_verifier_action"] == "reject-malformed";
            // Some vectors are not JSON at all (an empty body, a raw NUL): they test signing only.
            if malformed || serde_json::from_slice::<Value>(body).is_ok() {
                assert_eq!(check_unique_keys(body).is_err(), malformed, "{}", v["id"]);
            }
        }
    }

    #[test]
    fn refuses_every_published_rejection_vector() {
        let all = vectors();
        let secret = all["secret"].as_str().unwrap();
        for v in all["rejection_vectors"].as_array().unwrap() {
            let now = v["current_time"].as_i64().unwrap_or(1_700_000_000);
            let body = v["raw_body"].as_str().unwrap().as_bytes();
            let outcome = verify(secret, Some(&ts(v)), v["signature"].as_str(), body, now);
            assert!(outcome.is_err(), "{} was accepted", v["id"]);
        }
    }

    #[test]
    fn the_window_is_300_seconds_each_way() {
        let secret = generate_secret();
        let body = b"{}";
        let sig = sign(&secret, 1000, body);
        assert_eq!(
            verify(&secret, Some("1000"), Some(&sig), body, 1300),
            Ok(())
        );
        assert_eq!(verify(&secret, Some("1000"), Some(&sig), body, 700), Ok(()));
        assert_eq!(
            verify(&secret, Some("1000"), Some(&sig), body, 1301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(&secret, Some("1000"), Some(&sig), body, 699),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(&secret, Some("+1000"), Some(&sig), body, 1000),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(&secret, None, Some(&sig), body, 1000),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn refuses_weak_secrets_and_accepts_generated_ones() {
        for s in vectors()["secret_rejection_vectors"].as_array().unwrap() {
            assert!(check_secret(s.as_str().unwrap()).is_err(), "{s}");
        }
        assert_eq!(check_secret(&generate_secret()), Ok(()));
        assert_ne!(generate_secret(), generate_secret());
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert!(check_unique_keys(br#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#).is_ok());
        assert!(check_unique_keys(br#"{"a":1,"b":{"c":[{"d":1,"d":2}]}}"#).is_err());
        assert!(check_unique_keys(br#"{"a":1} trailing"#).is_err());
        // An escaped key equal to a plain one is the same key once decoded.
        assert!(check_unique_keys(br#"{"a":1,"\u0061":2}"#).is_err());
    }
}
