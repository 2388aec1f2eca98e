//! Builds the application from settings: storage, state, router, listener. Tests and benches start
//! the same thing on port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::ingest::spool::Limits;
use crate::outbound::Outbound;
use crate::secret_file;
use crate::services::{fetcher, reconciler, worker};
use crate::state::AppState;
use crate::store::sealing::Sealer;
use crate::store::{customers, janitor, Db, Objects};
use crate::tracking::events::EventSink;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// The dev API key registered at start-up, if any.
    pub dev_api_key: Option<String>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        Self::build_on(listener, config).await
    }

    /// Builds on a listener already bound; `config.listen_addr` is ignored. Tests keep one socket
    /// open across a restart this way, so its port is never free for another socket to take.
    pub async fn build_on(listener: TcpListener, config: Config) -> anyhow::Result<Application> {
        let addr = listener.local_addr()?;
        let (state, dev_api_key) = build_state(config, addr).await?;
        let spool = state.config.spool_dir();
        match crate::ingest::spool::clear(&spool)
            .with_context(|| format!("clearing the spool {}", spool.display()))?
        {
            0 => {}
            n => tracing::info!(
                removed = n,
                "cleared spool files left by an earlier process"
            ),
        }
        Ok(Application {
            listener,
            state,
            dev_api_key,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has an address.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; then stops accepting, lets in-flight requests finish for up
    /// to SHUTDOWN_GRACE_SECS, writes the tracker events queued, and gives back job leases.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let janitor = janitor::spawn(self.state.db.clone(), self.state.objects.clone());
        let known = self
            .state
            .known
            .spawn_refresher(self.state.db.clone(), std::time::Duration::from_secs(60));
        let refresher = crate::formats::fetch::spawn_refresher(
            self.state.db.clone(),
            self.state.outbound.clone(),
            std::time::Duration::from_secs(self.state.config.formats_refresh_secs),
        );
        let worker = self.state.config.run_worker.then(|| {
            worker(&self.state).spawn(std::time::Duration::from_millis(
                self.state.config.worker_poll_ms,
            ))
        });
        let header_read =
            std::time::Duration::from_secs(self.state.config.header_read_timeout_secs.max(1));
        // The schedule only queues jobs (any worker runs them); ticking at most once a minute keeps
        // it cheap, and the per-seller `next_at` decides who is due.
        let reconciling = self.state.config.run_worker.then(|| {
            let r = reconciler(&self.state);
            let tick = r.interval.min(std::time::Duration::from_secs(60));
            crate::propagation::reconcile::spawn_scheduler(r, tick)
        });
        let fetching = self
            .state
            .config
            .run_worker
            .then(|| crate::delivery::spawn_scheduler(fetcher(&self.state)));
        let grace = std::time::Duration::from_secs(self.state.config.shutdown_grace_secs);
        let events = self.state.events.clone();
        let app = crate::http::router(self.state);
        let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            let _ = signalled.send(());
        };
        // Peer addresses (click de-duplication) are given to handlers by the accept loop, which
        // stops accepting at the signal and then waits for the requests in flight.
        let serving = crate::serve::serve(self.listener, app, header_read, shutdown);
        // The grace period runs from the signal; a request still running after it is cut off.
        let deadline = async move {
            if on_signal.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = serving => {}
            () = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
            }
        }
        // Every request answered has queued its tracker event: write them all before going.
        events.flush().await;
        // Each task is awaited after its abort: one still inside a query when the next instance
        // opens the same SQLite file (a restart) would hold its write lock.
        let tasks = [
            Some(janitor),
            Some(known),
            Some(refresher),
            reconciling,
            fetching,
        ];
        for task in tasks.into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
        // The worker gives its leases back, so another worker takes its jobs at once.
        if let Some(w) = worker {
            w.stop().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Storage, clients and settings. `addr` is where the API is reached: the default public URLs of
/// the CDN and trackers derive from it (a `worker` process uses the API's, without binding it).
pub async fn build_state(
    config: Config,
    addr: SocketAddr,
) -> anyhow::Result<(AppState, Option<String>)> {
    config.check()?;
    // Installed before anything is recorded: what happens before the first scrape counts too.
    crate::metrics::handle();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    std::fs::create_dir_all(config.spool_dir())?;
    let cdn_base = config
        .cdn_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}/cdn"));

    let db = Db::connect(&config.database_url()).await?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        database = %crate::config::without_password(&config.database_url()),
        "database connected"
    );
    db.migrate().await?;
    let folded = crate::store::creatives::fill_name_search(&db).await?;
    if folded > 0 {
        tracing::info!(
            manifests = folded,
            "search names filled in for earlier manifests"
        );
    }
    let folded = crate::storefront::library_store::fill_name_folded(&db).await?;
    if folded > 0 {
        tracing::info!(
            creatives = folded,
            "search names filled in for earlier storefront creatives"
        );
    }
    let folded = crate::storefront::review::store::fill_folded(&db).await?;
    if folded > 0 {
        tracing::info!(
            reviews = folded,
            "search names filled in for earlier review queue rows"
        );
    }
    let (signer, key_source) = crate::tracking::signer(
        &db,
        config.tracking_secret.as_ref().map(|s| s.expose()),
        &config.data_dir,
    )
    .await?;
    // Where the key lives, never the key: an operator must know what to back up and keep secret.
    tracing::info!(key = %key_source, "service key (click links, webhook tokens, sealed seller tokens)");
    let db = db.sealing_with(Sealer::new(signer.derive_key("seller-credentials")));
    crate::store::sales_agents::check_stored_tokens(&db).await?;
    let objects = Objects::open(
        config.object_store_url.as_deref(),
        &config.data_dir.join("objects"),
        cdn_base,
    )?;
    tracing::info!(
        object_store = %config
            .object_store_url
            .clone()
            .unwrap_or_else(|| config.data_dir.join("objects").display().to_string()),
        "object store"
    );
    let dev_api_key = register_dev_key(&db, &config).await?;
    let outbound = Outbound::new(
        config.outbound_allow_private,
        std::time::Duration::from_secs(config.outbound_timeout_secs),
        config.outbound_proxy.as_ref().map(|p| p.expose()),
    )?;
    let tracker_base = config
        .tracker_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let state = AppState {
        events: EventSink::start(db.clone()),
        known: crate::tracking::known::KnownCreatives::load(&db).await?,
        db,
        objects,
        outbound,
        signer: Arc::new(signer),
        tracker_base,
        rate_limits: Arc::new(crate::http::rate_limit::RateLimits::from_config(&config)?),
        limits: Limits {
            max_file_bytes: config.max_file_bytes,
            max_files: config.max_files,
        },
        config: Arc::new(config),
    };
    Ok((state, dev_api_key))
}

/// DEV_API_KEY when given; otherwise, on the embedded defaults, a key generated once. Either is
/// registered for the customer "default" and kept in DATA_DIR/dev-api-key (mode 0600), where the
/// README's first command reads it.
async fn register_dev_key(db: &Db, config: &Config) -> anyhow::Result<Option<String>> {
    let path = config.data_dir.join("dev-api-key");
    let key = match config.dev_api_key() {
        Some(k) => {
            if secret_file::read(&path)?.as_deref() != Some(k) {
                secret_file::write(&path, k)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            k.to_owned()
        }
        None if config.is_embedded() => match secret_file::read(&path)? {
            Some(k) => k,
            None => {
                let k = customers::generate_key();
                secret_file::write(&path, &k)
                    .with_context(|| format!("writing {}", path.display()))?;
                k
            }
        },
        None => return Ok(None),
    };
    let customer = customers::ensure_customer(db, "default").await?;
    customers::register_key(db, &customer.id, &key, "dev").await?;
    Ok(Some(key))
}
