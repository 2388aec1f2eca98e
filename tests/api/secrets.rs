//! Secrets at start-up, seen from outside the process: where the service key lives, the dev key.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::helpers::ServiceProcess;

const DEV_KEY: &str = "dev-key-for-secret-tests";

async fn db_of(service_dir: &std::path::Path) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", service_dir.join("manifests.db").display());
    sqlx::AnyConnection::connect(&url)
        .await
        .expect("open the service's database")
}

async fn stored_keys(service_dir: &std::path::Path) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM service_secrets")
        .fetch_one(&mut db_of(service_dir).await)
        .await
        .unwrap()
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn without_tracking_secret_the_key_lives_in_an_owner_only_file_not_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut service = ServiceProcess::start(dir.path(), &[("DEV_API_KEY", DEV_KEY)])
        .await
        .unwrap();
    let file = dir.path().join("tracking-secret");
    let key = std::fs::read_to_string(&file).expect("key file");
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    assert_eq!(stored_keys(dir.path()).await, 0, "no key in the database");
    let log = service.log();
    assert!(log.contains(&file.display().to_string()), "{log}");
    assert!(!log.contains(&key), "the key itself is never logged");
    service.stop();

    // The same key after a restart.
    let _service = ServiceProcess::start(dir.path(), &[("DEV_API_KEY", DEV_KEY)])
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), key);
}

#[tokio::test]
async fn a_key_an_earlier_version_kept_in_the_database_moves_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let old_key = "5a".repeat(32);
    // Seller tokens sealed under the old key: the service only starts if it still has that key.
    let mut service = ServiceProcess::start(
        dir.path(),
        &[("DEV_API_KEY", DEV_KEY), ("TRACKING_SECRET", &old_key)],
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let res = client
        .post(service.api("/sales-agents"))
        .bearer_auth(DEV_KEY)
        .json(&json!({"name": "Seller", "endpoint_url": "https://seller.example/mcp", "auth": {"token": "seller-secret-token"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    service.stop();
    // As an earlier version left it: the generated key in the database.
    sqlx::query("INSERT INTO service_secrets (name, value, created_at) VALUES ('tracking_hmac', $1, '2026-01-01T00:00:00Z')")
        .bind(&old_key)
        .execute(&mut db_of(dir.path()).await)
        .await
        .unwrap();

    let service = ServiceProcess::start(dir.path(), &[("DEV_API_KEY", DEV_KEY)])
        .await
        .expect("starts: the stored seller tokens open under the moved key");
    let file = dir.path().join("tracking-secret");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), old_key);
    assert_eq!(
        stored_keys(dir.path()).await,
        0,
        "deleted from the database"
    );
    let agents: Value = client
        .get(service.api("/sales-agents"))
        .bearer_auth(DEV_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents["total"], 1);
    assert!(!service.log().contains(&old_key));
}

#[tokio::test]
async fn postgres_without_tracking_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // Refused before any connection is tried: no PostgreSQL needs to listen there.
    let log = match ServiceProcess::start(
        dir.path(),
        &[
            ("DEV_API_KEY", DEV_KEY),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
        ],
    )
    .await
    {
        Ok(_) => panic!("started on PostgreSQL without TRACKING_SECRET"),
        Err(log) => log,
    };
    assert!(
        log.contains("TRACKING_SECRET") && log.contains("required"),
        "{log}"
    );
    assert!(!dir.path().join("tracking-secret").exists());
}

#[tokio::test]
async fn the_dev_key_file_is_owner_only_and_written_for_a_chosen_key_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dev-api-key");
    let mut service = ServiceProcess::start(dir.path(), &[]).await.unwrap();
    let generated = std::fs::read_to_string(&file).expect("generated dev key");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let ok = |key: String, base: String| async move {
        reqwest::Client::new()
            .get(format!("{base}/api/v2/buyer/campaigns"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ok(generated, service.base.clone()).await, StatusCode::OK);
    service.stop();

    let service = ServiceProcess::start(dir.path(), &[("DEV_API_KEY", DEV_KEY)])
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        DEV_KEY,
        "README: API_KEY=$(cat data/dev-api-key)"
    );
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        ok(DEV_KEY.into(), service.base.clone()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_short_dev_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = match ServiceProcess::start(dir.path(), &[("DEV_API_KEY", "short")]).await {
        Ok(_) => panic!("started with a 5-character API key"),
        Err(log) => log,
    };
    assert!(
        log.contains("DEV_API_KEY must be at least 16 characters"),
        "{log}"
    );
    assert!(!log.contains("short\n"));
    assert!(!dir.path().join("dev-api-key").exists());
}

#[tokio::test]
async fn with_tracking_secret_a_database_copy_of_it_is_deleted_and_another_key_left_with_a_warning()
{
    let dir = tempfile::tempdir().unwrap();
    let key = "7c".repeat(32);
    let env = [("DEV_API_KEY", DEV_KEY), ("TRACKING_SECRET", key.as_str())];
    let mut service = ServiceProcess::start(dir.path(), &env).await.unwrap();
    service.stop();
    let insert = |value: String| {
        let dir = dir.path().to_owned();
        async move {
            sqlx::query("INSERT INTO service_secrets (name, value, created_at) VALUES ('tracking_hmac', $1, '2026-01-01T00:00:00Z')")
                .bind(value)
                .execute(&mut db_of(&dir).await)
                .await
                .unwrap();
        }
    };
    insert(key.clone()).await;
    let mut service = ServiceProcess::start(dir.path(), &env).await.unwrap();
    assert_eq!(
        stored_keys(dir.path()).await,
        0,
        "the copy of the key in use is gone"
    );
    assert!(
        !dir.path().join("tracking-secret").exists(),
        "no file beside TRACKING_SECRET"
    );
    service.stop();

    // A different key may be what a restored backup's sealed tokens need: kept, and said so.
    insert("9d".repeat(32)).await;
    let service = ServiceProcess::start(dir.path(), &env).await.unwrap();
    assert_eq!(stored_keys(dir.path()).await, 1);
    let log = service.log();
    assert!(log.contains("still holds a service key"), "{log}");
    assert!(!log.contains(&"9d".repeat(32)) && !log.contains(&key));
}
