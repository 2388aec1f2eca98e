//! Settings: one typed struct, every knob an environment variable and a CLI flag, defaults that make
//! `cargo run` work on a laptop.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "creative-manifests",
    version,
    about = "Creative manifest service (AdCP)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and an in-process propagation worker (the default).
    Serve,
    /// Run only a propagation worker (several may share one PostgreSQL).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Run a demo AdCP seller (MCP) on a local port, to try propagation end to end.
    DemoSeller(crate::demo_seller::DemoArgs),
    /// Print the OpenAPI 3.1 document of the /api/v2 API (the one served at /openapi.json).
    Openapi,
    /// Create an API key for a customer (created if new) and print it once.
    CreateApiKey {
        /// Customer name; the same name reuses the same customer.
        #[arg(long, default_value = "default")]
        customer: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen_addr: SocketAddr,
    /// Folder for the embedded database, stored objects, spool files and the generated dev key.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// sqlite://... or postgres://... (default: SQLite in DATA_DIR).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// file:///abs/path, s3://bucket/prefix (AWS_* variables apply) (default: DATA_DIR/objects).
    #[arg(long, env = "OBJECT_STORE_URL", global = true)]
    pub object_store_url: Option<String>,
    /// Public base URL of stored objects (default: this service's own /cdn).
    #[arg(long, env = "CDN_BASE_URL", global = true)]
    pub cdn_base_url: Option<String>,
    /// A development API key (at least 16 characters) registered for the "default" customer at
    /// start-up and written to DATA_DIR/dev-api-key (mode 0600).
    #[arg(long, env = "DEV_API_KEY", hide_env_values = true, global = true)]
    pub dev_api_key: Option<Redacted>,
    /// Largest accepted file, in bytes.
    #[arg(long, env = "MAX_FILE_BYTES", default_value_t = 50 * 1024 * 1024, global = true)]
    pub max_file_bytes: u64,
    /// Most files in one request.
    #[arg(long, env = "MAX_FILES", default_value_t = 20, global = true)]
    pub max_files: usize,
    /// Public base URL of the service's trackers (`/t/imp`, `/t/clk`) (default: this service).
    #[arg(long, env = "TRACKER_BASE_URL", global = true)]
    pub tracker_base_url: Option<String>,
    /// Click-link signing key, 64 hex characters. Default on SQLite: generated once into
    /// DATA_DIR/tracking-secret (mode 0600), never into the database. Required with PostgreSQL, where
    /// replicas must share it and a file on one machine cannot serve them all.
    #[arg(long, env = "TRACKING_SECRET", hide_env_values = true, global = true)]
    pub tracking_secret: Option<Redacted>,
    /// Allow outbound requests (sellers, webhooks) to private, loopback and link-local addresses.
    /// Off in production: it is the SSRF guard. Tests and local labs turn it on.
    #[arg(
        long,
        env = "OUTBOUND_ALLOW_PRIVATE",
        default_value_t = false,
        global = true
    )]
    pub outbound_allow_private: bool,
    /// Proxy for every outbound request (`http://host:port`, credentials allowed). The usual
    /// HTTP_PROXY / HTTPS_PROXY / ALL_PROXY variables are ignored: a proxy resolves names itself, so
    /// one picked up from the environment would bypass the SSRF guard. With this set, each target's
    /// name is resolved and checked here before the request goes to the proxy.
    #[arg(long, env = "OUTBOUND_PROXY", hide_env_values = true, global = true)]
    pub outbound_proxy: Option<Redacted>,
    /// Time-out of one outbound request, in seconds.
    #[arg(
        long,
        env = "OUTBOUND_TIMEOUT_SECS",
        default_value_t = 20,
        global = true
    )]
    pub outbound_timeout_secs: u64,
    /// Ask the standard creative agent (the standard formats' `agent_url`) for previews
    /// (`preview_creative`) on `POST .../preview`, as sellers' agents are asked. Off where the
    /// service cannot reach the internet.
    #[arg(
        long,
        env = "STANDARD_AGENT_PREVIEWS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub standard_agent_previews: bool,
    /// How long `POST .../preview` waits for each format's agent, in milliseconds; an agent still
    /// silent then leaves a `preview_errors[]` entry (AGENT_TIMEOUT) instead of its renders.
    #[arg(
        long,
        env = "AGENT_PREVIEW_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub agent_preview_timeout_ms: u64,
    /// How often a sales agent's formats are fetched again, in seconds.
    #[arg(
        long,
        env = "FORMATS_REFRESH_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub formats_refresh_secs: u64,
    /// Run a propagation worker inside `serve` (turn off when separate `worker` processes run).
    #[arg(
        long,
        env = "RUN_WORKER",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub run_worker: bool,
    /// Attempts a propagation job gets before it is dead.
    #[arg(long, env = "JOB_MAX_ATTEMPTS", default_value_t = 8, global = true)]
    pub job_max_attempts: u32,
    /// Claims creative sessions' policy check flags in draft texts (comma-separated, any case).
    #[arg(
        long,
        env = "SESSION_PROHIBITED_CLAIMS",
        default_value = "guaranteed results,risk-free,miracle cure,100% effective,clinically proven",
        global = true
    )]
    pub session_prohibited_claims: String,
    /// Seconds a worker holds a job before another may take it over.
    #[arg(long, env = "JOB_LEASE_SECS", default_value_t = 120, global = true)]
    pub job_lease_secs: u64,
    /// First retry delay in milliseconds; doubles per attempt (with jitter) up to JOB_RETRY_CAP_SECS.
    #[arg(long, env = "JOB_RETRY_BASE_MS", default_value_t = 2000, global = true)]
    pub job_retry_base_ms: u64,
    /// Longest retry delay, in seconds.
    #[arg(long, env = "JOB_RETRY_CAP_SECS", default_value_t = 900, global = true)]
    pub job_retry_cap_secs: u64,
    /// How often a task a seller queued (`submitted`, e.g. awaiting IO approval) is polled, in ms.
    #[arg(
        long,
        env = "SELLER_TASK_POLL_MS",
        default_value_t = 60_000,
        global = true
    )]
    pub seller_task_poll_ms: u64,
    /// How long a queued seller task may stay unfinished before its job gives up, in seconds.
    #[arg(
        long,
        env = "SELLER_TASK_TIMEOUT_SECS",
        default_value_t = 604_800,
        global = true
    )]
    pub seller_task_timeout_secs: u64,
    /// How often sellers are asked again (`list_creatives`) about creatives they hold in
    /// `processing` / `pending_review`, in seconds; doubled per seller for each failed run in a row.
    #[arg(
        long,
        env = "REVIEW_RECONCILE_SECS",
        default_value_t = 900,
        global = true
    )]
    pub review_reconcile_secs: u64,
    /// How often each live flight's delivery is fetched from its sellers (`get_creative_delivery`),
    /// in seconds.
    #[arg(
        long,
        env = "DELIVERY_FETCH_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub delivery_fetch_secs: u64,
    /// How often an idle worker looks for due jobs, in milliseconds.
    #[arg(long, env = "WORKER_POLL_MS", default_value_t = 1000, global = true)]
    pub worker_poll_ms: u64,
    /// TEST ONLY: let buyers register storefront review webhooks at `http://` loopback addresses
    /// (a test suite's receiver). Off by default; in production every callback URL must be public
    /// HTTPS, checked when the sync arrives and again at each send.
    #[arg(
        long,
        env = "STOREFRONT_WEBHOOK_ALLOW_LOOPBACK",
        default_value_t = false,
        hide = true,
        global = true
    )]
    pub storefront_webhook_allow_loopback: bool,
    /// Lifetime of a web UI session (signing in with an API key), in seconds; the browser must
    /// sign in again after it. Sessions do not slide: a stolen cookie dies on time.
    #[arg(long, env = "WEB_SESSION_SECS", default_value_t = 8 * 3600, global = true)]
    pub web_session_secs: u64,
    /// Bearer token `GET /metrics` asks for; unset, the metrics are open (keep the port private).
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<Redacted>,
    /// Seconds in-flight requests get to finish after SIGTERM before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 25, global = true)]
    pub shutdown_grace_secs: u64,
    /// Requests per second each API key may make on the API (token bucket refill); 0 = no limit.
    #[arg(
        long,
        env = "RATE_LIMIT_KEY_PER_SEC",
        default_value_t = 0,
        global = true
    )]
    pub rate_limit_key_per_sec: u32,
    /// Requests an API key may make at once before its refill rate applies (bucket size).
    #[arg(
        long,
        env = "RATE_LIMIT_KEY_BURST",
        default_value_t = 100,
        global = true
    )]
    pub rate_limit_key_burst: u32,
    /// Requests per second each client address may make on public endpoints (`/t/imp`, `/t/clk`,
    /// the storefront MCP); 0 = no limit.
    #[arg(
        long,
        env = "RATE_LIMIT_PUBLIC_PER_SEC",
        default_value_t = 0,
        global = true
    )]
    pub rate_limit_public_per_sec: u32,
    /// Requests a client address may make at once on public endpoints (bucket size).
    #[arg(
        long,
        env = "RATE_LIMIT_PUBLIC_BURST",
        default_value_t = 200,
        global = true
    )]
    pub rate_limit_public_burst: u32,
    /// Header a trusted reverse proxy sets to the client's address (e.g. `x-forwarded-for`: its
    /// last entry is used, the one the proxy appended). Unset, the TCP peer is the client.
    #[arg(long, env = "TRUSTED_PROXY_HEADER", global = true)]
    pub trusted_proxy_header: Option<String>,
    /// Log format: "text" or "json".
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
    /// Seconds a client has to send a request's headers once it starts; then the connection is
    /// closed (a client sending headers a byte at a time cannot hold a connection).
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may pause between two reads before the request is refused (408).
    #[arg(
        long,
        env = "BODY_IDLE_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub body_idle_timeout_secs: u64,
    /// Seconds one request may take from its headers to its answer, body upload included (408); an
    /// answer streamed after that (a /cdn download) is not counted.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = 300,
        global = true
    )]
    pub request_timeout_secs: u64,
}

