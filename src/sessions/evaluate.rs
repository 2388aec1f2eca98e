//! The evaluators: a selected set of checks, each a pure function of what a variant is made of.
//! On drafts every verdict is advisory (a badge); at finalize the hard checks block with their
//! reasons, and the soft ones' warnings become review notes.

use image::RgbaImage;

use super::compose::FILTER;
use super::model::{Brief, CheckStatus, Evaluation, RightsStatus, SourceAsset};

/// What the fidelity comparison found for one locked asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Fidelity {
    pub asset_id: String,
    /// The bytes read back still hash to the checksum recorded when the asset was stored.
    pub checksum_ok: bool,
    /// Mean absolute difference per channel (0..255) between the source scaled uniformly to the
    /// drawn size and the rendered region; None when the asset was not drawn.
    pub mean_diff: Option<f32>,
    /// Whether the drawn region kept the source's aspect ratio (uniform scaling).
    pub uniform: bool,
}

/// A region is "unaltered" at or under this mean difference (the same filter gives 0; encoders
/// and alpha edges give fractions of a level).
pub const MAX_MEAN_DIFF: f32 = 1.0;

/// Compares the rendered region with the source scaled uniformly to the same size, over the
/// source's opaque pixels (translucent edges blend with whatever is under them by design).
pub fn compare_region(
    source: &RgbaImage,
    rendered: &RgbaImage,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> f32 {
    let scaled = image::imageops::resize(source, w, h, FILTER);
    let (mut sum, mut n) = (0u64, 0u64);
    for (sx, sy, p) in scaled.enumerate_pixels() {
        if p.0[3] != 255 {
            continue;
        }
        let Some(r) = rendered.get_pixel_checked(x + sx, y + sy) else {
            return 255.0;
        };
        for i in 0..3 {
            sum += (p.0[i] as i32 - r.0[i] as i32).unsigned_abs() as u64;
        }
        n += 3;
    }
    if n == 0 {
        0.0
    } else {
        sum as f32 / n as f32
    }
}

/// Whether drawing `src` at `w`x`h` is a uniform scale (within the one-pixel rounding of each side).
pub fn is_uniform(src: (u32, u32), w: u32, h: u32) -> bool {
    let sx = w as f64 / src.0 as f64;
    let sy = h as f64 / src.1 as f64;
    let tol_x = 1.0 / src.0 as f64 + 1.0 / w as f64;
    let tol_y = 1.0 / src.1 as f64 + 1.0 / h as f64;
    ((sx - sy) / sx.max(sy)).abs() <= tol_x.max(tol_y) + 1e-9
}

pub struct Facts<'a> {
    /// A preview was rendered and stored.
    pub rendered: bool,
    /// The target format is in the registry.
    pub format_known: bool,
    /// The coverage engine's reasons the rendered image does not satisfy the format.
    pub format_violations: Vec<String>,
    pub fidelity: Vec<Fidelity>,
    /// The source assets the variant uses.
    pub used: Vec<&'a SourceAsset>,
    pub logo_placed: bool,
    pub brand_domain: Option<&'a str>,
    pub texts: Vec<&'a str>,
    pub brief: &'a Brief,
    pub prohibited_claims: &'a [String],
    /// Today, `YYYY-MM-DD`, for rights that expire.
    pub today: &'a str,
}

fn eval(check: &str, blocks: bool, fails: Vec<String>, warns: Vec<String>) -> Evaluation {
    let status = if !fails.is_empty() {
        CheckStatus::Fail
    } else if !warns.is_empty() {
        CheckStatus::Warn
    } else {
        CheckStatus::Pass
    };
    let mut reasons = fails;
    reasons.extend(warns);
    Evaluation {
        check: check.to_owned(),
        status,
        blocks_finalize: blocks,
        reasons,
    }
}

pub fn readiness(f: &Facts) -> Evaluation {
    let mut fails = Vec::new();
    if !f.rendered {
        fails.push("no renderable preview".to_owned());
    }
    if !f.format_known {
        fails.push("the target format is not in the format registry".to_owned());
    }
    eval("core_readiness", true, fails, vec![])
}

