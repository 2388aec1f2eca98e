//! AdCP wire types (mirroring `adcp-schemas/` 3.1.19).

pub mod creative;
pub mod mcp;
pub mod types;
pub mod webhook_hmac;

/// The AdCP release our requests conform to, sent as `adcp_version` on every request (AdCP
/// `core/version-envelope.json`: release precision, `VERSION.RELEASE`).
pub const ADCP_VERSION: &str = "3.1";
/// The same release's major version, sent as the deprecated `adcp_major_version` too: the schema
/// asks buyers to send both through 3.x for sellers that read only the older field.
pub const ADCP_MAJOR_VERSION: u32 = 3;
