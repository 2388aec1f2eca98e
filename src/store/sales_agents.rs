//! Sales agents (sellers): their AdCP endpoint, credentials and creative capabilities.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::Row;

use super::db::Db;
use super::formats::FetchStatus;
use super::sealing::is_sealed;
use crate::ids::{CustomerId, SalesAgentId};

/// Whether the seller keeps a creative library (`sync_creatives`): `true`, `false` or `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LibrarySupport {
    Yes,
    No,
    #[default]
    Unknown,
}

impl LibrarySupport {
    fn as_db(self) -> &'static str {
        match self {
            LibrarySupport::Yes => "true",
            LibrarySupport::No => "false",
            LibrarySupport::Unknown => "unknown",
        }
    }

    fn from_db(s: &str) -> Self {
        match s {
            "true" => LibrarySupport::Yes,
            "false" => LibrarySupport::No,
            _ => LibrarySupport::Unknown,
        }
    }
}

impl Serialize for LibrarySupport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LibrarySupport::Yes => s.serialize_bool(true),
            LibrarySupport::No => s.serialize_bool(false),
            LibrarySupport::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for LibrarySupport {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(LibrarySupport::Yes),
            Raw::Bool(false) => Ok(LibrarySupport::No),
            Raw::Str(s) if s == "unknown" => Ok(LibrarySupport::Unknown),
            Raw::Str(s) => Err(serde::de::Error::custom(format!(
                "expected true, false or \"unknown\", got \"{s}\""
            ))),
        }
    }
}

/// A credential. It has no `Serialize` and its `Debug` hides the value, so it cannot leak into a
/// response or a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    /// `true`, `false` or `"unknown"` (not asked yet).
    #[schema(value_type = Value)]
    pub has_creative_library: LibrarySupport,
    pub supports_inline: bool,
    /// Tools the agent advertised when last asked (`tools/list`); empty until then.
    pub advertised_tools: Vec<String>,
    #[schema(required = true)]
    pub probed_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SalesAgent {
    pub id: SalesAgentId,
    pub name: String,
    pub endpoint_url: String,
    pub auth_scheme: Option<String>,
    pub auth_token: Option<Secret>,
    pub capabilities: Capabilities,
    /// Seller-assigned account id; when absent the account is named by brand and operator.
    pub account_id: Option<String>,
    pub formats: FetchStatus,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, name, endpoint_url, auth_scheme, auth_token, has_creative_library, supports_inline, created_at, updated_at, account_id";
/// Reads also carry the state of the agent's format fetches, so listing agents is one query.
const READ_COLUMNS: &str = "id, name, endpoint_url, auth_scheme, auth_token, has_creative_library, supports_inline, created_at, updated_at, account_id, advertised_tools, capabilities_probed_at, \
     formats_fetched_at, formats_attempted_at, formats_error, \
     (SELECT COUNT(*) FROM agent_formats f WHERE f.sales_agent_id = sales_agents.id) AS formats_count";

/// One agent as [`READ_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct AgentRow {
    id: String,
    name: String,
    endpoint_url: String,
    auth_scheme: Option<String>,
    auth_token: Option<String>,
    has_creative_library: String,
    supports_inline: i64,
    created_at: String,
    updated_at: String,
    account_id: Option<String>,
    advertised_tools: Option<String>,
    capabilities_probed_at: Option<String>,
    formats_fetched_at: Option<String>,
    formats_attempted_at: Option<String>,
    formats_error: Option<String>,
    formats_count: i64,
}

