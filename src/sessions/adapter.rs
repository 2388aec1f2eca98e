//! The one seam between session logic and whatever renders drafts. The built-in compositor and
//! the AdCP creative agent sit behind it; another (a generative model service) is one more impl.

use futures::future::BoxFuture;
use image::RgbaImage;

use super::model::{Brief, Params, Placement, SourceAsset, Texts, Variant};
use crate::adcp::types::FormatId;

/// A format the session draws for, with what the registry says about it.
#[derive(Debug, Clone)]
pub struct Target {
    pub format_id: FormatId,
    pub width: u32,
    pub height: u32,
    /// The format's creative is HTML (the HTML5 file is its asset), not a static image.
    pub html: bool,
}

/// A source asset with its pixels. `scale` maps original pixels to `image`'s.
pub struct Source<'a> {
    pub asset: &'a SourceAsset,
    pub image: RgbaImage,
    pub scale: f32,
    pub bytes: &'a [u8],
}

pub struct Request<'a> {
    pub session_id: &'a str,
    pub brief: &'a Brief,
    pub texts: &'a Texts,
    pub brand_domain: &'a str,
    pub sources: &'a [Source<'a>],
    pub targets: &'a [Target],
}

/// A rendered file of a draft.
#[derive(Debug, Clone)]
pub struct File {
    /// `image`, `html5`, or `art` (the HTML5 file's picture).
    pub kind: &'static str,
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone)]
pub struct Draft {
    pub format_id: FormatId,
    pub params: Params,
    pub texts: Texts,
    pub files: Vec<File>,
    /// Where each source asset was drawn, when the renderer can say.
    pub placements: Vec<Placement>,
    pub quality: Vec<String>,
}

pub struct Refined {
    pub drafts: Vec<Draft>,
    pub understood: Vec<String>,
    pub not_understood: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// Nothing in the feedback was understood; the list says what was not, and what would be.
    #[error("{0}")]
    NotUnderstood(String),
    /// The renderer (an agent) failed or answered outside the protocol.
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub trait Adapter: Send + Sync {
    /// The name sessions record (`builtin`, `agent:<sales_agent_id>`).
    fn name(&self) -> String;
    /// How it renders: `compositing` (lays out the buyer's assets) or `agent` (a remote agent).
    fn rendering_model(&self) -> &'static str;
    fn capabilities(&self) -> serde_json::Value;
    /// Drafts for every target: several directions each.
    fn draft<'a>(&'a self, req: &'a Request<'a>)
        -> BoxFuture<'a, Result<Vec<Draft>, AdapterError>>;
    /// New drafts from `parent` and the buyer's words.
    fn refine<'a>(
        &'a self,
        req: &'a Request<'a>,
        parent: &'a Variant,
        feedback: &'a str,
    ) -> BoxFuture<'a, Result<Refined, AdapterError>>;
    /// The same direction as `parent`, drawn for other formats (seller-specific versions).
    fn redraw<'a>(
        &'a self,
        req: &'a Request<'a>,
        parent: &'a Variant,
    ) -> BoxFuture<'a, Result<Vec<Draft>, AdapterError>>;
}
