//! Coverage of a campaign of 2,000 manifests against 50 required formats: the pure computation, and
//! the whole of it as `GET /campaigns/:id` does it (one SQLite read of the recorded properties +
//! the computation). Run: `cargo bench --bench coverage`.

#[path = "common/manifest.rs"]
mod blank_manifest;
#[path = "common/stats.rs"]
mod stats;

use stats::report;

use std::time::Instant;

use serde_json::json;

use creative_manifests::adcp::types::{FormatId, FormatKind, FormatKindRequirement};
use creative_manifests::formats::Registry;
use creative_manifests::ids::{AssetId, CampaignId};
use creative_manifests::manifest::asset_type::AssetType;
use creative_manifests::manifest::coverage::{coverage, Requirement};
use creative_manifests::manifest::model::{Asset, AssetContent, Manifest, StoredFile};
use creative_manifests::store::campaigns::{self, Campaign};
use creative_manifests::store::{creatives, customers, db::now, Db};

const MANIFESTS: usize = 2_000;

fn file(kind: AssetType, ct: &str, w: Option<u32>, h: Option<u32>, ms: Option<u64>) -> Asset {
    Asset {
        asset_id: AssetId::new(),
        name: "f".into(),
        asset_type: kind,
        content: AssetContent::Upload(StoredFile {
            object_key: "k".into(),
            original_filename: "f".into(),
            content_type: ct.into(),
            file_size: 50_000,
            sha256: "0".into(),
            width: w,
            height: h,
            duration_ms: ms,
            processing: Default::default(),
        }),
        label: None,
        slot_asset_id: None,
        warnings: vec![],
        created_at: now(),
    }
}

fn manifest(campaign: &CampaignId, i: usize) -> Manifest {
    // A mix of sizes and media, most of which satisfy nothing required, so misses scan everything.
    let asset = match i % 4 {
        0 => file(
            AssetType::Image,
            "image/png",
            Some(100 + (i % 50) as u32),
            Some(100),
            None,
        ),
        1 => file(
            AssetType::Video,
            "video/mp4",
            Some(640),
            Some(360),
            Some(7_000 + (i % 5) as u64),
        ),
        2 => file(AssetType::Audio, "audio/mpeg", None, None, Some(12_000)),
        _ => file(AssetType::Image, "image/jpeg", Some(333), Some(111), None),
    };
    Manifest {
        brand_domain: "bench.example".into(),
        assets: vec![asset],
        ..blank_manifest::blank(campaign, format!("m{i}"))
    }
}

fn required(registry: &Registry) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = registry
        .entries()
        .map(|e| Requirement::Format(e.spec.format_id.clone()))
        .collect();
    let mut n = 0;
    while out.len() < 50 {
        n += 1;
        out.push(Requirement::Kind(FormatKindRequirement {
            format_kind: FormatKind::VideoHosted,
            format_option_ref: None,
            params: Some(
                json!({"duration_ms": 1000 * (40 + n)})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        }));
    }
    out.truncate(50);
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("b.db").display()
    ))
    .await?;
    db.migrate().await?;
    let customer = customers::ensure_customer(&db, "bench").await?;
    let at = now();
    let campaign = Campaign {
        campaign_id: CampaignId::new(),
        name: "bench".into(),
        brand_domain: "bench.example".into(),
        products: vec![],
        start_time: None,
        end_time: None,
        created_at: at.clone(),
        updated_at: at,
    };
    campaigns::insert(&db, &customer.id, &campaign).await?;
    let mut tx = db.pool.begin().await?;
    for i in 0..MANIFESTS {
        creatives::insert(&mut tx, &customer.id, &manifest(&campaign.campaign_id, i)).await?;
    }
    tx.commit().await?;

    let registry = Registry::for_customer(&db, &customer.id).await?;
    let reqs = required(&registry);
    let spec_of = |id: &FormatId| registry.spec_of(id);
    let facts = creatives::facts_for_campaign(&db, &customer.id, &campaign.campaign_id).await?;
    let c = coverage(reqs.clone(), &spec_of, &facts);
    println!(
        "{} manifests, {} required formats ({} covered, {} missing)",
        facts.len(),
        reqs.len(),
        c.covered.len(),
        c.missing.len()
    );

    let mut pure = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        std::hint::black_box(coverage(reqs.clone(), &spec_of, &facts));
        pure.push(t.elapsed());
    }
    report("coverage computation", pure);

    let mut whole = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let registry = Registry::for_customer(&db, &customer.id).await?;
        let facts = creatives::facts_for_campaign(&db, &customer.id, &campaign.campaign_id).await?;
        std::hint::black_box(coverage(
            reqs.clone(),
            &|id: &FormatId| registry.spec_of(id),
            &facts,
        ));
        whole.push(t.elapsed());
    }
    report(
        "registry + read recorded properties + coverage (SQLite)",
        whole,
    );
    Ok(())
}
