//! Content classification of uploaded creative files (pure, no I/O).
//!
//! Evidence is weighed in this order:
//! 1. the content itself: magic numbers (via `infer`, plus small sniffers for HEIF brands and
//!    bare MPEG audio frames) and, for text, markup sniffers (HTML, SVG, VAST, generic XML);
//! 2. the extension of the user's filename (via `mime_guess`), which also picks the flavour of
//!    text that has no signature (JavaScript, CSS, markdown, plain text);
//! 3. the buyer's declared `asset_type` (only to pick a text flavour: JAVASCRIPT, CSS, HTML);
//! 4. weak content heuristics for text (markdown headings, JS/CSS openings);
//! 5. the multipart part's declared MIME type, which counts least.
//!
//! Whatever decides, contradictions by weaker evidence become warnings on the result.

use crate::manifest::asset_type::AssetType;

/// Bytes needed from the start of a file for classification.
pub const SNIFF_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub asset_type: AssetType,
    /// The real MIME type, from content when content tells, else from the extension.
    pub content_type: String,
    /// File extension (no dot) the service uses for the stored key, derived from content_type
    /// (never from the user's filename).
    pub extension: &'static str,
    /// How the type was decided.
    pub detected_by: DetectedBy,
    /// Human-readable warnings, e.g. declared part type contradicted by content, extension
    /// contradicts content.
    pub warnings: Vec<String>,
}

/// What decided a [`Classification`]'s content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedBy {
    /// Magic numbers or markup sniffing (for signature-less text: text with nothing else to go on).
    Content,
    /// The filename's extension (text flavour such as `.js`/`.css`, or a binary format the
    /// content did not confirm).
    Extension,
    /// The buyer's declared asset_type or the part's declared MIME type (content and extension
    /// said nothing more specific).
    Declared,
}

impl DetectedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectedBy::Content => "content",
            DetectedBy::Extension => "extension",
            DetectedBy::Declared => "declared",
        }
    }
}

impl std::fmt::Display for DetectedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClassifyError {
    #[error("unsupported file type{}", .detected.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Unsupported { detected: Option<String> },
}

/// One allowed content type.
#[derive(Debug)]
struct Kind {
    mime: &'static str,
    ext: &'static str,
    asset: AssetType,
    /// Text-based: the content must be UTF-8 text.
    text: bool,
}

const fn kind(mime: &'static str, ext: &'static str, asset: AssetType, text: bool) -> Kind {
    Kind {
        mime,
        ext,
        asset,
        text,
    }
}

const HTML: Kind = kind("text/html", "html", AssetType::Html, true);
const SVG: Kind = kind("image/svg+xml", "svg", AssetType::Image, true);
const XML: Kind = kind("application/xml", "xml", AssetType::Document, true);
const PLAIN: Kind = kind("text/plain", "txt", AssetType::Text, true);
/// A VAST document: XML content, VAST asset type.
const VAST: Kind = kind("application/xml", "xml", AssetType::Vast, true);

/// The allowed content types, in their canonical spelling.
static KINDS: &[Kind] = &[
    kind("image/jpeg", "jpg", AssetType::Image, false),
    kind("image/png", "png", AssetType::Image, false),
    kind("image/gif", "gif", AssetType::Image, false),
    kind("image/webp", "webp", AssetType::Image, false),
    SVG,
    kind("image/heic", "heic", AssetType::Image, false),
    kind("image/heif", "heif", AssetType::Image, false),
    kind("video/mp4", "mp4", AssetType::Video, false),
    kind("video/webm", "webm", AssetType::Video, false),
    kind("video/quicktime", "mov", AssetType::Video, false),
    kind("audio/mpeg", "mp3", AssetType::Audio, false),
    kind("audio/wav", "wav", AssetType::Audio, false),
    kind("audio/ogg", "ogg", AssetType::Audio, false),
    HTML,
    kind("text/css", "css", AssetType::Css, true),
    kind("text/javascript", "js", AssetType::Javascript, true),
    kind("font/woff", "woff", AssetType::Font, false),
    kind("font/woff2", "woff2", AssetType::Font, false),
    kind("font/ttf", "ttf", AssetType::Font, false),
    kind("font/otf", "otf", AssetType::Font, false),
    kind("application/pdf", "pdf", AssetType::Document, false),
    XML,
    kind("text/markdown", "md", AssetType::Text, true),
    PLAIN,
];

fn kind_for(mime: &str) -> Option<&'static Kind> {
    let canonical = canonical_mime(mime);
    KINDS.iter().find(|k| k.mime == canonical)
}

/// Lower-cased essence (no parameters) of a MIME type, with common aliases folded onto the
/// spelling used in [`KINDS`].
pub(crate) fn canonical_mime(mime: &str) -> String {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let folded = match essence.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "image/x-png" => "image/png",
        "image/svg" => "image/svg+xml",
        "video/x-m4v" => "video/mp4",
        "audio/mp3" | "audio/x-mp3" | "audio/mpeg3" | "audio/x-mpeg" | "audio/mpg" => "audio/mpeg",
        "audio/x-wav" | "audio/wave" | "audio/vnd.wave" | "audio/x-pn-wav" => "audio/wav",
        "application/ogg" | "audio/x-ogg" | "audio/vorbis" | "audio/opus" => "audio/ogg",
        "application/javascript"
        | "application/x-javascript"
        | "application/ecmascript"
        | "text/ecmascript"
        | "text/x-javascript"
        | "text/jscript" => "text/javascript",
        "text/xml" | "application/x-xml" => "application/xml",
        "text/x-markdown" => "text/markdown",
        "application/font-woff" | "application/x-font-woff" => "font/woff",
        "application/font-woff2" => "font/woff2",
        "application/x-font-ttf" | "application/x-font-truetype" | "font/sfnt" => "font/ttf",
        "application/x-font-opentype" | "application/vnd.ms-opentype" | "font/opentype" => {
            "font/otf"
        }
        "application/x-pdf" => "application/pdf",
        _ => return essence,
    };
    folded.to_string()
}

