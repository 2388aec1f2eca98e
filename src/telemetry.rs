//! Logging, set up once per process.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` filters (default `info`); `json` gives one JSON object per line.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a person at a terminal, never into files, journals or pipes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
