//! Where each element of a draft goes on a canvas: a pure function of the canvas size, the layout,
//! the direction's parameters and which elements exist. The compositor draws what this decides.

use super::model::{Layout, Params};

/// A box on the canvas, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Frame {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Frame {
    fn new(x: f32, y: f32, w: f32, h: f32) -> Frame {
        Frame {
            x: x.max(0.0).round() as u32,
            y: y.max(0.0).round() as u32,
            w: w.max(1.0).round() as u32,
            h: h.max(1.0).round() as u32,
        }
    }

    fn inset(self, pad: u32) -> Frame {
        let p = pad.min(self.w / 4).min(self.h / 4);
        Frame {
            x: self.x + p,
            y: self.y + p,
            w: (self.w - 2 * p).max(1),
            h: (self.h - 2 * p).max(1),
        }
    }

    pub fn area(&self) -> u64 {
        self.w as u64 * self.h as u64
    }

    pub fn overlaps(&self, o: &Frame) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// The shape family a size belongs to: layouts arrange differently for banners and skyscrapers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Leaderboards and mobile banners (728x90, 320x50): one row.
    Wide,
    /// Rectangles and skyscrapers: one column.
    Column,
}

pub fn shape(w: u32, h: u32) -> Shape {
    if w as f32 / h.max(1) as f32 >= 2.5 {
        Shape::Wide
    } else {
        Shape::Column
    }
}

/// What exists to be placed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Elements {
    /// A background-like photo (background, person, or the product when nothing else).
    pub photo: bool,
    pub product: bool,
    pub logo: bool,
    pub body: bool,
    pub cta: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The photo, scaled to cover this frame.
    pub photo: Option<Frame>,
    /// The product, fitted in this frame.
    pub product: Option<Frame>,
    /// A translucent band behind the texts (over a photo).
    pub band: Option<Frame>,
    pub logo: Option<Frame>,
    pub headline: Frame,
    pub body: Option<Frame>,
    pub cta: Option<Frame>,
}

/// Splits a text panel into logo, headline, body and CTA, stacked (columns) or in a row (banners).
fn fill_panel(plan: &mut Plan, panel: Frame, shape: Shape, p: &Params, e: &Elements, pad: u32) {
    let panel = panel.inset(pad);
    let (x, y, w, h) = (
        panel.x as f32,
        panel.y as f32,
        panel.w as f32,
        panel.h as f32,
    );
    match shape {
        Shape::Column => {
            let logo_h = if e.logo {
                (h * 0.24 * p.logo_scale).min(h * 0.55)
            } else {
                0.0
            };
            let logo_w = (w * 0.55 * p.logo_scale).min(w);
            let cta_h = if e.cta { (h * 0.18).max(10.0) } else { 0.0 };
            let body_h = if e.body && p.show_body { h * 0.18 } else { 0.0 };
            let gap = pad as f32 * 0.5;
            if e.logo {
                plan.logo = Some(Frame::new(x, y, logo_w, logo_h));
            }
            let mut cy = y + logo_h + if e.logo { gap } else { 0.0 };
            let head_h = (h - logo_h - cta_h - body_h - 3.0 * gap).max(h * 0.15);
            plan.headline = Frame::new(x, cy, w, head_h);
            cy += head_h + gap;
            if body_h > 0.0 {
                plan.body = Some(Frame::new(x, cy, w, body_h));
                cy += body_h + gap;
            }
            if e.cta {
                plan.cta = Some(Frame::new(
                    x,
                    cy.min(y + h - cta_h),
                    (w * 0.6).max(40.0).min(w),
                    cta_h,
                ));
            }
        }
        Shape::Wide => {
            let logo_w = if e.logo {
                (h * 1.4 * p.logo_scale).min(w * 0.5)
            } else {
                0.0
            };
            let logo_h = (h * 0.6 * p.logo_scale).min(h);
            let cta_w = if e.cta { (w * 0.22).max(30.0) } else { 0.0 };
            let gap = pad as f32;
            if e.logo {
                plan.logo = Some(Frame::new(x, y + (h - logo_h) / 2.0, logo_w, logo_h));
            }
            let hx = x + logo_w + if e.logo { gap } else { 0.0 };
            let head_w = (w - logo_w - cta_w - 2.0 * gap).max(w * 0.2);
            plan.headline = Frame::new(hx, y, head_w, h);
            if e.cta {
                let ch = (h * 0.6).max(10.0);
                plan.cta = Some(Frame::new(x + w - cta_w, y + (h - ch) / 2.0, cta_w, ch));
            }
        }
    }
}

