//! Formats fetched from sales agents, and the record of each agent's last fetch.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::db::{from_json, to_json, Db};
use crate::adcp::types::FormatId;
use crate::ids::{CustomerId, SalesAgentId};

/// Replaces an agent's formats with a fresh fetch, and marks the fetch successful.
pub async fn replace(
    db: &Db,
    agent: &SalesAgentId,
    formats: &[(FormatId, Value)],
    at: &str,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM agent_formats WHERE sales_agent_id = $1")
        .bind(agent.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
    for (id, json) in formats {
        sqlx::query(
            "INSERT INTO agent_formats (sales_agent_id, agent_url, format_id, format_json, fetched_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sales_agent_id, agent_url, format_id) DO NOTHING",
        )
        .bind(agent.as_str().to_owned())
        .bind(&id.agent_url)
        .bind(&id.id)
        .bind(to_json(json))
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE sales_agents SET formats_fetched_at = $1, formats_attempted_at = $1, formats_error = NULL WHERE id = $2",
    )
    .bind(at)
    .bind(agent.as_str().to_owned())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Records a failed fetch; the formats fetched before stay.
pub async fn record_failure(
    db: &Db,
    agent: &SalesAgentId,
    error: &str,
    at: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sales_agents SET formats_attempted_at = $1, formats_error = $2 WHERE id = $3",
    )
    .bind(at)
    .bind(error)
    .bind(agent.as_str().to_owned())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A fetched format and the agent it came from.
pub struct AgentFormat {
    pub sales_agent_id: SalesAgentId,
    pub format: Value,
    pub fetched_at: String,
}

/// Every format fetched from this customer's sales agents.
pub async fn for_customer(db: &Db, customer: &CustomerId) -> anyhow::Result<Vec<AgentFormat>> {
    sqlx::query(
        "SELECT f.sales_agent_id, f.format_json, f.fetched_at FROM agent_formats f \
         JOIN sales_agents s ON s.id = f.sales_agent_id WHERE s.customer_id = $1 \
         ORDER BY f.agent_url, f.format_id",
    )
    .bind(customer.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(AgentFormat {
            sales_agent_id: SalesAgentId::from_db(r.try_get("sales_agent_id")?),
            format: from_json(&r.try_get::<String, _>("format_json")?)?,
            fetched_at: r.try_get("fetched_at")?,
        })
    })
    .collect()
}

/// The state of an agent's format fetches, as shown on the sales agent.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FetchStatus {
    pub count: i64,
    #[schema(required = true)]
    pub last_fetched_at: Option<String>,
    #[schema(required = true)]
    pub last_attempted_at: Option<String>,
    #[schema(required = true)]
    pub last_error: Option<String>,
}

/// Agents (of any customer) whose formats were last tried before `before`, or never tried though
/// registered before `new_since` (a newer one is being fetched by its registration: a second
/// fetch beside it would only race it).
pub async fn due_for_refresh(
    db: &Db,
    before: &str,
    new_since: &str,
) -> sqlx::Result<Vec<(CustomerId, SalesAgentId)>> {
    sqlx::query(
        "SELECT customer_id, id FROM sales_agents WHERE formats_attempted_at < $1 \
         OR (formats_attempted_at IS NULL AND created_at < $2)",
    )
    .bind(before)
    .bind(new_since)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            CustomerId::from_db(r.try_get("customer_id")?),
            SalesAgentId::from_db(r.try_get("id")?),
        ))
    })
    .collect()
}

/// The formats fetched from one sales agent, in a stable order.
pub async fn for_agent(db: &Db, agent: &SalesAgentId) -> anyhow::Result<Vec<Value>> {
    sqlx::query(
        "SELECT format_json FROM agent_formats WHERE sales_agent_id = $1 ORDER BY agent_url, format_id",
    )
    .bind(agent.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| from_json(&r.try_get::<String, _>("format_json")?))
    .collect()
}
