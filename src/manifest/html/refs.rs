//! What a reference in a creative document means: resolving it against the document's folder the way
//! a browser would (relative paths, dot segments, percent-escapes, query and fragment), and decoding the
//! HTML and CSS escapes it may be written with. Pure functions; [`super::rewriter`] uses
//! them to rewrite documents.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// What a reference found in a document points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// Not a bundle file: a URL with a scheme (`https:`, `data:`, `blob:`, `javascript:`, ...), a
    /// protocol-relative `//host/...`, a `#fragment` alone, or nothing at all.
    External,
    /// A bundle file. `path` is normalised (no `.`/`..` segments, percent-decoded, `/`-separated, no
    /// leading `/`); `suffix` is the reference's own query and fragment (`?v=2#x`), to append to its URL.
    Local { path: String, suffix: String },
    /// A relative path that climbs above the bundle root (`../x` from `index.html`): it names no
    /// bundle file, and the caller reports it as unresolved.
    OutsideBundle,
}

/// Resolves `reference`, as written in the document at `document_path` (once its HTML/CSS escapes are
/// decoded), against that document's folder.
///
/// A root-relative reference (`/img/a.png`) resolves from the bundle root: a bundle is authored as a site
/// of its own, and the CDN does not serve it from a host root. A reference with no path (`?v=2`) names the
/// document itself.
pub fn resolve_reference(document_path: &str, reference: &str) -> Reference {
    let cleaned = strip_url_whitespace(reference);
    match resolve(document_path, &cleaned) {
        Resolved::External => Reference::External,
        Resolved::OutsideBundle => Reference::OutsideBundle,
        Resolved::Local { path, suffix } => Reference::Local {
            path: path.into_owned(),
            suffix: suffix.to_owned(),
        },
    }
}

/// [`Reference`], borrowing where it can: a rewrite resolves every distinct reference of a page.
pub(crate) enum Resolved<'r> {
    External,
    Local { path: Cow<'r, str>, suffix: &'r str },
    OutsideBundle,
}

/// Resolves a reference already stripped of URL whitespace.
pub(crate) fn resolve<'r>(document_path: &'r str, cleaned: &'r str) -> Resolved<'r> {
    if is_external(cleaned) {
        return Resolved::External;
    }
    let split = cleaned
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(cleaned.len());
    let (path_part, suffix) = cleaned.split_at(split);
    let path = if path_part.is_empty() {
        Some(Cow::Borrowed(document_path))
    } else {
        normalise_path(document_folder(document_path), path_part)
    };
    match path {
        Some(path) => Resolved::Local { path, suffix },
        None => Resolved::OutsideBundle,
    }
}

/// The common case in one pass: a relative path of plain segments (no scheme, escapes, whitespace,
/// dot or empty segments past leading `./` and `../`), then maybe a query or fragment. None sends the reference to [`resolve`].
///
/// Returns the folder the path is in (`""` at the root), the path within it, and the suffix, so that
/// the caller joins them only where it needs to.
pub(crate) fn resolve_plain<'f, 'r>(
    folder: &'f str,
    reference: &'r str,
) -> Option<(&'f str, &'r str, &'r str)> {
    // Leading `./` and `../` segments (stylesheets in a folder name `../img/a.png`), resolved as
    // `normalise_path` does; climbing above the root is left to it.
    let (mut folder, mut reference) = (folder, reference);
    loop {
        if let Some(rest) = reference.strip_prefix("./") {
            reference = rest;
        } else if let Some(rest) = reference.strip_prefix("../") {
            if folder.is_empty() {
                return None;
            }
            folder = &folder[..folder.rfind('/').unwrap_or(0)];
            reference = rest;
        } else {
            break;
        }
    }
    let bytes = reference.as_bytes();
    // As if after a slash: a leading `.` or `/` is not plain.
    let mut prev = b'/';
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        // Most bytes are plain: one table load and a well-predicted branch each.
        match PLAIN_CLASS[usize::from(b)] {
            PLAIN => {}
            SUFFIX => {
                end = i;
                break;
            }
            SEGMENT_START if prev != b'/' => {}
            _ => return None,
        }
        prev = b;
    }
    if end == 0 || prev == b'/' {
        return None;
    }
    let (path, suffix) = reference.split_at(end);
    Some((folder, path, suffix))
}

