//! What a seller already holds, by content: each creative the service built is digested, the
//! digest kept with the seller's confirmation (`creative_syncs.sent_digest`), and a later execute
//! sends only the creatives whose digest differs from (or is missing in) what the seller confirmed.
//! Pure; the run (`run.rs`) builds the creatives and reads the stored digests.

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The digest of a built AdCP creative: SHA-256 of its JSON text, which serde_json writes with
/// object keys sorted, so the same creative always digests the same.
pub fn content_digest(creative: &Value) -> String {
    hex::encode(Sha256::digest(creative.to_string().as_bytes()))
}

/// Of `needed` (creative id, digest of the creative as it would be sent now), those the seller
/// does not hold as they are now: never confirmed, or confirmed with other content. In input order.
pub fn changed(needed: Vec<(String, String)>, held: &HashMap<String, String>) -> Vec<String> {
    needed
        .into_iter()
        .filter(|(id, digest)| held.get(id) != Some(digest))
        .map(|(id, _)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digests_follow_content_not_key_order() {
        let a = json!({"creative_id": "cr_1", "name": "A", "assets": {"x": 1}});
        let b = json!({"assets": {"x": 1}, "name": "A", "creative_id": "cr_1"});
        assert_eq!(content_digest(&a), content_digest(&b));
        assert_ne!(
            content_digest(&a),
            content_digest(&json!({"creative_id": "cr_1", "name": "B", "assets": {"x": 1}}))
        );
    }

    #[test]
    fn only_what_the_seller_lacks_or_holds_otherwise_is_changed() {
        let held = HashMap::from([
            ("cr_1".to_owned(), "d1".to_owned()),
            ("cr_2".to_owned(), "old".to_owned()),
        ]);
        let needed = vec![
            ("cr_1".to_owned(), "d1".to_owned()),
            ("cr_2".to_owned(), "d2".to_owned()),
            ("cr_3".to_owned(), "d3".to_owned()),
        ];
        assert_eq!(changed(needed, &held), ["cr_2", "cr_3"]);
        assert!(changed(vec![], &held).is_empty());
    }
}
