//! CSRF tokens: one random token per session, sent back by every form (a hidden field) and every
//! script call (`X-CSRF-Token`). Pure checks, so the rule is tested here once.

use rand::RngCore;

/// The form field and header names that carry the token.
pub const FIELD: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";

/// A new token: 32 random bytes, hex.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether `sent` is the session's token, compared in constant time (a timing side channel must
/// not reveal it byte by byte). An empty expected token never matches.
pub fn matches(expected: &str, sent: Option<&str>) -> bool {
    let Some(sent) = sent else { return false };
    if expected.is_empty() || expected.len() != sent.len() {
        return false;
    }
    expected
        .bytes()
        .zip(sent.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        let t = generate();
        assert_eq!(t.len(), 64);
        assert!(matches(&t, Some(&t)));
        assert!(!matches(&t, None));
        assert!(!matches(&t, Some("")));
        assert!(!matches(&t, Some(&t[..63])));
        let mut other = t.clone();
        other.replace_range(0..1, if t.starts_with('a') { "b" } else { "a" });
        assert!(!matches(&t, Some(&other)));
        assert!(!matches("", Some("")));
        assert_ne!(generate(), t);
    }
}
