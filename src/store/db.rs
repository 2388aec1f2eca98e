//! The metadata database: SQLite (embedded default) or PostgreSQL (scale-out), behind one pool.
//!
//! Queries are written once, in the SQL both engines share (`$1` placeholders, TEXT timestamps and JSON,
//! BIGINT numbers), and run through sqlx's `Any` driver. Engine-specific SQL, where it is ever needed,
//! branches on [`Backend`].

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use super::sealing::{is_sealed, Sealer};

/// One migration set serves both engines (`migrations/*.sql`); where their SQL must differ (an index
/// only one engine has), each engine has its own file under the same number in
/// `migrations/sqlite/` and `migrations/postgres/`, and runs the shared set merged with its own.
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The shared migrations and `backend`'s own, in version order, as one set (so sqlx still checks
/// that every applied migration is known and unchanged).
fn migrations_for(backend: Backend) -> Migrator {
    let own = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    let mut all: Vec<sqlx::migrate::Migration> =
        MIGRATIONS.iter().chain(own.iter()).cloned().collect();
    all.sort_by_key(|m| m.version);
    Migrator {
        migrations: std::borrow::Cow::Owned(all),
        ..Migrator::DEFAULT
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Seals secrets stored in the database; set once the service key is known ([`Db::sealing_with`]).
    sealer: Option<Arc<Sealer>>,
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://");
        };
        if backend == Backend::Sqlite {
            // sqlx creates the file (mode=rwc) but not its folder.
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .context("invalid SQLite DATABASE_URL")?;
            if let Some(dir) = opts.get_filename().parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; a busy writer waits instead of failing.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .with_context(|| format!("connecting to the {backend:?} database"))?;
        Ok(Db {
            pool,
            backend,
            sealer: None,
        })
    }

    /// A transaction that will write. On SQLite it begins IMMEDIATE, taking the writer lock at
    /// BEGIN, where busy_timeout makes it wait its turn. A deferred transaction that reads first and
    /// writes later has to upgrade its lock mid-way, and SQLite refuses that at once with
    /// SQLITE_BUSY whatever the busy_timeout (waiting there could deadlock): concurrent uploads then
    /// failed with "database is locked". PostgreSQL's row locks need nothing of the kind.
    pub async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// This database, sealing the secrets it stores with `sealer`.
    pub fn sealing_with(mut self, sealer: Sealer) -> Db {
        self.sealer = Some(Arc::new(sealer));
        self
    }

    /// `secret` as it is stored: sealed. Without a sealer (no service key loaded) nothing secret is
    /// stored at all.
    pub fn seal(&self, secret: &str) -> sqlx::Result<String> {
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            sqlx::Error::Configuration("no key to seal secrets with has been loaded".into())
        })?;
        Ok(sealer.seal(secret))
    }

    /// A stored secret, opened.
    pub fn open(&self, stored: &str) -> sqlx::Result<String> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            sqlx::Error::Configuration("no key to open sealed secrets has been loaded".into())
        })?;
        sealer
            .open(stored)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrations = migrations_for(self.backend);
        migrations
            .run(&self.pool)
            .await
            .context("applying migrations")?;
        tracing::info!(
            migrations = migrations.iter().count(),
            "database schema up to date"
        );
        Ok(())
    }

    /// Applies the migrations numbered below `version` only: the schema a release from before
    /// `version` left, which tests fill and then start the service on, to see that upgrade.
    pub async fn migrate_before(&self, version: i64) -> anyhow::Result<()> {
        let all = migrations_for(self.backend);
        let older = Migrator {
            migrations: std::borrow::Cow::Owned(
                all.iter()
                    .filter(|m| m.version < version)
                    .cloned()
                    .collect(),
            ),
            ..Migrator::DEFAULT
        };
        older
            .run(&self.pool)
            .await
            .context("applying older migrations")?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Now, as stored: RFC 3339 UTC with milliseconds, so text order is time order.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Serialises a value kept in a JSON text column.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Our own types always serialise; a failure here would be a programming error caught by tests.
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// Reads a JSON text column written by [`to_json`].
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).context("stored JSON column does not parse")
}
