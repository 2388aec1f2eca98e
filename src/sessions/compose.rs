//! The compositor: draws a layout plan with the session's pictures and texts. Deterministic (same
//! inputs, same pixels) and offline. A locked asset (or one that may not be transformed) is only ever
//! scaled uniformly and letterboxed in its box: never cropped, recoloured or distorted.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::imageops::{self, FilterType};
use image::{Rgba, RgbaImage};

use super::layout::{Frame, Plan};
use super::model::{Rect, Role, SourceAsset};

/// The bundled font (Liberation Sans Bold, SIL OFL / GPL+font exception; assets/fonts/).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Bold.ttf");

/// The one resampling filter: the same everywhere, so a test (or the fidelity check) that scales a
/// source the same way gets the very same pixels.
pub const FILTER: FilterType = FilterType::Triangle;

/// A decoded picture and what the buyer said about it. `scale` is the factor from the original to
/// `image` (large photos are reduced once before layouts; locked assets never are).
pub struct Picture<'a> {
    pub asset: &'a SourceAsset,
    pub image: RgbaImage,
    pub scale: f32,
}

pub struct Inputs<'a> {
    pub photo: Option<&'a Picture<'a>>,
    pub product: Option<&'a Picture<'a>>,
    pub logo: Option<&'a Picture<'a>>,
    pub headline: &'a str,
    pub body: Option<&'a str>,
    pub cta: Option<&'a str>,
    pub background_brightness: f32,
}

/// A placed picture: where it was drawn.
#[derive(Debug, Clone)]
pub struct Placed {
    pub asset_id: String,
    pub role: Role,
    pub locked: bool,
    pub drawn: Frame,
    pub frame: Frame,
    pub contain: bool,
}

/// A text the HTML5 variant lays over the art.
#[derive(Debug, Clone)]
pub struct TextBox {
    pub class: &'static str,
    pub text: String,
    pub frame: Frame,
    pub px: f32,
}

pub struct Composite {
    /// The finished static image.
    pub full: RgbaImage,
    /// The same without texts: the HTML5 variant's background.
    pub art: RgbaImage,
    pub placed: Vec<Placed>,
    pub texts: Vec<TextBox>,
}

const BASE: [f32; 3] = [28.0, 43.0, 76.0];
const ACCENT: Rgba<u8> = Rgba([232, 118, 34, 255]);
const WHITE: Rgba<u8> = Rgba([255, 255, 255, 255]);

fn background(brightness: f32) -> Rgba<u8> {
    let c = |v: f32| (v * brightness.clamp(0.2, 3.0)).round().clamp(0.0, 255.0) as u8;
    Rgba([c(BASE[0]), c(BASE[1]), c(BASE[2]), 255])
}

/// Scales `src` uniformly to fit `frame`, centred: the whole picture, letterboxed.
pub fn contain(src: &RgbaImage, frame: Frame) -> (RgbaImage, Frame) {
    let (sw, sh) = src.dimensions();
    let s = (frame.w as f32 / sw as f32).min(frame.h as f32 / sh as f32);
    let w = ((sw as f32 * s).round() as u32).clamp(1, frame.w);
    let h = ((sh as f32 * s).round() as u32).clamp(1, frame.h);
    let scaled = imageops::resize(src, w, h, FILTER);
    let drawn = Frame {
        x: frame.x + (frame.w - w) / 2,
        y: frame.y + (frame.h - h) / 2,
        w,
        h,
    };
    (scaled, drawn)
}

/// The part of a picture a `frame`-shaped window covers: inside `render_crop` (if any), as large as
/// fits, centred on the subject (if known) or the middle.
pub fn cover_window(
    size: (u32, u32),
    frame: Frame,
    crop: Option<Rect>,
    subject: Option<Rect>,
) -> Rect {
    let area = crop
        .filter(|c| {
            c.width > 0 && c.height > 0 && c.x + c.width <= size.0 && c.y + c.height <= size.1
        })
        .unwrap_or(Rect {
            x: 0,
            y: 0,
            width: size.0,
            height: size.1,
        });
    let target = frame.w as f64 / frame.h as f64;
    let (aw, ah) = (area.width as f64, area.height as f64);
    let (ww, wh) = if aw / ah > target {
        (ah * target, ah)
    } else {
        (aw, aw / target)
    };
    let (cx, cy) = match subject {
        Some(s) => (
            s.x as f64 + s.width as f64 / 2.0,
            s.y as f64 + s.height as f64 / 2.0,
        ),
        None => (area.x as f64 + aw / 2.0, area.y as f64 + ah / 2.0),
    };
    let x = (cx - ww / 2.0).clamp(area.x as f64, area.x as f64 + aw - ww);
    let y = (cy - wh / 2.0).clamp(area.y as f64, area.y as f64 + ah - wh);
    Rect {
        x: x.round() as u32,
        y: y.round() as u32,
        width: (ww.round() as u32).max(1),
        height: (wh.round() as u32).max(1),
    }
}

