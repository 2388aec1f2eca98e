//! A session's gestures: create (drafts), refine, approve, finalize, discard. Each reads the
//! session, asks its adapter, evaluates, stores the new objects (recorded pending until the session
//! row commits, like an upload's) and writes the session back.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::adapter::{Adapter, Target};
use super::builtin;
use super::draft::{adapter_error, build, decoded, load_sources, summary, Blobs, Built, Context};
use super::model::*;
use super::sources::{self, Origin, SourceInput};
use super::store;
use crate::adcp::types::FormatId;
use crate::error::{ApiError, ApiResult};
use crate::formats::spec::SlotType;
use crate::formats::Registry;
use crate::ingest::process::{Output, Source as OutSource};
use crate::ingest::{spool, staging};
use crate::manifest::coverage::{self, Requirement};
use crate::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::creatives;
use crate::store::customers::Customer;
use crate::store::db::now;

/// A create request (the JSON body, or the multipart `metadata` part).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    #[serde(default)]
    pub brief: Brief,
    #[serde(default)]
    pub source_assets: Vec<SourceInput>,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub cta: Option<String>,
    #[serde(default)]
    pub target_format_ids: Option<Vec<FormatId>>,
    /// `builtin` (default) or `creative_agent:<sales_agent_id>`.
    #[serde(default)]
    pub adapter: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefineRequest {
    pub variant_id: String,
    pub feedback: String,
}

pub(super) async fn adapter_for(
    state: &AppState,
    customer: &Customer,
    name: &str,
) -> ApiResult<Box<dyn Adapter>> {
    if name == builtin::NAME {
        return Ok(Box::new(builtin::Builtin));
    }
    if let Some(agent) = name.strip_prefix(super::agent::PREFIX) {
        return super::agent::resolve(state, customer, agent).await;
    }
    Err(ApiError::field(
        "adapter",
        format!(
            "unknown adapter '{name}': use 'builtin' or '{}<sales_agent_id>'",
            super::agent::PREFIX
        ),
    ))
}

/// The formats drafts are drawn for: display formats with a fixed size whose creative is an image
/// or an HTML file. Others are reported, not silently dropped.
pub(super) fn targets(registry: &Registry, ids: &[FormatId]) -> (Vec<Target>, Vec<Value>) {
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for id in ids {
        let Some(spec) = registry.spec_of(id) else {
            skipped.push(json!({"format_id": id, "reason": "not in the format registry"}));
            continue;
        };
        let required = |t: SlotType| spec.slots.iter().any(|s| s.required && s.asset_type == t);
        match spec.render_size {
            Some((width, height)) if required(SlotType::Image) || required(SlotType::Html) => ok.push(Target {
                format_id: id.clone(),
                width,
                height,
                html: required(SlotType::Html),
            }),
            _ => skipped.push(json!({"format_id": id, "reason": "not a fixed-size display format: drafts are drawn for display images and HTML5"})),
        }
    }
    (ok, skipped)
}

/// The formats a campaign still misses (named ones; kinds are reported as not drawable).
async fn missing(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    registry: &Registry,
) -> ApiResult<(Vec<FormatId>, Vec<Value>)> {
    let facts =
        creatives::facts_for_campaign(&state.db, &customer.id, &campaign.campaign_id).await?;
    let cov = coverage::coverage(
        campaign.requirements(),
        &|id: &FormatId| registry.spec_of(id),
        &facts,
    );
    let (mut ids, mut kinds) = (Vec::new(), Vec::new());
    for r in cov.missing {
        match r {
            Requirement::Format(f) => ids.push(f),
            Requirement::Kind(k) => kinds
                .push(json!({"format_kind": k, "reason": "name a format_id to draft for a kind"})),
        }
    }
    Ok((ids, kinds))
}

/// Stores objects, then writes the session in one transaction that clears their pending records.
pub(super) async fn persist(
    state: &AppState,
    customer: &Customer,
    session: &Session,
    version: Option<i64>,
    outputs: &[Output],
    earlier: Vec<String>,
) -> ApiResult<()> {
    // `earlier`: keys this request staged before (pending), committed or discarded with the rest.
    let mut staged = match staging::stage(state, &[], outputs).await {
        Ok(s) => s,
        Err(e) => {
            staging::discard(state, &earlier).await;
            return Err(e);
        }
    };
    staged.extend(earlier);
    let written: anyhow::Result<bool> = async {
        let mut tx = state.db.begin_write().await?;
        let ok = match version {
            None => {
                store::insert(&mut tx, customer.id.as_str(), session).await?;
                true
            }
            Some(v) => store::update(&mut tx, customer.id.as_str(), session, v).await?,
        };
        if ok {
            creatives::clear_pending(&mut tx, &staged).await?;
            tx.commit().await?;
        }
        Ok(ok)
    }
    .await;
    match written {
        Ok(true) => Ok(()),
        Ok(false) => {
            staging::discard(state, &staged).await;
            Err(ApiError::Conflict(
                "the session changed while this request ran; read it again and retry".into(),
            ))
        }
        Err(e) => {
            staging::discard(state, &staged).await;
            Err(e.into())
        }
    }
}