/// Same content type for the purpose of contradiction warnings.
fn same_type(a: &str, b: &str) -> bool {
    let (a, b) = (canonical_mime(a), canonical_mime(b));
    let heif = |m: &str| m == "image/heic" || m == "image/heif";
    a == b || (heif(&a) && heif(&b))
}

/// Declared types that carry no information.
fn is_generic_mime(mime: &str) -> bool {
    matches!(
        mime,
        "" | "application/octet-stream"
            | "binary/octet-stream"
            | "application/binary"
            | "application/unknown"
            | "application/x-unknown"
            | "*/*"
    )
}

/// What the filename's extension says.
enum ExtInfo {
    /// No extension, or one that names nothing specific.
    Unknown,
    Allowed(&'static Kind),
    Other(&'static str),
}

fn extension_of(filename: &str) -> Option<String> {
    let base = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() || ext.len() > 16 {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

fn ext_info(ext: Option<&str>) -> ExtInfo {
    let Some(ext) = ext else {
        return ExtInfo::Unknown;
    };
    // mime_guess maps several font extensions to ambiguous legacy types.
    let forced = match ext {
        "otf" => Some("font/otf"),
        "ttf" => Some("font/ttf"),
        "woff" => Some("font/woff"),
        "woff2" => Some("font/woff2"),
        _ => None,
    };
    if let Some(k) = forced.and_then(kind_for) {
        return ExtInfo::Allowed(k);
    }
    let guess = mime_guess::from_ext(ext);
    if let Some(k) = guess.iter_raw().find_map(kind_for) {
        return ExtInfo::Allowed(k);
    }
    match guess.first_raw() {
        Some(m) if !is_generic_mime(m) => ExtInfo::Other(m),
        _ => ExtInfo::Unknown,
    }
}

/// The filename's stem, for LOGO detection.
fn stem_of(filename: &str) -> &str {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    }
}

/// `head` as text if it is UTF-8 (a multi-byte character cut at the end is allowed) without NULs
/// or control characters other than tab, newline, carriage return and form feed.
fn as_text(head: &[u8]) -> Option<&str> {
    let s = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    if s.bytes()
        .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
    {
        return None;
    }
    Some(s)
}

/// What binary magic says.
enum Magic {
    Allowed(&'static Kind),
    Other(String),
}

fn sniff_magic(head: &[u8], is_text: bool) -> Option<Magic> {
    if let Some(t) = infer::get(head) {
        let weak = matches!(t.matcher_type(), infer::MatcherType::Text)
            // Two-letter signatures that ordinary text can start with.
            || (is_text && matches!(t.extension(), "exe" | "dll" | "bmp"));
        if !weak {
            let mime = match (t.mime_type(), t.extension()) {
                ("application/font-woff", "woff2") => "font/woff2".to_string(),
                ("application/font-sfnt", "otf") => "font/otf".to_string(),
                ("application/font-sfnt", _) => "font/ttf".to_string(),
                ("image/heif", _) => "image/heic".to_string(),
                (m, _) => canonical_mime(m),
            };
            return Some(match kind_for(&mime) {
                Some(k) => Magic::Allowed(k),
                None => Magic::Other(mime),
            });
        }
    }
    if is_text {
        return None;
    }
    if let Some(mime) = sniff_heif(head) {
        return kind_for(mime).map(Magic::Allowed);
    }
    if is_mpeg_audio(head) {
        return kind_for("audio/mpeg").map(Magic::Allowed);
    }
    None
}

/// HEIF brands `infer` does not know (it only knows `heic` and `mif1`+`heic`).
fn sniff_heif(head: &[u8]) -> Option<&'static str> {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.clamp(16, head.len());
    let major = &head[8..12];
    let compatible = head.get(16..end).unwrap_or_default().chunks_exact(4);
    let brands = || std::iter::once(major).chain(compatible.clone());
    if brands().any(|b| b == b"avif" || b == b"avis") {
        return None;
    }
    if brands().any(|b| matches!(b, b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis")) {
        return Some("image/heic");
    }
    if major == b"mif1" || major == b"msf1" {
        return Some("image/heif");
    }
    None
}

/// Length in bytes of the MPEG audio layer III frame whose header starts `b`, if it is one.
fn mp3_frame_len(b: &[u8]) -> Option<usize> {
    if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b[1] >> 3) & 3; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (b[1] >> 1) & 3; // 1: layer III
    let bitrate_idx = (b[2] >> 4) as usize;
    let rate_idx = ((b[2] >> 2) & 3) as usize;
    if version == 1 || layer != 1 || bitrate_idx == 0 || bitrate_idx == 15 || rate_idx == 3 {
        return None;
    }
    const MPEG1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const MPEG2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let base_rate = [44100u32, 48000, 32000][rate_idx];
    let (kbps, rate, coef) = match version {
        3 => (MPEG1[bitrate_idx], base_rate, 144),
        2 => (MPEG2[bitrate_idx], base_rate / 2, 72),
        _ => (MPEG2[bitrate_idx], base_rate / 4, 72),
    };
    let padding = ((b[2] >> 1) & 1) as u32;
    Some((coef * kbps * 1000 / rate + padding) as usize)
}

/// Bare MPEG audio layer III (no ID3 tag): a valid frame header, followed by another one when
/// the head is long enough to hold it.
fn is_mpeg_audio(head: &[u8]) -> bool {
    match mp3_frame_len(head) {
        Some(len) if len >= 4 => head.len() < len + 4 || mp3_frame_len(&head[len..]).is_some(),
        _ => false,
    }
}

/// What markup sniffing says about text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Markup {
    Html,
    Svg,
    Vast,
    Xml,
}

const HTML_TAGS: &[&str] = &[
    "html",
    "head",
    "body",
    "script",
    "div",
    "iframe",
    "style",
    "title",
    "meta",
    "link",
    "table",
    "p",
    "a",
    "b",
    "i",
    "u",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "span",
    "font",
    "center",
    "section",
    "main",
    "header",
    "footer",
    "nav",
    "article",
    "aside",
    "canvas",
    "noscript",
    "form",
    "ul",
    "ol",
    "li",
    "video",
    "audio",
    "picture",
    "template",
    "base",
    "button",
    "input",
    "label",
    "em",
    "strong",
    "small",
    "pre",
    "code",
    "hr",
    "figure",
    "object",
    "embed",
    "ins",
    "map",
    "area",
    "tr",
    "td",
    "th",
    "tbody",
    "thead",
    "dl",
    "blockquote",
    "frameset",
    "frame",
    "noframes",
    "marquee",
];

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// An XML/HTML name at the start of `s` (empty if none).
fn take_name(s: &str) -> &str {
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let ok = if i == 0 {
            c.is_ascii_alphabetic() || c == '_' || c == ':'
        } else {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
        };
        if !ok {
            break;
        }
        end = i + c.len_utf8();
    }
    &s[..end]
}

/// Sniff markup from the start of the document: skips BOM, whitespace, comments, processing
/// instructions (the XML declaration) and doctypes, then looks at the root element.
fn sniff_markup(s: &str) -> Option<Markup> {
    let mut rest = s.trim_start_matches('\u{feff}');
    let mut xml_decl = false;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->")? + 3..];
        } else if let Some(after) = rest.strip_prefix("<?") {
            xml_decl |= starts_with_ci(after, "xml");
            rest = &after[after.find("?>")? + 2..];
        } else if starts_with_ci(rest, "<!doctype") {
            let after = &rest["<!doctype".len()..];
            let name = take_name(after.trim_start());
            match name.to_ascii_lowercase().as_str() {
                "html" => return Some(Markup::Html),
                "svg" => return Some(Markup::Svg),
                "vast" => return Some(Markup::Vast),
                _ => {}
            }
            let end = match (after.find('['), after.find('>')) {
                (Some(open), Some(gt)) if open < gt => open + after[open..].find("]>")? + 2,
                (_, Some(gt)) => gt + 1,
                _ => return None,
            };
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let name = take_name(after);
            let terminated = after[name.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_whitespace() || c == '>' || c == '/');
            if name.is_empty() || !terminated {
                return None;
            }
            let lower = name.to_ascii_lowercase();
            let local = lower.rsplit(':').next().unwrap_or_default();
            return Some(if local == "svg" {
                Markup::Svg
            } else if local == "vast" {
                Markup::Vast
            } else if !xml_decl && HTML_TAGS.contains(&lower.as_str()) {
                Markup::Html
            } else if lower == "html" {
                // XHTML: an XML declaration followed by <html>.
                Markup::Html
            } else {
                Markup::Xml
            });
        } else {
            return None;
        }
    }
}

