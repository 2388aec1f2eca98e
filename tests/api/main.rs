//! End-to-end tests through HTTP against a real server on an ephemeral port.
//!
//! Backends: SQLite + local files by default. With `TEST_DATABASE_URL=postgres://…` each test gets
//! its own PostgreSQL database; with `TEST_OBJECT_STORE_URL=s3://bucket` its own S3 prefix.

mod helpers;
mod outbound;
mod schemas;
mod secrets;
mod seller;
mod slow_clients;

mod adcp_creative;
mod agent_previews;
mod auth_and_tenancy;
mod campaigns;
mod cdn;
mod coverage;
mod creative_sessions;
mod creative_sessions_agent;
mod creatives_create;
mod creatives_errors;
mod creatives_list;
mod creatives_update;
mod delivery;
mod delivery_rollup;
mod docs;
mod durability;
mod extractors;
mod formats;
mod health;
mod jobs;
mod limits;
mod logging;
mod openapi;
mod ops;
mod ops_metrics;
mod processing;
mod propagation;
mod propagation_races;
mod removal;
mod review;
mod sales_agents;
mod storage;
mod storefront_library;
mod storefront_list_edges;
mod storefront_mcp;
mod storefront_review;
mod storefronts;
mod tracking;
mod ui;
mod views;
mod webhook_assets;
