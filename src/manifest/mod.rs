//! Pure manifest logic: no I/O. Classification, probing of local files, metadata validation, the model.

pub mod asset_type;
pub mod classify;
pub mod coverage;
pub mod filename;
pub mod metadata;
pub mod model;
pub mod probe;
