//! Customers and their API keys. Keys are random 256-bit secrets; only their SHA-256 is stored
//! (a fast hash is right for high-entropy keys: there is nothing to brute-force).

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::db::{now, Db};
use crate::ids::{ApiKeyId, CustomerId};

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new API key: `cmk_` and 64 hex characters.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("cmk_{}", hex::encode(bytes))
}

/// The customer of that name, created if new.
pub async fn ensure_customer(db: &Db, name: &str) -> sqlx::Result<Customer> {
    sqlx::query(
        "INSERT INTO customers (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(CustomerId::new().as_str().to_owned())
    .bind(name)
    .bind(now())
    .execute(&db.pool)
    .await?;
    let row = sqlx::query("SELECT id FROM customers WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    Ok(Customer {
        id: CustomerId::from_db(row.try_get("id")?),
        name: name.to_owned(),
    })
}

/// Registers `key` for `customer`; registering the same key again is a no-op.
pub async fn register_key(
    db: &Db,
    customer: &CustomerId,
    key: &str,
    label: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, customer_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(ApiKeyId::new().as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(hash_key(key))
    .bind(label)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn find_by_key(db: &Db, key: &str) -> sqlx::Result<Option<Customer>> {
    let row = sqlx::query(
        "SELECT c.id, c.name FROM api_keys k JOIN customers c ON c.id = k.customer_id WHERE k.key_hash = $1",
    )
    .bind(hash_key(key))
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Customer {
            id: CustomerId::from_db(r.try_get("id")?),
            name: r.try_get("name")?,
        })
    })
    .transpose()
}