/// Creates a session and its first gallery of drafts.
pub async fn create(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    upload: spool::Upload,
) -> ApiResult<Session> {
    let text = upload
        .metadata
        .as_deref()
        .ok_or_else(|| ApiError::field("metadata", "the 'metadata' part (JSON) is required"))?;
    let req: NewSession = crate::manifest::metadata::parse_json(text, "metadata")?;
    let headline = req.headline.as_deref().map(str::trim).unwrap_or_default();
    if headline.is_empty() {
        return Err(ApiError::field("headline", "a headline is required"));
    }
    for (name, t, max) in [
        ("headline", &req.headline, 200),
        ("body", &req.body, 500),
        ("cta", &req.cta, 40),
    ] {
        if t.as_deref().is_some_and(|t| t.chars().count() > max) {
            return Err(ApiError::field(name, format!("at most {max} characters")));
        }
    }
    if req.source_assets.len() > 10 {
        return Err(ApiError::field("source_assets", "at most 10 source assets"));
    }
    let adapter_name = req
        .adapter
        .clone()
        .unwrap_or_else(|| builtin::NAME.to_owned());
    let adapter = adapter_for(state, customer, &adapter_name).await?;
    let registry = Registry::for_customer(&state.db, &customer.id).await?;
    let (wanted, mut skipped) = match req.target_format_ids.clone() {
        Some(ids) if !ids.is_empty() => (ids, vec![]),
        _ => missing(state, customer, campaign, &registry).await?,
    };
    let (targets, not_drawn) = targets(&registry, &wanted);
    skipped.extend(not_drawn);
    if targets.is_empty() {
        return Err(ApiError::field(
            "target_format_ids",
            format!("no display format to draft for (the campaign misses none, or none is a fixed-size display format): {}", Value::Array(skipped)),
        ));
    }

    let session_id = crate::ids::SessionId::new().as_str().to_owned();
    let prefix = format!("sessions/{session_id}");
    // Every uploaded file is one source asset's; every source names exactly one origin.
    let mut files: HashMap<String, spool::SpooledFile> = upload
        .files
        .into_iter()
        .map(|f| (f.filename.clone(), f))
        .collect();
    let mut assets = Vec::new();
    let mut blobs = Blobs {
        pictures: Vec::new(),
        masks: Vec::new(),
    };
    for (i, input) in req.source_assets.iter().enumerate() {
        let field = format!("source_assets[{i}]");
        let origin = input.origin().ok_or_else(|| {
            ApiError::field(
                &field,
                "give exactly one of 'filename' (an uploaded file) or 'url'",
            )
        })?;
        let name = match origin {
            Origin::Upload(_) => "filename",
            Origin::Url(_) => "url",
        };
        let bytes = sources::read(state, &mut files, origin, &format!("{field}.{name}")).await?;
        let mut asset = sources::describe(
            input,
            format!("src{}", i + 1),
            &bytes,
            &prefix,
            &field,
            |k| state.objects.public_url(k),
        )?;
        let mask_field = format!("{field}.mask");
        let mask = match input.mask_origin() {
            Some(o) => Some(sources::read(state, &mut files, o, &mask_field).await?),
            None => None,
        };
        if let Some(m) = &mask {
            asset.mask_file = Some(sources::describe_mask(
                &asset,
                m,
                &prefix,
                &mask_field,
                |k| state.objects.public_url(k),
            )?);
        }
        assets.push(asset);
        blobs.pictures.push(bytes);
        blobs.masks.push(mask);
    }
    if let Some(name) = files.keys().next() {
        return Err(ApiError::field(
            "source_assets",
            format!("uploaded file '{name}' is not described in source_assets"),
        ));
    }
    let at = now();
    let mut session = Session {
        session_id: session_id.clone(),
        campaign_id: campaign.campaign_id.as_str().to_owned(),
        status: SessionStatus::Open,
        adapter: adapter.name(),
        brief: req.brief,
        texts: Texts {
            headline: req.headline,
            body: req.body,
            cta: req.cta,
        },
        target_format_ids: targets.iter().map(|t| t.format_id.clone()).collect(),
        asset_store: AssetStore { assets },
        variants: vec![],
        renderer_capabilities: {
            let mut c = adapter.capabilities();
            if !skipped.is_empty() {
                c["not_drawn"] = Value::Array(skipped);
            }
            c
        },
        rendering_model: adapter.rendering_model().to_owned(),
        evaluations: Value::Null,
        created_at: at.clone(),
        updated_at: at,
    };
    let checksums: HashMap<String, bool> = session
        .asset_store
        .assets
        .iter()
        .map(|a| (a.asset_id.clone(), true))
        .collect();
    let source_outputs: Vec<Output> = session
        .asset_store
        .assets
        .iter()
        .zip(blobs.pictures.iter().zip(&blobs.masks))
        .flat_map(|(a, (b, m))| {
            let picture = Output {
                key: a.object_key.clone(),
                source: OutSource::Bytes(b.clone()),
            };
            let mask = a.mask_file.as_ref().zip(m.as_ref()).map(|(f, m)| Output {
                key: f.object_key.clone(),
                source: OutSource::Bytes(m.clone()),
            });
            std::iter::once(picture).chain(mask)
        })
        .collect();
    // The sources are stored first (recorded pending until the session commits): a creative agent
    // reads them by URL while it draws.
    let staged_sources = staging::stage(state, &[], &source_outputs).await?;
    let mut outputs = Vec::new();
    let built = async {
        let srcs = decoded(&session, &blobs)?;
        let cx = Context {
            state,
            session: &session,
            registry: &registry,
            sources: &srcs,
            checksums: &checksums,
            brand_domain: &campaign.brand_domain,
        };
        let drafts = adapter
            .draft(&cx.request(&targets))
            .await
            .map_err(adapter_error)?;
        Ok::<_, ApiError>(
            drafts
                .into_iter()
                .map(|d| build(&cx, d, None, None, &[], None, &session.adapter))
                .collect::<Vec<_>>(),
        )
    }
    .await;
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            staging::discard(state, &staged_sources).await;
            return Err(e);
        }
    };
    for b in built {
        outputs.extend(b.outputs);
        session.variants.push(b.variant);
    }
    session.evaluations = summary(&session.variants);
    persist(state, customer, &session, None, &outputs, staged_sources).await?;
    Ok(session)
}

