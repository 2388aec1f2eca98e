use std::collections::BTreeSet;

use futures::TryStreamExt;
use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use creative_manifests::app::Application;
use creative_manifests::config::Config;
use creative_manifests::state::AppState;
use creative_manifests::store::db::Db;

pub const KEY: &str = "test-key-default-customer";

/// The CSP every `/cdn` object carries: script and a user's click out, never the API's origin.
pub const SANDBOX: &str = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox \
     allow-top-navigation-by-user-activation";

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// A running service and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub key: String,
    pub state: AppState,
    pub config: Config,
    _data_dir: std::sync::Arc<tempfile::TempDir>,
    /// The listening socket, held here too so a restart takes it over without ever closing it: a
    /// port that is closed even for a moment can be taken by another test's socket.
    listener: std::sync::Arc<std::net::TcpListener>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    /// Set by a test that means to leave dead jobs behind (see [`TestApp::run_jobs`]).
    dead_jobs_expected: std::sync::atomic::AtomicBool,
}

async fn fresh_database_url() -> Option<String> {
    let admin = std::env::var("TEST_DATABASE_URL").ok()?;
    sqlx::any::install_default_drivers();
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// Test defaults in `dir`: a fresh PostgreSQL database and S3 prefix when the environment names
/// them, SQLite and local files otherwise.
async fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::for_data_dir(dir.to_owned());
    config.database_url = fresh_database_url().await;
    config.object_store_url = fresh_object_store_url();
    config.dev_api_key = Some(KEY.into());
    if config.database_url.is_some() {
        // Off SQLite the service key must be configured (replicas share it).
        let secret = format!(
            "{}{}",
            uuid::Uuid::now_v7().simple(),
            uuid::Uuid::now_v7().simple()
        );
        config.tracking_secret = Some(secret.as_str().into());
    }
    // Test sellers listen on loopback; the SSRF guard itself is tested with this turned off.
    config.outbound_allow_private = true;
    config
}