fn scaled_rect(r: Rect, s: f32) -> Rect {
    Rect {
        x: (r.x as f32 * s).round() as u32,
        y: (r.y as f32 * s).round() as u32,
        width: ((r.width as f32 * s).round() as u32).max(1),
        height: ((r.height as f32 * s).round() as u32).max(1),
    }
}

fn place(canvas: &mut RgbaImage, art: &mut RgbaImage, pic: &Picture, frame: Frame) -> Placed {
    let a = pic.asset;
    let (img, drawn, contain_fit) = if a.uniform_only() {
        let (img, drawn) = contain(&pic.image, frame);
        (img, drawn, true)
    } else {
        let crop = a.render_crop.map(|r| scaled_rect(r, pic.scale));
        let subject = a.subject_bounds.map(|r| scaled_rect(r, pic.scale));
        let w = cover_window(pic.image.dimensions(), frame, crop, subject);
        let window = imageops::crop_imm(&pic.image, w.x, w.y, w.width, w.height).to_image();
        (
            imageops::resize(&window, frame.w, frame.h, FILTER),
            frame,
            false,
        )
    };
    imageops::overlay(canvas, &img, drawn.x as i64, drawn.y as i64);
    imageops::overlay(art, &img, drawn.x as i64, drawn.y as i64);
    Placed {
        asset_id: a.asset_id.clone(),
        role: a.role,
        locked: a.uniform_only(),
        drawn,
        frame,
        contain: contain_fit,
    }
}

fn fill(img: &mut RgbaImage, f: Frame, c: Rgba<u8>) {
    let (w, h) = img.dimensions();
    for y in f.y..(f.y + f.h).min(h) {
        for x in f.x..(f.x + f.w).min(w) {
            let p = img.get_pixel_mut(x, y);
            let a = c.0[3] as u32;
            for i in 0..3 {
                p.0[i] = ((c.0[i] as u32 * a + p.0[i] as u32 * (255 - a)) / 255) as u8;
            }
            p.0[3] = 255;
        }
    }
}

pub fn font() -> FontRef<'static> {
    // The bundled font is a fixed, known file: it parses or the build is broken (a unit test pins it).
    FontRef::try_from_slice(FONT_BYTES).expect("bundled font parses")
}

fn line_width<F: Font>(font: &impl ScaleFont<F>, text: &str) -> f32 {
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let g = font.glyph_id(c);
        if let Some(p) = prev {
            w += font.kern(p, g);
        }
        w += font.h_advance(g);
        prev = Some(g);
    }
    w
}

