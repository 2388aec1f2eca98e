//! Media files from their bytes: what a file is (sniffed, never the declared type or name) and what
//! it measures (dimensions, duration). Blocking: call from `spawn_blocking`.

pub mod classify;
pub mod probe;
