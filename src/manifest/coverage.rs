//! Which formats a manifest satisfies, and which of a campaign's required formats its manifests
//! cover. Pure: it works from the properties recorded at upload, never from stored files.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::asset_type::AssetType;
use super::model::{Asset, AssetContent, Manifest, UrlType};
use crate::adcp::types::{FormatId, FormatKind, FormatKindRequirement, FormatRef};
use crate::formats::spec::{parse_ratio, FormatSpec, Requirements, Slot, SlotType};
use crate::ids::CreativeId;

/// Half a second either way is the same duration: encoders rarely land on the exact frame.
pub const DURATION_TOLERANCE_MS: u64 = 500;
/// Aspect ratios within 1% are the same shape.
const RATIO_TOLERANCE: f64 = 0.01;

/// What matching needs to know of one asset.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetFacts {
    pub asset_type: AssetType,
    pub content_type: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub file_size: Option<u64>,
    pub url_type: Option<UrlType>,
    pub text_len: Option<u64>,
}

impl AssetFacts {
    pub fn of(a: &Asset) -> AssetFacts {
        let file = a.file();
        AssetFacts {
            asset_type: a.asset_type,
            content_type: file.map(|f| f.content_type.clone()),
            width: file.and_then(|f| f.width),
            height: file.and_then(|f| f.height),
            duration_ms: file.and_then(|f| f.duration_ms),
            file_size: file.map(|f| f.file_size),
            url_type: a.url_type(),
            text_len: match &a.content {
                AssetContent::Text(t) => Some(t.chars().count() as u64),
                _ => None,
            },
        }
    }
}

/// What matching needs to know of one manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestFacts {
    pub creative_id: CreativeId,
    pub format: Option<FormatRef>,
    pub assets: Vec<AssetFacts>,
}

impl ManifestFacts {
    pub fn of(m: &Manifest) -> ManifestFacts {
        ManifestFacts {
            creative_id: m.creative_id.clone(),
            format: m.format.clone(),
            assets: m.assets.iter().map(AssetFacts::of).collect(),
        }
    }
}

/// One reason a manifest does not satisfy a format.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    pub rule: &'static str,
    /// Where, e.g. `assets.video_file.duration_ms`.
    pub field: String,
    pub expected: Value,
    pub actual: Value,
}

fn violation(rule: &'static str, field: String, expected: Value, actual: Value) -> Violation {
    Violation {
        rule,
        field,
        expected,
        actual,
    }
}

/// Collects violations when explaining, or only notes that one occurred when merely deciding:
/// coverage asks "does any manifest fit?" thousands of times and must not build strings for it.
struct Findings {
    explain: bool,
    failed: bool,
    list: Vec<Violation>,
}

impl Findings {
    fn new(explain: bool) -> Findings {
        Findings {
            explain,
            failed: false,
            list: Vec::new(),
        }
    }

    fn add(&mut self, make: impl FnOnce() -> Violation) {
        self.failed = true;
        if self.explain {
            self.list.push(make());
        }
    }

    /// Takes the best candidate's findings for `slot`, or notes that no asset can fill it.
    fn merge(&mut self, best: Option<Findings>, slot: &Slot) {
        match best {
            Some(f) => {
                self.failed |= f.failed;
                self.list.extend(f.list);
            }
            None => self.add(|| {
                violation(
                    "asset_missing",
                    format!("assets.{}", slot.asset_id),
                    json!(slot.asset_type.as_str()),
                    Value::Null,
                )
            }),
        }
    }

    /// Deciding stops at the first failure; explaining goes on to find them all.
    fn done(&self) -> bool {
        self.failed && !self.explain
    }
}

/// A format a campaign needs: a named format or a canonical kind (with its parameters).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Requirement {
    Format(FormatId),
    Kind(FormatKindRequirement),
}

