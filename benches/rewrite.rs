//! Throughput of the HTML rewrite against lol_html's own floor: `cargo bench --bench rewrite [-- NAME]`.
//!
//! Two sets of fixture pages (`tests/fixtures/html/`, made by its `generate.py`), each with the files that
//! were "uploaded" beside it (`uploaded.txt`):
//! - builder pages: ads as Google Web Designer, Adobe Animate, hand-coding and a rich-media takeover
//!   export them (45-420 KB, mostly inlined libraries, tens of references), and a bundle of an HTML page
//!   and its stylesheet;
//! - stress pages: generated pages with a reference every 200-600 bytes (60-480 KB), and a bundle of two
//!   such pages and two stylesheets.
//!
//! For each case it measures
//! (a) the rewrite: `html::rewrite_html` on pages, `css::rewrite_css` on stylesheets, resolving through
//!     the path -> URL map the service builds;
//! (b) the floor: one lol_html pass over the same bytes with the same selectors and handlers that do
//!     nothing, its output dropped as the rewrite drops it;
//! and (b) again with lol_html's output collected into a Vec sized for it, as any caller keeping the
//! output would: the fair floor of a rewrite, whose job is to produce the page.
//!
//! Prints MB/s (medians of many runs of (a) interleaved with each floor, so that machine noise hits both
//! alike) and the ratios. The target is 0.8 of the output-collecting floor on the builder pages, which are
//! what buyers upload; the run exits non-zero when one is under it. The stress pages show what a
//! reference costs beyond the parse.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use creative_manifests::manifest::html::{self, css};
use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, HtmlRewriter, Selector, Settings};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/html/");
const MIN_RATIO: f64 = 0.8;
/// Measuring time per case; at least `MIN_RUNS` runs each.
const BUDGET: Duration = Duration::from_secs(3);
const MIN_RUNS: usize = 30;
const CLICK_TRACKER: &str = "https://track.example/click?c=cr_1&r=";

/// One file of a case, with its path in the bundle.
struct Doc {
    path: &'static str,
    bytes: Vec<u8>,
}

struct Case {
    name: &'static str,
    /// Held to the target ratio.
    gated: bool,
    docs: Vec<Doc>,
    files: html::UrlMap,
}

impl Case {
    fn bytes(&self) -> usize {
        self.docs.iter().map(|d| d.bytes.len()).sum()
    }
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{file}"))
        .unwrap_or_else(|e| panic!("{FIXTURES}{file}: {e} (run generate.py there)"))
}

/// The files uploaded beside a set's pages, as the service maps them: path → CDN URL.
fn uploaded(list: &str) -> html::UrlMap {
    String::from_utf8_lossy(&read(list))
        .lines()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, path)| {
            let ext = path.rsplit('.').next().unwrap_or("bin");
            let url = format!("https://cdn.example/creatives/cr_0193/{i:064x}.{ext}");
            (path.to_owned(), url)
        })
        .collect()
}

/// A case of files under `dir` (`""` or `"builder/"`), each at its path in the bundle.
fn case(name: &'static str, gated: bool, dir: &str, files: &[(&'static str, &str)]) -> Case {
    Case {
        name,
        gated,
        docs: files
            .iter()
            .map(|&(path, file)| Doc {
                path,
                bytes: read(&format!("{dir}{file}")),
            })
            .collect(),
        files: uploaded(&format!("{dir}uploaded.txt")),
    }
}

fn cases() -> Vec<Case> {
    let page = |name, gated, dir, file| case(name, gated, dir, &[("index.html", file)]);
    vec![
        page("gwd_150k", true, "builder/", "gwd_150k.html"),
        page("animate_90k", true, "builder/", "animate_90k.html"),
        page("hand_55k", true, "builder/", "handcoded_55k.html"),
        page("takeover_420k", true, "builder/", "takeover_420k.html"),
        case(
            "bundle_120k",
            true,
            "builder/",
            &[
                ("index.html", "bundle/index.html"),
                ("css/style.css", "bundle/css/style.css"),
            ],
        ),
        page("dense_60k", false, "", "banner_60k.html"),
        page("dense_200k", false, "", "rich_200k.html"),
        page("dense_480k", false, "", "heavy_480k.html"),
        case(
            "dense_bundle",
            false,
            "",
            &[
                ("index.html", "bundle/index.html"),
                ("panels/panel.html", "bundle/panels/panel.html"),
                ("css/site.css", "bundle/css/site.css"),
                ("css/theme.css", "bundle/css/theme.css"),
            ],
        ),
    ]
}

