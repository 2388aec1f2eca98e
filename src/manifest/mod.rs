//! Manifest logic with no network or database, by domain:
//! - the manifest itself: [`model`], [`asset_type`], [`metadata`] rules and their [`field`] limits,
//!   [`template`]s, [`filename`]s;
//! - [`media`]: classification and probing of local files (blocking: call from `spawn_blocking`);
//! - [`html`]: rewriting HTML pages and stylesheets (references, clickTags, reports);
//! - [`bundle`]: HTML5 archive extraction; [`vast`]: VAST tags; [`tracking`]: trackers and click links;
//! - [`webhook`]: webhook (DCO) assets, made from a request's list by [`webhook_assets`], tried by
//!   the test call's pure parts in [`webhook_call`];
//! - [`coverage`]: which formats a campaign's manifests cover.

pub mod asset_type;
pub mod bundle;
pub mod coverage;
pub mod field;
pub mod filename;
pub mod html;
pub mod media;
pub mod metadata;
pub mod model;
pub mod template;
pub mod tracking;
pub mod vast;
pub mod webhook;
pub mod webhook_assets;
pub mod webhook_call;
