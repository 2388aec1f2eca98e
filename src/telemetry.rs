//! Logging, set up once per process.

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` filters (default `info`); `json` gives one JSON object per line.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