/// Words wrapped into lines no wider than `width` at `px`; None when a word alone is too wide.
fn wrap(text: &str, px: f32, width: f32) -> Option<Vec<String>> {
    let f = font();
    let sf = f.as_scaled(PxScale::from(px));
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let cand = if cur.is_empty() {
            word.to_owned()
        } else {
            format!("{cur} {word}")
        };
        if line_width(&sf, &cand) <= width {
            cur = cand;
        } else {
            if cur.is_empty() {
                return None;
            }
            lines.push(std::mem::replace(&mut cur, word.to_owned()));
            if line_width(&sf, &cur) > width {
                return None;
            }
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    Some(lines)
}

/// The largest size (at most `max_px`) at which `text` fits `frame` in at most three lines.
pub fn fit_text(text: &str, frame: Frame, max_px: f32) -> Option<(f32, Vec<String>)> {
    let mut px = max_px.min(frame.h as f32).floor();
    while px >= 6.0 {
        if let Some(lines) = wrap(text, px, frame.w as f32) {
            if lines.len() <= 3 && lines.len() as f32 * px * 1.15 <= frame.h as f32 {
                return Some((px, lines));
            }
        }
        px -= 1.0;
    }
    None
}

fn draw_text(img: &mut RgbaImage, text: &str, frame: Frame, max_px: f32, color: Rgba<u8>) -> f32 {
    let Some((px, lines)) = fit_text(text, frame, max_px) else {
        return 0.0;
    };
    let f = font();
    let sf = f.as_scaled(PxScale::from(px));
    let line_h = px * 1.15;
    let total = line_h * lines.len() as f32;
    let mut baseline = frame.y as f32 + (frame.h as f32 - total) / 2.0 + sf.ascent();
    let (iw, ih) = img.dimensions();
    for line in lines {
        let mut x = frame.x as f32;
        let mut prev = None;
        for c in line.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                x += sf.kern(p, id);
            }
            let glyph = id.with_scale_and_position(PxScale::from(px), ab_glyph::point(x, baseline));
            x += sf.h_advance(id);
            prev = Some(id);
            if let Some(outline) = f.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cov| {
                    let (px_x, px_y) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                    // Text stays inside its own frame: it never paints over a placed asset.
                    let inside = px_x >= frame.x as i64
                        && px_y >= frame.y as i64
                        && px_x < (frame.x + frame.w) as i64
                        && px_y < (frame.y + frame.h) as i64;
                    if !inside || px_x >= iw as i64 || px_y >= ih as i64 || cov <= 0.0 {
                        return;
                    }
                    let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                    let a = cov.min(1.0);
                    for i in 0..3 {
                        p.0[i] = (color.0[i] as f32 * a + p.0[i] as f32 * (1.0 - a)).round() as u8;
                    }
                });
            }
        }
        baseline += line_h;
    }
    px
}

