//! Persistence: the metadata database and the object store.

pub mod campaigns;
mod creative_rows;
pub mod creatives;
pub mod customers;
pub mod db;
pub mod delivery;
pub mod delivery_report;
pub mod delivery_rollup;
pub mod formats;
pub mod janitor;
pub mod manifest_search;
pub mod media_buys;
pub mod objects;
pub mod removal;
pub mod review;
pub mod sales_agents;
pub mod sealing;
pub mod search;
pub mod syncs;

pub use db::Db;
pub use objects::Objects;
