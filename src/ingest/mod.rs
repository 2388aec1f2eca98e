//! Turning a request into a stored manifest: read the multipart body to spool files, classify and
//! probe them, write their objects, then commit the manifest in one transaction. A failure at any
//! step leaves no rows and no objects behind.

pub mod prepare;
pub mod preview;
pub mod process;
pub mod spool;
pub mod staging;

use crate::adcp::types::FormatId;
use crate::error::{ApiError, ApiResult};
use crate::formats::Registry;
use crate::ids::CreativeId;
use crate::manifest::coverage::{self, ManifestFacts};
use crate::manifest::metadata::{
    self, apply_update, check_file_entries, check_manifest, first_file, parse_json, CreateMetadata,
    FieldError, UpdateMetadata,
};
use crate::manifest::model::{Manifest, SyncStatus};
use crate::propagation::{self, run::Reason};
use crate::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::customers::Customer;
use crate::store::db::now;
use crate::store::{creatives, syncs};
use spool::Upload;

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::field(e.field, e.message)
    }
}

fn metadata_text(upload: &Upload) -> ApiResult<&str> {
    upload
        .metadata
        .as_deref()
        .ok_or_else(|| ApiError::field("metadata", "the 'metadata' part (JSON) is required"))
}

/// Seals the webhook secrets the request gave, so only sealed values reach the store.
fn seal_secrets(state: &AppState, m: &mut Manifest) -> ApiResult<()> {
    use crate::manifest::model::AssetContent;
    use crate::manifest::webhook::WebhookSecret;
    for a in &mut m.assets {
        if let AssetContent::Webhook(w) = &mut a.content {
            if let Some(WebhookSecret::Plain(p)) = &w.secret {
                w.secret = Some(WebhookSecret::Sealed(state.db.seal(p)?));
            }
        }
    }
    Ok(())
}

enum Write {
    Insert,
    Replace,
}