/// The session with what became of its variants (finalized manifests are recorded with the
/// manifests themselves, so this is right even if a finalize stopped half way).
pub async fn load(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    id: &str,
) -> ApiResult<(Session, i64)> {
    let (mut s, version) = store::get(
        &state.db,
        customer.id.as_str(),
        campaign.campaign_id.as_str(),
        id,
    )
    .await?
    .ok_or(ApiError::NotFound("creative session"))?;
    apply_finalized(state, &mut s).await?;
    Ok((s, version))
}

pub(super) async fn apply_finalized(state: &AppState, s: &mut Session) -> ApiResult<()> {
    let done = store::finalized(&state.db, &s.session_id).await?;
    // The lineage rows are the truth: a manifest deleted since takes its variant's finalized status
    // with it (the variant stays approved).
    for v in &mut s.variants {
        v.format_renders.clear();
        if v.status == VariantStatus::Finalized
            && !done.iter().any(|f| f.variant_id == v.variant_id)
        {
            v.status = VariantStatus::Approved;
        }
    }
    s.status = if done.is_empty() {
        SessionStatus::Open
    } else {
        SessionStatus::Finalized
    };
    if done.is_empty() {
        return Ok(());
    }
    let mut renders: HashMap<String, Vec<FormatRender>> = HashMap::new();
    for f in &done {
        let format_id: Option<FormatId> =
            serde_json::from_value(f.lineage["format_id"].clone()).ok();
        let preview = f.lineage["preview_url"].as_str().map(str::to_owned);
        if let Some(format_id) = format_id {
            renders
                .entry(f.direction_id.clone())
                .or_default()
                .push(FormatRender {
                    format_id,
                    creative_id: f.creative_id.clone(),
                    preview_url: preview,
                });
        }
    }
    for v in &mut s.variants {
        if done.iter().any(|f| f.variant_id == v.variant_id) {
            v.status = VariantStatus::Finalized;
        }
        if v.status == VariantStatus::Finalized || v.status == VariantStatus::Approved {
            if let Some(r) = renders.get(&v.lineage.direction_id) {
                v.format_renders = r.clone();
            }
        }
    }
    Ok(())
}

/// A page of a campaign's sessions, oldest first, and how many there are.
pub async fn list(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    take: i64,
    skip: i64,
) -> ApiResult<(Vec<Session>, i64)> {
    let (mut out, total) = store::list(
        &state.db,
        customer.id.as_str(),
        campaign.campaign_id.as_str(),
        take,
        skip,
    )
    .await?;
    for s in &mut out {
        apply_finalized(state, s).await?;
    }
    Ok((out, total))
}

