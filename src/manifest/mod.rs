//! Manifest logic with no network or database: classification, probing and bundle extraction of
//! local files (blocking: call from `spawn_blocking`), metadata rules, VAST, trackers, coverage, the model.

pub mod asset_type;
pub mod bundle;
mod byte_scan;
pub mod classify;
pub mod coverage;
pub mod css;
pub mod filename;
pub mod html;
pub mod html_click_tag;
pub mod html_refs;
pub mod html_report;
pub mod metadata;
pub mod model;
pub mod probe;
pub mod ref_rewriter;
pub mod template;
pub mod tracking;
pub mod vast;