/// File extensions a content type is known by in format requirements.
fn extensions(content_type: &str) -> &'static [&'static str] {
    match content_type {
        "image/jpeg" => &["jpg", "jpeg"],
        "image/png" => &["png"],
        "image/gif" => &["gif"],
        "image/webp" => &["webp"],
        "image/svg+xml" => &["svg"],
        "image/heic" | "image/heif" => &["heic", "heif"],
        "video/mp4" => &["mp4"],
        "video/webm" => &["webm"],
        "video/quicktime" => &["mov"],
        "audio/mpeg" => &["mp3"],
        "audio/wav" => &["wav"],
        "audio/ogg" => &["ogg"],
        "application/pdf" => &["pdf"],
        _ => &[],
    }
}

/// Whether an asset can fill a slot of this type at all.
pub(crate) fn fits_slot(slot: &Slot, a: &AssetFacts) -> bool {
    match &slot.asset_type {
        SlotType::Image => matches!(a.asset_type, AssetType::Image | AssetType::Logo),
        SlotType::Video => a.asset_type == AssetType::Video,
        SlotType::Audio => a.asset_type == AssetType::Audio,
        SlotType::Html => a.asset_type == AssetType::Html,
        SlotType::Javascript => a.asset_type == AssetType::Javascript,
        SlotType::Css => a.asset_type == AssetType::Css,
        SlotType::Vast => a.asset_type == AssetType::Vast || a.url_type == Some(UrlType::Vast),
        SlotType::Url => match slot.requirements.url_role.as_deref() {
            Some("clickthrough" | "landing_page") => a.url_type == Some(UrlType::Clickthrough),
            Some("impression_tracker") => a.url_type == Some(UrlType::TrackerPixel),
            Some(_) => matches!(
                a.url_type,
                Some(UrlType::TrackerPixel | UrlType::TrackerScript)
            ),
            None => a.asset_type == AssetType::Url,
        },
        SlotType::Text => a.asset_type == AssetType::Text,
        SlotType::Markdown => {
            a.asset_type == AssetType::Text
                && a.content_type
                    .as_deref()
                    .is_none_or(|c| c == "text/markdown")
        }
        SlotType::Webhook => a.asset_type == AssetType::Webhook,
        SlotType::Other(_) => false,
    }
}

/// Size and duration constraints, from a slot's requirements and the format id's parameters.
#[derive(Debug, Default)]
struct Bounds {
    width: (Option<u32>, Option<u32>),
    height: (Option<u32>, Option<u32>),
    aspect: Option<(String, f64)>,
    duration: (Option<u64>, Option<u64>),
}

impl Bounds {
    fn from_requirements(r: &Requirements) -> Bounds {
        Bounds {
            width: (r.min_width, r.max_width),
            height: (r.min_height, r.max_height),
            aspect: r.aspect_ratio.clone(),
            duration: (r.min_duration_ms, r.max_duration_ms),
        }
    }

    fn exact_size(&mut self, w: u32, h: u32) {
        self.width = (Some(w), Some(w));
        self.height = (Some(h), Some(h));
    }

    fn exact_duration(&mut self, ms: u64) {
        self.duration = (
            Some(ms.saturating_sub(DURATION_TOLERANCE_MS)),
            Some(ms + DURATION_TOLERANCE_MS),
        );
    }

    /// Checks measured values; `lenient_size` skips sizes the asset cannot tell (HTML without ad.size).
    fn check(&self, a: &AssetFacts, at: &str, lenient_size: bool, out: &mut Findings) {
        let range = |(lo, hi): (Option<u64>, Option<u64>)| match (lo, hi) {
            (Some(l), Some(h)) if l == h => json!(l),
            (l, h) => json!({ "min": l, "max": h }),
        };
        let mut dim = |name: &str, (lo, hi): (Option<u32>, Option<u32>), actual: Option<u32>| {
            if lo.is_none() && hi.is_none() {
                return;
            }
            let bounds = (lo.map(u64::from), hi.map(u64::from));
            let outside = match actual {
                None => !lenient_size,
                Some(v) => lo.is_some_and(|l| v < l) || hi.is_some_and(|h| v > h),
            };
            if outside {
                out.add(|| {
                    violation(
                        "dimensions",
                        format!("{at}.{name}"),
                        range(bounds),
                        json!(actual),
                    )
                });
            }
        };
        dim("width", self.width, a.width);
        dim("height", self.height, a.height);
        if let (Some((text, ratio)), Some(w), Some(h)) = (&self.aspect, a.width, a.height) {
            let actual = f64::from(w) / f64::from(h.max(1));
            if (actual - ratio).abs() / ratio > RATIO_TOLERANCE {
                out.add(|| {
                    violation(
                        "aspect_ratio",
                        format!("{at}.aspect_ratio"),
                        json!(text),
                        json!(format!("{w}:{h}")),
                    )
                });
            }
        }
        let (lo, hi) = self.duration;
        if lo.is_some() || hi.is_some() {
            let outside = match a.duration_ms {
                None => true,
                Some(d) => lo.is_some_and(|l| d < l) || hi.is_some_and(|h| d > h),
            };
            if outside {
                out.add(|| {
                    violation(
                        "duration",
                        format!("{at}.duration_ms"),
                        range((lo, hi)),
                        json!(a.duration_ms),
                    )
                });
            }
        }
    }
}