fn fresh_object_store_url() -> Option<String> {
    let base = std::env::var("TEST_OBJECT_STORE_URL").ok()?;
    Some(format!(
        "{}/t-{}",
        base.trim_end_matches('/'),
        uuid::Uuid::now_v7().simple()
    ))
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the service with test defaults, adjusted by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut config = test_config(dir.path()).await;
        tweak(&mut config);
        Self::start_fresh(config, dir).await
    }

    /// Starts the service on a database an older release left: migrated below `version`, then
    /// filled by `prepare` (SQL of that schema), so the start applies `version` onwards to it.
    pub async fn spawn_upgrading<F>(version: i64, prepare: impl FnOnce(Db) -> F) -> TestApp
    where
        F: std::future::Future<Output = ()>,
    {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
        let config = test_config(dir.path()).await;
        let db = Db::connect(&config.database_url())
            .await
            .expect("connect the test database");
        db.migrate_before(version).await.expect("older migrations");
        prepare(db.clone()).await;
        db.pool.close().await;
        Self::start_fresh(config, dir).await
    }

    /// Starts a new instance on a port of its own (see [`listen_on_loopback`]).
    async fn start_fresh(config: Config, dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
        Self::start(config, dir, std::sync::Arc::new(listen_on_loopback())).await
    }

    /// Starts the service on `listener` (on a restart: the socket the stopped instance served).
    async fn start(
        mut config: Config,
        dir: std::sync::Arc<tempfile::TempDir>,
        listener: std::sync::Arc<std::net::TcpListener>,
    ) -> TestApp {
        let socket = listener.try_clone().expect("clone the listening socket");
        socket.set_nonblocking(true).expect("non-blocking socket");
        let socket = tokio::net::TcpListener::from_std(socket).expect("tokio listener");
        config.listen_addr = socket.local_addr().expect("bound address");
        let app = Application::build_on(socket, config.clone())
            .await
            .expect("build app");
        Self::run(app, config, dir, listener)
    }

    fn run(
        app: Application,
        config: Config,
        dir: std::sync::Arc<tempfile::TempDir>,
        listener: std::sync::Arc<std::net::TcpListener>,
    ) -> TestApp {
        let addr = app.local_addr();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            key: KEY.into(),
            state,
            config,
            _data_dir: dir,
            listener,
            shutdown: Some(tx),
            server: Some(server),
            dead_jobs_expected: Default::default(),
        }
    }

    /// A second instance of the service on this one's database and object store (a replica behind
    /// the same load balancer), with its own spool and port; on SQLite it opens this one's file.
    pub async fn replica(&self) -> TestApp {
        let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut config = self.config.clone();
        config.data_dir = dir.path().to_owned();
        config.database_url = Some(self.config.database_url());
        if config.object_store_url.is_none() {
            let objects = self.config.data_dir.join("objects");
            config.object_store_url = Some(
                url::Url::from_directory_path(&objects)
                    .expect("absolute objects dir")
                    .to_string(),
            );
        }
        Self::start_fresh(config, dir).await
    }

    /// Stops the server (gracefully) and starts a new one on the same data.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let dir = self._data_dir.clone();
        let config = self.config.clone();
        Self::start(config, dir, self.listener.clone()).await
    }

    /// Stops the server and starts a new one on the same data with `tweak` applied to its config.
    pub async fn restart_with(mut self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        self.stop().await;
        let dir = self._data_dir.clone();
        let mut config = self.config.clone();
        tweak(&mut config);
        Self::start(config, dir, self.listener.clone()).await
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v2/buyer{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.api(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.api(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.api(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// An absolute URL the service hands out (a stored object, a served page), fetched without
    /// credentials as a browser or a seller would: its body, 200 asserted.
    pub async fn fetch_bytes(&self, url: &str) -> Vec<u8> {
        let res = self.client.get(url).send().await.expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        res.bytes().await.expect("body").to_vec()
    }

    /// [`TestApp::fetch_bytes`] as text.
    pub async fn fetch_text(&self, url: &str) -> String {
        String::from_utf8(self.fetch_bytes(url).await).expect("utf-8")
    }

    pub async fn create_sales_agent(&self, name: &str) -> Value {
        let res = self
            .post_json(
                "/sales-agents",
                &json!({
                    "name": name,
                    "endpoint_url": "https://seller.example/mcp",
                    "auth": {"token": "seller-secret-token"},
                    "capabilities": {"has_creative_library": true, "supports_inline": false}
                }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    /// A campaign with one product from a new seller, needing a 300x250 display format.
    pub async fn create_campaign(&self) -> String {
        let agent = self.create_sales_agent("Seller One").await;
        let res = self
            .post_json(
                "/campaigns",
                &json!({
                    "name": "Autumn launch",
                    "brand_domain": "acme.com",
                    "products": [{
                        "product_id": "homepage_display",
                        "sales_agent_id": agent["sales_agent_id"],
                        "format_ids": [{"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"}]
                    }]
                }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        body["campaign_id"]
            .as_str()
            .expect("campaign_id")
            .to_owned()
    }

    pub fn multipart(metadata: &Value, files: &[(&str, Vec<u8>)]) -> Form {
        let mut form = Form::new().text("metadata", metadata.to_string());
        for (name, bytes) in files {
            form = form.part(
                "files",
                Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        form
    }

    pub async fn upload(
        &self,
        campaign: &str,
        metadata: &Value,
        files: &[(&str, Vec<u8>)],
    ) -> Response {
        self.upload_form(campaign, Self::multipart(metadata, files))
            .await
    }

    pub async fn upload_form(&self, campaign: &str, form: Form) -> Response {
        self.client
            .post(self.api(&format!("/campaigns/{campaign}/creatives/create")))
            .bearer_auth(&self.key)
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    /// Uploads and expects success; returns the manifest.
    pub async fn create_manifest(
        &self,
        campaign: &str,
        metadata: &Value,
        files: &[(&str, Vec<u8>)],
    ) -> Value {
        let res = self.upload(campaign, metadata, files).await;
        let body = body_of(res, StatusCode::CREATED).await;
        body
    }

    /// A manifest of one 300x250 PNG uploaded as `a.png` (what most tests need), expecting success.
    pub async fn create_png_manifest(&self, campaign: &str, metadata: &Value) -> Value {
        self.create_manifest(
            campaign,
            metadata,
            &[("a.png", fixture("image_300x250.png"))],
        )
        .await
    }

    /// A PUT without files that must succeed: the updated manifest.
    pub async fn updated(&self, campaign: &str, creative: &str, metadata: &Value) -> Value {
        let res = self.update(campaign, creative, metadata, &[]).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        res.json().await.expect("manifest")
    }

    pub async fn update(
        &self,
        campaign: &str,
        creative: &str,
        metadata: &Value,
        files: &[(&str, Vec<u8>)],
    ) -> Response {
        self.client
            .put(self.api(&format!("/campaigns/{campaign}/creatives/{creative}")))
            .bearer_auth(&self.key)
            .multipart(Self::multipart(metadata, files))
            .send()
            .await
            .expect("request")
    }

    /// Keys of every object in the store.
    pub async fn stored_objects(&self) -> BTreeSet<String> {
        self.state
            .objects
            .store()
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list objects")
    }

    /// Stored objects other than the preview pages the service renders for each manifest.
    pub async fn stored_uploads(&self) -> BTreeSet<String> {
        self.stored_objects()
            .await
            .into_iter()
            .filter(|k| !k.contains("/preview/"))
            .collect()
    }

    /// Runs the queue's jobs until none is left to run, with the service's own kinds; see
    /// [`TestApp::run_jobs_with`].
    pub async fn run_jobs(&self) {
        self.run_jobs_with(creative_manifests::services::worker(&self.state))
            .await;
    }

    /// Says this test means to leave dead jobs (a refusal, attempts run out): `run_jobs` lets them be.
    pub fn expect_dead_jobs(&self) {
        self.dead_jobs_expected
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs due jobs with `worker` until none is left: a job backing off after a failed attempt is
    /// made due at once (the test skips the backoff, never the attempt); a job waiting for a seller's
    /// task is run when its next look falls due, if that is within a few seconds (else it is left
    /// waiting, as for a webhook to wake); a job another worker holds (the service's own, or a
    /// stopped process's until its lease ends) is waited for. Fails the test if a job ends dead and
    /// the test did not say it expected one.
    pub async fn run_jobs_with(&self, worker: creative_manifests::jobs::Worker) {
        let db = &self.state.db;
        let started = std::time::Instant::now();
        loop {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "jobs did not settle"
            );
            while worker.run_one("test-runner").await.expect("queue") {}
            let skipped = sqlx::query(
                "UPDATE jobs SET next_attempt_at = $1 WHERE status = 'pending' \
                 AND last_error IS NOT NULL AND next_attempt_at > $1",
            )
            .bind(creative_manifests::store::db::now())
            .execute(&db.pool)
            .await
            .expect("skip backoff")
            .rows_affected();
            if skipped > 0 {
                continue;
            }
            let left: Vec<(String, String)> = sqlx::query(
                "SELECT status, next_attempt_at FROM jobs WHERE status IN ('pending', 'running')",
            )
            .fetch_all(&db.pool)
            .await
            .expect("jobs")
            .iter()
            .map(|r| (r.get("status"), r.get("next_attempt_at")))
            .collect();
            let next_look = left
                .iter()
                .filter(|(status, _)| status == "pending")
                .filter_map(|(_, due)| chrono::DateTime::parse_from_rfc3339(due).ok())
                .min();
            let pause = if left.iter().any(|(status, _)| status == "running") {
                std::time::Duration::from_millis(10)
            } else if let Some(due) = next_look {
                match (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std() {
                    Ok(wait) if wait > std::time::Duration::from_secs(5) => break,
                    Ok(wait) => wait,
                    Err(_) => std::time::Duration::ZERO, // due already
                }
            } else {
                break;
            };
            tokio::time::sleep(pause).await;
        }
        if !self
            .dead_jobs_expected
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            let dead: Vec<String> = sqlx::query(
                "SELECT id, kind, last_error FROM jobs WHERE status = 'dead' ORDER BY id",
            )
            .fetch_all(&db.pool)
            .await
            .expect("dead jobs")
            .iter()
            .map(|r| {
                format!(
                    "{} ({}): {}",
                    r.get::<String, _>("id"),
                    r.get::<String, _>("kind"),
                    r.get::<Option<String>, _>("last_error").unwrap_or_default()
                )
            })
            .collect();
            assert!(
                dead.is_empty(),
                "jobs died that the test did not expect (call expect_dead_jobs if it means them): {dead:?}"
            );
        }
    }

    pub async fn count_rows(&self, table: &str) -> i64 {
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&self.state.db.pool)
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    /// Asserts there is no trace of any manifest: no rows, no objects, no pending records.
    pub async fn assert_nothing_stored(&self) {
        assert_eq!(self.count_rows("creatives").await, 0, "creative rows left");
        assert_eq!(
            self.count_rows("creative_assets").await,
            0,
            "asset rows left"
        );
        assert_eq!(
            self.count_rows("pending_objects").await,
            0,
            "pending records left"
        );
        assert_eq!(self.stored_objects().await, BTreeSet::new(), "objects left");
        let spooled = std::fs::read_dir(self.config.spool_dir())
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(spooled, 0, "spool files left");
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.api(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A sales agent at `endpoint` (a test seller), with `token`.
    pub async fn register_seller(&self, endpoint: &str, token: Option<&str>) -> String {
        let mut body = json!({"name": "Test seller", "endpoint_url": endpoint, "capabilities": {"has_creative_library": true}});
        if let Some(t) = token {
            body["auth"] = json!({"token": t});
        }
        let res = self.post_json("/sales-agents", &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let v: Value = res.json().await.expect("json");
        let id = v["sales_agent_id"].as_str().expect("id").to_owned();
        // Creation starts a format fetch in the background; let it finish so tests see one state.
        for _ in 0..200 {
            let a: Value = self
                .get(&format!("/sales-agents/{id}"))
                .await
                .json()
                .await
                .expect("json");
            if a["formats"]["last_attempted_at"].is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        id
    }

    /// Asks the service to fetch a sales agent's formats now.
    pub async fn refresh_formats(&self, sales_agent_id: &str) -> Response {
        self.client
            .post(self.api(&format!("/sales-agents/{sales_agent_id}/formats/refresh")))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("request")
    }

    /// Another customer with their own key.
    pub async fn other_customer(&self, name: &str) -> String {
        let c = creative_manifests::store::customers::ensure_customer(&self.state.db, name)
            .await
            .expect("customer");
        let key = format!("key-for-{name}");
        creative_manifests::store::customers::register_key(&self.state.db, &c.id, &key, "test")
            .await
            .expect("key");
        key
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Reads an error body and checks its shape.
/// The JSON body of an answer that must have `status` (the body shown when it has not).
pub async fn body_of(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let body: Value = res.json().await.expect("a JSON body");
    assert_eq!(got, status, "{body}");
    body
}

pub async fn error_of(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("error body is JSON");
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"].clone()
}

/// The service binary run as an operator would (`serve`), on embedded SQLite in its own data folder,
/// with an environment that starts empty of this service's and proxies' variables. Killed on drop.
pub struct ServiceProcess {
    child: std::process::Child,
    pub base: String,
    #[allow(dead_code)] // read by the start-up tests of keys kept in DATA_DIR
    pub data_dir: std::path::PathBuf,
    log: std::path::PathBuf,
}

/// Variables that would change how a spawned service behaves if inherited from the test run.
const SERVICE_ENV: &[&str] = &[
    "DATABASE_URL",
    "OBJECT_STORE_URL",
    "TRACKING_SECRET",
    "DEV_API_KEY",
    "OUTBOUND_PROXY",
    "OUTBOUND_ALLOW_PRIVATE",
    "STANDARD_AGENT_PREVIEWS",
    "AGENT_PREVIEW_TIMEOUT_MS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "RUST_LOG",
];

impl ServiceProcess {
    /// Starts `serve` on `data_dir` with `env` and waits until it answers `/healthz`; `Err` carries
    /// its log when it exits first.
    pub async fn start(
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Result<ServiceProcess, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = data_dir.with_extension(format!("{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_creative-manifests"));
        for var in SERVICE_ENV {
            cmd.env_remove(var);
        }
        cmd.arg("serve")
            .env("DATA_DIR", data_dir)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out);
        let child = cmd.spawn().expect("spawn the service");
        let mut p = ServiceProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
            log,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(Some(_)) = p.child.try_wait() {
                return Err(p.log());
            }
            if client
                .get(format!("{}/healthz", p.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(p);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the service never answered: {}", p.log());
    }

    /// What the process wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v2/buyer{path}", self.base)
    }

    /// Sends SIGTERM and waits for the process to exit.
    #[allow(dead_code)] // used by the graceful shutdown test
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        self.child.wait().expect("wait for the service")
    }

    /// Stops the process and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A stand-in HTTP proxy on loopback that records the head of every request it receives and answers
/// 502 to each.
pub struct FakeProxy {
    pub url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl FakeProxy {
    pub async fn start() -> FakeProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    recorded
                        .lock()
                        .expect("lock")
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let _ = conn
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        FakeProxy { url, seen, task }
    }

    /// Request heads received so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for FakeProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback socket listening on a port the kernel picks. The test instance keeps it open until it
/// is dropped, restarts included: stored public URLs name the port, and a port closed even between
/// a stop and a start could be taken meanwhile as the local end of any of the hundreds of
/// connections the suite makes ("Address already in use" on the restart).
fn listen_on_loopback() -> std::net::TcpListener {
    std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port")
}