/// (a): what the service runs over each file. Returns how many distinct references were rewritten and
/// left unresolved (the `rewr` and `unres` columns).
fn rewrite(case: &Case) -> (usize, usize) {
    let (mut rewritten, mut unresolved) = (0, 0);
    for doc in &case.docs {
        if doc.path.ends_with(".css") {
            // As the service does: a stylesheet is validated as UTF-8 (not copied), or skipped.
            let Ok(text) = std::str::from_utf8(&doc.bytes) else {
                continue;
            };
            let (out, report) = css::rewrite_css(text, doc.path, &case.files);
            std::hint::black_box(out);
            rewritten += report.rewritten_count();
            unresolved += report.unresolved_count();
        } else {
            let opts = html::RewriteOptions {
                document_path: doc.path,
                click_tracker_url: Some(CLICK_TRACKER),
            };
            let (out, report) =
                html::rewrite_html(&doc.bytes, &opts, &case.files).expect("rewrites");
            std::hint::black_box(out);
            rewritten += report.rewritten_count();
            unresolved += report.unresolved_count();
        }
    }
    (rewritten, unresolved)
}

/// (b): lol_html alone, with the rewrite's selectors and empty handlers, over every file of the case.
fn floor(case: &Case, selectors: &Selectors, collect_output: bool) {
    for doc in &case.docs {
        let mut handlers = Vec::new();
        for selector in &selectors.elements {
            let handler = ElementContentHandlers::default().element(|_: &mut Element| Ok(()));
            handlers.push((Cow::Borrowed(selector), handler));
        }
        for selector in &selectors.texts {
            let handler = ElementContentHandlers::default().text(|_: &mut TextChunk| Ok(()));
            handlers.push((Cow::Borrowed(selector), handler));
        }
        let settings = Settings {
            element_content_handlers: handlers,
            strict: false,
            ..Settings::new()
        };
        // Sized as a caller that keeps the output would size it.
        let mut output = Vec::with_capacity(if collect_output { doc.bytes.len() } else { 0 });
        let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| {
            if collect_output {
                output.extend_from_slice(chunk);
            }
        });
        rewriter.write(&doc.bytes).expect("lol_html writes");
        rewriter.end().expect("lol_html ends");
        std::hint::black_box(output);
    }
}

struct Selectors {
    elements: Vec<Selector>,
    texts: Vec<Selector>,
}

fn selectors() -> Selectors {
    let parse = |s: &&str| s.parse::<Selector>().expect("selector parses");
    let (elements, texts) = html::handler_selectors();
    Selectors {
        elements: elements.iter().map(parse).collect(),
        texts: texts.iter().map(parse).collect(),
    }
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e6
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Median times of the rewrite and of the floor (collecting its output or not), run in turn for `budget`
/// (at least `MIN_RUNS` times each).
fn interleaved(
    case: &Case,
    selectors: &Selectors,
    collect_output: bool,
    budget: Duration,
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while a.len() < MIN_RUNS || start.elapsed() < budget {
        a.push(time(|| {
            rewrite(case);
        }));
        b.push(time(|| floor(case, selectors, collect_output)));
    }
    (median(a), median(b))
}

fn main() {
    // cargo passes `--bench`; any other argument filters cases by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let selectors = selectors();
    println!(
        "{:<14} {:>8} {:>5} {:>5} {:>12} {:>10} {:>10} {:>6} {:>9}",
        "case",
        "bytes",
        "rewr",
        "unres",
        "rewrite MB/s",
        "floor MB/s",
        "floor+Vec",
        "ratio",
        "ratio+Vec"
    );
    let mut below = false;
    for case in cases() {
        if filter
            .as_ref()
            .is_some_and(|f| !case.name.contains(f.as_str()))
        {
            continue;
        }
        let (refs, unresolved) = rewrite(&case);
        floor(&case, &selectors, true);
        // Each floor interleaved with the rewrite on its own, so that one's buffers do not change what
        // the allocator and the caches hold for the other's comparison.
        let (a, b_vec) = interleaved(&case, &selectors, true, BUDGET);
        let (a_bare, b) = interleaved(&case, &selectors, false, BUDGET / 2);
        let bytes = case.bytes();
        let [a, a_bare, b, b_vec] = [a, a_bare, b, b_vec].map(|t| mb_per_s(bytes, t));
        let ratio = a / b_vec;
        let missed = case.gated && ratio < MIN_RATIO;
        below |= missed;
        println!(
            "{:<14} {:>8} {:>5} {:>5} {:>12.1} {:>10.1} {:>10.1} {:>6.2} {:>9.2}{}",
            case.name,
            bytes,
            refs,
            unresolved,
            a,
            b,
            b_vec,
            a_bare / b,
            ratio,
            if missed { "  BELOW 0.8" } else { "" }
        );
    }
    if below {
        std::process::exit(1);
    }
}
