//! Creative sessions (issue 15): a buyer's source assets and brief become a gallery of draft
//! variants for the formats a campaign still misses; variants are refined in words, approved, and
//! finalized into ordinary manifests through the upload path. Sessions are review workflows: a draft
//! is never a manifest, so it never reaches a seller.
//!
//! Pure parts: `layout` (where things go), `compose` (drawing), `refine` (words to parameters),
//! `evaluate` (the checks). Around them: `adapter` (the seam renderers sit behind), `builtin`,
//! `agent`, `store`, and this file, which runs a session's gestures.

pub mod adapter;
pub mod agent;
pub mod builtin;
pub mod compose;
mod draft;
pub mod evaluate;
mod finalize;
pub mod layout;
pub mod model;
pub mod refine;
mod service;
pub mod sources;
pub mod store;

pub use finalize::{finalize, Finalization, FinalizeRequest};
pub use service::*;
pub use sources::WORKING_SIDE;
