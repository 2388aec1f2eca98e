//! Creative manifest service: a campaign-scoped library of creatives that speaks AdCP.

/// The allocator of every binary of the crate (the service, its tests and benches). Rewriting a large
/// page allocates and frees buffers of its size; glibc returns those to the OS and faults them back in
/// on the next page, which cost a third of the rewrite of a 400 KB page. mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod adcp;
pub mod app;
pub mod config;
pub mod delivery;
pub mod demo_seller;
pub mod error;
pub mod formats;
pub mod http;
pub mod ids;
pub mod ingest;
pub mod jobs;
pub mod manifest;
pub mod metrics;
pub mod outbound;
pub mod previews;
pub mod propagation;
pub mod secret_file;
mod serve;
pub mod services;
pub mod sessions;
pub mod state;
pub mod store;
pub mod storefront;
pub mod telemetry;
pub mod tracking;
pub mod ui;
