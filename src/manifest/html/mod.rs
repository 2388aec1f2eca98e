//! HTML creative rewriting (pure: bytes in, bytes out). References to uploaded files become their CDN
//! URLs, clickTag variables get the click tracker, and `<meta name="ad.size">` gives the ad's size.
//!
//! lol_html finds the elements, attributes and script/style texts; the rewrite then splices each
//! replacement into the original bytes at the source position lol_html reports. Nothing is
//! reserialised, so everything but the rewritten values stays byte for byte as uploaded: whitespace
//! between attributes, quotes, letter case, comments.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::OnceLock;

pub mod byte_scan;
pub mod click_tag;
pub mod css;
pub mod refs;
pub mod report;
pub mod resolver;
pub mod rewriter;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, HtmlRewriter, Selector, Settings};

use click_tag::scan_click_tags;
use css::scan_css;
use refs::decode_html_entities;
use rewriter::{Context, HtmlQuote, RefRewriter};

pub use click_tag::rewrite_click_tags;
pub use refs::{resolve_reference, Reference};
pub use report::{HtmlReport, RewrittenRef};
pub use resolver::{Resolver, UrlMap};

pub struct RewriteOptions<'a> {
    /// Path of the HTML file within its bundle ("index.html", "sub/page.html"); references resolve
    /// from its folder.
    pub document_path: &'a str,
    /// When set, every clickTag-style variable's value is replaced by this URL (a JS string literal,
    /// properly escaped).
    pub click_tracker_url: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("HTML could not be rewritten: {0}")]
    Rewrite(String),
}

/// How an attribute holds references.
#[derive(Debug, Clone, Copy)]
enum AttrKind {
    Url,
    Srcset,
    /// A `style` attribute.
    Css,
    /// The `src` of an `<input>`: only `type=image` loads it.
    InputSrc,
    /// An `href` that loads a file only in SVG (`<script href>`).
    SvgUrl,
}

/// The elements whose attributes load files, by selector. `<a href>` and `<area href>` are
/// clickthroughs, never files, and are not listed.
const ELEMENT_REFS: &[(&str, &[(&str, AttrKind)])] = &[
    (
        "img",
        &[("src", AttrKind::Url), ("srcset", AttrKind::Srcset)],
    ),
    (
        "source",
        &[("src", AttrKind::Url), ("srcset", AttrKind::Srcset)],
    ),
    (
        "video",
        &[("src", AttrKind::Url), ("poster", AttrKind::Url)],
    ),
    (
        "script",
        &[
            ("src", AttrKind::Url),
            ("href", AttrKind::SvgUrl),
            ("xlink:href", AttrKind::SvgUrl),
        ],
    ),
    ("iframe, audio, embed, track", &[("src", AttrKind::Url)]),
    ("input[src]", &[("src", AttrKind::InputSrc)]),
    ("object[data]", &[("data", AttrKind::Url)]),
    (
        "link",
        &[("href", AttrKind::Url), ("imagesrcset", AttrKind::Srcset)],
    ),
    (
        "image, use, feimage",
        &[("href", AttrKind::Url), ("xlink:href", AttrKind::Url)],
    ),
    ("[background]", &[("background", AttrKind::Url)]),
    ("[style]", &[("style", AttrKind::Css)]),
];

const META_SELECTOR: &str = "meta[name]";
/// A script with `src` runs the file, not its text.
const SCRIPT_TEXT_SELECTOR: &str = "script:not([src])";
const STYLE_TEXT_SELECTOR: &str = "style";

const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// The selectors [`rewrite_html`] registers element handlers on, then text handlers on, in that order.
/// Benchmarks register the same ones with empty handlers to measure lol_html's own cost.
pub fn handler_selectors() -> (Vec<&'static str>, Vec<&'static str>) {
    let mut elements: Vec<&str> = ELEMENT_REFS.iter().map(|(s, _)| *s).collect();
    elements.push(META_SELECTOR);
    (elements, vec![SCRIPT_TEXT_SELECTOR, STYLE_TEXT_SELECTOR])
}

/// Parsed once: parsing and checking selectors costs as much as rewriting a small page.
fn parsed_selectors() -> Result<&'static [Selector], HtmlError> {
    static PARSED: OnceLock<Result<Vec<Selector>, String>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        let (elements, texts) = handler_selectors();
        elements
            .into_iter()
            .chain(texts)
            .map(|s| {
                s.parse::<Selector>()
                    .map_err(|e| format!("selector {s}: {e}"))
            })
            .collect()
    });
    parsed.as_deref().map_err(|e| HtmlError::Rewrite(e.clone()))
}

