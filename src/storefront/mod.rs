//! The storefront: the service as an AdCP agent that buyer agents call. A customer fronts one of its
//! sales agents with a storefront; buyer accounts hold their own keys and see only their own data.
//!
//! This file holds the model and the pure rules about it; SQL is in [`store`].

pub mod formats;
pub mod idempotency;
pub mod library;
pub mod library_store;
pub mod list_sql;
pub mod mcp;
pub mod review;
pub mod store;
pub mod sync;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, CustomerId, SalesAgentId, StorefrontId};
use crate::manifest::metadata::{FieldError, MAX_NAME};

/// What happens to a creative a buyer syncs: held for the seller's review, or approved at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewMode {
    Manual,
    Auto,
}

impl ReviewMode {
    pub fn as_db(self) -> &'static str {
        match self {
            ReviewMode::Manual => "manual",
            ReviewMode::Auto => "auto",
        }
    }

    /// A stored value; an unknown one is an error that surfaces, never a default.
    pub fn from_db(s: &str) -> Result<Self, String> {
        match s {
            "manual" => Ok(ReviewMode::Manual),
            "auto" => Ok(ReviewMode::Auto),
            other => Err(format!("unknown stored review_mode '{other}'")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Storefront {
    pub id: StorefrontId,
    pub customer_id: CustomerId,
    /// The underlying agent: its formats are the storefront's formats.
    pub sales_agent_id: SalesAgentId,
    pub name: String,
    pub review_mode: ReviewMode,
    pub created_at: String,
    pub updated_at: String,
}

/// A buyer account of one storefront.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub storefront_id: StorefrontId,
    pub name: String,
    pub brand_domains: Vec<String>,
    /// The agency operating for the brands; `None` when the brand operates itself.
    pub operator: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Account {
    /// Whether the AdCP natural key `{brand: {domain}, operator}` names this account. AdCP's
    /// operator is the brand's own domain when the brand operates itself.
    pub fn has_natural_key(&self, brand_domain: &str, operator: &str) -> bool {
        let brand = brand_domain.trim().to_ascii_lowercase();
        let operator = operator.trim().to_ascii_lowercase();
        self.brand_domains.contains(&brand)
            && match &self.operator {
                Some(op) => *op == operator,
                None => operator == brand,
            }
    }
}

pub const MAX_BRAND_DOMAINS: usize = 50;

/// A name as stored: trimmed, 1 to 255 characters.
pub fn check_name(name: &str, field: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(FieldError::new(
            field,
            format!("{field} must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(name.to_owned())
}

/// A domain as stored: lower case, no trailing dot, at least two labels of letters, digits and
/// hyphens (a single-label name is never a brand's public domain).
pub fn check_domain(domain: &str, field: &str) -> Result<String, FieldError> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels_ok = d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if d.len() > 253 || !d.contains('.') || !labels_ok {
        return Err(FieldError::new(
            field,
            format!("'{domain}' is not a domain name"),
        ));
    }
    Ok(d)
}

/// The brand domains of an account: 1 to 50, each a domain, duplicates dropped (order kept).
pub fn check_brand_domains(domains: &[String]) -> Result<Vec<String>, FieldError> {
    if domains.is_empty() || domains.len() > MAX_BRAND_DOMAINS {
        return Err(FieldError::new(
            "brand_domains",
            format!("brand_domains must hold 1 to {MAX_BRAND_DOMAINS} domains"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for (i, d) in domains.iter().enumerate() {
        let d = check_domain(d, &format!("brand_domains[{i}]"))?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// A new buyer account key: `sfk_` and 64 hex characters (256 random bits; only its SHA-256 is
/// stored, as for customer keys).
pub fn generate_account_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("sfk_{}", hex::encode(bytes))
}

/// Where buyer agents reach a storefront (MCP Streamable HTTP), below the service's public base.
pub fn mcp_url(public_base: &str, id: &StorefrontId) -> String {
    format!("{}/storefronts/{id}/mcp", public_base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(domains: &[&str], operator: Option<&str>) -> Account {
        Account {
            id: AccountId::new(),
            storefront_id: StorefrontId::new(),
            name: "a".into(),
            brand_domains: domains.iter().map(|d| d.to_string()).collect(),
            operator: operator.map(str::to_owned),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn domains_are_normalised_and_single_labels_refused() {
        assert_eq!(check_domain(" Acme.COM. ", "d").unwrap(), "acme.com");
        for bad in [
            "localhost",
            "",
            "acme..com",
            "-acme.com",
            "acme.com/x",
            "a b.com",
        ] {
            assert!(check_domain(bad, "d").is_err(), "{bad}");
        }
    }

    #[test]
    fn brand_domains_are_bounded_and_deduplicated() {
        assert!(check_brand_domains(&[]).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("b{i}.com")).collect();
        assert!(check_brand_domains(&many).is_err());
        let got = check_brand_domains(&["a.com".into(), "A.com".into(), "b.com".into()]).unwrap();
        assert_eq!(got, vec!["a.com", "b.com"]);
        let err = check_brand_domains(&["a.com".into(), "nope".into()]).unwrap_err();
        assert_eq!(err.field, "brand_domains[1]");
    }

    #[test]
    fn natural_key_needs_brand_and_operator() {
        let direct = account(&["acme.com"], None);
        assert!(direct.has_natural_key("ACME.com", "acme.com"));
        assert!(!direct.has_natural_key("acme.com", "agency.com"));
        let agency = account(&["acme.com", "acme.co.uk"], Some("agency.com"));
        assert!(agency.has_natural_key("acme.co.uk", "agency.com"));
        assert!(!agency.has_natural_key("acme.co.uk", "acme.co.uk"));
        assert!(!agency.has_natural_key("other.com", "agency.com"));
    }

    #[test]
    fn keys_are_distinct_and_prefixed() {
        let (a, b) = (generate_account_key(), generate_account_key());
        assert_ne!(a, b);
        assert!(a.starts_with("sfk_") && a.len() == 68);
    }

    #[test]
    fn review_mode_round_trips_and_unknown_is_an_error() {
        for m in [ReviewMode::Manual, ReviewMode::Auto] {
            assert_eq!(ReviewMode::from_db(m.as_db()), Ok(m));
        }
        assert!(ReviewMode::from_db("later").is_err());
    }
}
