//! What the demo seller does for a storefront's review queue: a creative synced with
//! `status: "archived"` (how a storefront pulls a revoked creative: AdCP has no archive task) is
//! kept archived, and every creative it holds gets a platform id, as a real ad server assigns one.

use serde_json::{json, Value};

/// The `creatives[]` item answering a creative this seller now holds.
pub fn held_item(creative_id: &str, action: &str, creative: &Value) -> Value {
    let status = match creative["status"].as_str() {
        Some("archived") => "archived",
        _ => "approved",
    };
    json!({
        "creative_id": creative_id,
        "action": action,
        "status": status,
        "platform_id": platform_id(creative_id),
    })
}

/// A stable id of the seller's own for a buyer's creative id.
pub fn platform_id(creative_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(creative_id.as_bytes());
    format!("demo-cr-{}", hex::encode(&digest[..6]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archived_creatives_stay_archived_and_ids_are_stable() {
        let item = held_item("c1", "updated", &json!({"status": "archived"}));
        assert_eq!(item["status"], "archived");
        assert_eq!(held_item("c1", "created", &json!({}))["status"], "approved");
        assert_eq!(platform_id("c1"), platform_id("c1"));
        assert_ne!(platform_id("c1"), platform_id("c2"));
    }
}
