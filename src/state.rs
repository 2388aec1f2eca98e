//! What every request handler and job reads: storage, clients, signer, settings, limits. Built once
//! by `app::build_state`; cloned per request (every field is a handle).

use std::sync::Arc;

use crate::config::Config;
use crate::http::rate_limit::RateLimits;
use crate::ingest::spool::Limits;
use crate::manifest::tracking::Signer;
use crate::outbound::Outbound;
use crate::store::{Db, Objects};
use crate::tracking::events::EventSink;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub objects: Objects,
    pub outbound: Outbound,
    pub signer: Arc<Signer>,
    pub events: EventSink,
    /// Creatives a tracker hit may be recorded for.
    pub known: crate::tracking::known::KnownCreatives,
    /// Public base of the trackers, no trailing slash.
    pub tracker_base: String,
    pub config: Arc<Config>,
    pub limits: Limits,
    pub rate_limits: Arc<RateLimits>,
}