pub fn asset_fidelity(f: &Facts) -> Evaluation {
    let mut fails = Vec::new();
    for x in &f.fidelity {
        if !x.checksum_ok {
            fails.push(format!(
                "{}: the stored source no longer matches its checksum",
                x.asset_id
            ));
        }
        match x.mean_diff {
            None => fails.push(format!(
                "locked asset {} does not appear in the render",
                x.asset_id
            )),
            Some(d) if d > MAX_MEAN_DIFF => fails.push(format!(
                "locked asset {} differs from its source in the render (mean difference {d:.2})",
                x.asset_id
            )),
            Some(_) => {}
        }
        if !x.uniform {
            fails.push(format!(
                "locked asset {} was not scaled uniformly",
                x.asset_id
            ));
        }
    }
    eval("asset_fidelity", true, fails, vec![])
}

/// Whether rights have run out by `today` (a date or date-time; dates compare as text).
fn expired(expires_at: Option<&str>, today: &str) -> bool {
    expires_at.is_some_and(|e| e.get(..10).is_some_and(|d| d < today))
}

pub fn rights(f: &Facts) -> Evaluation {
    let (mut fails, mut warns) = (Vec::new(), Vec::new());
    for a in &f.used {
        let r = &a.rights;
        let holder = r
            .holder
            .as_deref()
            .map(|h| format!(" (holder: {h})"))
            .unwrap_or_default();
        match r.status {
            RightsStatus::Restricted => {
                fails.push(format!("{}: rights are restricted{holder}", a.asset_id))
            }
            RightsStatus::Expired => {
                fails.push(format!("{}: rights have expired{holder}", a.asset_id))
            }
            _ if expired(r.expires_at.as_deref(), f.today) => fails.push(format!(
                "{}: rights expired on {}{holder}",
                a.asset_id,
                r.expires_at.as_deref().unwrap_or_default()
            )),
            RightsStatus::Unknown => {
                warns.push(format!("{}: rights status unknown{holder}", a.asset_id))
            }
            RightsStatus::Cleared => {}
        }
    }
    eval("rights", true, fails, warns)
}

pub fn format_rules(f: &Facts) -> Evaluation {
    eval("format", true, f.format_violations.clone(), vec![])
}

fn keywords(text: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "about", "their", "there", "these", "which", "while", "with", "your", "from", "that",
        "this", "into", "more",
    ];
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 5 && !STOP.contains(w))
        .map(str::to_owned)
        .collect()
}

pub fn brand_brief(f: &Facts) -> Evaluation {
    let mut warns = Vec::new();
    if !f.logo_placed {
        warns.push(match f.brand_domain {
            Some(d) => format!("no logo of {d} in the draft"),
            None => "no logo in the draft".to_owned(),
        });
    }
    let words = keywords(f.brief.message.as_deref().unwrap_or_default());
    let shown = f.texts.join(" ").to_lowercase();
    if !words.is_empty() && !words.iter().any(|w| shown.contains(w.as_str())) {
        warns.push(format!(
            "none of the brief's keywords ({}) appears in the texts",
            words.join(", ")
        ));
    }
    eval("brand_brief", false, vec![], warns)
}

pub fn policy(f: &Facts) -> Evaluation {
    let shown = f.texts.join(" ").to_lowercase();
    let warns = f
        .prohibited_claims
        .iter()
        .filter(|c| !c.trim().is_empty() && shown.contains(&c.trim().to_lowercase()))
        .map(|c| format!("prohibited claim in the texts: \"{}\"", c.trim()))
        .collect();
    eval("policy_safety", false, vec![], warns)
}

/// Every evaluator, in a stable order.
pub fn all(f: &Facts) -> Vec<Evaluation> {
    vec![
        readiness(f),
        asset_fidelity(f),
        rights(f),
        format_rules(f),
        brand_brief(f),
        policy(f),
    ]
}

/// What stops a finalize: the failures of the hard checks.
pub fn blocking(evals: &[Evaluation]) -> Vec<String> {
    evals
        .iter()
        .filter(|e| e.blocks_finalize && e.status == CheckStatus::Fail)
        .flat_map(|e| e.reasons.iter().map(move |r| format!("{}: {r}", e.check)))
        .collect()
}

