//! From an adapter's drafts to stored variants: their files as objects, their evaluations (the
//! staged checks, computed from the rendered pixels and the sources read back), their lineage.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::adapter::{AdapterError, Draft, Request, Source, Target};
use super::evaluate::{self, Facts, Fidelity};
use super::model::*;
use super::sources;
use crate::error::{ApiError, ApiResult};
use crate::formats::spec::SlotType;
use crate::formats::Registry;
use crate::ingest::process::{Output, Source as OutSource};
use crate::manifest::asset_type::AssetType;
use crate::manifest::coverage::{self, AssetFacts, ManifestFacts};
use crate::state::AppState;
use crate::store::db::now;

pub(super) async fn read_object(state: &AppState, key: &str) -> anyhow::Result<Vec<u8>> {
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

/// A session's source files as read: each picture, and its mask where it has one.
pub(super) struct Blobs {
    pub(super) pictures: Vec<Vec<u8>>,
    pub(super) masks: Vec<Option<Vec<u8>>>,
}

/// Reads the session's sources back; `checksum_ok` per asset says whether the stored bytes still
/// hash to what the asset store recorded.
pub(super) async fn load_sources(
    state: &AppState,
    session: &Session,
) -> ApiResult<(Blobs, HashMap<String, bool>)> {
    let mut blobs = Blobs {
        pictures: Vec::new(),
        masks: Vec::new(),
    };
    let mut ok = HashMap::new();
    for a in &session.asset_store.assets {
        let b = read_object(state, &a.object_key).await?;
        ok.insert(a.asset_id.clone(), sources::sha256(&b) == a.checksum);
        blobs.pictures.push(b);
        blobs.masks.push(match &a.mask_file {
            Some(m) => Some(read_object(state, &m.object_key).await?),
            None => None,
        });
    }
    Ok((blobs, ok))
}

/// Decodes the sources for the adapters, each mask applied.
pub(super) fn decoded<'a>(session: &'a Session, blobs: &'a Blobs) -> ApiResult<Vec<Source<'a>>> {
    session
        .asset_store
        .assets
        .iter()
        .zip(&blobs.pictures)
        .zip(&blobs.masks)
        .map(|((asset, b), mask)| {
            let (image, scale) = sources::decode(asset, b, mask.as_deref(), sources::WORKING_SIDE)?;
            Ok(Source {
                asset,
                image,
                scale,
                bytes: b,
            })
        })
        .collect()
}

pub(super) fn adapter_error(e: AdapterError) -> ApiError {
    match e {
        AdapterError::NotUnderstood(m) => ApiError::field("feedback", m),
        AdapterError::Upstream(m) => ApiError::Upstream(m),
        AdapterError::Internal(e) => ApiError::Internal(e),
    }
}

/// What a variant's files, evaluations and lineage are, before it is stored.
pub(super) struct Built {
    pub(super) variant: Variant,
    pub(super) outputs: Vec<Output>,
}

pub(super) struct Context<'a> {
    pub(super) state: &'a AppState,
    pub(super) session: &'a Session,
    pub(super) registry: &'a Registry,
    pub(super) sources: &'a [Source<'a>],
    pub(super) checksums: &'a HashMap<String, bool>,
    pub(super) brand_domain: &'a str,
}

impl<'a> Context<'a> {
    /// What an adapter is asked to draw for `targets`: this session's brief, texts and sources.
    pub(super) fn request<'t>(&'t self, targets: &'t [Target]) -> Request<'t> {
        Request {
            session_id: &self.session.session_id,
            brief: &self.session.brief,
            texts: &self.session.texts,
            brand_domain: self.brand_domain,
            sources: self.sources,
            targets,
        }
    }
}

pub(super) fn format_facts(target_html: bool, f: &super::adapter::File) -> AssetFacts {
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
pub(super) fn evaluate_draft(cx: &Context, draft: &Draft) -> Vec<Evaluation> {
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

pub(super) fn build(
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
pub(super) fn summary(variants: &[Variant]) -> Value {
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
