//! Propagation of manifests to sales agents. So far: the durable job queue it runs on and the
//! choice of transport per seller.

pub mod queue;
pub mod transport;
