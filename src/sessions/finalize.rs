//! Finalize: an approved variant (and its direction redrawn for other formats) checked again with
//! the hard checks, then saved as manifests through the upload path, lineage in the same
//! transaction as each manifest.

use serde::Deserialize;
use serde_json::{json, Value};

use super::adapter::Draft;
use super::draft::{
    adapter_error, build, decoded, evaluate_draft, load_sources, read_object, Context,
};
use super::evaluate;
use super::model::*;
use super::service::{adapter_for, apply_finalized, load, persist, target_of};
use super::sources;
use super::store::NewLineage;
use crate::adcp::types::FormatId;
use crate::error::{ApiError, ApiResult};
use crate::formats::spec::SlotType;
use crate::formats::Registry;
use crate::ingest::process::Output;
use crate::ingest::spool;
use crate::state::AppState;
use crate::store::campaigns::Campaign;
use crate::store::customers::Customer;
use crate::store::db::now;

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

/// The outcome of a finalize.
pub struct Finalization {
    pub session: Session,
    pub manifests: Vec<crate::manifest::model::Manifest>,
    pub review_notes: Vec<String>,
}

/// An in-memory upload of a draft's files, as if the buyer had sent them.
pub(super) fn spooled(
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
            let drafts = adapter
                .redraw(&cx.request(&redraw_targets), &chosen)
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
        // An HTML format gets the HTML5 file and the picture it names; others the static image.
        // The upload path classifies each file from its bytes, as for any upload.
        let kinds: &[&str] = if html { &["html5", "art"] } else { &["image"] };
        let mut files = Vec::new();
        let mut entries = Vec::new();
        for kind in kinds {
            let f = v.files.iter().find(|f| f.kind == *kind).ok_or_else(|| {
                ApiError::field(
                    "format_ids",
                    format!(
                        "variant {} has no {kind} file for {}",
                        v.variant_id, v.format_id.id
                    ),
                )
            })?;
            let name = f
                .object_key
                .rsplit('/')
                .next()
                .unwrap_or("draft")
                .to_owned();
            let bytes = read_object(state, &f.object_key).await?;
            entries.push(json!({"filename": name}));
            files.push(spooled(state, &name, &f.content_type, &bytes)?);
        }
        let entries = Value::Array(entries);
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
    // The session as just written, with the lineage rows the manifests recorded: no second read
    // of its row.
    apply_finalized(state, &mut session).await?;
    Ok(Finalization {
        session,
        manifests,
        review_notes: notes_all,
    })
}

/// A stored variant's files read back, for evaluating it again.
pub(super) async fn rendered_files(
    state: &AppState,
    v: &Variant,
) -> ApiResult<Vec<super::adapter::File>> {
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