/// Weak hints for signature-less text: markdown, JavaScript, CSS.
fn sniff_text_flavour(s: &str) -> Option<&'static str> {
    let mut rest = s
        .trim_start_matches('\u{feff}')
        .trim_start_matches(|c: char| c.is_ascii_whitespace());
    let first_line = rest.lines().next().unwrap_or_default();
    let heading = first_line.trim_start_matches('#');
    if (1..=6).contains(&(first_line.len() - heading.len())) && heading.starts_with(' ') {
        return Some("text/markdown");
    }
    if rest.starts_with("```") || rest.contains("\n```") {
        return Some("text/markdown");
    }
    // Block comments open both JS and CSS: skip them.
    while let Some(after) = rest.strip_prefix("/*") {
        rest = after[after.find("*/")? + 2..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    }
    const JS_OPENINGS: &[&str] = &[
        "//",
        "\"use strict\"",
        "'use strict'",
        "(function",
        "!function",
        ";(function",
        "(() =>",
        "(()=>",
        "function ",
        "function(",
        "async function",
        "var ",
        "let ",
        "const ",
        "import ",
        "export ",
        "window.",
        "document.",
    ];
    if JS_OPENINGS.iter().any(|p| rest.starts_with(p)) {
        return Some("text/javascript");
    }
    const CSS_OPENINGS: &[&str] = &[
        "@charset",
        "@import",
        "@media",
        "@font-face",
        "@keyframes",
        "@supports",
        ":root",
    ];
    if CSS_OPENINGS.iter().any(|p| rest.starts_with(p)) {
        return Some("text/css");
    }
    // A rule: `selector { property: value; ... }`.
    let open = rest.find('{')?;
    let selector = rest[..open].trim();
    let selector_ok = !selector.is_empty()
        && selector.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || c.is_ascii_whitespace()
                || matches!(
                    c,
                    '.' | '#'
                        | '-'
                        | '_'
                        | ','
                        | '>'
                        | '+'
                        | '~'
                        | ':'
                        | '*'
                        | '['
                        | ']'
                        | '"'
                        | '\''
                )
        });
    let body = &rest[open + 1..];
    let close = body.find('}')?;
    if selector_ok && body[..close].contains(':') {
        return Some("text/css");
    }
    None
}

/// Text flavours a declared asset_type may pick for signature-less text.
fn text_kind_for_declared_type(t: AssetType) -> Option<&'static str> {
    match t {
        AssetType::Javascript => Some("text/javascript"),
        AssetType::Css => Some("text/css"),
        AssetType::Html => Some("text/html"),
        _ => None,
    }
}

