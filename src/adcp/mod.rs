//! AdCP wire types (mirroring `adcp-schemas/` 3.1.19).

pub mod creative;
pub mod mcp;
pub mod types;