/// Fewer characters than this make an API key guessable.
pub const MIN_DEV_API_KEY_CHARS: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("DEV_API_KEY must be at least {MIN_DEV_API_KEY_CHARS} characters")]
    ShortDevApiKey,
    #[error(
        "TRACKING_SECRET (64 hex characters) is required when DATABASE_URL is not SQLite: every replica \
         must sign and check with the same key, and the key must not be kept in the database beside what \
         it protects. Generate one with `openssl rand -hex 32`; if an earlier version generated one into \
         the database, use that one (SELECT value FROM service_secrets WHERE name = 'tracking_hmac') so \
         served click links and sealed seller tokens stay valid; it is then removed from the database"
    )]
    TrackingSecretRequired,
}

/// A secret setting: its `Debug` hides the value, so logging the configuration cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(String);

impl Redacted {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_owned()))
    }
}

impl From<&str> for Redacted {
    fn from(s: &str) -> Self {
        Redacted(s.to_owned())
    }
}

impl Config {
    /// SESSION_PROHIBITED_CLAIMS as a list.
    pub fn prohibited_claims(&self) -> Vec<String> {
        self.session_prohibited_claims
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Defaults for tests and benches: the defaults of the flags (read from their definitions
    /// above, so they are written once), everything under `data_dir`, an ephemeral port.
    pub fn for_data_dir(data_dir: PathBuf) -> Config {
        use clap::{Args, FromArgMatches};
        // Without the environment: a test's defaults must not depend on the shell it runs in.
        let command = Config::augment_args(clap::Command::new("defaults"))
            .mut_args(|a| a.env(clap::builder::Resettable::Reset));
        let matches = command
            .try_get_matches_from(["defaults"])
            .expect("every setting has a default or is optional");
        let mut config =
            Config::from_arg_matches(&matches).expect("defaults parse as their own types");
        config.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir;
        // Tests and benches never reach the internet.
        config.standard_agent_previews = false;
        config
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("manifests.db").display()
            )
        })
    }

    /// True when both the database and the object store are the embedded defaults.
    pub fn is_embedded(&self) -> bool {
        self.database_is_sqlite() && self.object_store_url.is_none()
    }

    pub fn database_is_sqlite(&self) -> bool {
        self.database_url
            .as_deref()
            .is_none_or(|u| u.starts_with("sqlite:"))
    }

    /// The dev API key to register, if one is set (blank counts as unset).
    pub fn dev_api_key(&self) -> Option<&str> {
        self.dev_api_key
            .as_ref()
            .map(|k| k.expose().trim())
            .filter(|k| !k.is_empty())
    }

    /// Settings that are unsafe or cannot work, refused before anything starts.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self
            .dev_api_key()
            .is_some_and(|k| k.chars().count() < MIN_DEV_API_KEY_CHARS)
        {
            return Err(ConfigError::ShortDevApiKey);
        }
        if self.tracking_secret.is_none() && !self.database_is_sqlite() {
            return Err(ConfigError::TrackingSecretRequired);
        }
        Ok(())
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }
}