/// head = first min(SNIFF_LEN, file size) bytes; filename = user's filename (untrusted, use only
/// its extension); declared_mime = Content-Type of the multipart part if any (untrusted, counts
/// least); declared_type = asset_type the buyer stated in metadata if any.
pub fn classify(
    head: &[u8],
    filename: &str,
    declared_mime: Option<&str>,
    declared_type: Option<AssetType>,
) -> Result<Classification, ClassifyError> {
    if head.is_empty() {
        return Err(ClassifyError::Unsupported {
            detected: Some("empty file".to_string()),
        });
    }
    let head = &head[..head.len().min(SNIFF_LEN)];
    let ext = extension_of(filename);
    let ext_info = ext_info(ext.as_deref());
    let declared = declared_mime
        .map(canonical_mime)
        .filter(|m| !is_generic_mime(m));
    let declared_kind = declared.as_deref().and_then(kind_for);
    let text = as_text(head);
    let mut warnings = Vec::new();

    let (kind, detected_by): (&'static Kind, DetectedBy) =
        match (sniff_magic(head, text.is_some()), text) {
            (Some(Magic::Allowed(k)), _) => (k, DetectedBy::Content),
            (Some(Magic::Other(mime)), _) => {
                return Err(ClassifyError::Unsupported {
                    detected: Some(mime),
                })
            }
            (None, Some(text)) => classify_text(text, &ext_info, declared_kind, declared_type),
            (None, None) => {
                let (k, by) = match (&ext_info, declared_kind) {
                    (ExtInfo::Allowed(k), _) if !k.text => (*k, DetectedBy::Extension),
                    (ExtInfo::Allowed(k), _) => {
                        return Err(ClassifyError::Unsupported {
                            detected: Some(format!("non-text content named as {}", k.mime)),
                        })
                    }
                    (ExtInfo::Other(mime), _) => {
                        return Err(ClassifyError::Unsupported {
                            detected: Some(canonical_mime(mime)),
                        })
                    }
                    (ExtInfo::Unknown, Some(k)) if !k.text => (k, DetectedBy::Declared),
                    (ExtInfo::Unknown, _) => {
                        return Err(ClassifyError::Unsupported { detected: None })
                    }
                };
                let source = match by {
                    DetectedBy::Extension => {
                        format!("the file extension .{}", ext.as_deref().unwrap_or_default())
                    }
                    _ => "the declared content type".to_string(),
                };
                warnings.push(format!(
                    "content not recognized; type {} taken from {source}",
                    k.mime
                ));
                (k, by)
            }
        };

    // Weaker evidence that disagrees.
    if detected_by != DetectedBy::Extension {
        let ext_mime = match &ext_info {
            ExtInfo::Allowed(k) => Some(k.mime),
            ExtInfo::Other(m) => Some(*m),
            ExtInfo::Unknown => None,
        };
        if let (Some(ext_mime), Some(ext)) = (ext_mime, ext.as_deref()) {
            if !same_type(ext_mime, kind.mime) {
                warnings.push(format!(
                    "file extension .{ext} suggests {} but content is {}",
                    canonical_mime(ext_mime),
                    kind.mime
                ));
            }
        }
    }
    if let Some(d) = declared.as_deref() {
        let lenient = d == "text/plain" && kind.text;
        if !lenient && !same_type(d, kind.mime) {
            warnings.push(match detected_by {
                DetectedBy::Extension => format!(
                    "declared content type {d} but the file extension says {}",
                    kind.mime
                ),
                _ => format!("declared content type {d} but content is {}", kind.mime),
            });
        }
    }

    let asset_type = match declared_type {
        Some(t) => {
            warnings.extend(type_mismatch_warning(t, kind.mime));
            t
        }
        None if kind.asset == AssetType::Image
            && stem_of(filename).to_ascii_lowercase().contains("logo") =>
        {
            AssetType::Logo
        }
        None => kind.asset,
    };

    Ok(Classification {
        asset_type,
        content_type: kind.mime.to_string(),
        extension: kind.ext,
        detected_by,
        warnings,
    })
}

/// Classification of UTF-8 text without binary magic.
fn classify_text(
    text: &str,
    ext_info: &ExtInfo,
    declared_kind: Option<&'static Kind>,
    declared_type: Option<AssetType>,
) -> (&'static Kind, DetectedBy) {
    if let Some(m) = sniff_markup(text) {
        let k: &'static Kind = match m {
            Markup::Html => &HTML,
            Markup::Svg => &SVG,
            Markup::Vast => &VAST,
            Markup::Xml => &XML,
        };
        return (k, DetectedBy::Content);
    }
    // Flavours that need no particular content (markup types need their markup).
    let plain_flavour =
        |k: &&'static Kind| k.text && k.asset != AssetType::Image && k.mime != "application/xml";
    if let ExtInfo::Allowed(k) = ext_info {
        if plain_flavour(k) {
            return (k, DetectedBy::Extension);
        }
    }
    if let Some(k) = declared_type
        .and_then(text_kind_for_declared_type)
        .and_then(kind_for)
    {
        return (k, DetectedBy::Declared);
    }
    if let Some(k) = sniff_text_flavour(text).and_then(kind_for) {
        return (k, DetectedBy::Content);
    }
    if let Some(k) = declared_kind.filter(plain_flavour) {
        return (k, DetectedBy::Declared);
    }
    (&PLAIN, DetectedBy::Content)
}

/// Warnings about a buyer-stated type start with this, so a reclassification can replace them.
pub const TYPE_MISMATCH_PREFIX: &str = "asset_type ";

/// The warning for a buyer-stated asset type that the content contradicts, if it does.
pub fn type_mismatch_warning(t: AssetType, content_type: &str) -> Option<String> {
    (!type_fits_content(t, content_type))
        .then(|| format!("{TYPE_MISMATCH_PREFIX}{t} does not match content {content_type}"))
}