/// What the saved manifest's reviewers should know: every other warning or advisory failure.
pub fn review_notes(evals: &[Evaluation]) -> Vec<String> {
    evals
        .iter()
        .filter(|e| {
            e.status != CheckStatus::Pass && !(e.blocks_finalize && e.status == CheckStatus::Fail)
        })
        .flat_map(|e| e.reasons.iter().map(move |r| format!("{}: {r}", e.check)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::model::{Provenance, Rights, Role};
    use image::Rgba;

    fn asset(status: RightsStatus, expires: Option<&str>) -> SourceAsset {
        SourceAsset {
            asset_id: "logo".into(),
            role: Role::Logo,
            locked_asset: true,
            can_transform: false,
            preservation_notes: None,
            source: Provenance::Upload,
            origin: "logo.png".into(),
            rights: Rights {
                status,
                holder: Some("Acme".into()),
                expires_at: expires.map(str::to_owned),
            },
            render_crop: None,
            subject_bounds: None,
            mask: None,
            mask_file: None,
            checksum: "x".into(),
            content_type: "image/png".into(),
            width: 10,
            height: 10,
            object_key: "k".into(),
            url: "u".into(),
        }
    }

    fn facts<'a>(used: Vec<&'a SourceAsset>, brief: &'a Brief, claims: &'a [String]) -> Facts<'a> {
        Facts {
            rendered: true,
            format_known: true,
            format_violations: vec![],
            fidelity: vec![],
            used,
            logo_placed: true,
            brand_domain: Some("acme.com"),
            texts: vec!["Fresh coffee, guaranteed cure"],
            brief,
            prohibited_claims: claims,
            today: "2026-12-07",
        }
    }

    #[test]
    fn rights_unknown_warns_restricted_and_expired_block() {
        let brief = Brief::default();
        let unknown = asset(RightsStatus::Unknown, None);
        let e = rights(&facts(vec![&unknown], &brief, &[]));
        assert_eq!(e.status, CheckStatus::Warn);
        assert!(blocking(std::slice::from_ref(&e)).is_empty());
        assert_eq!(review_notes(&[e]).len(), 1);
        let restricted = asset(RightsStatus::Restricted, None);
        let e = rights(&facts(vec![&restricted], &brief, &[]));
        assert_eq!(
            blocking(&[e]),
            vec!["rights: logo: rights are restricted (holder: Acme)"]
        );
        let lapsed = asset(RightsStatus::Cleared, Some("2026-01-01T00:00:00Z"));
        let e = rights(&facts(vec![&lapsed], &brief, &[]));
        assert_eq!(e.status, CheckStatus::Fail);
        let valid = asset(RightsStatus::Cleared, Some("2027-01-01"));
        assert_eq!(
            rights(&facts(vec![&valid], &brief, &[])).status,
            CheckStatus::Pass
        );
    }

    #[test]
    fn advisory_checks_never_block() {
        let brief = Brief {
            message: Some("Sustainable espresso".into()),
            ..Brief::default()
        };
        let claims = vec!["guaranteed cure".to_owned()];
        let mut f = facts(vec![], &brief, &claims);
        f.logo_placed = false;
        let evals = all(&f);
        assert!(blocking(&evals).is_empty());
        let notes = review_notes(&evals);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("guaranteed cure")));
        assert!(notes.iter().any(|n| n.contains("sustainable")));
    }

    #[test]
    fn fidelity_sees_an_altered_region_and_passes_an_identical_one() {
        let mut src = RgbaImage::from_pixel(40, 20, Rgba([200, 10, 10, 255]));
        src.put_pixel(5, 5, Rgba([0, 0, 0, 255]));
        let scaled = image::imageops::resize(&src, 20, 10, FILTER);
        let mut canvas = RgbaImage::from_pixel(100, 100, Rgba([0, 0, 255, 255]));
        image::imageops::overlay(&mut canvas, &scaled, 30, 40);
        assert_eq!(compare_region(&src, &canvas, 30, 40, 20, 10), 0.0);
        // Recoloured:
        let mut bad = canvas.clone();
        for x in 30..50 {
            for y in 40..50 {
                bad.put_pixel(x, y, Rgba([10, 200, 10, 255]));
            }
        }
        assert!(compare_region(&src, &bad, 30, 40, 20, 10) > MAX_MEAN_DIFF);
        assert!(is_uniform((40, 20), 20, 10));
        assert!(is_uniform((333, 100), 100, 30));
        assert!(!is_uniform((40, 20), 20, 20));
    }
}
