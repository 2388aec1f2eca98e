//! A stored manifest with nothing in it but its campaign and name, for benches that write
//! manifests straight into the store (included with `#[path]`); each bench sets what it measures
//! with struct update syntax, so a field added to `Manifest` is written here once.

use creative_manifests::ids::{CampaignId, CreativeId};
use creative_manifests::manifest::model::{Manifest, SyncStatus};
use creative_manifests::store::db::now;

pub fn blank(campaign: &CampaignId, name: String) -> Manifest {
    let at = now();
    Manifest {
        creative_id: CreativeId::new(),
        campaign_id: campaign.clone(),
        name,
        message: None,
        template_id: None,
        format: None,
        format_option_ref: None,
        target_format_ids: vec![],
        targets_chosen: false,
        brand_domain: "acme.com".into(),
        assets: vec![],
        primary_asset_id: None,
        preview_key: None,
        tracking: None,
        sync_status: SyncStatus::default(),
        frequency_caps: vec![],
        warnings: vec![],
        auto_detected_template: None,
        agent_previews: Vec::new(),
        preview_errors: Vec::new(),
        created_at: at.clone(),
        updated_at: at,
    }
}
