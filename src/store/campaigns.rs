//! Campaigns and their selected products.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::db::{from_json, to_json, Db};
use crate::adcp::types::FormatId;
pub use crate::adcp::types::FormatKindRequirement;
use crate::ids::{CampaignId, CustomerId, SalesAgentId};

/// A product the campaign bought, from one seller, needing these formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub product_id: String,
    pub sales_agent_id: SalesAgentId,
    #[serde(default)]
    pub format_ids: Vec<FormatId>,
    #[serde(default)]
    pub format_kinds: Vec<FormatKindRequirement>,
    /// What the buy spends on this product (the media buy's currency); needed to execute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub budget: Option<f64>,
    /// The seller's pricing option chosen for this product (from its `get_products`); needed to execute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub pricing_option_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub campaign_id: CampaignId,
    pub name: String,
    pub brand_domain: String,
    pub products: Vec<Product>,
    /// Flight: RFC 3339 or `asap`. A campaign may be drafted without it; executing needs it.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Campaign {
    /// The formats its products need, without repeats, in product order.
    pub fn requirements(&self) -> Vec<crate::manifest::coverage::Requirement> {
        use crate::manifest::coverage::Requirement;
        let mut out: Vec<Requirement> = Vec::new();
        for p in &self.products {
            let reqs = p
                .format_ids
                .iter()
                .cloned()
                .map(Requirement::Format)
                .chain(p.format_kinds.iter().cloned().map(Requirement::Kind));
            for r in reqs {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// The named formats its products need (no kinds), without repeats.
    pub fn format_ids(&self) -> Vec<FormatId> {
        let mut out: Vec<FormatId> = Vec::new();
        for id in self.products.iter().flat_map(|p| &p.format_ids) {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        out
    }
}

const COLUMNS: &str =
    "id, name, brand_domain, products, start_time, end_time, created_at, updated_at";

/// One campaign as [`COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: String,
    name: String,
    brand_domain: String,
    products: String,
    start_time: Option<String>,
    end_time: Option<String>,
    created_at: String,
    updated_at: String,
}

impl CampaignRow {
    fn into_campaign(self) -> anyhow::Result<Campaign> {
        Ok(Campaign {
            campaign_id: CampaignId::from_db(self.id),
            name: self.name,
            brand_domain: self.brand_domain,
            products: from_json(&self.products)?,
            start_time: self.start_time,
            end_time: self.end_time,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub async fn insert(db: &Db, customer: &CustomerId, c: &Campaign) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO campaigns (id, customer_id, name, brand_domain, products, start_time, end_time, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.campaign_id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(&c.name)
    .bind(&c.brand_domain)
    .bind(to_json(&c.products))
    .bind(c.start_time.clone())
    .bind(c.end_time.clone())
    .bind(&c.created_at)
    .bind(&c.updated_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(
    db: &Db,
    customer: &CustomerId,
    id: &CampaignId,
) -> anyhow::Result<Option<Campaign>> {
    let row = sqlx::query_as::<_, CampaignRow>(&format!(
        "SELECT {COLUMNS} FROM campaigns WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?;
    row.map(CampaignRow::into_campaign).transpose()
}

pub async fn list(
    db: &Db,
    customer: &CustomerId,
    take: i64,
    skip: i64,
) -> anyhow::Result<(Vec<Campaign>, i64)> {
    let rows = sqlx::query_as::<_, CampaignRow>(&format!(
        "SELECT {COLUMNS} FROM campaigns WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(customer.as_str().to_owned())
    .bind(take)
    .bind(skip)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM campaigns WHERE customer_id = $1")
        .bind(customer.as_str().to_owned())
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let campaigns = rows
        .into_iter()
        .map(CampaignRow::into_campaign)
        .collect::<anyhow::Result<_>>()?;
    Ok((campaigns, total))
}

/// Campaigns whose name or brand domain contains `search` (Unicode case folded, as manifest search
/// folds), newest first, paged. Folded in Rust rather than SQL (`LOWER` folds only ASCII on
/// SQLite); a customer's campaigns are few enough to read whole.
pub async fn search(
    db: &Db,
    customer: &CustomerId,
    search: &str,
    take: i64,
    skip: i64,
) -> anyhow::Result<(Vec<Campaign>, i64)> {
    let (all, _) = list(db, customer, i64::MAX, 0).await?;
    let matching: Vec<Campaign> = all
        .into_iter()
        .filter(|c| matches_search(c, search))
        .collect();
    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    let page = matching
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .collect();
    Ok((page, total))
}

/// Pure: whether a campaign's name or brand domain contains `search`, case folded.
pub fn matches_search(c: &Campaign, search: &str) -> bool {
    let needle = super::search::fold(search.trim());
    super::search::fold(&c.name).contains(&needle)
        || super::search::fold(&c.brand_domain).contains(&needle)
}

pub async fn update(db: &Db, customer: &CustomerId, c: &Campaign) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE campaigns SET name = $1, brand_domain = $2, products = $3, start_time = $4, end_time = $5, \
         updated_at = $6 WHERE id = $7 AND customer_id = $8",
    )
    .bind(&c.name)
    .bind(&c.brand_domain)
    .bind(to_json(&c.products))
    .bind(c.start_time.clone())
    .bind(c.end_time.clone())
    .bind(&c.updated_at)
    .bind(c.campaign_id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .execute(&db.pool)
    .await?;
    Ok(())
}