/// Stages the request's files, then writes the manifest and clears their pending records in one
/// transaction; on any failure the staged objects are discarded.
async fn commit(
    state: &AppState,
    customer: &Customer,
    files: &[prepare::PreparedFile],
    outputs: &[process::Output],
    manifest: &Manifest,
    write: Write,
    lineage: Option<&crate::sessions::store::NewLineage>,
) -> ApiResult<()> {
    let staged = staging::stage(state, files, outputs).await?;
    let committed: anyhow::Result<()> = async {
        let mut tx = state.db.begin_write().await?;
        let reason = match write {
            Write::Insert => {
                creatives::insert(&mut tx, &customer.id, manifest).await?;
                Reason::Created
            }
            Write::Replace => {
                creatives::replace(&mut tx, &customer.id, manifest).await?;
                Reason::Updated
            }
        };
        creatives::clear_pending(&mut tx, &staged).await?;
        // A manifest finalized from a creative session records where it came from in the same
        // transaction: there is never a session-made manifest without its lineage.
        if let Some(l) = lineage {
            l.record(&mut tx, customer.id.as_str(), manifest).await?;
        }
        propagation::enqueue_resync(
            &mut tx,
            &customer.id,
            &manifest.campaign_id,
            &manifest.creative_id,
            reason,
            state.config.job_max_attempts,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = committed {
        staging::discard(state, &staged).await;
        return Err(e.into());
    }
    Ok(())
}

/// Computes `target_format_ids` (unless the buyer chose them, then checks them and warns): every
/// known format, and every format the campaign needs, that the manifest satisfies.
async fn target_formats(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    m: &mut Manifest,
) -> ApiResult<()> {
    let registry = Registry::for_customer(&state.db, &customer.id).await?;
    let spec_of = |id: &FormatId| registry.spec_of(id);
    let facts = ManifestFacts::of(m);
    if m.targets_chosen {
        m.warnings = coverage::target_warnings(&m.target_format_ids, &spec_of, &facts);
    } else {
        let mut candidates = campaign.format_ids();
        candidates.extend(registry.entries().map(|e| e.spec.format_id.clone()));
        m.target_format_ids = coverage::satisfied(&candidates, &spec_of, &facts);
        m.warnings.clear();
    }
    // Trackers carry the macros the target formats substitute.
    let mut macros: Vec<String> = Vec::new();
    for spec in m
        .target_format_ids
        .iter()
        .filter_map(|id| registry.spec_of(id))
    {
        for mac in &spec.supported_macros {
            if !macros.contains(mac) {
                macros.push(mac.clone());
            }
        }
    }
    crate::tracking::apply(m, &state.tracker_base, &state.signer, macros);
    Ok(())
}

/// Builds the manifest a create request describes, its files classified and probed but not stored.
async fn build_new(
    state: &AppState,
    campaign: &Campaign,
    upload: Upload,
) -> ApiResult<(Manifest, Vec<prepare::PreparedFile>)> {
    let meta: CreateMetadata = parse_json(metadata_text(&upload)?, "metadata")?;
    check_file_entries(meta.file_entries(), "assets")?;
    let entries = meta.file_entries().to_vec();
    let fields = meta.validate(state.config.outbound_allow_private)?;
    let creative_id = CreativeId::new();
    let files = prepare::prepare_files(
        upload.files,
        &entries,
        &creative_id,
        "assets",
        &state.objects,
    )
    .await?;

    let mut assets: Vec<_> = files.iter().map(|f| f.asset.clone()).collect();
    assets.extend(fields.other_assets);
    let at = now();
    let manifest = Manifest {
        creative_id,
        campaign_id: campaign.campaign_id.clone(),
        name: fields.name,
        message: fields.message,
        template_id: fields.template_id,
        format: fields.format,
        format_option_ref: fields.format_option_ref,
        targets_chosen: fields.target_format_ids.is_some(),
        target_format_ids: fields.target_format_ids.unwrap_or_default(),
        brand_domain: campaign.brand_domain.clone(),
        primary_asset_id: first_file(&assets),
        assets,
        preview_key: None,
        tracking: None,
        sync_status: SyncStatus {
            agents: Some(Vec::new()),
            ..SyncStatus::default()
        },
        frequency_caps: fields.frequency_caps,
        warnings: vec![],
        auto_detected_template: None,
        agent_previews: Vec::new(),
        preview_errors: Vec::new(),
        created_at: at.clone(),
        updated_at: at,
    };
    check_manifest(&manifest)?;
    Ok((manifest, files))
}

/// The manifest a create request would make, and the target formats it names, storing nothing
/// (spool files go when the request ends).
pub async fn dry_run(
    state: &AppState,
    campaign: &Campaign,
    upload: Upload,
) -> ApiResult<(Manifest, Option<Vec<FormatId>>)> {
    let (m, _files) = build_new(state, campaign, upload).await?;
    let targets = m.targets_chosen.then(|| m.target_format_ids.clone());
    Ok((m, targets))
}

pub async fn create(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    upload: Upload,
) -> ApiResult<Manifest> {
    create_with_lineage(state, customer, campaign, upload, None).await
}

/// An upload, as [`create`], that records `lineage` with the manifest (a finalized session variant).
pub async fn create_with_lineage(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    upload: Upload,
    lineage: Option<&crate::sessions::store::NewLineage>,
) -> ApiResult<Manifest> {
    let (mut manifest, files) = build_new(state, campaign, upload).await?;
    seal_secrets(state, &mut manifest)?;
    target_formats(state, customer, campaign, &mut manifest).await?;
    let outputs = process::process(state, &mut manifest, &files, &[]).await?;
    commit(
        state,
        customer,
        &files,
        &outputs,
        &manifest,
        Write::Insert,
        lineage,
    )
    .await?;
    state.known.insert(manifest.creative_id.as_str());
    Ok(manifest)
}

pub async fn update(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    current: Manifest,
    upload: Upload,
) -> ApiResult<Manifest> {
    let meta: UpdateMetadata = match upload.metadata.as_deref() {
        Some(text) => parse_json(text, "metadata")?,
        None => UpdateMetadata::default(),
    };
    check_file_entries(meta.file_entries(), "new_assets")?;
    let entries = meta.file_entries().to_vec();
    let files = prepare::prepare_files(
        upload.files,
        &entries,
        &current.creative_id,
        "new_assets",
        &state.objects,
    )
    .await?;
    let new_assets = files.iter().map(|f| f.asset.clone()).collect();
    let mut next = apply_update(
        &current,
        meta,
        new_assets,
        state.config.outbound_allow_private,
    )?;
    seal_secrets(state, &mut next)?;
    // Agent previews showed the creative as it was.
    next.agent_previews.clear();
    next.preview_errors.clear();
    target_formats(state, customer, campaign, &mut next).await?;

    let known: Vec<_> = current.assets.iter().map(|a| a.asset_id.clone()).collect();
    let mut outputs = process::process(state, &mut next, &files, &known).await?;
    // Keys are content-addressed: an object the manifest already has is already these bytes.
    let owned = current.object_keys();
    outputs.retain(|o| !owned.contains(&o.key));
    commit(
        state,
        customer,
        &files,
        &outputs,
        &next,
        Write::Replace,
        None,
    )
    .await?;
    let kept = next.object_keys();
    let dropped: Vec<String> = current
        .object_keys()
        .into_iter()
        .filter(|k| !kept.contains(k))
        .collect();
    staging::remove_unused(state, &dropped).await;
    Ok(next)
}

pub async fn delete(state: &AppState, customer: &Customer, current: &Manifest) -> ApiResult<()> {
    let mut tx = state.db.begin_write().await?;
    let existed = creatives::delete(&mut tx, &customer.id, &current.creative_id).await?;
    syncs::remove(&mut tx, &current.creative_id).await?;
    // Its delivery goes with it, in the same transaction: no report counts a manifest that is gone.
    crate::store::delivery::remove_creative(
        &mut tx,
        current.campaign_id.as_str(),
        current.creative_id.as_str(),
    )
    .await?;
    if existed {
        // Sellers that have it are told to unassign it.
        propagation::enqueue_resync(
            &mut tx,
            &customer.id,
            &current.campaign_id,
            &current.creative_id,
            Reason::Deleted,
            state.config.job_max_attempts,
        )
        .await?;
    }
    tx.commit().await?;
    if !existed {
        return Err(ApiError::NotFound("creative"));
    }
    state.known.remove(current.creative_id.as_str());
    staging::remove_unused(state, &current.object_keys()).await;
    Ok(())
}

pub use metadata::MAX_LIST;

/// Renders the manifest's preview page again (after a template change, say) and stores it, with
/// the agents' previews `current` carries (shown on the page, kept on the manifest). Only the
/// preview changes: sellers are not told (nothing they hold changed), and a manifest written in the
/// meantime keeps the preview it rendered itself. Returns the preview key now stored.
pub async fn refresh_preview(
    state: &AppState,
    customer: &Customer,
    current: &Manifest,
) -> ApiResult<Option<String>> {
    let (key, page) = preview::render(current, &state.objects).map_err(ApiError::Internal)?;
    let output = process::Output {
        key: key.clone(),
        source: process::Source::Bytes(page),
    };
    let staged = staging::stage(state, &[], std::slice::from_ref(&output)).await?;
    let committed: anyhow::Result<Option<Option<String>>> = async {
        let mut tx = state.db.begin_write().await?;
        let set = creatives::set_preview(
            &mut tx,
            &customer.id,
            &current.creative_id,
            current.preview_key.as_deref(),
            &key,
        )
        .await?;
        let stored = if set {
            // The agents' previews of this same manifest go with the page that shows them.
            creatives::set_agent_previews(
                &mut tx,
                &customer.id,
                &current.creative_id,
                &current.agent_previews,
                &current.preview_errors,
            )
            .await?;
            Some(Some(key.clone()))
        } else {
            creatives::preview_key(&mut tx, &customer.id, &current.creative_id).await?
        };
        creatives::clear_pending(&mut tx, &staged).await?;
        tx.commit().await?;
        Ok(stored)
    }
    .await;
    let stored = match committed {
        Ok(stored) => stored,
        Err(e) => {
            staging::discard(state, &staged).await;
            return Err(e.into());
        }
    };
    let Some(stored) = stored else {
        staging::remove_unused(state, &staged).await;
        return Err(ApiError::NotFound("creative"));
    };
    let replaced = if stored.as_deref() == Some(key.as_str()) {
        current.preview_key.clone()
    } else {
        Some(key) // another write won: this render is not used
    };
    if let Some(old) = replaced.filter(|old| stored.as_deref() != Some(old.as_str())) {
        staging::remove_unused(state, &[old]).await;
    }
    Ok(stored)
}