fn check_file_rules(r: &Requirements, a: &AssetFacts, at: &str, out: &mut Findings) {
    if !r.formats.is_empty() {
        let exts = a.content_type.as_deref().map(extensions).unwrap_or(&[]);
        if !exts.iter().any(|e| r.formats.iter().any(|f| f == e)) {
            out.add(|| {
                violation(
                    "mime_type",
                    format!("{at}.content_type"),
                    json!(r.formats),
                    json!(a.content_type),
                )
            });
        }
    }
    if let (Some(max_kb), Some(size)) = (r.max_file_size_kb, a.file_size) {
        if size > max_kb * 1024 {
            out.add(|| {
                violation(
                    "file_size",
                    format!("{at}.file_size"),
                    json!({ "max": max_kb * 1024 }),
                    json!(size),
                )
            });
        }
    }
    if let (Some(max), Some(len)) = (r.max_length, a.text_len) {
        if len > max {
            out.add(|| {
                violation(
                    "text_length",
                    format!("{at}.text"),
                    json!({ "max": max }),
                    json!(len),
                )
            });
        }
    }
}

/// Checks one candidate asset against one slot.
fn check_slot(
    spec: &FormatSpec,
    wanted: &FormatId,
    slot: &Slot,
    a: &AssetFacts,
    explain: bool,
) -> Findings {
    let mut out = Findings::new(explain);
    let visual = matches!(
        slot.asset_type,
        SlotType::Image | SlotType::Video | SlotType::Html
    );
    let mut bounds = Bounds::from_requirements(&slot.requirements);
    if visual {
        if let (Some(w), Some(h)) = (wanted.width, wanted.height) {
            bounds.exact_size(w, h);
        } else if slot.asset_type == SlotType::Html {
            if let Some((w, h)) = spec.render_size {
                bounds.exact_size(w, h);
            }
        }
    }
    if matches!(slot.asset_type, SlotType::Video | SlotType::Audio) {
        if let Some(ms) = wanted.duration_ms {
            bounds.exact_duration(ms);
        }
    }
    // Field names are only made when explaining.
    let at = if explain {
        format!("assets.{}", slot.asset_id)
    } else {
        String::new()
    };
    bounds.check(a, &at, slot.asset_type == SlotType::Html, &mut out);
    if !out.done() {
        check_file_rules(&slot.requirements, a, &at, &mut out);
    }
    out
}

/// Keeps, of several candidates' findings, a passing one or else the one with fewest violations.
fn best_of(candidates: impl Iterator<Item = Findings>) -> Option<Findings> {
    let mut best: Option<Findings> = None;
    for f in candidates {
        if !f.failed {
            return Some(f);
        }
        if best.as_ref().is_none_or(|b| f.list.len() < b.list.len()) {
            best = Some(f);
        }
    }
    best
}

fn format_findings(
    spec: &FormatSpec,
    wanted: &FormatId,
    m: &ManifestFacts,
    explain: bool,
) -> Findings {
    let mut out = Findings::new(explain);
    for slot in spec.slots.iter().filter(|s| s.required) {
        let found = best_of(
            m.assets
                .iter()
                .filter(|a| fits_slot(slot, a))
                .map(|a| check_slot(spec, wanted, slot, a, explain)),
        );
        out.merge(found, slot);
        if out.done() {
            break;
        }
    }
    out
}

