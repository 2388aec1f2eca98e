use clap::Parser;

use creative_manifests::app::Application;
use creative_manifests::config::{Cli, Command};
use creative_manifests::store::{customers, Db};
use creative_manifests::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(&cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Worker => worker(cli.config).await,
        Command::DemoSeller(args) => {
            creative_manifests::demo_seller::run(args, shutdown_signal()).await
        }
        Command::Openapi => {
            println!("{}", creative_manifests::http::openapi::document());
            Ok(())
        }
        Command::Migrate => {
            let db = Db::connect(&cli.config.database_url()).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateApiKey { customer } => {
            let db = Db::connect(&cli.config.database_url()).await?;
            db.migrate().await?;
            let c = customers::ensure_customer(&db, &customer).await?;
            let key = customers::generate_key();
            customers::register_key(&db, &c.id, &key, "cli").await?;
            // Printed once, to stdout only: it is not stored in clear anywhere.
            println!("{key}");
            eprintln!("API key created for customer '{}' ({})", c.name, c.id);
            Ok(())
        }
    }
}

async fn serve(config: creative_manifests::config::Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    if let Some(key) = &app.dev_api_key {
        // The operator's own dev key, shown on their terminal so curl examples work; never logged.
        eprintln!(
            "\n  Development API key (customer \"default\"): {key}\n  export API_KEY={key}\n"
        );
    }
    let worker = if app.state().config.run_worker {
        "on"
    } else {
        "off (separate `worker` processes)"
    };
    tracing::info!(%addr, propagation_worker = worker, "listening");
    app.run_until(shutdown_signal()).await
}

/// Only a propagation worker: no HTTP. Public URLs in what it sends derive from the same settings
/// as the API's (CDN_BASE_URL, or the API's LISTEN_ADDR).
async fn worker(config: creative_manifests::config::Config) -> anyhow::Result<()> {
    let poll = std::time::Duration::from_millis(config.worker_poll_ms);
    let addr = config.listen_addr;
    let (state, _) = creative_manifests::app::build_state(config, addr).await?;
    if state.db.backend == creative_manifests::store::db::Backend::Sqlite {
        // SQLite's one writer at a time suits one worker: the one `serve` runs.
        anyhow::bail!(
            "separate workers need PostgreSQL (DATABASE_URL=postgres://...); on SQLite, `serve` runs the worker"
        );
    }
    let handle = creative_manifests::services::worker(&state).spawn(poll);
    shutdown_signal().await;
    // Its jobs are given back: another worker takes them at once.
    handle.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
