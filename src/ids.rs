//! Typed ids. Each is a prefixed UUIDv7 (`cr_0192…`): time-ordered, unguessable enough for URLs, and
//! never confused with another kind of id.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
            utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn new() -> Self {
                $name(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Accepts only well-formed ids of this kind; anything else is not an id we issued.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?.strip_prefix('_')?;
                (rest.len() == 32
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
                .then(|| $name(s.to_owned()))
            }

            /// Wraps a value read back from our own database.
            pub fn from_db(s: String) -> Self {
                $name(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(CustomerId, "cus");
id_type!(ApiKeyId, "key");
id_type!(CampaignId, "cmp");
id_type!(SalesAgentId, "sa");
id_type!(CreativeId, "cr");
id_type!(AssetId, "ast");
id_type!(StorefrontId, "sf");
id_type!(AccountId, "acct");
id_type!(SessionId, "ses");
id_type!(VariantId, "var");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_foreign_shapes() {
        let id = CreativeId::new();
        assert_eq!(CreativeId::parse(id.as_str()), Some(id.clone()));
        assert!(CampaignId::parse(id.as_str()).is_none());
        assert!(CreativeId::parse("cr_123").is_none());
        assert!(CreativeId::parse("cr_../../etc/passwd").is_none());
        assert!(CreativeId::parse(&id.as_str().to_uppercase()).is_none());
    }
}