/// A database URL fit for a log line: its password, if any, masked.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Not a URL: nothing can be told apart from a password, so nothing is shown.
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::for_data_dir("./data".into())
    }

    #[test]
    fn dev_api_keys_must_be_long_enough() {
        let mut c = config();
        assert_eq!(c.check(), Ok(()));
        c.dev_api_key = Some("short".into());
        assert_eq!(c.check(), Err(ConfigError::ShortDevApiKey));
        c.dev_api_key = Some("  fifteen-chars  ".into());
        assert_eq!(c.check(), Err(ConfigError::ShortDevApiKey));
        c.dev_api_key = Some("sixteen-chars-ok".into());
        assert_eq!(c.check(), Ok(()));
        c.dev_api_key = Some("   ".into());
        assert_eq!(c.dev_api_key(), None, "blank is unset");
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn database_urls_are_logged_without_their_password() {
        assert_eq!(
            without_password("postgres://app:s3cret@db:5432/cm"),
            "postgres://app:***@db:5432/cm"
        );
        assert_eq!(without_password("sqlite://data/m.db"), "sqlite://data/m.db");
        assert!(!without_password("postgres://u:p%40ss@h/d").contains("p%40ss"));
    }

    /// One row of docs/configuration.md's table: (variable, flag, default cell).
    fn documented() -> Vec<(String, String, String)> {
        let doc = include_str!("../docs/configuration.md");
        doc.lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<String> = l.split(" | ").map(|c| c.trim().to_owned()).collect();
                let unquote = |c: &str| {
                    c.trim_matches(|ch| ch == '|' || ch == ' ' || ch == '`')
                        .to_owned()
                };
                (unquote(&cells[0]), unquote(&cells[1]), cells[2].clone())
            })
            .collect()
    }

    /// The table documents every setting with its flag, and each default is the flag's own: the
    /// docs cannot drift from the definitions (a default is written once, in the `#[arg]`).
    #[test]
    fn the_configuration_table_matches_the_flags() {
        use clap::Args;
        let command = Config::augment_args(clap::Command::new("x"));
        let docs = documented();
        let mut seen = Vec::new();
        for arg in command.get_arguments() {
            let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
                continue;
            };
            // Hidden settings are test hooks, left out of `--help` and the docs on purpose.
            if arg.is_hide_set() {
                continue;
            }
            seen.push(env.to_owned());
            let row = docs
                .iter()
                .find(|(v, _, _)| v == env)
                .unwrap_or_else(|| panic!("{env} is not in docs/configuration.md"));
            let flag = format!("--{}", arg.get_long().expect("every setting has a flag"));
            assert_eq!(row.1, flag, "{env}: flag");
            if let Some(default) = arg.get_default_values().first() {
                let default = default.to_str().expect("UTF-8 default");
                // The cell starts with the value in backticks; words may follow (`52428800` (50 MiB)).
                let cell = row.2.strip_prefix('`').and_then(|c| c.split('`').next());
                assert_eq!(cell, Some(default), "{env}: documented default");
            }
        }
        for (v, _, _) in &docs {
            assert!(
                seen.contains(v),
                "docs/configuration.md documents {v}, which is no setting"
            );
        }
    }

    #[test]
    fn test_defaults_are_the_flag_defaults() {
        let c = config();
        assert_eq!(c.max_file_bytes, 50 * 1024 * 1024);
        assert!(c.run_worker);
        assert_eq!(c.request_timeout_secs, 300);
        assert_eq!(c.listen_addr.port(), 0, "tests bind an ephemeral port");
    }

    #[test]
    fn postgres_needs_a_tracking_secret() {
        let mut c = config();
        c.database_url = Some("sqlite:///tmp/x.db".into());
        assert_eq!(c.check(), Ok(()));
        c.database_url = Some("postgres://db/x".into());
        assert_eq!(c.check(), Err(ConfigError::TrackingSecretRequired));
        c.tracking_secret = Some("ab".repeat(32).as_str().into());
        assert_eq!(c.check(), Ok(()));
    }
}