pub(super) fn target_of(registry: &Registry, id: &FormatId, field: &str) -> ApiResult<Target> {
    let (t, skipped) = targets(registry, std::slice::from_ref(id));
    t.into_iter().next().ok_or_else(|| {
        ApiError::field(
            field,
            format!(
                "cannot draw {}: {}",
                id.id,
                skipped
                    .first()
                    .map(|s| s["reason"].to_string())
                    .unwrap_or_default()
            ),
        )
    })
}

/// The outcome of a refinement.
pub struct Refinement {
    pub session: Session,
    pub variants: Vec<String>,
    pub understood: Vec<String>,
    pub not_understood: Vec<String>,
}

pub async fn refine(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    id: &str,
    req: RefineRequest,
) -> ApiResult<Refinement> {
    let feedback = req.feedback.trim();
    if feedback.is_empty() || feedback.chars().count() > 1000 {
        return Err(ApiError::field(
            "feedback",
            "say what to change, in at most 1,000 characters",
        ));
    }
    let (mut session, version) = load(state, customer, campaign, id).await?;
    let parent = session
        .variant(&req.variant_id)
        .cloned()
        .ok_or(ApiError::NotFound("variant"))?;
    if parent.status == VariantStatus::Discarded {
        return Err(ApiError::InvalidState("the variant is discarded".into()));
    }
    let adapter = adapter_for(state, customer, &session.adapter).await?;
    let registry = Registry::for_customer(&state.db, &customer.id).await?;
    let target = target_of(&registry, &parent.format_id, "variant_id")?;
    let (blobs, checksums) = load_sources(state, &session).await?;
    let (built, understood, not_understood) = {
        let srcs = decoded(&session, &blobs)?;
        let cx = Context {
            state,
            session: &session,
            registry: &registry,
            sources: &srcs,
            checksums: &checksums,
            brand_domain: &campaign.brand_domain,
        };
        let refined = adapter
            .refine(&cx.request(&[target]), &parent, feedback)
            .await
            .map_err(adapter_error)?;
        let built: Vec<Built> = refined
            .drafts
            .into_iter()
            .map(|d| {
                build(
                    &cx,
                    d,
                    Some(&parent),
                    Some(feedback),
                    &refined.understood,
                    None,
                    &session.adapter,
                )
            })
            .collect();
        (built, refined.understood, refined.not_understood)
    };
    let mut outputs = Vec::new();
    let mut ids = Vec::new();
    for b in built {
        outputs.extend(b.outputs);
        ids.push(b.variant.variant_id.clone());
        session.variants.push(b.variant);
    }
    session.evaluations = summary(&session.variants);
    session.updated_at = now();
    persist(state, customer, &session, Some(version), &outputs, vec![]).await?;
    Ok(Refinement {
        session,
        variants: ids,
        understood,
        not_understood,
    })
}

pub async fn approve(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    id: &str,
    variant_id: &str,
) -> ApiResult<Session> {
    let (mut session, version) = load(state, customer, campaign, id).await?;
    let v = session
        .variants
        .iter_mut()
        .find(|v| v.variant_id == variant_id)
        .ok_or(ApiError::NotFound("variant"))?;
    match v.status {
        VariantStatus::Draft => v.status = VariantStatus::Approved,
        VariantStatus::Approved => return Ok(session),
        s => {
            return Err(ApiError::InvalidState(format!(
                "the variant is {}",
                json!(s).as_str().unwrap_or_default()
            )))
        }
    }
    session.updated_at = now();
    persist(state, customer, &session, Some(version), &[], vec![]).await?;
    Ok(session)
}

/// Discards a session and its drafts; finalized manifests stay (they are the campaign's now).
pub async fn discard(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    id: &str,
) -> ApiResult<()> {
    let (session, _) = load(state, customer, campaign, id).await?;
    let keys = session.object_keys();
    let mut tx = state.db.begin_write().await?;
    // Recorded pending before the row goes: what fails to delete below, the janitor removes.
    for k in &keys {
        sqlx::query(
            "INSERT INTO pending_objects (object_key, created_at) VALUES ($1, $2) \
             ON CONFLICT (object_key) DO UPDATE SET created_at = excluded.created_at",
        )
        .bind(k)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    }
    if !store::delete(&mut tx, customer.id.as_str(), id).await? {
        return Err(ApiError::NotFound("creative session"));
    }
    tx.commit().await?;
    staging::discard(state, &keys).await;
    Ok(())
}