/// The plan for one canvas.
pub fn plan(width: u32, height: u32, p: &Params, e: &Elements) -> Plan {
    let (w, h) = (width as f32, height as f32);
    let s = shape(width, height);
    let pad = (width.min(height) / 20).max(2);
    let mut plan = Plan {
        headline: Frame::new(0.0, 0.0, w, h),
        ..Plan::default()
    };
    let canvas = Frame::new(0.0, 0.0, w, h);
    // A layout whose picture is missing falls back to text only.
    let layout = match p.layout {
        Layout::FullBleed if !e.photo && !e.product => Layout::TextOnly,
        Layout::Split | Layout::ProductHero if !e.photo && !e.product => Layout::TextOnly,
        l => l,
    };
    let panel = match (layout, s) {
        (Layout::FullBleed, Shape::Column) => {
            plan.photo = Some(canvas);
            let band = Frame::new(0.0, h * 0.55, w, h * 0.45);
            plan.band = Some(band);
            band
        }
        (Layout::FullBleed, Shape::Wide) => {
            plan.photo = Some(canvas);
            let band = Frame::new(w * 0.4, 0.0, w * 0.6, h);
            plan.band = Some(band);
            band
        }
        (Layout::Split, Shape::Column) => {
            // Side by side in rectangles, stacked in skyscrapers.
            if w >= h {
                plan.product = Some(Frame::new(0.0, 0.0, w * 0.5, h).inset(pad));
                Frame::new(w * 0.5, 0.0, w * 0.5, h)
            } else {
                plan.product = Some(Frame::new(0.0, 0.0, w, h * 0.5).inset(pad));
                Frame::new(0.0, h * 0.5, w, h * 0.5)
            }
        }
        (Layout::Split, Shape::Wide) => {
            plan.product = Some(Frame::new(0.0, 0.0, w * 0.3, h).inset(pad));
            Frame::new(w * 0.3, 0.0, w * 0.7, h)
        }
        (Layout::ProductHero, Shape::Column) => {
            let ph = (h * 0.6 * p.product_scale).min(h * 0.8);
            let pw = (w * 0.9 * p.product_scale).min(w);
            plan.product = Some(Frame::new((w - pw) / 2.0, 0.0, pw, ph).inset(pad));
            Frame::new(0.0, ph, w, h - ph)
        }
        (Layout::ProductHero, Shape::Wide) => {
            let pw = (w * 0.3 * p.product_scale).min(w * 0.5);
            plan.product = Some(Frame::new(0.0, 0.0, pw, h).inset(pad / 2));
            Frame::new(pw, 0.0, w - pw, h)
        }
        (Layout::TextOnly, _) => canvas,
    };
    // "More prominent product" in a split: the product's side grows.
    if layout == Layout::Split && p.product_scale > 1.0 {
        if let Some(f) = plan.product {
            let grow = p.product_scale.min(1.4);
            plan.product = Some(Frame::new(
                f.x as f32,
                f.y as f32,
                (f.w as f32 * grow).min(w - f.x as f32),
                (f.h as f32 * grow).min(h - f.y as f32),
            ));
        }
    }
    // Without a separate product, the split and hero show the photo there.
    if !e.product {
        if let (Some(f), None) = (plan.product.take(), plan.photo) {
            plan.photo = Some(f);
        }
    }
    let panel = match (layout, plan.product) {
        (Layout::Split, Some(prod)) if s == Shape::Column && w >= h => Frame::new(
            prod.x as f32 + prod.w as f32,
            0.0,
            w - prod.x as f32 - prod.w as f32,
            h,
        ),
        (Layout::Split, Some(prod)) if s == Shape::Column => Frame::new(
            0.0,
            prod.y as f32 + prod.h as f32,
            w,
            h - prod.y as f32 - prod.h as f32,
        ),
        (Layout::Split, Some(prod)) => Frame::new(
            prod.x as f32 + prod.w as f32,
            0.0,
            w - prod.x as f32 - prod.w as f32,
            h,
        ),
        _ => panel,
    };
    fill_panel(&mut plan, panel, s, p, e, pad);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Elements {
        Elements {
            photo: true,
            product: true,
            logo: true,
            body: true,
            cta: true,
        }
    }

    #[test]
    fn a_bigger_logo_gets_a_bigger_box_in_every_layout_and_size() {
        for (w, h) in [(300, 250), (728, 90), (320, 50), (160, 600)] {
            for layout in Layout::ALL {
                let base = plan(w, h, &Params::new(layout), &all());
                let mut p = Params::new(layout);
                p.logo_scale = 1.35;
                let big = plan(w, h, &p, &all());
                let (a, b) = (base.logo.unwrap(), big.logo.unwrap());
                assert!(b.w > a.w && b.h > a.h, "{w}x{h} {layout:?}: {a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn logo_and_texts_never_overlap_and_stay_on_the_canvas() {
        for (w, h) in [
            (300, 250),
            (728, 90),
            (320, 50),
            (160, 600),
            (300, 600),
            (970, 250),
        ] {
            for layout in Layout::ALL {
                for scale in [1.0, 1.35, 1.8] {
                    let mut p = Params::new(layout);
                    p.logo_scale = scale;
                    let plan = plan(w, h, &p, &all());
                    let logo = plan.logo.unwrap();
                    let mut texts = vec![plan.headline];
                    texts.extend(plan.cta);
                    texts.extend(plan.body);
                    for t in texts {
                        assert!(!logo.overlaps(&t), "{w}x{h} {layout:?} {scale}");
                        assert!(
                            t.x + t.w <= w + 1 && t.y + t.h <= h + 1,
                            "{w}x{h} {layout:?}"
                        );
                    }
                    assert!(logo.x + logo.w <= w + 1 && logo.y + logo.h <= h + 1);
                }
            }
        }
    }

    #[test]
    fn without_pictures_every_layout_is_text_only() {
        let e = Elements {
            logo: true,
            ..Elements::default()
        };
        let p = plan(300, 250, &Params::new(Layout::FullBleed), &e);
        assert!(p.photo.is_none() && p.product.is_none());
    }

    #[test]
    fn a_more_prominent_product_is_larger() {
        for (w, h) in [(300, 250), (728, 90), (160, 600)] {
            for layout in [Layout::ProductHero, Layout::Split] {
                let a = plan(w, h, &Params::new(layout), &all()).product.unwrap();
                let mut p = Params::new(layout);
                p.product_scale = 1.3;
                let b = plan(w, h, &p, &all()).product.unwrap();
                assert!(b.area() > a.area(), "{w}x{h} {layout:?}");
            }
        }
    }

    #[test]
    fn banners_lay_out_in_a_row() {
        assert_eq!(shape(728, 90), Shape::Wide);
        assert_eq!(shape(300, 250), Shape::Column);
        let p = plan(728, 90, &Params::new(Layout::TextOnly), &all());
        let (logo, head) = (p.logo.unwrap(), p.headline);
        assert!(logo.x + logo.w <= head.x);
    }
}