/// Everything keeping `m` from satisfying `spec` (with `wanted`'s parameters); empty means it does.
pub fn check_format(spec: &FormatSpec, wanted: &FormatId, m: &ManifestFacts) -> Vec<Violation> {
    format_findings(spec, wanted, m, true).list
}

/// The canonical kind a manifest is: the one it names, else the one its assets make.
pub fn kind_of(m: &ManifestFacts) -> Option<FormatKind> {
    if let Some(FormatRef::Kind(k)) = &m.format {
        return Some(*k);
    }
    let has = |t: AssetType| m.assets.iter().any(|a| a.asset_type == t);
    if has(AssetType::Vast) || m.assets.iter().any(|a| a.url_type == Some(UrlType::Vast)) {
        Some(FormatKind::VideoVast)
    } else if has(AssetType::Video) {
        Some(FormatKind::VideoHosted)
    } else if has(AssetType::Audio) {
        Some(FormatKind::AudioHosted)
    } else if has(AssetType::Html) {
        Some(FormatKind::Html5)
    } else if has(AssetType::Javascript)
        || m.assets
            .iter()
            .any(|a| a.url_type == Some(UrlType::TrackerScript))
    {
        Some(FormatKind::DisplayTag)
    } else if has(AssetType::Image) || has(AssetType::Logo) {
        Some(FormatKind::Image)
    } else {
        None
    }
}

fn param_u64(params: &Map<String, Value>, key: &str) -> Option<u64> {
    params.get(key).and_then(Value::as_u64)
}

/// The asset a kind is about, as a slot, with the requirement's parameters applied.
fn kind_slot(kind: FormatKind, params: Option<&Map<String, Value>>) -> Option<(Slot, Bounds)> {
    let asset_type = match kind {
        FormatKind::Image | FormatKind::ImageCarousel | FormatKind::NativeInFeed => SlotType::Image,
        FormatKind::Html5 | FormatKind::DisplayTag => SlotType::Html,
        FormatKind::VideoHosted => SlotType::Video,
        FormatKind::VideoVast | FormatKind::AudioDaast => SlotType::Vast,
        FormatKind::AudioHosted => SlotType::Audio,
        _ => return None,
    };
    let mut bounds = Bounds::default();
    if let Some(p) = params {
        let u32p = |k: &str| param_u64(p, k).and_then(|v| u32::try_from(v).ok());
        bounds.width = (u32p("min_width"), u32p("max_width"));
        bounds.height = (u32p("min_height"), u32p("max_height"));
        if let (Some(w), Some(h)) = (u32p("width"), u32p("height")) {
            bounds.exact_size(w, h);
        }
        bounds.duration = (
            param_u64(p, "min_duration_ms"),
            param_u64(p, "max_duration_ms"),
        );
        if let Some(ms) = param_u64(p, "duration_ms") {
            bounds.exact_duration(ms);
        }
        bounds.aspect = p
            .get("aspect_ratio")
            .and_then(Value::as_str)
            .and_then(|s| parse_ratio(s).map(|r| (s.to_owned(), r)));
    }
    let slot = Slot {
        asset_id: asset_type.as_str().to_owned(),
        asset_type,
        required: true,
        requirements: Requirements::default(),
    };
    Some((slot, bounds))
}

/// `shape` is `kind_slot(req)`, resolved once by the caller.
fn kind_findings(
    req: &FormatKindRequirement,
    shape: Option<&(Slot, Bounds)>,
    m: &ManifestFacts,
    explain: bool,
) -> Findings {
    let mut out = Findings::new(explain);
    let kind = kind_of(m);
    // A display tag may be HTML or script; every other kind must match exactly.
    let tag_ok = req.format_kind == FormatKind::DisplayTag && kind == Some(FormatKind::Html5);
    if kind != Some(req.format_kind) && !tag_ok {
        out.add(|| {
            violation(
                "format_kind",
                "format_kind".into(),
                json!(req.format_kind),
                json!(kind),
            )
        });
        return out;
    }
    let Some((slot, bounds)) = shape else {
        // Kinds without a measurable asset are satisfied by a manifest that names them.
        return out;
    };
    let at = if explain {
        format!("assets.{}", slot.asset_id)
    } else {
        String::new()
    };
    let found = best_of(m.assets.iter().filter(|a| fits_slot(slot, a)).map(|a| {
        let mut f = Findings::new(explain);
        bounds.check(a, &at, slot.asset_type == SlotType::Html, &mut f);
        f
    }));
    out.merge(found, slot);
    out
}