/// Draws a plan.
pub fn compose(width: u32, height: u32, plan: &Plan, inp: &Inputs) -> Composite {
    let mut full = RgbaImage::from_pixel(width, height, background(inp.background_brightness));
    let mut art = full.clone();
    let mut placed = Vec::new();
    if let (Some(frame), Some(pic)) = (plan.photo, inp.photo.or(inp.product)) {
        placed.push(place(&mut full, &mut art, pic, frame));
        if inp.background_brightness < 1.0 {
            let a = ((1.0 - inp.background_brightness.max(0.2)) * 255.0) as u8;
            fill(&mut full, frame, Rgba([0, 0, 0, a]));
            fill(&mut art, frame, Rgba([0, 0, 0, a]));
        }
    }
    if let Some(band) = plan.band {
        fill(&mut full, band, Rgba([0, 0, 0, 150]));
        fill(&mut art, band, Rgba([0, 0, 0, 150]));
    }
    if let (Some(frame), Some(pic)) = (plan.product, inp.product.or(inp.photo)) {
        // In split and hero layouts without a separate product, the photo went to `photo` already.
        if inp.product.is_some() {
            placed.push(place(&mut full, &mut art, pic, frame));
        }
    }
    let mut texts = Vec::new();
    if let Some(cta_frame) = plan.cta {
        if let Some(cta) = inp.cta {
            fill(&mut full, cta_frame, ACCENT);
            fill(&mut art, cta_frame, ACCENT);
            let inner = Frame {
                x: cta_frame.x + cta_frame.w / 12,
                y: cta_frame.y + cta_frame.h / 8,
                w: cta_frame.w - cta_frame.w / 6,
                h: cta_frame.h - cta_frame.h / 4,
            };
            let px = draw_text(&mut full, cta, inner, 28.0, WHITE);
            texts.push(TextBox {
                class: "cta",
                text: cta.to_owned(),
                frame: inner,
                px,
            });
        }
    }
    let px = draw_text(&mut full, inp.headline, plan.headline, 48.0, WHITE);
    texts.push(TextBox {
        class: "headline",
        text: inp.headline.to_owned(),
        frame: plan.headline,
        px,
    });
    if let (Some(frame), Some(body)) = (plan.body, inp.body) {
        let px = draw_text(&mut full, body, frame, 18.0, Rgba([225, 228, 235, 255]));
        texts.push(TextBox {
            class: "body",
            text: body.to_owned(),
            frame,
            px,
        });
    }
    // The logo last: nothing is ever drawn over it.
    if let (Some(frame), Some(pic)) = (plan.logo, inp.logo) {
        placed.push(place(&mut full, &mut art, pic, frame));
    }
    Composite {
        full,
        art,
        placed,
        texts,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML5 variant: the art as a picture, the texts as live text over it (selectable, crisp at
/// any pixel ratio), a clickTag the ad server fills in.
pub fn html5(width: u32, height: u32, art_name: &str, texts: &[TextBox]) -> String {
    let mut spans = String::new();
    for t in texts.iter().filter(|t| t.px > 0.0) {
        spans.push_str(&format!(
            "<div class=\"{}\" style=\"left:{}px;top:{}px;width:{}px;height:{}px;font-size:{}px\">{}</div>\n",
            t.class, t.frame.x, t.frame.y, t.frame.w, t.frame.h, t.px, escape(&t.text)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<meta name=\"ad.size\" content=\"width={width},height={height}\">\n\
<script>var clickTag = \"\";</script>\n<style>\n\
body{{margin:0}}#ad{{position:relative;width:{width}px;height:{height}px;overflow:hidden;cursor:pointer;display:block}}\n\
#ad img{{position:absolute;left:0;top:0;width:{width}px;height:{height}px}}\n\
#ad div{{position:absolute;display:flex;align-items:center;color:#fff;font-family:'Liberation Sans',Arial,Helvetica,sans-serif;font-weight:bold;line-height:1.15;overflow:hidden}}\n\
#ad .cta{{justify-content:center}}#ad .body{{color:#e1e4eb;font-weight:normal}}\n\
</style></head>\n<body><a id=\"ad\" href=\"#\" onclick=\"window.open(clickTag);return false;\">\n\
<img src=\"{art_name}\" alt=\"\">\n{spans}</a></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_parses_and_text_fits_its_frame() {
        let _ = font();
        let frame = Frame {
            x: 0,
            y: 0,
            w: 200,
            h: 60,
        };
        let (px, lines) = fit_text("Fresh coffee every morning", frame, 48.0).unwrap();
        assert!(px >= 10.0 && lines.len() <= 3);
        assert!(fit_text("W", Frame { w: 1, ..frame }, 48.0).is_none());
    }

    #[test]
    fn contain_scales_uniformly_and_centres() {
        let src = RgbaImage::from_pixel(200, 100, Rgba([1, 2, 3, 255]));
        let (img, drawn) = contain(
            &src,
            Frame {
                x: 10,
                y: 10,
                w: 100,
                h: 100,
            },
        );
        assert_eq!(img.dimensions(), (100, 50));
        assert_eq!((drawn.x, drawn.y), (10, 35));
    }

    #[test]
    fn cover_windows_keep_the_subject_and_stay_in_the_crop() {
        let frame = Frame {
            x: 0,
            y: 0,
            w: 100,
            h: 100,
        };
        // Subject at the far right: the square window slides right.
        let w = cover_window(
            (400, 200),
            frame,
            None,
            Some(Rect {
                x: 350,
                y: 50,
                width: 40,
                height: 40,
            }),
        );
        assert_eq!((w.x, w.width, w.height), (200, 200, 200));
        // A render crop bounds the window.
        let crop = Rect {
            x: 10,
            y: 20,
            width: 100,
            height: 50,
        };
        let w = cover_window((400, 200), frame, Some(crop), None);
        assert!(w.x >= 10 && w.x + w.width <= 110 && w.y >= 20 && w.y + w.height <= 70);
    }

    #[test]
    fn composing_is_deterministic() {
        let plan = super::super::layout::plan(
            300,
            250,
            &super::super::model::Params::new(super::super::model::Layout::TextOnly),
            &super::super::layout::Elements::default(),
        );
        let inp = Inputs {
            photo: None,
            product: None,
            logo: None,
            headline: "Hello",
            body: None,
            cta: None,
            background_brightness: 1.0,
        };
        let a = compose(300, 250, &plan, &inp);
        let b = compose(300, 250, &plan, &inp);
        assert_eq!(a.full.as_raw(), b.full.as_raw());
    }
}
