//! A fresh PostgreSQL database for a bench run, next to TEST_DATABASE_URL's, dropped after.

/// A fresh database's URL and name; `None` without TEST_DATABASE_URL.
pub async fn fresh_postgres() -> anyhow::Result<Option<(String, String)>> {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        return Ok(None);
    };
    sqlx::any::install_default_drivers();
    let name = format!("bench_{}", uuid::Uuid::now_v7().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let mut url = url::Url::parse(&admin)?;
    url.set_path(&format!("/{name}"));
    Ok(Some((url.to_string(), name)))
}

/// What autovacuum does soon after a bulk load (since PostgreSQL 13 an insert-only table is
/// vacuumed too): planner statistics, the visibility map (index-only walks) and the GIN indexes'
/// pending lists merged.
pub async fn analyze(url: &str) -> anyhow::Result<()> {
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await?;
    sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
    Ok(())
}

/// Drops database `name` made by [`fresh_postgres`].
pub async fn drop_database(name: &str) {
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}