/// How [`resolve_plain`] treats each byte of a path.
const PLAIN_CLASS: [u8; 256] = plain_classes();
const PLAIN: u8 = 0;
/// `?` or `#`: the path ends, the suffix starts.
const SUFFIX: u8 = 1;
/// `.` or `/`: plain, but not at the start of a segment (dot and empty segments need [`resolve`]).
const SEGMENT_START: u8 = 2;
/// Whitespace and controls, `:` (a scheme), `%` and `\\` (need decoding or normalising).
const NOT_PLAIN: u8 = 3;

const fn plain_classes() -> [u8; 256] {
    let mut table = [PLAIN; 256];
    let mut b = 0;
    while b <= 0x20 {
        table[b] = NOT_PLAIN;
        b += 1;
    }
    table[b':' as usize] = NOT_PLAIN;
    table[b'%' as usize] = NOT_PLAIN;
    table[b'\\' as usize] = NOT_PLAIN;
    table[b'?' as usize] = SUFFIX;
    table[b'#' as usize] = SUFFIX;
    table[b'.' as usize] = SEGMENT_START;
    table[b'/' as usize] = SEGMENT_START;
    table
}

/// Browsers drop leading and trailing C0 controls and spaces, and tabs and newlines anywhere.
pub(crate) fn strip_url_whitespace(reference: &str) -> Cow<'_, str> {
    // Byte-wise: every byte of a non-ASCII character is above ' ', so the cuts fall between characters.
    let bytes = reference.as_bytes();
    let start = bytes.iter().position(|&b| b > b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b > b' ')
        .map_or(start, |i| i + 1);
    let trimmed = &reference[start..end];
    if trimmed.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
        Cow::Owned(trimmed.replace(['\t', '\n', '\r'], ""))
    } else {
        Cow::Borrowed(trimmed)
    }
}

fn is_external(reference: &str) -> bool {
    let bytes = reference.as_bytes();
    let protocol_relative =
        bytes.len() >= 2 && matches!(bytes[0], b'/' | b'\\') && matches!(bytes[1], b'/' | b'\\');
    bytes.is_empty() || bytes[0] == b'#' || protocol_relative || has_scheme(bytes)
}

/// `scheme:` as the URL standard spells it: a letter, then letters, digits, `+`, `-`, `.`.
fn has_scheme(bytes: &[u8]) -> bool {
    let is_scheme_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.');
    let scheme_len = bytes.iter().take_while(|b| is_scheme_char(b)).count();
    scheme_len > 0 && bytes[0].is_ascii_alphabetic() && bytes.get(scheme_len) == Some(&b':')
}

/// The folder of a (normalised) document path: `"sub/page.html"` → `"sub"`, `"index.html"` → `""`.
pub(crate) fn document_folder(document_path: &str) -> &str {
    document_path.rfind('/').map_or("", |i| &document_path[..i])
}

/// Joins a relative path to `folder` and resolves `.`/`..` segments. Percent-escapes are decoded per
/// segment so that `%2e%2e` counts as `..`, as in browsers. `None` when the path climbs above the root.
fn normalise_path<'r>(folder: &str, path: &'r str) -> Option<Cow<'r, str>> {
    let rooted = path.starts_with(['/', '\\']);
    let plain = |p: &str| {
        let bytes = p.as_bytes();
        !bytes.iter().any(|&b| b == b'%' || b == b'\\')
            && bytes
                .split(|&b| b == b'/')
                .all(|s| !matches!(s, b"" | b"." | b".."))
    };
    if !rooted && folder.is_empty() && plain(path) {
        return Some(Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(folder.len() + path.len() + 1);
    if !rooted {
        out.push_str(folder);
    }
    let mut ends_in_folder = false;
    for raw in path.trim_start_matches(['/', '\\']).split(['/', '\\']) {
        let segment = percent_decode_str(raw).decode_utf8_lossy();
        ends_in_folder = matches!(&*segment, "" | "." | "..");
        match &*segment {
            "." => {}
            ".." => {
                if out.is_empty() {
                    return None;
                }
                let parent = out.rfind('/').unwrap_or(0);
                out.truncate(parent);
            }
            _ => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(&segment);
            }
        }
    }
    // A folder is no file, but keeping its trailing slash keeps it from naming one by accident.
    if ends_in_folder && !out.ends_with('/') {
        out.push('/');
    }
    Some(Cow::Owned(out))
}

