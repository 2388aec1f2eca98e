//! The media buys a campaign made: one per seller, with the seller's package id for each product.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{from_json, now, to_json, Db};
use crate::ids::{CampaignId, CustomerId, SalesAgentId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageRef {
    pub product_id: String,
    pub package_id: String,
    /// The creatives last assigned to the package (by reference or inline).
    #[serde(default)]
    pub assigned: Vec<String>,
    /// Those of `assigned` the package carries inline (the rest by library reference). Absent on
    /// packages recorded before it was kept: they hold their creatives as the buy's `transport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub inline: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediaBuy {
    pub sales_agent_id: String,
    pub media_buy_id: String,
    #[schema(required = true)]
    pub revision: Option<i64>,
    #[schema(required = true)]
    pub status: Option<String>,
    pub transport: String,
    pub packages: Vec<PackageRef>,
    pub created_at: String,
    pub updated_at: String,
}

impl MediaBuy {
    pub fn package_of(&self, product_id: &str) -> Option<&str> {
        self.packages
            .iter()
            .find(|p| p.product_id == product_id)
            .map(|p| p.package_id.as_str())
    }
}

const COLUMNS: &str =
    "sales_agent_id, media_buy_id, revision, status, transport, packages, created_at, updated_at";

fn from_row(r: &AnyRow) -> anyhow::Result<MediaBuy> {
    Ok(MediaBuy {
        sales_agent_id: r.try_get("sales_agent_id")?,
        media_buy_id: r.try_get("media_buy_id")?,
        revision: r.try_get("revision")?,
        status: r.try_get("status")?,
        transport: r.try_get("transport")?,
        packages: from_json(&r.try_get::<String, _>("packages")?)?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(
    db: &Db,
    campaign: &CampaignId,
    agent: &SalesAgentId,
) -> anyhow::Result<Option<MediaBuy>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM media_buys WHERE campaign_id = $1 AND sales_agent_id = $2"
    ))
    .bind(campaign.as_str().to_owned())
    .bind(agent.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn for_campaign(db: &Db, campaign: &CampaignId) -> anyhow::Result<Vec<MediaBuy>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM media_buys WHERE campaign_id = $1 ORDER BY created_at, sales_agent_id"
    ))
    .bind(campaign.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Records the buy as the seller last confirmed it.
pub async fn save(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    b: &MediaBuy,
) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO media_buys (campaign_id, customer_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (campaign_id, sales_agent_id) DO UPDATE SET media_buy_id = excluded.media_buy_id, \
           revision = excluded.revision, status = excluded.status, transport = excluded.transport, \
           packages = excluded.packages, updated_at = excluded.updated_at"
    ))
    .bind(campaign.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(&b.sales_agent_id)
    .bind(&b.media_buy_id)
    .bind(b.revision)
    .bind(b.status.clone())
    .bind(&b.transport)
    .bind(to_json(&b.packages))
    .bind(&b.created_at)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}
