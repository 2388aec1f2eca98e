//! Manifest logic with no network or database: classification, probing and bundle extraction of
//! local files (blocking: call from `spawn_blocking`), metadata rules, VAST, trackers, coverage, the model.

pub mod asset_type;
pub mod bundle;
pub mod classify;
pub mod coverage;
pub mod filename;
pub mod metadata;
pub mod model;
pub mod probe;
pub mod tracking;
pub mod vast;
