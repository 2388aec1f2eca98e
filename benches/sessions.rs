//! Creative sessions' built-in compositor: drafts for 5 display formats x 4 layouts (20 drafts,
//! each a PNG, its art layer and an HTML5 file) from a 4000x3000 JPEG photo and a locked logo, as a
//! session's create does them (decode and reduce the photo once, then every layout). Reports wall
//! time per gallery and the process's peak resident memory while making one, and writes the
//! gallery as one picture to `target/sessions-gallery.png`.
//! Run: `cargo bench --bench sessions`.

#[path = "common/stats.rs"]
mod stats;

use std::time::Instant;

use image::{Rgba, RgbaImage};

use creative_manifests::adcp::types::FormatId;
use creative_manifests::sessions::adapter::{Request, Source, Target};
use creative_manifests::sessions::model::{
    Brief, Layout, Params, Provenance, Rights, Role, SourceAsset, Texts,
};
use creative_manifests::sessions::{builtin, sources, WORKING_SIDE};

const FORMATS: [(u32, u32); 5] = [(300, 250), (728, 90), (320, 50), (160, 600), (970, 250)];
const RUNS: usize = 5;

fn jpeg(img: &RgbaImage) -> Vec<u8> {
    let rgb = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn png(img: &RgbaImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A photo-like 4000x3000 picture: gradients, a subject, fine texture (so JPEG works for it).
fn photo() -> RgbaImage {
    RgbaImage::from_fn(4000, 3000, |x, y| {
        let (cx, cy) = (x as i64 - 2300, y as i64 - 1400);
        let grain = ((x * 7 + y * 13) % 17) as u8;
        if cx * cx + cy * cy < 700 * 700 {
            Rgba([180 + grain, 40, 50, 255])
        } else {
            Rgba([(x / 16) as u8, (y / 12) as u8, 90 + grain, 255])
        }
    })
}

fn logo() -> RgbaImage {
    RgbaImage::from_fn(400, 160, |x, y| {
        if (x / 20 + y / 20) % 2 == 0 {
            Rgba([20, 20, 20, 255])
        } else {
            Rgba([250, 210, 0, 255])
        }
    })
}

fn asset(id: &str, role: Role, locked: bool, bytes: &[u8], w: u32, h: u32) -> SourceAsset {
    SourceAsset {
        asset_id: id.into(),
        role,
        locked_asset: locked,
        can_transform: !locked,
        preservation_notes: None,
        source: Provenance::Upload,
        origin: id.into(),
        rights: Rights::default(),
        render_crop: None,
        subject_bounds: None,
        mask: None,
        mask_file: None,
        checksum: sources::sha256(bytes),
        content_type: "image/jpeg".into(),
        width: w,
        height: h,
        object_key: String::new(),
        url: String::new(),
    }
}

/// VmHWM (peak resident set) in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Resets the peak so the next reading covers only what follows (Linux).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    let photo_bytes = jpeg(&photo());
    let logo_bytes = png(&logo());
    let product = asset("src1", Role::Product, false, &photo_bytes, 4000, 3000);
    let mark = asset("src2", Role::Logo, true, &logo_bytes, 400, 160);
    let texts = Texts {
        headline: Some("Fresh roasted coffee, delivered before you wake".into()),
        body: Some("Single origin beans roasted every morning.".into()),
        cta: Some("Order now".into()),
    };
    let brief = Brief::default();
    let targets: Vec<Target> = FORMATS
        .iter()
        .map(|&(w, h)| Target {
            format_id: FormatId {
                agent_url: "https://creative.adcontextprotocol.org".into(),
                id: format!("display_{w}x{h}"),
                width: None,
                height: None,
                duration_ms: None,
            },
            width: w,
            height: h,
            html: false,
        })
        .collect();

    let rss_before = peak_mib();
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut last = Vec::new();
    for _ in 0..RUNS {
        reset_peak();
        let started = Instant::now();
        let (p_img, p_scale) = sources::decode(&product, &photo_bytes, None, WORKING_SIDE).unwrap();
        let (l_img, l_scale) = sources::decode(&mark, &logo_bytes, None, WORKING_SIDE).unwrap();
        let srcs = [
            Source {
                asset: &product,
                image: p_img,
                scale: p_scale,
                bytes: &photo_bytes,
            },
            Source {
                asset: &mark,
                image: l_img,
                scale: l_scale,
                bytes: &logo_bytes,
            },
        ];
        let req = Request {
            session_id: "bench",
            brief: &brief,
            texts: &texts,
            brand_domain: "acme.com",
            sources: &srcs,
            targets: &targets,
        };
        let mut drafts = Vec::new();
        for t in &targets {
            for layout in Layout::ALL {
                drafts.push(builtin::render(&req, t, &Params::new(layout)).unwrap());
            }
        }
        times.push(started.elapsed());
        peaks.push(peak_mib());
        assert_eq!(drafts.len(), 20);
        last = drafts;
    }
    stats::report(
        "gallery of 20 drafts (5 formats x 4 layouts) from a 4000x3000 JPEG",
        times,
    );
    peaks.sort_by(f64::total_cmp);
    println!(
        "peak resident memory while making a gallery: {:.0} MiB (process before: {:.0} MiB; photo JPEG {} KiB)",
        peaks[peaks.len() - 1],
        rss_before,
        photo_bytes.len() / 1024
    );

    // The gallery as one picture: a row per format, a column per layout.
    let pad = 12u32;
    let col_w = FORMATS.iter().map(|f| f.0).max().unwrap_or(0);
    let rows: Vec<u32> = FORMATS.iter().map(|f| f.1).collect();
    let sheet_w = 4 * col_w + 5 * pad;
    let sheet_h = rows.iter().sum::<u32>() + (rows.len() as u32 + 1) * pad;
    let mut sheet = RgbaImage::from_pixel(sheet_w, sheet_h, Rgba([236, 238, 242, 255]));
    let mut y = pad;
    for (r, &(_, h)) in FORMATS.iter().enumerate() {
        for c in 0..4 {
            let d = &last[r * 4 + c];
            let img = image::load_from_memory(&d.files[0].bytes)
                .unwrap()
                .to_rgba8();
            let x = pad + c as u32 * (col_w + pad);
            image::imageops::overlay(&mut sheet, &img, x as i64, y as i64);
        }
        y += h + pad;
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sessions-gallery.png");
    sheet.save(&out).unwrap();
    println!("gallery written to {}", out.display());
}
