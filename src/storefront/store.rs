//! Storefronts and their buyer accounts in the database. Every read of a storefront is scoped to
//! its owner; every read of an account to its storefront, so another tenant's rows answer as absent.

use sqlx::FromRow;

use super::{Account, ReviewMode, Storefront};
use crate::ids::{AccountId, CustomerId, SalesAgentId, StorefrontId};
use crate::store::customers::hash_key;
use crate::store::db::{from_json, to_json, Db};

#[derive(FromRow)]
struct StorefrontRow {
    id: String,
    customer_id: String,
    sales_agent_id: String,
    name: String,
    review_mode: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<StorefrontRow> for Storefront {
    type Error = sqlx::Error;
    fn try_from(r: StorefrontRow) -> Result<Self, Self::Error> {
        Ok(Storefront {
            id: StorefrontId::from_db(r.id),
            customer_id: CustomerId::from_db(r.customer_id),
            sales_agent_id: SalesAgentId::from_db(r.sales_agent_id),
            name: r.name,
            review_mode: ReviewMode::from_db(&r.review_mode).map_err(decode_error)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
struct AccountRow {
    id: String,
    storefront_id: String,
    name: String,
    brand_domains: String,
    operator: Option<String>,
    created_at: String,
    updated_at: String,
}

impl TryFrom<AccountRow> for Account {
    type Error = sqlx::Error;
    fn try_from(r: AccountRow) -> Result<Self, Self::Error> {
        Ok(Account {
            id: AccountId::from_db(r.id),
            storefront_id: StorefrontId::from_db(r.storefront_id),
            name: r.name,
            brand_domains: from_json(&r.brand_domains).map_err(decode_error)?,
            operator: r.operator,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn decode_error(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(e.to_string().into())
}

const SF_COLUMNS: &str =
    "id, customer_id, sales_agent_id, name, review_mode, created_at, updated_at";
const ACCOUNT_COLUMNS: &str =
    "id, storefront_id, name, brand_domains, operator, created_at, updated_at";

pub async fn insert(db: &Db, s: &Storefront) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO storefronts ({SF_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(s.id.as_str().to_owned())
    .bind(s.customer_id.as_str().to_owned())
    .bind(s.sales_agent_id.as_str().to_owned())
    .bind(&s.name)
    .bind(s.review_mode.as_db())
    .bind(&s.created_at)
    .bind(&s.updated_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn list(db: &Db, customer: &CustomerId) -> sqlx::Result<Vec<Storefront>> {
    sqlx::query_as::<_, StorefrontRow>(&format!(
        "SELECT {SF_COLUMNS} FROM storefronts WHERE customer_id = $1 ORDER BY created_at, id"
    ))
    .bind(customer.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(Storefront::try_from)
    .collect()
}

/// The customer's storefront; another customer's answers `None`.
pub async fn get(
    db: &Db,
    customer: &CustomerId,
    id: &StorefrontId,
) -> sqlx::Result<Option<Storefront>> {
    sqlx::query_as::<_, StorefrontRow>(&format!(
        "SELECT {SF_COLUMNS} FROM storefronts WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .map(Storefront::try_from)
    .transpose()
}

/// A storefront by id alone: its MCP face is public (capabilities and formats need no key).
pub async fn get_public(db: &Db, id: &StorefrontId) -> sqlx::Result<Option<Storefront>> {
    sqlx::query_as::<_, StorefrontRow>(&format!(
        "SELECT {SF_COLUMNS} FROM storefronts WHERE id = $1"
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .map(Storefront::try_from)
    .transpose()
}

/// Writes the storefront's editable fields (name, review mode).
pub async fn update(db: &Db, s: &Storefront) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE storefronts SET name = $1, review_mode = $2, updated_at = $3 WHERE id = $4 AND customer_id = $5",
    )
    .bind(&s.name)
    .bind(s.review_mode.as_db())
    .bind(&s.updated_at)
    .bind(s.id.as_str().to_owned())
    .bind(s.customer_id.as_str().to_owned())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Deletes the storefront and its accounts (their keys stop working at once). `false` if the
/// customer has no such storefront.
pub async fn delete(db: &Db, customer: &CustomerId, id: &StorefrontId) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    // Accounts first, in the same transaction: the schema cascades too, but SQLite only with
    // foreign keys on, and the keys must never outlive their storefront.
    sqlx::query(
        "DELETE FROM storefront_accounts WHERE storefront_id IN \
         (SELECT id FROM storefronts WHERE id = $1 AND customer_id = $2)",
    )
    .bind(id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM storefronts WHERE id = $1 AND customer_id = $2")
        .bind(id.as_str().to_owned())
        .bind(customer.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a new account with the hash of its key (the key itself is never stored).
pub async fn insert_account(db: &Db, a: &Account, key: &str) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO storefront_accounts ({ACCOUNT_COLUMNS}, key_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(a.id.as_str().to_owned())
    .bind(a.storefront_id.as_str().to_owned())
    .bind(&a.name)
    .bind(to_json(&a.brand_domains))
    .bind(a.operator.clone())
    .bind(&a.created_at)
    .bind(&a.updated_at)
    .bind(hash_key(key))
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn list_accounts(db: &Db, storefront: &StorefrontId) -> sqlx::Result<Vec<Account>> {
    sqlx::query_as::<_, AccountRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM storefront_accounts WHERE storefront_id = $1 ORDER BY created_at, id"
    ))
    .bind(storefront.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(Account::try_from)
    .collect()
}

pub async fn get_account(
    db: &Db,
    storefront: &StorefrontId,
    id: &AccountId,
) -> sqlx::Result<Option<Account>> {
    sqlx::query_as::<_, AccountRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM storefront_accounts WHERE id = $1 AND storefront_id = $2"
    ))
    .bind(id.as_str().to_owned())
    .bind(storefront.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .map(Account::try_from)
    .transpose()
}

pub async fn delete_account(
    db: &Db,
    storefront: &StorefrontId,
    id: &AccountId,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM storefront_accounts WHERE id = $1 AND storefront_id = $2")
        .bind(id.as_str().to_owned())
        .bind(storefront.as_str().to_owned())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The account a buyer key belongs to, if it belongs to one of this storefront's accounts: a key
/// of another storefront authenticates nothing here.
pub async fn account_by_key(
    db: &Db,
    storefront: &StorefrontId,
    key: &str,
) -> sqlx::Result<Option<Account>> {
    sqlx::query_as::<_, AccountRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM storefront_accounts WHERE key_hash = $1 AND storefront_id = $2"
    ))
    .bind(hash_key(key))
    .bind(storefront.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .map(Account::try_from)
    .transpose()
}
