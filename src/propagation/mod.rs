//! Propagation of manifests to sales agents. So far: the durable job queue it runs on.

pub mod queue;