/// Everything keeping `m` from being a manifest of the required kind with its parameters.
pub fn check_kind(req: &FormatKindRequirement, m: &ManifestFacts) -> Vec<Violation> {
    kind_findings(
        req,
        kind_slot(req.format_kind, req.params.as_ref()).as_ref(),
        m,
        true,
    )
    .list
}

/// Evaluates one requirement; `spec_of` finds the registry's spec for a format id.
pub fn check_requirement<'s>(
    req: &Requirement,
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
    m: &ManifestFacts,
) -> Vec<Violation> {
    match req {
        Requirement::Format(id) => match spec_of(id) {
            Some(spec) => check_format(spec, id, m),
            None => vec![violation(
                "unknown_format",
                "format_id".into(),
                json!(id),
                Value::Null,
            )],
        },
        Requirement::Kind(k) => check_kind(k, m),
    }
}

/// Whether any manifest satisfies `req`: the spec is looked up once and nothing is allocated per
/// manifest.
fn any_satisfies<'s>(
    req: &Requirement,
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
    manifests: &[ManifestFacts],
) -> bool {
    match req {
        Requirement::Format(id) => match spec_of(id) {
            Some(spec) => manifests
                .iter()
                .any(|m| !format_findings(spec, id, m, false).failed),
            None => false,
        },
        Requirement::Kind(k) => {
            let shape = kind_slot(k.format_kind, k.params.as_ref());
            manifests
                .iter()
                .any(|m| !kind_findings(k, shape.as_ref(), m, false).failed)
        }
    }
}

/// The formats among `candidates` that `m` satisfies (candidates in order, without repeats).
pub fn satisfied<'s>(
    candidates: &[FormatId],
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
    m: &ManifestFacts,
) -> Vec<FormatId> {
    let mut out: Vec<FormatId> = Vec::new();
    for id in candidates {
        if !out.contains(id)
            && spec_of(id).is_some_and(|s| !format_findings(s, id, m, false).failed)
        {
            out.push(id.clone());
        }
    }
    out
}