/// Rewrites the references of an HTML document to uploaded files into their CDN URLs, and its clickTag
/// variables into `opts.click_tracker_url`. Every byte outside the rewritten values is kept as it was.
/// The input is read as UTF-8; other bytes pass through untouched.
pub fn rewrite_html(
    html: &[u8],
    opts: &RewriteOptions,
    resolver: &dyn Resolver,
) -> Result<(Vec<u8>, HtmlReport), HtmlError> {
    let state = RefCell::new(State {
        input: html,
        work: Vec::with_capacity(64),
        script_text: None,
        style_text: None,
        ad_size: None,
    });
    run_lol_html(html, &state, Pass::Rewrite)?;
    let State { work, ad_size, .. } = state.into_inner();
    let mut report = HtmlReport::default();
    report.ad_size = ad_size;
    let expected = work.iter().map(Work::expected_refs).sum();
    let mut refs = RefRewriter::new(opts.document_path, resolver, &mut report, expected);
    for item in work {
        item.run(&mut refs, html, opts.click_tracker_url);
    }
    let edits = refs.edits;
    let out = if edits.is_empty() {
        html.to_vec()
    } else {
        edits.apply(html)
    };
    Ok((out, report))
}

/// The ad's size from `<meta name="ad.size">`, read alone: the size decides which formats a page
/// fits, and that is known before the page is rewritten (the rewrite needs the click tracker, whose
/// macros depend on those formats). [`rewrite_html`] reports the same size.
pub fn ad_size(html: &[u8]) -> Result<Option<(u32, u32)>, HtmlError> {
    let state = RefCell::new(State {
        input: html,
        work: Vec::new(),
        script_text: None,
        style_text: None,
        ad_size: None,
    });
    run_lol_html(html, &state, Pass::SizeOnly)?;
    Ok(state.into_inner().ad_size)
}

/// What a lol_html pass looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// References, clickTags and the size.
    Rewrite,
    /// Only `<meta name="ad.size">`.
    SizeOnly,
}

/// One lol_html pass that finds the work in `html`. lol_html's own output is not needed: the edits are
/// spliced into the input afterwards.
fn run_lol_html<'i>(
    html: &'i [u8],
    state: &RefCell<State<'i>>,
    pass: Pass,
) -> Result<(), HtmlError> {
    let selectors = parsed_selectors()?;
    let (element_selectors, text_selectors) = selectors.split_at(ELEMENT_REFS.len() + 1);
    let mut handlers = Vec::with_capacity(selectors.len());
    let rewrite = pass == Pass::Rewrite;
    for (selector, (_, attrs)) in element_selectors
        .iter()
        .zip(ELEMENT_REFS)
        .filter(|_| rewrite)
    {
        let handler = ElementContentHandlers::default().element(move |el: &mut Element| {
            state.borrow_mut().element(el, attrs);
            Ok(())
        });
        handlers.push((Cow::Borrowed(selector), handler));
    }
    if let Some(meta) = element_selectors.last() {
        let handler = ElementContentHandlers::default().element(|el: &mut Element| {
            state.borrow_mut().meta(el);
            Ok(())
        });
        handlers.push((Cow::Borrowed(meta), handler));
    }
    if let ([script, style], true) = (text_selectors, rewrite) {
        let on_script = ElementContentHandlers::default().text(|chunk: &mut TextChunk| {
            state.borrow_mut().script_chunk(chunk);
            Ok(())
        });
        let on_style = ElementContentHandlers::default().text(|chunk: &mut TextChunk| {
            state.borrow_mut().style_chunk(chunk);
            Ok(())
        });
        handlers.push((Cow::Borrowed(script), on_script));
        handlers.push((Cow::Borrowed(style), on_style));
    }
    let settings = Settings {
        element_content_handlers: handlers,
        // Never refuse a document over parsing ambiguities: a creative is rewritten as uploaded.
        strict: false,
        ..Settings::new()
    };
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter
        .write(html)
        .and_then(|()| rewriter.end())
        .map_err(|e| HtmlError::Rewrite(e.to_string()))
}

