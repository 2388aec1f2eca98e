//! A session's gestures: create (drafts), refine, approve, finalize, discard. Each reads the
//! session, asks its adapter, evaluates, stores the new objects (recorded pending until the session
//! row commits, like an upload's) and writes the session back.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::adapter::{Adapter, AdapterError, Draft, Request, Source, Target};
use super::evaluate::{self, Facts, Fidelity};
use super::model::*;
use super::sources::{self, SourceInput};
use super::store::{self, NewLineage};
use super::{builtin, compose};
use crate::adcp::types::FormatId;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::formats::spec::SlotType;
use crate::formats::Registry;
use crate::ingest::process::{Output, Source as OutSource};
use crate::ingest::{spool, staging};
use crate::manifest::asset_type::AssetType;
use crate::manifest::coverage::{self, AssetFacts, ManifestFacts, Requirement};
use crate::store::campaigns::Campaign;
use crate::store::creatives;
use crate::store::customers::Customer;
use crate::store::db::now;

/// Sources larger than this (longest side) are reduced once before layouts (unless locked).
pub const WORKING_SIDE: u32 = 2048;

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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeRequest {
    pub variant_id: String,
    /// Formats to finalize this direction for (seller-specific versions sharing its lineage);
    /// default: the variant's own format.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub format_ids: Option<Vec<FormatId>>,
}

async fn adapter_for(
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
fn targets(registry: &Registry, ids: &[FormatId]) -> (Vec<Target>, Vec<Value>) {
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

async fn read_object(state: &AppState, key: &str) -> anyhow::Result<Vec<u8>> {
    let path = object_store::path::Path::from(key);
    Ok(state
        .objects
        .store()
        .get(&path)
        .await?
        .bytes()
        .await?
        .to_vec())
}

/// Reads and decodes the session's sources; `checksum_ok` per asset says whether the stored bytes
/// still hash to what the asset store recorded.
async fn load_sources(
    state: &AppState,
    session: &Session,
) -> ApiResult<(Vec<Vec<u8>>, HashMap<String, bool>)> {
    let mut bytes = Vec::new();
    let mut ok = HashMap::new();
    for a in &session.asset_store.assets {
        let b = read_object(state, &a.object_key).await?;
        ok.insert(a.asset_id.clone(), sources::sha256(&b) == a.checksum);
        bytes.push(b);
    }
    Ok((bytes, ok))
}

fn decoded<'a>(session: &'a Session, bytes: &'a [Vec<u8>]) -> ApiResult<Vec<Source<'a>>> {
    session
        .asset_store
        .assets
        .iter()
        .zip(bytes)
        .map(|(asset, b)| {
            let (image, scale) = sources::decode(asset, b, WORKING_SIDE)?;
            Ok(Source {
                asset,
                image,
                scale,
                bytes: b,
            })
        })
        .collect()
}

fn adapter_error(e: AdapterError) -> ApiError {
    match e {
        AdapterError::NotUnderstood(m) => ApiError::field("feedback", m),
        AdapterError::Upstream(m) => ApiError::Upstream(m),
        AdapterError::Internal(e) => ApiError::Internal(e),
    }
}

/// What a variant's files, evaluations and lineage are, before it is stored.
struct Built {
    variant: Variant,
    outputs: Vec<Output>,
}

struct Context<'a> {
    state: &'a AppState,
    session: &'a Session,
    registry: &'a Registry,
    sources: &'a [Source<'a>],
    checksums: &'a HashMap<String, bool>,
    brand_domain: &'a str,
}

fn format_facts(target_html: bool, f: &super::adapter::File) -> AssetFacts {
    AssetFacts {
        asset_type: if target_html {
            AssetType::Html
        } else {
            AssetType::Image
        },
        content_type: Some(f.content_type.to_owned()),
        width: Some(f.width),
        height: Some(f.height),
        duration_ms: None,
        file_size: Some(f.bytes.len() as u64),
        url_type: None,
        text_len: None,
    }
}