/// A warning for each chosen target format that `m` does not satisfy, saying why.
pub fn target_warnings<'s>(
    targets: &[FormatId],
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
    m: &ManifestFacts,
) -> Vec<String> {
    targets
        .iter()
        .filter_map(|id| {
            let v = check_requirement(&Requirement::Format(id.clone()), spec_of, m);
            (!v.is_empty()).then(|| {
                let why: Vec<String> = v
                    .iter()
                    .map(|v| {
                        format!(
                            "{} ({}: expected {}, got {})",
                            v.field, v.rule, v.expected, v.actual
                        )
                    })
                    .collect();
                format!(
                    "target format {} is not satisfied: {}",
                    id.id,
                    why.join("; ")
                )
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub required: Vec<Requirement>,
    pub covered: Vec<Requirement>,
    pub missing: Vec<Requirement>,
}

/// Splits `required` into what at least one manifest satisfies and the rest.
pub fn coverage<'s>(
    required: Vec<Requirement>,
    spec_of: &impl Fn(&FormatId) -> Option<&'s FormatSpec>,
    manifests: &[ManifestFacts],
) -> Coverage {
    let (covered, missing) = required
        .iter()
        .cloned()
        .partition(|req| any_satisfies(req, spec_of, manifests));
    Coverage {
        required,
        covered,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::builtin;
    use crate::formats::spec::parse;

    fn spec(id: &str) -> FormatSpec {
        let f = builtin::formats()
            .into_iter()
            .find(|f| f["format_id"]["id"] == id)
            .unwrap();
        parse(&f).unwrap()
    }

    fn image(w: u32, h: u32) -> AssetFacts {
        AssetFacts {
            asset_type: AssetType::Image,
            content_type: Some("image/png".into()),
            width: Some(w),
            height: Some(h),
            duration_ms: None,
            file_size: Some(10_000),
            url_type: None,
            text_len: None,
        }
    }

    fn video(ms: u64) -> AssetFacts {
        AssetFacts {
            asset_type: AssetType::Video,
            content_type: Some("video/mp4".into()),
            width: Some(640),
            height: Some(360),
            duration_ms: Some(ms),
            file_size: Some(100_000),
            url_type: None,
            text_len: None,
        }
    }

    fn manifest(assets: Vec<AssetFacts>) -> ManifestFacts {
        ManifestFacts {
            creative_id: CreativeId::new(),
            format: None,
            assets,
        }
    }

    #[test]
    fn an_image_of_the_right_size_satisfies_its_display_format() {
        let s = spec("display_300x250");
        assert!(check_format(&s, &s.format_id, &manifest(vec![image(300, 250)])).is_empty());
        let v = check_format(&s, &s.format_id, &manifest(vec![image(728, 90)]));
        assert_eq!(v[0].rule, "dimensions");
        assert_eq!(v[0].field, "assets.banner_image.width");
    }

    #[test]
    fn a_15s_video_does_not_satisfy_30s_and_says_why() {
        let s = spec("video_standard_30s");
        let v = check_format(&s, &s.format_id, &manifest(vec![video(15_000)]));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "assets.video_file.duration_ms");
        assert_eq!(v[0].actual, json!(15_000));
        assert!(check_format(&s, &s.format_id, &manifest(vec![video(30_040)])).is_empty());
    }

    #[test]
    fn a_missing_asset_is_named() {
        let s = spec("native_standard");
        let v = check_format(&s, &s.format_id, &manifest(vec![image(1200, 628)]));
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["assets.headline", "assets.clickthrough_url"]);
    }

    #[test]
    fn format_id_parameters_narrow_the_format() {
        let s = spec("video_standard_30s");
        let mut wanted = s.format_id.clone();
        wanted.width = Some(1920);
        wanted.height = Some(1080);
        let v = check_format(&s, &wanted, &manifest(vec![video(30_000)]));
        assert_eq!(v.len(), 2, "{v:?}");
    }

    #[test]
    fn kinds_are_satisfied_by_manifests_of_that_kind_meeting_the_params() {
        let req = FormatKindRequirement {
            format_kind: FormatKind::VideoHosted,
            format_option_ref: None,
            params: Some(json!({"duration_ms": 30000}).as_object().unwrap().clone()),
        };
        assert!(check_kind(&req, &manifest(vec![video(30_000)])).is_empty());
        assert_eq!(
            check_kind(&req, &manifest(vec![video(15_000)]))[0].rule,
            "duration"
        );
        assert_eq!(
            check_kind(&req, &manifest(vec![image(1, 1)]))[0].rule,
            "format_kind"
        );
    }

    #[test]
    fn coverage_splits_required_into_covered_and_missing() {
        let specs: Vec<FormatSpec> = ["display_300x250", "display_728x90", "video_standard_30s"]
            .iter()
            .map(|id| spec(id))
            .collect();
        let spec_of = |id: &FormatId| specs.iter().find(|s| s.format_id.id == id.id);
        let required: Vec<Requirement> = specs
            .iter()
            .map(|s| Requirement::Format(s.format_id.clone()))
            .collect();
        let c = coverage(
            required.clone(),
            &spec_of,
            &[
                manifest(vec![image(300, 250)]),
                manifest(vec![video(15_000)]),
            ],
        );
        assert_eq!(c.covered, vec![required[0].clone()]);
        assert_eq!(c.missing, vec![required[1].clone(), required[2].clone()]);
    }

    #[test]
    fn every_builtin_format_parses_with_its_required_slots() {
        for f in builtin::formats() {
            let s = parse(&f).unwrap();
            assert!(s.slots.iter().any(|s| s.required), "{}", s.format_id.id);
        }
    }
}