/// What the handlers collect during the lol_html pass. References are only located there and
/// resolved after it, in document order, in one loop whose tables are sized from what was found.
struct State<'i> {
    input: &'i [u8],
    work: Vec<Work>,
    /// The source span of the script/style text seen so far (lol_html delivers it in chunks).
    script_text: Option<Range<usize>>,
    style_text: Option<Range<usize>>,
    ad_size: Option<(u32, u32)>,
}

/// Something to rewrite, found by a handler: a span of the input and how it holds references.
enum Work {
    /// An attribute value holding a URL, a srcset, or CSS (`style`).
    Attribute {
        value: Range<usize>,
        holds: Holds,
        quote: HtmlQuote,
    },
    /// The text of an inline `<script>`, where clickTag variables get the tracker.
    Script(Range<usize>),
    /// The text of a `<style>` element.
    Style(Range<usize>),
}

#[derive(Debug, Clone, Copy)]
enum Holds {
    Url,
    Srcset,
    Css,
}

impl Work {
    /// About how many references this holds.
    fn expected_refs(&self) -> usize {
        match self {
            Work::Attribute {
                holds: Holds::Url, ..
            } => 1,
            Work::Attribute { value, .. } => 1 + css::expected_refs(value.len()),
            Work::Script(_) => 0,
            Work::Style(span) => css::expected_refs(span.len()),
        }
    }

    fn run<'i>(self, refs: &mut RefRewriter<'_, 'i>, input: &'i [u8], tracker: Option<&str>) {
        match self {
            Work::Attribute {
                value,
                holds,
                quote,
            } => {
                let needs_quotes = match holds {
                    Holds::Url => refs.reference(input, value.clone(), Context::attribute(quote)),
                    Holds::Srcset => refs.srcset(input, value.clone(), quote),
                    Holds::Css => scan_css(refs, input, value.clone(), quote),
                };
                if needs_quotes && quote == HtmlQuote::Unquoted {
                    refs.quote_value(input, value);
                }
            }
            Work::Script(span) => {
                let found = scan_click_tags(input, span, tracker, &mut refs.edits);
                let report = &mut *refs.report;
                report.has_click_tag |= !found.names.is_empty();
                for name in found.inserted {
                    if !report.inserted_macros.contains(&name) {
                        report.inserted_macros.push(name);
                    }
                }
            }
            // `<style>` text is raw: no character references, and replacements are escaped so they
            // cannot close the element.
            Work::Style(span) => {
                scan_css(refs, input, span, HtmlQuote::NotHtml);
            }
        }
    }
}

impl State<'_> {
    /// Finds the attributes of `el` listed in `attrs`. Attributes are matched by their source bytes,
    /// which spares a string per attribute.
    fn element(&mut self, el: &Element, attrs: &[(&str, AttrKind)]) {
        let input = self.input;
        for attr in el.attributes() {
            let (Some(name), Some(value)) =
                (attr.name_source_location(), attr.value_source_location())
            else {
                continue;
            };
            let Some(name) = input.get(name.bytes()) else {
                continue;
            };
            let Some(&(_, kind)) = attrs
                .iter()
                .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            else {
                continue;
            };
            let value = value.bytes();
            if value.is_empty() {
                continue;
            }
            let holds = match kind {
                AttrKind::Url => Holds::Url,
                AttrKind::SvgUrl if el.namespace_uri() == SVG_NAMESPACE => Holds::Url,
                AttrKind::InputSrc if is_image_input(el) => Holds::Url,
                AttrKind::SvgUrl | AttrKind::InputSrc => continue,
                AttrKind::Srcset => Holds::Srcset,
                AttrKind::Css => Holds::Css,
            };
            self.work.push(Work::Attribute {
                quote: quote_before(input, value.start),
                value,
                holds,
            });
        }
    }

    fn meta(&mut self, el: &Element) {
        if self.ad_size.is_some() {
            return;
        }
        // By source bytes, as `element` reads attributes: no string per attribute.
        let input = self.input;
        let (mut name, mut content) = (None, None);
        for attr in el.attributes() {
            let (Some(n), Some(v)) = (attr.name_source_location(), attr.value_source_location())
            else {
                continue;
            };
            let (Some(n), Some(v)) = (input.get(n.bytes()), input.get(v.bytes())) else {
                continue;
            };
            if n.eq_ignore_ascii_case(b"name") {
                name = name.or(Some(v));
            } else if n.eq_ignore_ascii_case(b"content") {
                content = content.or(Some(v));
            }
        }
        let is_ad_size = name.is_some_and(|n| n.trim_ascii().eq_ignore_ascii_case(b"ad.size"));
        if let Some(content) = content.filter(|_| is_ad_size) {
            let content = String::from_utf8_lossy(content);
            self.ad_size = parse_ad_size(&decode_html_entities(&content));
        }
    }

    fn script_chunk(&mut self, chunk: &TextChunk) {
        if let Some(span) = extend_span(&mut self.script_text, chunk) {
            self.work.push(Work::Script(span));
        }
    }

    fn style_chunk(&mut self, chunk: &TextChunk) {
        if let Some(span) = extend_span(&mut self.style_text, chunk) {
            self.work.push(Work::Style(span));
        }
    }
}