/// The checks of one draft, from its files and placements.
fn evaluate_draft(cx: &Context, draft: &Draft) -> Vec<Evaluation> {
    let spec = cx.registry.spec_of(&draft.format_id);
    let html = spec.is_some_and(|s| {
        s.slots
            .iter()
            .any(|x| x.required && x.asset_type == SlotType::Html)
    });
    let main = draft
        .files
        .iter()
        .find(|f| f.kind == if html { "html5" } else { "image" });
    let format_violations = match (spec, main) {
        (Some(spec), Some(f)) => {
            let facts = ManifestFacts {
                creative_id: crate::ids::CreativeId::new(),
                format: None,
                assets: vec![format_facts(html, f)],
            };
            coverage::check_format(spec, &draft.format_id, &facts)
                .into_iter()
                .map(|v| {
                    format!(
                        "{} ({}): expected {}, got {}",
                        v.rule, v.field, v.expected, v.actual
                    )
                })
                .collect()
        }
        _ => vec![],
    };
    let rendered = draft
        .files
        .iter()
        .find(|f| f.kind == "image")
        .and_then(|f| image::load_from_memory(&f.bytes).ok())
        .map(|i| i.to_rgba8());
    // Locked assets: the stored source unchanged, and the drawn region the source scaled uniformly.
    let mut fidelity = Vec::new();
    for s in cx.sources.iter().filter(|s| s.asset.locked_asset) {
        let placed = draft
            .placements
            .iter()
            .find(|p| p.asset_id == s.asset.asset_id);
        let Some(p) = placed else { continue };
        let mean_diff = rendered
            .as_ref()
            .map(|r| evaluate::compare_region(&s.image, r, p.x, p.y, p.width, p.height));
        fidelity.push(Fidelity {
            asset_id: s.asset.asset_id.clone(),
            checksum_ok: cx
                .checksums
                .get(&s.asset.asset_id)
                .copied()
                .unwrap_or(false),
            mean_diff,
            uniform: evaluate::is_uniform((s.asset.width, s.asset.height), p.width, p.height),
        });
    }
    // What the draft uses: what it placed, or (a renderer that cannot say) every source it was given.
    let used: Vec<&SourceAsset> = if draft.placements.is_empty() {
        cx.session.asset_store.assets.iter().collect()
    } else {
        cx.session
            .asset_store
            .assets
            .iter()
            .filter(|a| draft.placements.iter().any(|p| p.asset_id == a.asset_id))
            .collect()
    };
    let texts: Vec<&str> = [&draft.texts.headline, &draft.texts.body, &draft.texts.cta]
        .into_iter()
        .filter_map(|t| t.as_deref())
        .collect();
    let today = now();
    let claims = cx.state.config.prohibited_claims();
    let facts = Facts {
        rendered: rendered.is_some() || main.is_some(),
        format_known: spec.is_some(),
        format_violations,
        fidelity,
        used,
        logo_placed: draft.placements.iter().any(|p| p.role == Role::Logo)
            || (draft.placements.is_empty()
                && cx
                    .session
                    .asset_store
                    .assets
                    .iter()
                    .any(|a| a.role == Role::Logo)),
        brand_domain: Some(cx.brand_domain),
        texts,
        brief: &cx.session.brief,
        prohibited_claims: &claims,
        today: &today[..10],
    };
    evaluate::all(&facts)
}

fn build(
    cx: &Context,
    draft: Draft,
    parent: Option<&Variant>,
    feedback: Option<&str>,
    instructions: &[String],
    direction: Option<&str>,
    adapter: &str,
) -> Built {
    let variant_id = crate::ids::VariantId::new().as_str().to_owned();
    let evaluations = evaluate_draft(cx, &draft);
    let mut files = Vec::new();
    let mut outputs = Vec::new();
    for f in &draft.files {
        let key = format!(
            "sessions/{}/{}/{}",
            cx.session.session_id, variant_id, f.name
        );
        files.push(RenderedFile {
            kind: f.kind.to_owned(),
            content_type: f.content_type.to_owned(),
            width: f.width,
            height: f.height,
            checksum: sources::sha256(&f.bytes),
            size: f.bytes.len() as u64,
            url: cx.state.objects.public_url(&key),
            object_key: key.clone(),
        });
        outputs.push(Output {
            key,
            source: OutSource::Bytes(f.bytes.clone()),
        });
    }
    let preview_url = files
        .iter()
        .find(|f| f.kind == "image")
        .or(files.first())
        .map(|f| f.url.clone())
        .unwrap_or_default();
    let variant = Variant {
        lineage: Lineage {
            session_id: cx.session.session_id.clone(),
            parent_variant_id: parent.map(|p| p.variant_id.clone()),
            feedback: feedback.map(str::to_owned),
            instructions: instructions.to_vec(),
            adapter: adapter.to_owned(),
            parameters: draft.params.clone(),
            source_assets: cx
                .session
                .asset_store
                .assets
                .iter()
                .map(|a| SourceRef {
                    asset_id: a.asset_id.clone(),
                    checksum: a.checksum.clone(),
                })
                .collect(),
            direction_id: direction
                .map(str::to_owned)
                .unwrap_or_else(|| format!("dir_{}", uuid::Uuid::now_v7().simple())),
        },
        variant_id,
        format_id: draft.format_id,
        status: VariantStatus::Draft,
        preview_url,
        files,
        placements: draft.placements,
        quality: draft.quality,
        evaluations,
        texts: draft.texts,
        format_renders: vec![],
        created_at: now(),
    };
    Built { variant, outputs }
}

