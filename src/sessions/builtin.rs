//! The built-in compositing adapter: no network, deterministic. Every target gets one draft per
//! layout; refinement maps the documented instructions onto the direction's parameters.

use futures::future::BoxFuture;
use futures::FutureExt;
use image::ImageEncoder;
use serde_json::json;

use super::adapter::{Adapter, AdapterError, Draft, File, Refined, Request, Source, Target};
use super::compose::{self, Inputs, Picture};
use super::layout::{self, Elements};
use super::model::{Layout, Params, Placement, Role, Texts, Variant};
use super::refine;

pub struct Builtin;

pub const NAME: &str = "builtin";

fn png(img: &image::RgbaImage) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}

fn first<'a>(sources: &'a [Source<'a>], roles: &[Role]) -> Option<&'a Source<'a>> {
    roles
        .iter()
        .find_map(|r| sources.iter().find(|s| s.asset.role == *r))
}

fn picture<'a>(s: &'a Source<'a>) -> Picture<'a> {
    Picture {
        asset: s.asset,
        image: s.image.clone(),
        scale: s.scale,
    }
}

/// Renders one direction for one target.
pub fn render(req: &Request, target: &Target, params: &Params) -> anyhow::Result<Draft> {
    let photo = first(req.sources, &[Role::Background, Role::Person]).map(picture);
    let product = first(req.sources, &[Role::Product]).map(picture);
    let logo = first(req.sources, &[Role::Logo]).map(picture);
    let headline = refine::headline(req.texts, params);
    let body = req.texts.body.as_deref().filter(|_| params.show_body);
    let cta = req.texts.cta.as_deref();
    let elements = Elements {
        photo: photo.is_some(),
        product: product.is_some(),
        logo: logo.is_some(),
        body: body.is_some(),
        cta: cta.is_some(),
    };
    let plan = layout::plan(target.width, target.height, params, &elements);
    let inputs = Inputs {
        photo: photo.as_ref(),
        product: product.as_ref(),
        logo: logo.as_ref(),
        headline: &headline,
        body,
        cta,
        background_brightness: params.background_brightness,
    };
    let c = compose::compose(target.width, target.height, &plan, &inputs);
    let mut quality = Vec::new();
    let mut placements = Vec::new();
    for p in &c.placed {
        if p.contain && (p.drawn.w < p.frame.w || p.drawn.h < p.frame.h) {
            quality.push(format!(
                "{} letterboxed in its {}x{} box at {}x{} (uniform scaling only)",
                p.asset_id, p.frame.w, p.frame.h, p.drawn.w, p.drawn.h
            ));
        }
        placements.push(Placement {
            asset_id: p.asset_id.clone(),
            role: p.role,
            locked: p.locked,
            x: p.drawn.x,
            y: p.drawn.y,
            width: p.drawn.w,
            height: p.drawn.h,
            box_width: p.frame.w,
            box_height: p.frame.h,
            fit: if p.contain { "contain" } else { "cover" }.to_owned(),
        });
    }
    for t in &c.texts {
        if t.px == 0.0 {
            quality.push(format!(
                "the {} does not fit at {}x{}: left out",
                t.class, target.width, target.height
            ));
        } else if t.px < 9.0 {
            quality.push(format!(
                "the {} is small ({} px) at this size",
                t.class, t.px
            ));
        }
    }
    if params.layout != Layout::TextOnly && elements.photo == elements.product && !elements.photo {
        quality.push("no picture: drawn as text only".to_owned());
    }
    let (w, h) = (target.width, target.height);
    let files = vec![
        File {
            kind: "image",
            name: "draft.png".into(),
            content_type: "image/png",
            bytes: png(&c.full)?,
            width: w,
            height: h,
        },
        File {
            kind: "art",
            name: "art.png".into(),
            content_type: "image/png",
            bytes: png(&c.art)?,
            width: w,
            height: h,
        },
        File {
            kind: "html5",
            name: "index.html".into(),
            content_type: "text/html",
            bytes: compose::html5(w, h, "art.png", &c.texts).into_bytes(),
            width: w,
            height: h,
        },
    ];
    Ok(Draft {
        format_id: target.format_id.clone(),
        params: params.clone(),
        texts: Texts {
            headline: Some(headline),
            body: body.map(str::to_owned),
            cta: cta.map(str::to_owned),
        },
        files,
        placements,
        quality,
    })
}

/// Rendering is CPU work: off the async workers.
async fn render_all(
    req: &Request<'_>,
    jobs: Vec<(Target, Params)>,
) -> Result<Vec<Draft>, AdapterError> {
    let run =
        || -> anyhow::Result<Vec<Draft>> { jobs.iter().map(|(t, p)| render(req, t, p)).collect() };
    // The borrowed sources cannot move to a blocking thread; on a multi-threaded runtime this
    // worker hands its other tasks away while it draws (a current-thread runtime just draws).
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    Ok(if multi {
        tokio::task::block_in_place(run)?
    } else {
        run()?
    })
}

impl Adapter for Builtin {
    fn name(&self) -> String {
        NAME.to_owned()
    }

    fn rendering_model(&self) -> &'static str {
        "compositing"
    }

    fn capabilities(&self) -> serde_json::Value {
        json!({
            "network": false,
            "deterministic": true,
            "layouts": ["full_bleed", "split", "product_hero", "text_only"],
            "outputs": ["image/png", "text/html"],
            "format_kinds": ["display"],
            "locked_assets": "uniform scaling only (letterboxed), never cropped, recoloured or distorted",
            "honours": ["render_crop", "subject_bounds", "mask"],
            "refine_instructions": refine::documented(),
            "font": "Liberation Sans Bold",
        })
    }

    fn draft<'a>(
        &'a self,
        req: &'a Request<'a>,
    ) -> BoxFuture<'a, Result<Vec<Draft>, AdapterError>> {
        async move {
            let jobs = req
                .targets
                .iter()
                .flat_map(|t| Layout::ALL.map(|l| (t.clone(), Params::new(l))))
                .collect();
            render_all(req, jobs).await
        }
        .boxed()
    }

    fn refine<'a>(
        &'a self,
        req: &'a Request<'a>,
        parent: &'a Variant,
        feedback: &'a str,
    ) -> BoxFuture<'a, Result<Refined, AdapterError>> {
        async move {
            let parsed = refine::parse(feedback);
            if parsed.understood.is_empty() {
                return Err(AdapterError::NotUnderstood(format!(
                    "not understood: {}; the built-in adapter understands: {}",
                    parsed
                        .not_understood
                        .iter()
                        .map(|p| format!("\"{p}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                    refine::documented().join(", ")
                )));
            }
            let params = refine::apply(&parent.lineage.parameters, req.texts, &parsed.understood);
            let jobs = req
                .targets
                .iter()
                .map(|t| (t.clone(), params.clone()))
                .collect();
            Ok(Refined {
                drafts: render_all(req, jobs).await?,
                understood: parsed
                    .understood
                    .iter()
                    .map(|i| i.name().to_owned())
                    .collect(),
                not_understood: parsed.not_understood,
            })
        }
        .boxed()
    }

    fn redraw<'a>(
        &'a self,
        req: &'a Request<'a>,
        parent: &'a Variant,
    ) -> BoxFuture<'a, Result<Vec<Draft>, AdapterError>> {
        async move {
            let jobs = req
                .targets
                .iter()
                .map(|t| (t.clone(), parent.lineage.parameters.clone()))
                .collect();
            render_all(req, jobs).await
        }
        .boxed()
    }
}