/// Adds `chunk` to the text span being collected; returns the whole span once the text node ends.
fn extend_span(collecting: &mut Option<Range<usize>>, chunk: &TextChunk) -> Option<Range<usize>> {
    let at = chunk.source_location().bytes();
    let span = collecting.get_or_insert(at.start..at.start);
    span.end = span.end.max(at.end);
    if chunk.last_in_text_node() {
        collecting.take()
    } else {
        None
    }
}

/// An `<input type=image>`, the only input that loads its `src`.
fn is_image_input(el: &Element) -> bool {
    el.get_attribute("type")
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("image"))
}

/// The quoting of the attribute value starting at `value_start`, told by the byte before it.
fn quote_before(input: &[u8], value_start: usize) -> HtmlQuote {
    match value_start.checked_sub(1).and_then(|i| input.get(i)) {
        Some(b'"') => HtmlQuote::Double,
        Some(b'\'') => HtmlQuote::Single,
        _ => HtmlQuote::Unquoted,
    }
}

/// `width=300,height=250` (any order, spaces, `,` or `;` between); None unless both are positive
/// integers.
fn parse_ad_size(content: &str) -> Option<(u32, u32)> {
    let (mut width, mut height) = (None, None);
    for part in content
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (key, value) = part.split_once('=')?;
        let value = value.trim();
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u32 = value.parse().ok()?;
        match key.trim() {
            k if k.eq_ignore_ascii_case("width") => width = Some(value),
            k if k.eq_ignore_ascii_case("height") => height = Some(value),
            _ => {}
        }
    }
    match (width?, height?) {
        (0, _) | (_, 0) => None,
        size => Some(size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDN: &str = "https://cdn.example/";
    const UPLOADED: &[&str] = &[
        "index.html",
        "img/a.png",
        "img/a@2x.png",
        "img/b.jpg",
        "img/poster.jpg",
        "img/sprite.svg",
        "img/bg.jpg",
        "img/my logo.png",
        "js/app.js",
        "css/site.css",
        "media/v.mp4",
        "media/a.mp3",
        "media/subs.vtt",
        "frame.html",
        "anim.swf",
        "fav.ico",
        "fonts/f.woff2",
        "sub/local.png",
    ];

    fn resolve(path: &str) -> Option<String> {
        UPLOADED
            .contains(&path)
            .then(|| format!("{CDN}{}", path.replace(' ', "%20")))
    }

    fn rewrite_at(html: &str, document_path: &str, tracker: Option<&str>) -> (String, HtmlReport) {
        let opts = RewriteOptions {
            document_path,
            click_tracker_url: tracker,
        };
        let (out, report) = rewrite_html(html.as_bytes(), &opts, &resolve).expect("rewrites");
        (String::from_utf8(out).expect("UTF-8 out"), report)
    }

    fn rewrite(html: &str) -> String {
        rewrite_at(html, "index.html", None).0
    }

    /// `html` with each local reference replaced by its CDN URL, as plain text replacement.
    fn replaced(html: &str, refs: &[(&str, &str)]) -> String {
        refs.iter()
            .fold(html.to_owned(), |out, (from, to)| out.replace(from, to))
    }

    #[test]
    fn src_is_rewritten_on_every_loading_element() {
        let html = r#"<img src="img/a.png"><script src="js/app.js"></script><iframe src="frame.html"></iframe>
<video src="media/v.mp4"></video><audio src="media/a.mp3"></audio><video><source src="media/v.mp4"><track src="media/subs.vtt"></video>
<embed src="anim.swf"><input type="image" src="img/b.jpg">"#;
        let expected = replaced(
            html,
            &[
                ("\"img/a.png", "\"https://cdn.example/img/a.png"),
                ("\"js/app.js", "\"https://cdn.example/js/app.js"),
                ("\"frame.html", "\"https://cdn.example/frame.html"),
                ("\"media/v.mp4", "\"https://cdn.example/media/v.mp4"),
                ("\"media/a.mp3", "\"https://cdn.example/media/a.mp3"),
                ("\"media/subs.vtt", "\"https://cdn.example/media/subs.vtt"),
                ("\"anim.swf", "\"https://cdn.example/anim.swf"),
                ("\"img/b.jpg", "\"https://cdn.example/img/b.jpg"),
            ],
        );
        assert_eq!(rewrite(html), expected);
    }

    #[test]
    fn inputs_other_than_image_keep_their_src() {
        let html = r#"<input type="text" src="img/a.png"><input src="img/a.png"><INPUT TYPE=IMAGE SRC=img/a.png>"#;
        assert_eq!(
            rewrite(html),
            r#"<input type="text" src="img/a.png"><input src="img/a.png"><INPUT TYPE=IMAGE SRC=https://cdn.example/img/a.png>"#
        );
    }

    #[test]
    fn poster_and_object_data_are_rewritten() {
        let html = r#"<video poster="img/poster.jpg" src="https://x.example/v.mp4"></video><object data="anim.swf"></object>"#;
        assert_eq!(
            rewrite(html),
            r#"<video poster="https://cdn.example/img/poster.jpg" src="https://x.example/v.mp4"></video><object data="https://cdn.example/anim.swf"></object>"#
        );
    }

    #[test]
    fn srcset_candidates_keep_descriptors_and_spacing() {
        let html = "<picture><source srcset=\"img/a.png 1x,\n   img/a@2x.png   2x\" media=\"(min-width: 1px)\">\
                    <img src=img/a.png srcset='img/a.png 300w, https://x.example/c.png 600w,img/missing.png 900w' sizes=\"50vw\"></picture>";
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(
            out,
            "<picture><source srcset=\"https://cdn.example/img/a.png 1x,\n   https://cdn.example/img/a@2x.png   2x\" media=\"(min-width: 1px)\">\
             <img src=https://cdn.example/img/a.png srcset='https://cdn.example/img/a.png 300w, https://x.example/c.png 600w,img/missing.png 900w' sizes=\"50vw\"></picture>"
        );
        assert_eq!(report.unresolved_refs(), ["img/missing.png"]);
    }

    #[test]
    fn link_href_is_rewritten_for_any_rel() {
        let html = r#"<link rel="stylesheet" href="css/site.css"><link rel=icon href=fav.ico><link rel="preload" as="font" href="fonts/f.woff2" crossorigin><link rel="prefetch" href="img/b.jpg"><link rel="preload" as="image" imagesrcset="img/a.png 1x, img/a@2x.png 2x">"#;
        let expected = html
            .replace("\"css/", "\"https://cdn.example/css/")
            .replace("=fav.ico", "=https://cdn.example/fav.ico")
            .replace("\"fonts/", "\"https://cdn.example/fonts/")
            .replace("\"img/b", "\"https://cdn.example/img/b")
            .replace("\"img/a.png", "\"https://cdn.example/img/a.png")
            .replace(" img/a@2x", " https://cdn.example/img/a@2x");
        assert_eq!(rewrite(html), expected);
    }

    #[test]
    fn clickthroughs_are_never_rewritten() {
        let html = r#"<a href="img/a.png">x</a><map><area href="img/a.png"></map><svg><a xlink:href="img/a.png"><text>t</text></a></svg>"#;
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(out, html);
        assert!(report.rewritten_refs().is_empty());
    }

    #[test]
    fn inline_svg_references_are_rewritten_keeping_fragments() {
        let html = r##"<svg xmlns:xlink="http://www.w3.org/1999/xlink"><image href="img/a.png"/><image xlink:href="img/b.jpg" width="10"/>
<use href="img/sprite.svg#logo"/><use xlink:href="#local"/><filter><feImage href="img/bg.jpg"/></filter><script href="js/app.js"/></svg>"##;
        let expected = html
            .replace("\"img/", "\"https://cdn.example/img/")
            .replace("\"js/", "\"https://cdn.example/js/");
        assert_eq!(rewrite(html), expected);
    }

    #[test]
    fn background_attributes_are_rewritten() {
        let html = r#"<body background="img/bg.jpg"><table><tr><td BACKGROUND='img/b.jpg'>x</td></tr></table></body>"#;
        assert_eq!(
            rewrite(html),
            r#"<body background="https://cdn.example/img/bg.jpg"><table><tr><td BACKGROUND='https://cdn.example/img/b.jpg'>x</td></tr></table></body>"#
        );
    }

    #[test]
    fn css_in_style_attributes_and_blocks_is_rewritten() {
        let html = "<style>\n@import \"css/site.css\";\n/* url(img/a.png) */\n.a{background:url('img/bg.jpg')}\n</style>\
                    <div style=\"background:url(img/a.png) no-repeat; color:red\"></div>\
                    <div style='background-image:url(&quot;img/b.jpg&quot;)'></div>";
        let expected = "<style>\n@import \"https://cdn.example/css/site.css\";\n/* url(img/a.png) */\n.a{background:url('https://cdn.example/img/bg.jpg')}\n</style>\
                        <div style=\"background:url(https://cdn.example/img/a.png) no-repeat; color:red\"></div>\
                        <div style='background-image:url(&quot;https://cdn.example/img/b.jpg&quot;)'></div>";
        assert_eq!(rewrite(html), expected);
    }

    #[test]
    fn references_resolve_from_the_document_folder() {
        let html = r#"<img src="../img/a.png"><img src="./local.png"><img src="/img/b.jpg"><img src="../../x.png">"#;
        let (out, report) = rewrite_at(html, "sub/page.html", None);
        assert_eq!(
            out,
            r#"<img src="https://cdn.example/img/a.png"><img src="https://cdn.example/sub/local.png"><img src="https://cdn.example/img/b.jpg"><img src="../../x.png">"#
        );
        assert_eq!(report.unresolved_refs(), ["../../x.png"]);
    }

    #[test]
    fn percent_escapes_queries_fragments_and_entities_are_honoured() {
        let html = r#"<img src="img/my%20logo.png?v=2&amp;w=3#f"><img src="./img/a.png?x=1&y=2">"#;
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(
            out,
            r#"<img src="https://cdn.example/img/my%20logo.png?v=2&amp;w=3#f"><img src="https://cdn.example/img/a.png?x=1&y=2">"#
        );
        assert_eq!(
            report.rewritten_refs(),
            [
                RewrittenRef {
                    original: "img/my%20logo.png?v=2&w=3#f",
                    cdn_url: "https://cdn.example/img/my%20logo.png?v=2&w=3#f"
                },
                RewrittenRef {
                    original: "./img/a.png?x=1&y=2",
                    cdn_url: "https://cdn.example/img/a.png?x=1&y=2"
                },
            ]
        );
    }

    #[test]
    fn non_local_references_are_left_alone() {
        let html = r##"<img src="https://x.example/a.png"><img src="//x.example/a.png"><img src="data:image/gif;base64,R0lGOD">
<iframe src="about:blank"></iframe><script src="blob:https://x/1"></script><img src="#top"><img src=""><img src>
<iframe src="javascript:void(0)"></iframe><link href="mailto:a@b.c">"##;
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(out, html);
        assert_eq!(report, HtmlReport::default());
    }

    #[test]
    fn unresolved_references_stay_and_are_reported_once() {
        let html = r#"<img src="img/missing.png"><img src="img/missing.png"><div style="background:url(img/missing.png)"></div><img src="img/a.png"><img src="img/a.png">"#;
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(
            out,
            html.replace("\"img/a.png", "\"https://cdn.example/img/a.png")
        );
        assert_eq!(report.unresolved_refs(), ["img/missing.png"]);
        assert_eq!(report.rewritten_refs().len(), 1);
    }

    /// A page written the way hand-made ads are: odd spacing and quoting, upper case, comments.
    const MESSY: &str = "<!DOCTYPE html>\n<!-- banner <img src=\"img/a.png\"> -->\n<HTML lang=en>\n<Head>\n\
        <meta charset=utf-8 >\n<LINK REL=stylesheet\n\tHREF = 'css/site.css' >\n</Head>\n<body   class = \"x\"  >\n\
        <IMG   ALT='logo'\n  SRC=img/a.png   data-x=\"1\"/>\n<img src=\"img/b.jpg\"\nsrcset=\"img/b.jpg 1x , img/a@2x.png 2x\" >\n\
        <p>text &amp; more</p><script>  var x = 1; </script>\n</body></HTML>\n";

    #[test]
    fn nothing_resolved_means_the_same_bytes() {
        let opts = RewriteOptions {
            document_path: "index.html",
            click_tracker_url: None,
        };
        let nothing = |_: &str| None::<String>;
        let (out, report) = rewrite_html(MESSY.as_bytes(), &opts, &nothing).expect("rewrites");
        assert_eq!(out, MESSY.as_bytes());
        assert_eq!(
            report.unresolved_refs(),
            ["css/site.css", "img/a.png", "img/b.jpg", "img/a@2x.png"]
        );
    }

    #[test]
    fn resolved_references_are_the_only_change() {
        let expected = replaced(
            MESSY,
            &[
                ("'css/site.css'", "'https://cdn.example/css/site.css'"),
                ("SRC=img/a.png", "SRC=https://cdn.example/img/a.png"),
                ("\"img/b.jpg\"", "\"https://cdn.example/img/b.jpg\""),
                ("\"img/b.jpg 1x", "\"https://cdn.example/img/b.jpg 1x"),
                (" img/a@2x.png", " https://cdn.example/img/a@2x.png"),
            ],
        );
        assert_eq!(rewrite(MESSY), expected);
    }

    #[test]
    fn many_distinct_references_are_each_resolved_and_reported_once() {
        // Far more references than the first-level table has slots, so collisions spill.
        let html: String = (0..3000)
            .map(|i| {
                format!("<img src=\"f{i}.png\"><div style=\"background:url(f{i}.png)\"></div>")
            })
            .collect();
        let opts = RewriteOptions {
            document_path: "index.html",
            click_tracker_url: None,
        };
        let any = |p: &str| Some(format!("https://cdn.example/{p}"));
        let (out, report) = rewrite_html(html.as_bytes(), &opts, &any).expect("rewrites");
        let expected = html
            .replace("\"f", "\"https://cdn.example/f")
            .replace("(f", "(https://cdn.example/f");
        assert_eq!(String::from_utf8_lossy(&out), expected);
        assert_eq!(report.rewritten_refs().len(), 3000);
    }

    #[test]
    fn a_reference_written_with_entities_is_reported_once() {
        let html = r#"<img src="img/a.png?x=1&amp;y=2"><img src="img/a.png?x=1&y=2"><img src="img/a.png?x=1&#38;y=2">"#;
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(report.rewritten_refs().len(), 1);
        assert_eq!(
            out,
            html.replace("\"img/a.png", "\"https://cdn.example/img/a.png")
                .replace("&#38;", "&amp;")
        );
    }

    #[test]
    fn unquoted_values_get_quotes_only_when_the_url_needs_them() {
        let opts = RewriteOptions {
            document_path: "index.html",
            click_tracker_url: None,
        };
        let signed = |p: &str| Some(format!("https://cdn.example/{p}?sig=a&b=c"));
        let html = "<img src=img/a.png alt=x>";
        let (out, _) = rewrite_html(html.as_bytes(), &opts, &signed).expect("rewrites");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "<img src=\"https://cdn.example/img/a.png?sig=a&amp;b=c\" alt=x>"
        );
    }

    #[test]
    fn click_tags_in_inline_scripts_get_the_tracker() {
        let tracker = "https://t.example/c?r=\"x\"&u=https%3A%2F%2Fa.example";
        let html = "<script src=\"js/app.js\">var clickTag = 'not run';</script>\
                    <script>\nvar clickTag = \"https://a.example\";\nvar clickTAG = '';\n</script>\
                    <script>window.clickTag2 = `x`; clickTag = \"y\";</script>";
        let (out, report) = rewrite_at(html, "index.html", Some(tracker));
        let expected = "<script src=\"https://cdn.example/js/app.js\">var clickTag = 'not run';</script>\
                        <script>\nvar clickTag = \"https://t.example/c?r=\\\"x\\\"&u=https%3A%2F%2Fa.example\";\n\
                        var clickTAG = 'https://t.example/c?r=\"x\"&u=https%3A%2F%2Fa.example';\n</script>\
                        <script>window.clickTag2 = `https://t.example/c?r=\"x\"&u=https%3A%2F%2Fa.example`; \
                        clickTag = \"https://t.example/c?r=\\\"x\\\"&u=https%3A%2F%2Fa.example\";</script>";
        assert_eq!(out, expected);
        assert!(report.has_click_tag);
        assert_eq!(
            report.inserted_macros,
            ["clickTag", "clickTAG", "clickTag2"]
        );
    }

    #[test]
    fn click_tags_are_detected_without_a_tracker() {
        let html = "<script>var clickTag = \"https://a.example\";</script>";
        let (out, report) = rewrite_at(html, "index.html", None);
        assert_eq!(out, html);
        assert!(report.has_click_tag);
        assert!(report.inserted_macros.is_empty());
        let (_, report) = rewrite_at(
            "<script>var x = 1;</script><p>clickTag</p>",
            "index.html",
            None,
        );
        assert!(!report.has_click_tag);
    }

    #[test]
    fn long_scripts_are_read_whole() {
        let filler = "var a = 'x';\n".repeat(20_000);
        let html =
            format!("<script>{filler}var clickTag = \"https://a.example\";{filler}</script>");
        let (out, report) = rewrite_at(&html, "index.html", Some("https://t.example/"));
        assert_eq!(out, html.replace("https://a.example", "https://t.example/"));
        assert_eq!(report.inserted_macros, ["clickTag"]);
    }

    #[test]
    fn ad_size_is_read_from_its_meta() {
        let size = |content: &str| {
            let html = format!("<head><meta name=\"ad.size\" content=\"{content}\"></head>");
            rewrite_at(&html, "index.html", None).1.ad_size
        };
        assert_eq!(size("width=300,height=250"), Some((300, 250)));
        assert_eq!(size(" height = 90 ; width = 728 "), Some((728, 90)));
        assert_eq!(size("WIDTH=160,HEIGHT=600,"), Some((160, 600)));
        for invalid in [
            "width=300",
            "width=300px,height=250",
            "width=0,height=250",
            "300x250",
            "",
            "width=-1,height=2",
        ] {
            assert_eq!(size(invalid), None, "{invalid}");
        }
        let (_, report) = rewrite_at(
            "<meta name=\"viewport\" content=\"width=300,height=250\">",
            "index.html",
            None,
        );
        assert_eq!(report.ad_size, None);
        // Read alone, the same answer as the rewrite's.
        for html in [
            "<head><meta name=\"ad.size\" content=\"width=728,height=90\"></head><img src=a.png>",
            "<meta name=\"viewport\" content=\"width=300,height=250\">",
        ] {
            assert_eq!(
                ad_size(html.as_bytes()).unwrap(),
                rewrite_at(html, "index.html", None).1.ad_size
            );
        }
        assert_eq!(
            ad_size(b"<meta name=ad.size content='width=300,height=250'>").unwrap(),
            Some((300, 250))
        );
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let mut html = b"<p>caf\xe9 \xff\xfe</p><img src=\"img/a.png\" alt=\"\xe9\"><script>var s='\xe9';var clickTag='x';</script>".to_vec();
        let opts = RewriteOptions {
            document_path: "index.html",
            click_tracker_url: Some("https://t.example/"),
        };
        let (out, report) = rewrite_html(&html, &opts, &resolve).expect("rewrites");
        let expected = String::from_utf8_lossy(&html)
            .replace("img/a.png", "https://cdn.example/img/a.png")
            .replace("'x'", "'https://t.example/'");
        assert_eq!(String::from_utf8_lossy(&out), expected);
        assert_eq!(out.iter().filter(|&&b| b == 0xe9).count(), 3);
        assert!(report.has_click_tag);
        html.extend_from_slice(
            b"<img src=\"\xe9.png\"><img srcset=\"\xff 1x\"><div style=\"background:url(\xfe)\">",
        );
        assert!(rewrite_html(&html, &opts, &resolve).is_ok());
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet =
            b"<>/=\"' &;#:.?()[]{},*\\\n\tabcdeimgsrcstylurlscriptvar clickTag@import\xe9\xff";
        let opts = RewriteOptions {
            document_path: "sub/x.html",
            click_tracker_url: Some("https://t.example/"),
        };
        let anything = |p: &str| Some(format!("https://cdn.example/{p}"));
        for _ in 0..300 {
            let doc: Vec<u8> = (0..400)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let _ = rewrite_html(&doc, &opts, &anything);
        }
        for doc in [
            "<img src=\"",
            "<style>url(",
            "<script>var clickTag = '",
            "<svg><use href=",
            "<img srcset=\",,,\">",
            "<meta name=ad.size content>",
        ] {
            let _ = rewrite_html(doc.as_bytes(), &opts, &anything);
        }
    }

    #[test]
    fn the_selectors_parse() {
        assert!(parsed_selectors().is_ok());
        let (elements, texts) = handler_selectors();
        assert_eq!(
            elements.len() + texts.len(),
            parsed_selectors().map(<[_]>::len).unwrap_or(0)
        );
    }
}