/// Badge counts per check across the live variants.
fn summary(variants: &[Variant]) -> Value {
    let mut out = serde_json::Map::new();
    for v in variants
        .iter()
        .filter(|v| v.status != VariantStatus::Discarded)
    {
        for e in &v.evaluations {
            let entry = out.entry(e.check.clone()).or_insert_with(
                || json!({"pass": 0, "warn": 0, "fail": 0, "blocks_finalize": e.blocks_finalize}),
            );
            let k = match e.status {
                CheckStatus::Pass => "pass",
                CheckStatus::Warn => "warn",
                CheckStatus::Fail => "fail",
            };
            entry[k] = json!(entry[k].as_u64().unwrap_or(0) + 1);
        }
    }
    json!({"stage": "draft", "advisory": true, "checks": out})
}

/// Stores objects, then writes the session in one transaction that clears their pending records.
async fn persist(
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
        let mut tx = state.db.pool.begin().await?;
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
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    for (i, input) in req.source_assets.iter().enumerate() {
        let field = format!("source_assets[{i}]");
        let bytes = match (&input.filename, &input.url) {
            (Some(name), None) => {
                let f = files.remove(name).ok_or_else(|| {
                    ApiError::field(
                        format!("{field}.filename"),
                        format!("no uploaded file named '{name}'"),
                    )
                })?;
                tokio::fs::read(f.file.path())
                    .await
                    .map_err(anyhow::Error::from)?
            }
            (None, Some(url)) => sources::fetch(state, url, &format!("{field}.url")).await?,
            _ => {
                return Err(ApiError::field(
                    field,
                    "give exactly one of 'filename' (an uploaded file) or 'url'",
                ))
            }
        };
        let asset = sources::describe(
            input,
            format!("src{}", i + 1),
            &bytes,
            &prefix,
            &field,
            |k| state.objects.public_url(k),
        )?;
        assets.push(asset);
        blobs.push(bytes);
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
        .zip(&blobs)
        .map(|(a, b)| Output {
            key: a.object_key.clone(),
            source: OutSource::Bytes(b.clone()),
        })
        .collect();
    // The sources are stored first (recorded pending until the session commits): a creative agent
    // reads them by URL while it draws.
    let staged_sources = staging::stage(state, &[], &source_outputs).await?;
    let mut outputs = Vec::new();
    let built = async {
        let srcs = decoded(&session, &blobs)?;
        let request = Request {
            session_id: &session_id,
            brief: &session.brief,
            texts: &session.texts,
            brand_domain: &campaign.brand_domain,
            sources: &srcs,
            targets: &targets,
        };
        let drafts = adapter.draft(&request).await.map_err(adapter_error)?;
        let cx = Context {
            state,
            session: &session,
            registry: &registry,
            sources: &srcs,
            checksums: &checksums,
            brand_domain: &campaign.brand_domain,
        };
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

async fn apply_finalized(state: &AppState, s: &mut Session) -> ApiResult<()> {
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

fn target_of(registry: &Registry, id: &FormatId, field: &str) -> ApiResult<Target> {
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
        let targets = [target];
        let request = Request {
            session_id: &session.session_id,
            brief: &session.brief,
            texts: &session.texts,
            brand_domain: &campaign.brand_domain,
            sources: &srcs,
            targets: &targets,
        };
        let refined = adapter
            .refine(&request, &parent, feedback)
            .await
            .map_err(adapter_error)?;
        let cx = Context {
            state,
            session: &session,
            registry: &registry,
            sources: &srcs,
            checksums: &checksums,
            brand_domain: &campaign.brand_domain,
        };
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

/// The outcome of a finalize.
pub struct Finalization {
    pub session: Session,
    pub manifests: Vec<crate::manifest::model::Manifest>,
    pub review_notes: Vec<String>,
}

/// An in-memory upload of a draft's files, as if the buyer had sent them.
fn spooled(
    state: &AppState,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> ApiResult<spool::SpooledFile> {
    use std::io::Write;
    let mut file =
        tempfile::NamedTempFile::new_in(state.config.spool_dir()).map_err(anyhow::Error::from)?;
    file.write_all(bytes).map_err(anyhow::Error::from)?;
    file.flush().map_err(anyhow::Error::from)?;
    Ok(spool::SpooledFile {
        filename: name.to_owned(),
        declared_mime: Some(content_type.to_owned()),
        file,
        size: bytes.len() as u64,
        sha256: sources::sha256(bytes),
        head: bytes[..bytes.len().min(crate::manifest::media::classify::SNIFF_LEN)].to_vec(),
    })
}

pub async fn finalize(
    state: &AppState,
    customer: &Customer,
    campaign: &Campaign,
    id: &str,
    req: FinalizeRequest,
) -> ApiResult<Finalization> {
    let (mut session, version) = load(state, customer, campaign, id).await?;
    let chosen = session
        .variant(&req.variant_id)
        .cloned()
        .ok_or(ApiError::NotFound("variant"))?;
    if chosen.status != VariantStatus::Approved {
        return Err(ApiError::InvalidState(format!(
            "only an approved variant is finalized; this one is {}",
            json!(chosen.status).as_str().unwrap_or_default()
        )));
    }
    let registry = Registry::for_customer(&state.db, &customer.id).await?;
    let formats = req
        .format_ids
        .clone()
        .unwrap_or_else(|| vec![chosen.format_id.clone()]);
    if formats.is_empty() || formats.len() > 20 {
        return Err(ApiError::field("format_ids", "name 1 to 20 formats"));
    }
    let adapter = adapter_for(state, customer, &session.adapter).await?;
    let (blobs, checksums) = load_sources(state, &session).await?;
    // The chosen variant for its own format; the same direction redrawn for the others.
    let mut finals: Vec<(Variant, Vec<Output>)> = Vec::new();
    let mut redraw_targets = Vec::new();
    for (i, f) in formats.iter().enumerate() {
        let t = target_of(&registry, f, &format!("format_ids[{i}]"))?;
        if *f != chosen.format_id {
            redraw_targets.push(t);
        }
    }
    let mut fresh = chosen.clone();
    {
        let srcs = decoded(&session, &blobs)?;
        let cx = Context {
            state,
            session: &session,
            registry: &registry,
            sources: &srcs,
            checksums: &checksums,
            brand_domain: &campaign.brand_domain,
        };
        // Evaluated again at finalize: the sources are read back and checked as they are now.
        let draft = Draft {
            format_id: chosen.format_id.clone(),
            params: chosen.lineage.parameters.clone(),
            texts: chosen.texts.clone(),
            files: rendered_files(state, &chosen).await?,
            placements: chosen.placements.clone(),
            quality: chosen.quality.clone(),
        };
        fresh.evaluations = evaluate_draft(&cx, &draft);
        if formats.contains(&chosen.format_id) {
            finals.push((fresh.clone(), vec![]));
        }
        if !redraw_targets.is_empty() {
            let request = Request {
                session_id: &session.session_id,
                brief: &session.brief,
                texts: &session.texts,
                brand_domain: &campaign.brand_domain,
                sources: &srcs,
                targets: &redraw_targets,
            };
            let drafts = adapter
                .redraw(&request, &chosen)
                .await
                .map_err(adapter_error)?;
            for d in drafts {
                let mut b = build(
                    &cx,
                    d,
                    Some(&chosen),
                    None,
                    &[],
                    Some(&chosen.lineage.direction_id),
                    &session.adapter,
                );
                b.variant.status = VariantStatus::Approved;
                finals.push((b.variant, b.outputs));
            }
        }
    }
    // Hard checks block, with every reason; nothing is written.
    let mut reasons = Vec::new();
    for (v, _) in &finals {
        for r in evaluate::blocking(&v.evaluations) {
            reasons.push(format!("{} {}: {r}", v.variant_id, v.format_id.id));
        }
    }
    if !reasons.is_empty() {
        return Err(ApiError::FinalizeBlocked {
            message: format!("finalize blocked: {}", reasons.join("; ")),
            reasons,
        });
    }
    // The redrawn variants are kept (they are what the manifests show), then each becomes a
    // manifest through the upload path, its lineage recorded in the manifest's own transaction.
    let outputs: Vec<Output> = finals
        .iter_mut()
        .flat_map(|(_, o)| std::mem::take(o))
        .collect();
    for (v, _) in &finals {
        if v.variant_id != chosen.variant_id {
            session.variants.push(v.clone());
        }
    }
    session.updated_at = now();
    persist(state, customer, &session, Some(version), &outputs, vec![]).await?;

    let mut manifests = Vec::new();
    let mut notes_all = Vec::new();
    for (v, _) in &finals {
        let notes = evaluate::review_notes(&v.evaluations);
        let html = registry.spec_of(&v.format_id).is_some_and(|s| {
            s.slots
                .iter()
                .any(|x| x.required && x.asset_type == SlotType::Html)
        });
        let (names, entries): (Vec<&str>, Value) = if html {
            (
                vec!["index.html", "art.png"],
                json!([{"filename": "index.html"}, {"filename": "art.png", "asset_type": "image"}]),
            )
        } else {
            (vec!["draft.png"], json!([{"filename": "draft.png"}]))
        };
        let mut files = Vec::new();
        for n in names {
            let f = v
                .files
                .iter()
                .find(|f| f.object_key.ends_with(&format!("/{n}")))
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("variant {} has no {n}", v.variant_id))
                })?;
            let bytes = read_object(state, &f.object_key).await?;
            files.push(spooled(state, n, &f.content_type, &bytes)?);
        }
        let name = format!(
            "{} {} {}",
            session
                .texts
                .headline
                .as_deref()
                .unwrap_or("Creative")
                .chars()
                .take(60)
                .collect::<String>(),
            v.format_id.id,
            json!(v.lineage.parameters.layout)
                .as_str()
                .unwrap_or_default()
        );
        let metadata = json!({
            "name": name,
            "message": session.brief.message,
            "format_id": v.format_id,
            "assets": entries,
        });
        let lineage = NewLineage {
            session_id: session.session_id.clone(),
            variant_id: v.variant_id.clone(),
            direction_id: v.lineage.direction_id.clone(),
            lineage: json!({
                "session_id": session.session_id,
                "variant_id": v.variant_id,
                "format_id": v.format_id,
                "parent_variant_id": v.lineage.parent_variant_id,
                "direction_id": v.lineage.direction_id,
                "adapter": v.lineage.adapter,
                "parameters": v.lineage.parameters,
                "source_assets": v.lineage.source_assets,
                "preview_url": v.preview_url,
            }),
            review_notes: notes.clone(),
        };
        let upload = spool::Upload {
            metadata: Some(metadata.to_string()),
            files,
        };
        let m =
            crate::ingest::create_with_lineage(state, customer, campaign, upload, Some(&lineage))
                .await?;
        state.known.insert(m.creative_id.as_str());
        manifests.push(m);
        notes_all.extend(notes);
    }
    let (session, _) = load(state, customer, campaign, id).await?;
    Ok(Finalization {
        session,
        manifests,
        review_notes: notes_all,
    })
}

/// A stored variant's files read back, for evaluating it again.
async fn rendered_files(state: &AppState, v: &Variant) -> ApiResult<Vec<super::adapter::File>> {
    let mut out = Vec::new();
    for f in &v.files {
        let kind: &'static str = match f.kind.as_str() {
            "image" => "image",
            "html5" => "html5",
            "art" => "art",
            _ => "other",
        };
        let content_type: &'static str = match f.content_type.as_str() {
            "image/png" => "image/png",
            "text/html" => "text/html",
            "image/jpeg" => "image/jpeg",
            _ => "application/octet-stream",
        };
        out.push(super::adapter::File {
            kind,
            name: f
                .object_key
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            content_type,
            bytes: read_object(state, &f.object_key).await?,
            width: f.width,
            height: f.height,
        });
    }
    Ok(out)
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
    let mut tx = state.db.pool.begin().await?;
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

/// Pixels a compositor would draw a locked asset with, for tests and benches outside the crate.
pub fn scale_like_renderer(src: &image::RgbaImage, w: u32, h: u32) -> image::RgbaImage {
    image::imageops::resize(src, w, h, compose::FILTER)
}
