//! Creative manifests and their assets. A manifest is written whole inside one transaction, so a
//! reader sees either the old or the new manifest, never half of one.

use sqlx::{Any, Row, Transaction};

use super::creative_rows::{
    enum_to_str, sync_columns, AssetRow, FactsRow, ManifestRow, OwnedAssetRow, SummaryRow,
    ASSET_COLUMNS, CREATIVE_COLUMNS,
};
use super::db::{now, to_json, Db};
use super::manifest_search::{self, Arg, Sql};
use super::search::{fold, Needle};
use crate::adcp::types::FormatRef;
use crate::ids::{CampaignId, CreativeId, CustomerId};
use crate::manifest::model::{AgentPreview, Asset, AssetContent, Manifest, PreviewError};
use crate::manifest::webhook::WebhookSecret;

pub use super::creative_rows::Summary;

type Tx<'a> = Transaction<'a, Any>;

fn format_columns(m: &Manifest) -> (Option<String>, Option<String>) {
    match &m.format {
        Some(FormatRef::Id(id)) => (Some(to_json(id)), None),
        Some(FormatRef::Kind(k)) => (None, Some(enum_to_str(k))),
        None => (None, None),
    }
}

pub async fn insert(tx: &mut Tx<'_>, customer: &CustomerId, m: &Manifest) -> sqlx::Result<()> {
    let (format_id, format_kind) = format_columns(m);
    sqlx::query(
        "INSERT INTO creatives (id, customer_id, campaign_id, name, message, template_id, format_id, \
         format_kind, format_option_ref, target_format_ids, frequency_caps, primary_asset_id, tracking, \
         preview_url, created_at, updated_at, targets_chosen, warnings, auto_detected_template, name_search, \
         agent_previews, preview_errors) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
    )
    .bind(m.creative_id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(m.campaign_id.as_str().to_owned())
    .bind(&m.name)
    .bind(m.message.clone())
    .bind(m.template_id.clone())
    .bind(format_id)
    .bind(format_kind)
    .bind(m.format_option_ref.as_ref().map(to_json))
    .bind(to_json(&m.target_format_ids))
    .bind(to_json(&m.frequency_caps))
    .bind(m.primary_asset_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(m.tracking.as_ref().map(to_json))
    .bind(m.preview_key.clone())
    .bind(&m.created_at)
    .bind(&m.updated_at)
    .bind(i64::from(m.targets_chosen))
    .bind(to_json(&m.warnings))
    .bind(m.auto_detected_template.as_ref().map(to_json))
    .bind(fold(&m.name))
    .bind(to_json(&m.agent_previews))
    .bind(to_json(&m.preview_errors))
    .execute(&mut **tx)
    .await?;
    insert_assets(tx, m).await
}

/// Replaces the stored manifest with `m` (same id), assets included.
pub async fn replace(tx: &mut Tx<'_>, customer: &CustomerId, m: &Manifest) -> sqlx::Result<()> {
    let (format_id, format_kind) = format_columns(m);
    sqlx::query(
        "UPDATE creatives SET name = $1, message = $2, template_id = $3, format_id = $4, format_kind = $5, \
         format_option_ref = $6, target_format_ids = $7, frequency_caps = $8, primary_asset_id = $9, \
         tracking = $10, preview_url = $11, updated_at = $12, targets_chosen = $13, warnings = $14, auto_detected_template = $15, \
         name_search = $18, agent_previews = $19, preview_errors = $20 WHERE id = $16 AND customer_id = $17",
    )
    .bind(&m.name)
    .bind(m.message.clone())
    .bind(m.template_id.clone())
    .bind(format_id)
    .bind(format_kind)
    .bind(m.format_option_ref.as_ref().map(to_json))
    .bind(to_json(&m.target_format_ids))
    .bind(to_json(&m.frequency_caps))
    .bind(m.primary_asset_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(m.tracking.as_ref().map(to_json))
    .bind(m.preview_key.clone())
    .bind(&m.updated_at)
    .bind(i64::from(m.targets_chosen))
    .bind(to_json(&m.warnings))
    .bind(m.auto_detected_template.as_ref().map(to_json))
    .bind(m.creative_id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(fold(&m.name))
    .bind(to_json(&m.agent_previews))
    .bind(to_json(&m.preview_errors))
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM creative_assets WHERE creative_id = $1")
        .bind(m.creative_id.as_str().to_owned())
        .execute(&mut **tx)
        .await?;
    insert_assets(tx, m).await
}

async fn insert_assets(tx: &mut Tx<'_>, m: &Manifest) -> sqlx::Result<()> {
    for (position, a) in m.assets.iter().enumerate() {
        let file = a.file();
        let (url, url_type) = match &a.content {
            AssetContent::Url { url, url_type } => (Some(url.clone()), Some(enum_to_str(url_type))),
            AssetContent::Webhook(w) => (Some(w.url.clone()), None),
            _ => (None, None),
        };
        let webhook = a.webhook().map(|w| to_json(&w.stored_config()));
        // Secrets are sealed before the manifest reaches the store (`ingest::seal_secrets`); a
        // plain one here is a bug, and is refused rather than written in the clear.
        let webhook_secret = match a.webhook().and_then(|w| w.secret.as_ref()) {
            Some(WebhookSecret::Sealed(s)) => Some(s.clone()),
            Some(WebhookSecret::Plain(_)) => {
                return Err(sqlx::Error::Protocol(
                    "a webhook secret reached the store unsealed".into(),
                ))
            }
            None => None,
        };
        let text = match &a.content {
            AssetContent::Text(t) => Some(t.clone()),
            _ => None,
        };
        sqlx::query(&format!(
            "INSERT INTO creative_assets (creative_id, {ASSET_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        ))
        .bind(m.creative_id.as_str().to_owned())
        .bind(a.asset_id.as_str().to_owned())
        .bind(position as i64)
        .bind(&a.name)
        .bind(a.source().as_str())
        .bind(a.asset_type.as_str())
        .bind(file.map(|f| f.original_filename.clone()))
        .bind(file.map(|f| f.content_type.clone()))
        .bind(file.map(|f| f.file_size as i64))
        .bind(file.map(|f| f.sha256.clone()))
        .bind(file.map(|f| f.object_key.clone()))
        .bind(file.and_then(|f| f.width).map(i64::from))
        .bind(file.and_then(|f| f.height).map(i64::from))
        .bind(file.and_then(|f| f.duration_ms).map(|d| d as i64))
        .bind(url)
        .bind(url_type)
        .bind(text)
        .bind(a.label.clone())
        .bind(a.slot_asset_id.clone())
        .bind(to_json(&a.warnings))
        .bind(&a.created_at)
        .bind(file.and_then(|f| f.processing.processed_key.clone()))
        .bind(to_json(&file.map(|f| f.processing.extra_keys.clone()).unwrap_or_default()))
        .bind(file.and_then(|f| f.processing.details.as_ref().map(to_json)))
        .bind(webhook)
        .bind(webhook_secret)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn get(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    id: &CreativeId,
) -> anyhow::Result<Option<Manifest>> {
    let Some(row) = sqlx::query_as::<_, ManifestRow>(&format!(
        "SELECT {CREATIVE_COLUMNS} FROM creatives c JOIN campaigns p ON p.id = c.campaign_id \
         WHERE c.id = $1 AND c.customer_id = $2 AND c.campaign_id = $3"
    ))
    .bind(id.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(campaign.as_str().to_owned())
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let assets = sqlx::query_as::<_, AssetRow>(&format!(
        "SELECT {ASSET_COLUMNS} FROM creative_assets WHERE creative_id = $1 ORDER BY position"
    ))
    .bind(id.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(AssetRow::into_asset)
    .collect::<anyhow::Result<Vec<_>>>()?;
    row.into_manifest(assets).map(Some)
}

/// Every manifest of a campaign with its assets, oldest first, in two queries.
pub async fn for_campaign(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
) -> anyhow::Result<Vec<Manifest>> {
    let rows = sqlx::query_as::<_, ManifestRow>(&format!(
        "SELECT {CREATIVE_COLUMNS} FROM creatives c JOIN campaigns p ON p.id = c.campaign_id \
         WHERE c.campaign_id = $1 AND c.customer_id = $2 ORDER BY c.created_at, c.id"
    ))
    .bind(campaign.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?;
    let asset_rows = sqlx::query_as::<_, OwnedAssetRow>(&format!(
        "SELECT creative_id, {ASSET_COLUMNS} FROM creative_assets WHERE creative_id IN \
         (SELECT id FROM creatives WHERE campaign_id = $1 AND customer_id = $2) ORDER BY creative_id, position"
    ))
    .bind(campaign.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?;
    let mut assets: std::collections::HashMap<String, Vec<Asset>> =
        std::collections::HashMap::new();
    for r in asset_rows {
        assets
            .entry(r.creative_id)
            .or_default()
            .push(r.asset.into_asset()?);
    }
    rows.into_iter()
        .map(|r| {
            let of_this = assets.remove(&r.id).unwrap_or_default();
            r.into_manifest(of_this)
        })
        .collect()
}

/// Deletes the manifest row (assets cascade); true if it existed.
pub async fn delete(tx: &mut Tx<'_>, customer: &CustomerId, id: &CreativeId) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM creative_assets WHERE creative_id = $1")
        .bind(id.as_str().to_owned())
        .execute(&mut **tx)
        .await?;
    // A creative session's variant it was finalized from is then no longer finalized.
    sqlx::query("DELETE FROM creative_lineage WHERE creative_id = $1")
        .bind(id.as_str().to_owned())
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("DELETE FROM creatives WHERE id = $1 AND customer_id = $2")
        .bind(id.as_str().to_owned())
        .bind(customer.as_str().to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub struct ListQuery<'a> {
    pub take: i64,
    pub skip: i64,
    pub search: Option<&'a str>,
    pub include_frequency_caps: bool,
}

pub async fn list(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    q: &ListQuery<'_>,
) -> anyhow::Result<(Vec<Summary>, i64)> {
    // `search` matches a substring of the name, case-insensitively (both sides folded the same
    // way, in Rust), its wildcards taken literally, through a plan per needle
    // (`manifest_search`). Without a search the campaign's index yields the page in order and
    // counts the total.
    let (total, page) = match q.search.and_then(Needle::new) {
        Some(needle) => {
            let (total, page) =
                manifest_search::find(db, customer, campaign, &needle, q.take, q.skip).await?;
            match page {
                Some(page) => (total, page),
                None => return Ok((vec![], total)),
            }
        }
        None => {
            let total: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM creatives c WHERE c.customer_id = $1 AND c.campaign_id = $2",
            )
            .bind(customer.as_str().to_owned())
            .bind(campaign.as_str().to_owned())
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
            let page = Sql {
                text: format!(
                    "SELECT c.id FROM creatives c WHERE c.customer_id = $1 AND c.campaign_id = $2 \
                     ORDER BY c.created_at DESC, c.id DESC LIMIT {} OFFSET {}",
                    q.take, q.skip
                ),
                args: vec![
                    Arg::Text(customer.as_str().to_owned()),
                    Arg::Text(campaign.as_str().to_owned()),
                ],
            };
            (total, page)
        }
    };
    // The page's ids first, then their lines: each line's asset and sync columns are worked out
    // for the page only.
    let sql = format!(
        "SELECT c.id, c.campaign_id, c.name, c.template_id, c.format_id, c.format_kind, c.preview_url, \
         c.frequency_caps, c.created_at, c.updated_at, \
         (SELECT COUNT(*) FROM creative_assets a WHERE a.creative_id = c.id) AS asset_count, {} \
         FROM creatives c WHERE c.id IN ({}) ORDER BY c.created_at DESC, c.id DESC",
        sync_columns!(),
        page.text
    );
    let rows = manifest_search::bind(sqlx::query(&sql), &page.args);
    let rows: Vec<SummaryRow> = rows
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(<SummaryRow as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row)
        .collect::<Result<_, _>>()?;
    let items = rows
        .into_iter()
        .map(|r| r.into_summary(q.include_frequency_caps))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((items, total))
}

/// Folds the names of manifests stored before `name_search` existed (migration 0021).
pub async fn fill_name_search(db: &Db) -> anyhow::Result<usize> {
    super::search::fill_folded(db, "creatives", &["id"], &[("name", "name_search")]).await
}

/// The campaign creative `creative_id` belongs to, if it exists (any customer: the caller holds a
/// link the service signed for that creative).
pub async fn campaign_of(db: &Db, creative_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query("SELECT campaign_id FROM creatives WHERE id = $1")
        .bind(creative_id.to_owned())
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("campaign_id"))
        .transpose()
}

/// Whether any committed asset still uses `key`.
pub async fn object_in_use(db: &Db, key: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM creative_assets WHERE object_key = $1")
        .bind(key)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

/// Records objects about to be written by a request that has not committed yet.
pub async fn add_pending(db: &Db, keys: &[String]) -> sqlx::Result<()> {
    let at = now();
    for key in keys {
        sqlx::query(
            "INSERT INTO pending_objects (object_key, created_at) VALUES ($1, $2) \
             ON CONFLICT (object_key) DO UPDATE SET created_at = excluded.created_at",
        )
        .bind(key)
        .bind(&at)
        .execute(&db.pool)
        .await?;
    }
    Ok(())
}

/// Clears pending records, inside the transaction that commits the manifest using them.
/// Sets the preview page of a manifest whose preview is still `previous` (not rewritten since it was
/// read). Whether it was set.
pub async fn set_preview(
    tx: &mut Tx<'_>,
    customer: &CustomerId,
    creative: &CreativeId,
    previous: Option<&str>,
    key: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE creatives SET preview_url = $1 WHERE id = $2 AND customer_id = $3 \
         AND preview_url IS NOT DISTINCT FROM $4",
    )
    .bind(key)
    .bind(creative.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .bind(previous.map(str::to_owned))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Stores the agents' previews and errors beside the preview page (inside its transaction).
pub async fn set_agent_previews(
    tx: &mut Tx<'_>,
    customer: &CustomerId,
    creative: &CreativeId,
    previews: &[AgentPreview],
    errors: &[PreviewError],
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE creatives SET agent_previews = $1, preview_errors = $2 WHERE id = $3 AND customer_id = $4",
    )
    .bind(to_json(&previews))
    .bind(to_json(&errors))
    .bind(creative.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored preview key of a manifest; `None` when the manifest is gone.
pub async fn preview_key(
    tx: &mut Tx<'_>,
    customer: &CustomerId,
    creative: &CreativeId,
) -> sqlx::Result<Option<Option<String>>> {
    let row = sqlx::query("SELECT preview_url FROM creatives WHERE id = $1 AND customer_id = $2")
        .bind(creative.as_str().to_owned())
        .bind(customer.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| r.try_get::<Option<String>, _>("preview_url"))
        .transpose()
}

pub async fn clear_pending(tx: &mut Tx<'_>, keys: &[String]) -> sqlx::Result<()> {
    for key in keys {
        sqlx::query("DELETE FROM pending_objects WHERE object_key = $1")
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn clear_pending_now(db: &Db, keys: &[String]) -> sqlx::Result<()> {
    let mut tx = db.pool.begin().await?;
    clear_pending(&mut tx, keys).await?;
    tx.commit().await
}

/// Pending objects recorded before `before` (an RFC 3339 time).
pub async fn stale_pending(db: &Db, before: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query("SELECT object_key FROM pending_objects WHERE created_at < $1 ORDER BY created_at LIMIT 1000")
        .bind(before)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("object_key"))
        .collect()
}

/// What coverage needs of every manifest of a campaign: format reference and asset properties as
/// recorded at upload, in one query.
pub async fn facts_for_campaign(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
) -> anyhow::Result<Vec<crate::manifest::coverage::ManifestFacts>> {
    use crate::manifest::coverage::ManifestFacts;
    let rows = sqlx::query_as::<_, FactsRow>(
        "SELECT c.id, c.format_id, c.format_kind, a.asset_type, a.content_type, a.width, a.height, \
         a.duration_ms, a.file_size, a.url_type, CAST(LENGTH(a.text_value) AS BIGINT) AS text_len \
         FROM creatives c LEFT JOIN creative_assets a ON a.creative_id = c.id \
         WHERE c.campaign_id = $1 AND c.customer_id = $2 ORDER BY c.id, a.position",
    )
    .bind(campaign.as_str().to_owned())
    .bind(customer.as_str().to_owned())
    .fetch_all(&db.pool)
    .await?;
    // Rows come manifest by manifest: the first of each opens it, every one may add an asset.
    let mut out: Vec<ManifestFacts> = Vec::new();
    for r in rows {
        let (manifest, asset) = r.into_facts()?;
        if out
            .last()
            .is_none_or(|m| m.creative_id != manifest.creative_id)
        {
            out.push(manifest);
        }
        if let (Some(asset), Some(m)) = (asset, out.last_mut()) {
            m.assets.push(asset);
        }
    }
    Ok(out)
}