impl AgentRow {
    /// The agent, its stored token opened with the service key.
    fn into_agent(self, db: &Db) -> sqlx::Result<SalesAgent> {
        Ok(SalesAgent {
            id: SalesAgentId::from_db(self.id),
            name: self.name,
            endpoint_url: self.endpoint_url,
            auth_scheme: self.auth_scheme,
            auth_token: self
                .auth_token
                .map(|stored| db.open(&stored).map(Secret))
                .transpose()?,
            capabilities: Capabilities {
                has_creative_library: LibrarySupport::from_db(&self.has_creative_library),
                supports_inline: self.supports_inline != 0,
                // What an agent advertised is a hint: an unreadable list reads as none.
                advertised_tools: self
                    .advertised_tools
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
                probed_at: self.capabilities_probed_at,
            },
            account_id: self.account_id,
            formats: FetchStatus {
                count: self.formats_count,
                last_fetched_at: self.formats_fetched_at,
                last_attempted_at: self.formats_attempted_at,
                last_error: self.formats_error,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub async fn insert(db: &Db, customer: &CustomerId, a: &SalesAgent) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO sales_agents (customer_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(customer.as_str().to_owned())
    .bind(a.id.as_str().to_owned())
    .bind(&a.name)
    .bind(&a.endpoint_url)
    .bind(a.auth_scheme.clone())
    .bind(a.auth_token.as_ref().map(|s| db.seal(&s.0)).transpose()?)
    .bind(a.capabilities.has_creative_library.as_db())
    .bind(i64::from(a.capabilities.supports_inline))
    .bind(&a.created_at)
    .bind(&a.updated_at)
    .bind(a.account_id.clone())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Writes what a buyer may change (name, endpoint, credentials, capabilities, account); true if
/// the agent exists. Formats and probe results are the fetcher's and stay as they are.
pub async fn update(db: &Db, customer: &CustomerId, a: &SalesAgent) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE sales_agents SET name = $1, endpoint_url = $2, auth_scheme = $3, auth_token = $4, \
         has_creative_library = $5, supports_inline = $6, account_id = $7, updated_at = $8 \
         WHERE id = $9 AND customer_id = $10",
    )
    .bind(&a.name)
    .bind(&a.endpoint_url)
    .bind(a.auth_scheme.clone())
    .bind(a.auth_token.as_ref().map(|s| db.seal(&s.0)).transpose()?)
    .bind(a.capabilities.has_creative_library.as_db())
    .bind(i64::from(a.capabilities.supports_inline))
    .bind(a.account_id.clone())
    .bind(&a.updated_at)
    .bind(a.id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn get(
    db: &Db,
    customer: &CustomerId,
    id: &SalesAgentId,
) -> sqlx::Result<Option<SalesAgent>> {
    sqlx::query_as::<_, AgentRow>(&format!(
        "SELECT {READ_COLUMNS} FROM sales_agents WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.into_agent(db))
    .transpose()
}

/// Start-up check of the stored credentials: every sealed one must open under this service's key
/// (else the key changed, and calls to those sellers would go out unauthenticated or fail one by
/// one), and the ones stored in plain text before sealing existed are sealed.
pub async fn check_stored_tokens(db: &Db) -> anyhow::Result<usize> {
    let rows = sqlx::query("SELECT id, auth_token FROM sales_agents WHERE auth_token IS NOT NULL")
        .fetch_all(&db.pool)
        .await?;
    let mut unreadable = Vec::new();
    let mut sealed = 0;
    for r in &rows {
        let id: String = r.try_get("id")?;
        let stored: String = r.try_get("auth_token")?;
        if is_sealed(&stored) {
            if db.open(&stored).is_err() {
                unreadable.push(id);
            }
            continue;
        }
        sqlx::query("UPDATE sales_agents SET auth_token = $1 WHERE id = $2 AND auth_token = $3")
            .bind(db.seal(&stored)?)
            .bind(&id)
            .bind(&stored)
            .execute(&db.pool)
            .await?;
        sealed += 1;
    }
    if !unreadable.is_empty() {
        anyhow::bail!(
            "{} sales agent token(s) do not open with this service's key (sales agents {}): \
             TRACKING_SECRET differs from the one they were sealed with; start with that one",
            unreadable.len(),
            unreadable.join(", ")
        );
    }
    if sealed > 0 {
        tracing::info!(sealed, "sealed seller credentials stored in plain text");
    }
    Ok(sealed)
}

pub async fn list(db: &Db, customer: &CustomerId) -> sqlx::Result<Vec<SalesAgent>> {
    sqlx::query_as::<_, AgentRow>(&format!(
        "SELECT {READ_COLUMNS} FROM sales_agents WHERE customer_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(customer.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| r.into_agent(db))
    .collect()
}

/// Records what the agent said about itself. `has_creative_library` is only filled in where the
/// buyer left it unknown: a buyer's explicit setting wins.
pub async fn record_capabilities(
    db: &Db,
    id: &SalesAgentId,
    has_library: Option<bool>,
    tools: &[String],
    at: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sales_agents SET advertised_tools = $1, capabilities_probed_at = $2, \
         has_creative_library = CASE WHEN has_creative_library = 'unknown' AND $3 IS NOT NULL THEN $3 ELSE has_creative_library END \
         WHERE id = $4",
    )
    .bind(serde_json::to_string(tools).unwrap_or_else(|_| "[]".into()))
    .bind(at)
    .bind(has_library.map(|b| if b { "true" } else { "false" }))
    .bind(id.as_str().to_owned())
    .execute(&db.pool)
    .await?;
    Ok(())
}