/// Decodes the character references an attribute value may hold: `&amp; &lt; &gt; &quot; &apos;`
/// and numeric ones. Other named references are kept as written (they do not occur in URLs).
pub(crate) fn decode_html_entities(text: &str) -> Cow<'_, str> {
    let has_entity = text
        .match_indices('&')
        .any(|(i, _)| entity_at(&text[i..]).is_some());
    if !has_entity {
        // A bare `&` (`?a=1&b=2`) is common and decodes to itself.
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match entity_at(rest) {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character a reference at the start of `text` (which starts with `&`) stands for, and its length.
pub(crate) fn entity_at(text: &str) -> Option<(char, usize)> {
    let end = text.get(1..)?.find(';')? + 1;
    let body = &text[1..end];
    let ch = match body {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let number = body.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((ch, end + 1))
}

/// Decodes CSS escapes (`\29`, `\ `): rare in URLs, but they change which file is meant.
pub(crate) fn decode_css_escapes(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut code = String::new();
        while code.len() < 6 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
            code.extend(chars.next());
        }
        if code.is_empty() {
            // `\` + newline is a line continuation; `\` + anything else is that character.
            match chars.next() {
                Some('\n') | None => {}
                Some(other) => out.push(other),
            }
            continue;
        }
        if chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let decoded = u32::from_str_radix(&code, 16).ok().and_then(char::from_u32);
        out.push(decoded.unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(path: &str, suffix: &str) -> Reference {
        Reference::Local {
            path: path.into(),
            suffix: suffix.into(),
        }
    }

    #[test]
    fn the_plain_path_agrees_with_the_general_one() {
        let documents = [
            "index.html",
            "sub/page.html",
            "a/b/c.html",
            "x//y.html",
            "/r.html",
        ];
        let references = [
            "img/a.png",
            "./img/a.png",
            "../img/a.png",
            "../../img/a.png",
            "../../../img/a.png",
            "./../x/y.png?v=1#f",
            ".././x.png",
            "../",
            "./",
            "..",
            "../?v=2",
            "../#f",
            ".../a.png",
            "..//a.png",
            "../.hidden/a.png",
            "../a/./b.png",
            "../a%20b.png",
            "../a:b.png",
        ];
        for document in documents {
            let folder = document_folder(document);
            for reference in references {
                let Some((folder, path, suffix)) = resolve_plain(folder, reference) else {
                    continue;
                };
                let path = if folder.is_empty() {
                    path.to_owned()
                } else {
                    format!("{folder}/{path}")
                };
                match resolve(document, reference) {
                    Resolved::Local {
                        path: general,
                        suffix: general_suffix,
                    } => assert_eq!((&*path, suffix), (&*general, general_suffix)),
                    _ => panic!("{document} {reference}: plain resolves, general does not"),
                }
            }
        }
    }

    #[test]
    fn relative_references_resolve_from_the_document_folder() {
        assert_eq!(
            resolve_reference("index.html", "img/a.png"),
            local("img/a.png", "")
        );
        assert_eq!(
            resolve_reference("index.html", "./img/a.png"),
            local("img/a.png", "")
        );
        assert_eq!(
            resolve_reference("sub/page.html", "a.png"),
            local("sub/a.png", "")
        );
        assert_eq!(
            resolve_reference("sub/page.html", "../img/a.png"),
            local("img/a.png", "")
        );
        assert_eq!(
            resolve_reference("a/b/c.html", "./../x/./y/../z.png"),
            local("a/x/z.png", "")
        );
        assert_eq!(
            resolve_reference("css/site.css", "../img/a.png"),
            local("img/a.png", "")
        );
    }

    #[test]
    fn root_relative_references_resolve_from_the_bundle_root() {
        assert_eq!(
            resolve_reference("sub/page.html", "/img/a.png"),
            local("img/a.png", "")
        );
    }

    #[test]
    fn percent_escapes_are_decoded_and_dot_segments_with_them() {
        assert_eq!(
            resolve_reference("index.html", "img/my%20logo%C3%A9.png"),
            local("img/my logoé.png", "")
        );
        assert_eq!(
            resolve_reference("sub/x.html", "%2e%2E/a.png"),
            local("a.png", "")
        );
        assert_eq!(
            resolve_reference("index.html", "100%.png"),
            local("100%.png", "")
        );
    }

    #[test]
    fn query_and_fragment_are_kept_as_the_suffix() {
        assert_eq!(
            resolve_reference("index.html", "img/a.png?v=2&x=%20#frag"),
            local("img/a.png", "?v=2&x=%20#frag")
        );
        assert_eq!(
            resolve_reference("index.html", "sprite.svg#icon"),
            local("sprite.svg", "#icon")
        );
        assert_eq!(
            resolve_reference("sub/p.html", "?v=1"),
            local("sub/p.html", "?v=1")
        );
    }

    #[test]
    fn climbing_above_the_bundle_root_is_outside_the_bundle() {
        assert_eq!(
            resolve_reference("index.html", "../x.png"),
            Reference::OutsideBundle
        );
        assert_eq!(
            resolve_reference("sub/p.html", "../../x.png"),
            Reference::OutsideBundle
        );
        assert_eq!(
            resolve_reference("index.html", "a/../../x.png"),
            Reference::OutsideBundle
        );
    }

    #[test]
    fn urls_with_schemes_anchors_and_empties_are_external() {
        for reference in [
            "https://cdn.example/a.png",
            "HTTP://x/y",
            "//cdn.example/a.png",
            "\\\\cdn.example/a.png",
            "data:image/png;base64,AAAA",
            "blob:https://x/1",
            "about:blank",
            "javascript:void(0)",
            "mailto:a@b.c",
            "tel:+1",
            "#top",
            "",
            "   ",
        ] {
            assert_eq!(
                resolve_reference("index.html", reference),
                Reference::External,
                "{reference}"
            );
        }
    }

    #[test]
    fn whitespace_around_and_newlines_inside_are_ignored() {
        assert_eq!(
            resolve_reference("index.html", "  img/\na.png \n"),
            local("img/a.png", "")
        );
    }

    #[test]
    fn folder_references_keep_their_trailing_slash() {
        assert_eq!(resolve_reference("index.html", "img/"), local("img/", ""));
        assert_eq!(resolve_reference("index.html", "img/."), local("img/", ""));
        assert_eq!(
            resolve_reference("index.html", "a//b.png"),
            local("a//b.png", "")
        );
    }

    #[test]
    fn html_entities_decode() {
        assert_eq!(decode_html_entities("a.png?x=1&amp;y=2"), "a.png?x=1&y=2");
        assert_eq!(
            decode_html_entities("&quot;&#39;&#x41;&lt;&gt;&apos;"),
            "\"'A<>'"
        );
        assert_eq!(
            decode_html_entities("&copy; &#xZZ; & &"),
            "&copy; &#xZZ; & &"
        );
        assert_eq!(decode_html_entities("&#1114112;&#"), "&#1114112;&#");
    }

    #[test]
    fn css_escapes_decode() {
        assert_eq!(decode_css_escapes(r"a\ b\28 1\29.png"), "a b(1).png");
        assert_eq!(decode_css_escapes(r"\41 x\"), "Ax");
        assert_eq!(decode_css_escapes(r"\110000 "), "\u{fffd}");
    }
}