/// Whether `t` is a sensible asset_type for content of `content_type` (e.g. LOGO is fine for any
/// image, VAST needs XML, TEXT needs text/*).
pub fn type_fits_content(t: AssetType, content_type: &str) -> bool {
    let c = canonical_mime(content_type);
    let c = c.as_str();
    match t {
        AssetType::Image | AssetType::Logo => c.starts_with("image/"),
        AssetType::Video => c.starts_with("video/"),
        AssetType::Audio => c.starts_with("audio/"),
        AssetType::Html => c == "text/html",
        AssetType::Javascript => c == "text/javascript",
        AssetType::Css => c == "text/css",
        AssetType::Vast => c == "application/xml",
        AssetType::Font => c.starts_with("font/"),
        AssetType::Document => matches!(
            c,
            "application/pdf" | "application/xml" | "text/plain" | "text/markdown"
        ),
        AssetType::Text => c.starts_with("text/"),
        // A URL asset carried as a file: the file holds the URL.
        AssetType::Url => c == "text/plain",
        // A webhook is an endpoint, never a file (refused before any file is read).
        AssetType::Webhook => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::noise;
    use super::*;
    use AssetType::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn head_of(name: &str) -> Vec<u8> {
        let mut bytes = std::fs::read(format!("{FIXTURES}/{name}"))
            .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
        bytes.truncate(SNIFF_LEN);
        bytes
    }

    fn fixture(name: &str) -> Result<Classification, ClassifyError> {
        classify(&head_of(name), name, None, None)
    }

    fn ok(head: &[u8], filename: &str) -> Classification {
        classify(head, filename, None, None).expect("supported")
    }

    fn unsupported(detected: Option<&str>) -> Result<Classification, ClassifyError> {
        Err(ClassifyError::Unsupported {
            detected: detected.map(str::to_string),
        })
    }

    #[test]
    fn every_fixture_is_classified_right() {
        let expected: &[(&str, AssetType, &str, &str, DetectedBy)] = &[
            (
                "image_300x250.png",
                Image,
                "image/png",
                "png",
                DetectedBy::Content,
            ),
            (
                "image_300x250.jpg",
                Image,
                "image/jpeg",
                "jpg",
                DetectedBy::Content,
            ),
            (
                "image_300x250_bigexif.jpg",
                Image,
                "image/jpeg",
                "jpg",
                DetectedBy::Content,
            ),
            (
                "image_728x90.gif",
                Image,
                "image/gif",
                "gif",
                DetectedBy::Content,
            ),
            (
                "image_160x600.webp",
                Image,
                "image/webp",
                "webp",
                DetectedBy::Content,
            ),
            (
                "image_300x250.svg",
                Image,
                "image/svg+xml",
                "svg",
                DetectedBy::Content,
            ),
            (
                "image_viewbox.svg",
                Image,
                "image/svg+xml",
                "svg",
                DetectedBy::Content,
            ),
            (
                "image_320x240.heic",
                Image,
                "image/heic",
                "heic",
                DetectedBy::Content,
            ),
            ("logo.png", Logo, "image/png", "png", DetectedBy::Content),
            (
                "video_64x36_15s.mp4",
                Video,
                "video/mp4",
                "mp4",
                DetectedBy::Content,
            ),
            (
                "video_64x36_30s.mp4",
                Video,
                "video/mp4",
                "mp4",
                DetectedBy::Content,
            ),
            (
                "video_64x36_5s.webm",
                Video,
                "video/webm",
                "webm",
                DetectedBy::Content,
            ),
            (
                "video_64x36_5s.mov",
                Video,
                "video/quicktime",
                "mov",
                DetectedBy::Content,
            ),
            (
                "audio_30s.mp3",
                Audio,
                "audio/mpeg",
                "mp3",
                DetectedBy::Content,
            ),
            (
                "audio_2s.wav",
                Audio,
                "audio/wav",
                "wav",
                DetectedBy::Content,
            ),
            (
                "audio_3s.ogg",
                Audio,
                "audio/ogg",
                "ogg",
                DetectedBy::Content,
            ),
            (
                "banner.html",
                Html,
                "text/html",
                "html",
                DetectedBy::Content,
            ),
            ("style.css", Css, "text/css", "css", DetectedBy::Extension),
            (
                "script.js",
                Javascript,
                "text/javascript",
                "js",
                DetectedBy::Extension,
            ),
            (
                "vast.xml",
                Vast,
                "application/xml",
                "xml",
                DetectedBy::Content,
            ),
            (
                "doc.pdf",
                Document,
                "application/pdf",
                "pdf",
                DetectedBy::Content,
            ),
            ("font.ttf", Font, "font/ttf", "ttf", DetectedBy::Content),
            (
                "font.woff2",
                Font,
                "font/woff2",
                "woff2",
                DetectedBy::Content,
            ),
            (
                "notes.md",
                Text,
                "text/markdown",
                "md",
                DetectedBy::Extension,
            ),
            (
                "plain.txt",
                Text,
                "text/plain",
                "txt",
                DetectedBy::Extension,
            ),
        ];
        for &(name, asset_type, content_type, extension, detected_by) in expected {
            let c = fixture(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (
                    c.asset_type,
                    c.content_type.as_str(),
                    c.extension,
                    c.detected_by
                ),
                (asset_type, content_type, extension, detected_by),
                "{name}"
            );
            assert!(c.warnings.is_empty(), "{name}: {:?}", c.warnings);
        }
    }

    #[test]
    fn bad_fixtures_are_unsupported_naming_what_was_detected() {
        assert_eq!(fixture("archive.zip"), unsupported(Some("application/zip")));
        assert_eq!(
            fixture("program.exe"),
            unsupported(Some("application/vnd.microsoft.portable-executable"))
        );
        assert_eq!(fixture("random.bin"), unsupported(None));
        assert_eq!(
            fixture("archive.zip").unwrap_err().to_string(),
            "unsupported file type (application/zip)"
        );
        assert_eq!(
            fixture("random.bin").unwrap_err().to_string(),
            "unsupported file type"
        );
    }

    #[test]
    fn other_unsupported_types() {
        // Matroska that is not WebM, M4A audio, AVIF, BMP, gzip, empty.
        let mut mkv = vec![0x1A, 0x45, 0xDF, 0xA3, 0x93, 0x42, 0x82, 0x88];
        mkv.extend_from_slice(b"matroska\x42\x87\x81\x04");
        assert_eq!(
            classify(&mkv, "a.webm", None, None),
            unsupported(Some("video/x-matroska"))
        );
        let m4a = b"\0\0\0\x18ftypM4A \0\0\0\0M4A mp42isom\0\0\0\x08free";
        assert_eq!(
            classify(m4a, "a.mp4", None, None),
            unsupported(Some("audio/m4a"))
        );
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf\0\0\0\x08meta";
        assert_eq!(
            classify(avif, "a.heic", None, None),
            unsupported(Some("image/avif"))
        );
        let bmp = b"BM\x8a\x7b\x0c\0\0\0\0\0\x8a\0\0\0\x7c\0\0\0";
        assert_eq!(
            classify(bmp, "a.png", None, None),
            unsupported(Some("image/bmp"))
        );
        let gz = b"\x1f\x8b\x08\0\0\0\0\0\0\x03";
        assert_eq!(
            classify(gz, "a.svgz", None, None),
            unsupported(Some("application/gzip"))
        );
        assert_eq!(
            classify(b"", "a.txt", None, None),
            unsupported(Some("empty file"))
        );
        // Unknown binary: the extension names it, or nothing does.
        let noise = noise(4096, 7);
        assert_eq!(
            classify(&noise, "report.docx", None, None),
            unsupported(Some(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            ))
        );
        assert_eq!(classify(&noise, "blob", None, None), unsupported(None));
        assert_eq!(
            classify(&noise, "blob", Some("application/zip"), None),
            unsupported(None)
        );
        // A text type needs text.
        assert_eq!(
            classify(&noise, "style.css", None, None),
            unsupported(Some("non-text content named as text/css"))
        );
    }

    #[test]
    fn declared_mime_contradicted_by_content_warns() {
        let png = head_of("image_300x250.png");
        let c = classify(&png, "banner.png", Some("video/mp4"), None).unwrap();
        assert_eq!(c.content_type, "image/png");
        assert_eq!(
            c.warnings,
            vec!["declared content type video/mp4 but content is image/png"]
        );
        // Generic, equivalent or parameterised declarations are no contradiction.
        for declared in [
            "application/octet-stream",
            "image/png; charset=binary",
            "IMAGE/PNG",
            "",
        ] {
            let c = classify(&png, "banner.png", Some(declared), None).unwrap();
            assert!(c.warnings.is_empty(), "{declared}: {:?}", c.warnings);
        }
        // Aliases fold: application/javascript is text/javascript, image/jpg is image/jpeg.
        let js = head_of("script.js");
        let c = classify(&js, "script.js", Some("application/javascript"), None).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c = classify(&js, "script.js", Some("text/plain"), None).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let jpg = head_of("image_300x250.jpg");
        let c = classify(&jpg, "a.jpeg", Some("image/jpg"), None).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // The declared type never overrides content.
        let c = classify(&js, "script.js", Some("text/css"), None).unwrap();
        assert_eq!(c.content_type, "text/javascript");
        assert_eq!(
            c.warnings,
            vec!["declared content type text/css but the file extension says text/javascript"]
        );
    }

    #[test]
    fn extension_contradicting_content_warns() {
        let png = head_of("image_300x250.png");
        let c = classify(&png, "photo.JPG", None, None).unwrap();
        assert_eq!((c.content_type.as_str(), c.extension), ("image/png", "png"));
        assert_eq!(c.detected_by, DetectedBy::Content);
        assert_eq!(
            c.warnings,
            vec!["file extension .jpg suggests image/jpeg but content is image/png"]
        );
        // An extension naming an unsupported type is a contradiction too.
        let c = classify(&png, "photo.exe.zip", None, None).unwrap();
        assert_eq!(
            c.warnings,
            vec!["file extension .zip suggests application/zip but content is image/png"]
        );
        // Text named as an image stays text.
        let c = classify(b"hello there\n", "fake.png", None, None).unwrap();
        assert_eq!(
            (c.asset_type, c.content_type.as_str()),
            (Text, "text/plain")
        );
        assert_eq!(
            c.warnings,
            vec!["file extension .png suggests image/png but content is text/plain"]
        );
        // HTML in a .txt file is HTML.
        let c = classify(&head_of("banner.html"), "banner.txt", None, None).unwrap();
        assert_eq!(c.content_type, "text/html");
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        // No extension, or equivalent spellings: no warning.
        for name in ["banner", "banner.htm", "banner.HTML", "dir.v2/banner"] {
            let c = classify(&head_of("banner.html"), name, None, None).unwrap();
            assert!(c.warnings.is_empty(), "{name}: {:?}", c.warnings);
        }
        let c = classify(&head_of("image_320x240.heic"), "x.heif", None, None).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn extension_decides_when_binary_content_is_unrecognized() {
        let noise = noise(2048, 3);
        let c = classify(&noise, "clip.mp4", None, None).unwrap();
        assert_eq!(
            (c.asset_type, c.content_type.as_str(), c.detected_by),
            (Video, "video/mp4", DetectedBy::Extension)
        );
        assert_eq!(
            c.warnings,
            vec!["content not recognized; type video/mp4 taken from the file extension .mp4"]
        );
        // The declared MIME counts only when the extension says nothing.
        let c = classify(&noise, "upload", Some("video/webm"), None).unwrap();
        assert_eq!(
            (c.content_type.as_str(), c.detected_by),
            ("video/webm", DetectedBy::Declared)
        );
        assert_eq!(c.warnings.len(), 1);
        let c = classify(&noise, "clip.mp4", Some("video/webm"), None).unwrap();
        assert_eq!(c.content_type, "video/mp4");
        assert!(c
            .warnings
            .iter()
            .any(|w| w.starts_with("declared content type video/webm")));
    }

    #[test]
    fn logo_by_name() {
        let png = head_of("image_300x250.png");
        for name in [
            "Brand_LOGO_v2.png",
            "logo",
            "uploads/acme-logo.png",
            "C:\\x\\Logo.gif",
        ] {
            assert_eq!(ok(&png, name).asset_type, Logo, "{name}");
        }
        for name in ["banner.png", "logos/banner.png", "catalog.png"] {
            assert_eq!(ok(&png, name).asset_type, Image, "{name}");
        }
        assert_eq!(
            ok(&head_of("image_viewbox.svg"), "logo.svg").asset_type,
            Logo
        );
        // Only images become logos.
        assert_eq!(
            ok(&head_of("video_64x36_15s.mp4"), "logo.mp4").asset_type,
            Video
        );
        // A declared type wins over the name.
        let c = classify(&png, "logo.png", None, Some(Image)).unwrap();
        assert_eq!(c.asset_type, Image);
    }

    #[test]
    fn declared_asset_type_reclassifies_with_warning_when_it_does_not_fit() {
        let png = head_of("image_300x250.png");
        let c = classify(&png, "banner.png", None, Some(Video)).unwrap();
        assert_eq!(
            (c.asset_type, c.content_type.as_str()),
            (Video, "image/png")
        );
        assert_eq!(
            c.warnings,
            vec!["asset_type VIDEO does not match content image/png"]
        );

        let c = classify(&png, "banner.png", None, Some(Logo)).unwrap();
        assert_eq!(c.asset_type, Logo);
        assert!(c.warnings.is_empty());

        let xml = b"<?xml version=\"1.0\"?><catalog><item/></catalog>";
        let c = classify(xml, "feed.xml", None, None).unwrap();
        assert_eq!(
            (c.asset_type, c.content_type.as_str()),
            (Document, "application/xml")
        );
        let c = classify(xml, "feed.xml", None, Some(Vast)).unwrap();
        assert_eq!(c.asset_type, Vast);
        assert!(c.warnings.is_empty());

        let c = classify(&head_of("vast.xml"), "vast.xml", None, Some(Text)).unwrap();
        assert_eq!(
            c.warnings,
            vec!["asset_type TEXT does not match content application/xml"]
        );
        let c = classify(&head_of("notes.md"), "notes.md", None, Some(Document)).unwrap();
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn declared_asset_type_picks_the_flavour_of_signature_less_text() {
        let js = head_of("script.js");
        let c = classify(&js, "upload", None, Some(Javascript)).unwrap();
        assert_eq!(
            (c.content_type.as_str(), c.detected_by),
            ("text/javascript", DetectedBy::Declared)
        );
        let c = classify(b"a, b\n1, 2\n", "upload", None, Some(Css)).unwrap();
        assert_eq!(c.content_type, "text/css");
        // The extension beats the declared type; the misfit is reported.
        let c = classify(&js, "script.js", None, Some(Css)).unwrap();
        assert_eq!(
            (c.asset_type, c.content_type.as_str()),
            (Css, "text/javascript")
        );
        assert_eq!(
            c.warnings,
            vec!["asset_type CSS does not match content text/javascript"]
        );
        // Markup is content: a declared type cannot turn HTML into JavaScript.
        let c = classify(&head_of("banner.html"), "x", None, Some(Javascript)).unwrap();
        assert_eq!(c.content_type, "text/html");
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn text_sniffers() {
        let cases: &[(&str, &[u8], &str, DetectedBy)] = &[
            // JS with markup inside strings is still JS; without extension it is sniffed.
            ("blob", b"// tracker\nvar s = '<div>x</div>';", "text/javascript", DetectedBy::Content),
            ("blob", b"(function(){ document.write('<html>') })()", "text/javascript", DetectedBy::Content),
            ("blob", b"/* c */\n.cta, #ad > a:hover { color: red; }", "text/css", DetectedBy::Content),
            ("blob", b"@import url(a.css);", "text/css", DetectedBy::Content),
            ("blob", b"# Title\n\ntext", "text/markdown", DetectedBy::Content),
            ("blob", b"Some words.\n\n```\ncode\n```\n", "text/markdown", DetectedBy::Content),
            ("blob", b"{\"json\": true}", "text/plain", DetectedBy::Content),
            ("blob", b"#hashtag not a heading", "text/plain", DetectedBy::Content),
            // HTML: doctype, case, BOM, comments, fragments.
            ("blob", b"\xEF\xBB\xBF  <!-- ad --><!DOCTYPE HTML><HTML>", "text/html", DetectedBy::Content),
            ("blob", b"<!doctype html>", "text/html", DetectedBy::Content),
            ("blob", b"\n<div class=\"ad\"><img src=a.png></div>", "text/html", DetectedBy::Content),
            ("blob", b"<script>var clickTag='x';</script>", "text/html", DetectedBy::Content),
            ("blob", b"<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"/>", "text/html", DetectedBy::Content),
            // SVG after declaration, doctype (with internal subset) and comments.
            ("blob", b"<?xml version=\"1.0\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\"><svg/>", "image/svg+xml", DetectedBy::Content),
            ("blob", b"<!DOCTYPE x [<!ENTITY a \"b\">]><!-- c --><svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\">", "image/svg+xml", DetectedBy::Content),
            // VAST vs other XML.
            ("blob", b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- tag --><VAST version=\"4.1\">", "application/xml", DetectedBy::Content),
            ("blob", b"<rss version=\"2.0\"><channel/></rss>", "application/xml", DetectedBy::Content),
            // Not markup at the start: extension decides.
            ("a.js", b"if (a <b) { x = \"<div>\"; }", "text/javascript", DetectedBy::Extension),
            ("a.css", b"body{margin:0}", "text/css", DetectedBy::Extension),
            ("a.MD", b"plain words", "text/markdown", DetectedBy::Extension),
            ("a.markdown", b"plain words", "text/markdown", DetectedBy::Extension),
            ("a.mjs", b"export default 1;", "text/javascript", DetectedBy::Extension),
            ("a.txt", b"# not markdown: .txt says plain", "text/plain", DetectedBy::Extension),
            ("a.html", b"Hello <b>world</b>", "text/html", DetectedBy::Extension),
            // A text extension that names no allowed type: plain text, with a warning.
            ("a.json", b"{\"a\": 1}", "text/plain", DetectedBy::Content),
            ("a.svg", b"not svg at all", "text/plain", DetectedBy::Content),
        ];
        for &(name, head, content_type, detected_by) in cases {
            let c = classify(head, name, None, None)
                .unwrap_or_else(|e| panic!("{name} {:?}: {e}", String::from_utf8_lossy(head)));
            assert_eq!(
                (c.content_type.as_str(), c.detected_by),
                (content_type, detected_by),
                "{name} {:?}",
                String::from_utf8_lossy(head)
            );
        }
        let vast = classify(b"<VAST version=\"3.0\"/>", "blob", None, None).unwrap();
        assert_eq!(vast.asset_type, Vast);
        let c = classify(b"{\"a\": 1}", "a.json", None, None).unwrap();
        assert_eq!(
            c.warnings,
            vec!["file extension .json suggests application/json but content is text/plain"]
        );
        // The declared MIME picks a text flavour when nothing else does, but never markup.
        let c = classify(b"a { b: c }\n", "upload", Some("text/css"), None).unwrap();
        assert_eq!(c.content_type, "text/css");
        let c = classify(b"words\n", "upload", Some("text/css"), None).unwrap();
        assert_eq!(
            (c.content_type.as_str(), c.detected_by),
            ("text/css", DetectedBy::Declared)
        );
        let c = classify(b"words\n", "upload", Some("image/svg+xml"), None).unwrap();
        assert_eq!(c.content_type, "text/plain");
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn text_must_really_be_text() {
        // Invalid UTF-8, NULs and control characters are not text.
        assert!(classify(b"caf\xE9 au lait", "a.txt", None, None).is_err());
        assert!(classify(b"body {}\0", "a.css", None, None).is_err());
        assert!(classify(b"<html>\x01</html>", "a.html", None, None).is_err());
        // UTF-16 is not accepted either.
        assert!(classify(b"\xFF\xFEh\0i\0", "a.txt", None, None).is_err());
        // A multi-byte character cut by the end of the head is fine.
        let mut head = "é".repeat(SNIFF_LEN / 2).into_bytes();
        head.truncate(SNIFF_LEN - 2);
        head.push(0xC3);
        assert_eq!(head.len(), SNIFF_LEN - 1);
        assert_eq!(ok(&head, "a.txt").content_type, "text/plain");
        let mut head = b"var s = \"\xE2\x82\xAC".to_vec();
        head.truncate(head.len() - 1);
        assert_eq!(ok(&head, "a.js").content_type, "text/javascript");
        // Text starting like a two-letter binary signature is still text.
        assert_eq!(ok(b"MZ Media notes", "a.txt").content_type, "text/plain");
        assert_eq!(ok(b"BMW campaign", "blob").content_type, "text/plain");
    }

    #[test]
    fn sniffers_beyond_infer() {
        // MPEG audio frames without an ID3 tag (infer only knows FF FB).
        let mp3 = head_of("audio_30s.mp3");
        let first_frame = (0..mp3.len() - 1)
            .find(|&i| mp3[i] == 0xFF && mp3[i + 1] & 0xE0 == 0xE0)
            .unwrap();
        let bare = &mp3[first_frame..];
        assert_eq!(&bare[..2], b"\xFF\xF3");
        let c = classify(bare, "a", None, None).unwrap();
        assert_eq!(
            (c.content_type.as_str(), c.detected_by),
            ("audio/mpeg", DetectedBy::Content)
        );
        // A lone frame-sync-like pair followed by junk is not MPEG audio.
        let mut fake = vec![0xFF, 0xF3, 0x18, 0xC4];
        fake.extend_from_slice(&noise(2000, 11));
        assert!(classify(&fake, "a", None, None).is_err());
        // HEIF brands infer misses.
        let heix = b"\0\0\0\x18ftypheix\0\0\0\0mif1heix\0\0\0\x08meta";
        assert_eq!(ok(heix, "a").content_type, "image/heic");
        let mif1 = b"\0\0\0\x14ftypmif1\0\0\0\0mif1\0\0\0\x08meta";
        assert_eq!(ok(mif1, "a").content_type, "image/heif");
        // Fonts and WOFF 1.
        let woff = b"wOFF\0\x01\0\0\0\0\x10\0\0\x0c\0\0";
        assert_eq!(ok(woff, "a").content_type, "font/woff");
        let otf = b"OTTO\0\x0a\0\x80\0\x03\0\x20CFF ";
        assert_eq!(ok(otf, "f.otf").content_type, "font/otf");
        assert!(ok(otf, "f.otf").warnings.is_empty());
    }

    #[test]
    fn type_fits_content_table() {
        let yes = [
            (Image, "image/png"),
            (Logo, "image/svg+xml"),
            (Logo, "image/heic"),
            (Video, "video/webm"),
            (Audio, "audio/mpeg"),
            (Html, "text/html; charset=utf-8"),
            (Javascript, "application/javascript"),
            (Css, "text/css"),
            (Vast, "application/xml"),
            (Vast, "text/xml"),
            (Font, "font/woff2"),
            (Document, "application/pdf"),
            (Document, "application/xml"),
            (Text, "text/markdown"),
            (Text, "text/plain"),
            (Text, "text/html"),
            (Url, "text/plain"),
        ];
        for (t, c) in yes {
            assert!(type_fits_content(t, c), "{t} {c}");
        }
        let no = [
            (Image, "video/mp4"),
            (Logo, "application/pdf"),
            (Video, "audio/mpeg"),
            (Audio, "video/mp4"),
            (Html, "text/plain"),
            (Javascript, "text/html"),
            (Css, "text/javascript"),
            (Vast, "text/plain"),
            (Vast, "image/svg+xml"),
            (Font, "application/pdf"),
            (Document, "image/png"),
            (Text, "application/xml"),
            (Text, "image/svg+xml"),
            (Url, "text/html"),
        ];
        for (t, c) in no {
            assert!(!type_fits_content(t, c), "{t} {c}");
        }
    }

    #[test]
    fn never_panics() {
        let names = [
            "",
            ".",
            "a.",
            ".png",
            "x.mp4",
            "logo.svg",
            "a.js",
            "a/b\\c.d.e",
            "é.ü",
        ];
        let declared = [
            None,
            Some(""),
            Some("video/mp4"),
            Some(";;;"),
            Some("text/css; x"),
        ];
        let types = [None, Some(Vast), Some(Logo)];
        let mut heads: Vec<Vec<u8>> = vec![vec![]];
        heads.extend((0..=255u8).map(|b| vec![b]));
        heads.extend((0..64).map(|i| noise(i * 37 % 300, i as u64)));
        heads.push(noise(SNIFF_LEN + 10, 99));
        for prefix in [
            "<",
            "<!",
            "<!--",
            "<?",
            "<?xml",
            "<!DOCTYPE",
            "<!DOCTYPE [",
            "<svg",
            "/*",
            "#",
            "\u{feff}",
            "{",
            "a{",
        ] {
            heads.push(prefix.as_bytes().to_vec());
        }
        let fixtures = std::fs::read_dir(FIXTURES).unwrap();
        for entry in fixtures {
            let path = entry.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let bytes = std::fs::read(path).unwrap();
            for cut in [0, 1, 2, 3, 4, 7, 8, 11, 12, 15, 16, 20, 31, 64, 100, 500] {
                heads.push(bytes[..cut.min(bytes.len())].to_vec());
            }
        }
        for head in &heads {
            for name in names {
                for d in declared {
                    for t in types {
                        let _ = classify(head, name, d, t);
                    }
                }
            }
        }
    }
}
