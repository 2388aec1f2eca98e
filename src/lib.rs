//! Creative manifest service: a campaign-scoped library of creatives that speaks AdCP.

pub mod adcp;
pub mod app;
pub mod config;
pub mod error;
pub mod formats;
pub mod http;
pub mod ids;
pub mod ingest;
pub mod manifest;
pub mod outbound;
pub mod propagation;
pub mod store;
pub mod telemetry;
pub mod tracking;
