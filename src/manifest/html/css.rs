//! CSS reference rewriting (pure): `url(...)` and `@import` targets that name uploaded files get their CDN
//! URLs; comments, other strings and every other byte stay as written.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::byte_scan::{Needle, NextOf};
use super::refs::entity_at;
use super::report::HtmlReport;
use super::resolver::Resolver;
use super::rewriter::{Context, CssQuote, HtmlQuote, RefRewriter};

/// Rewrites the `url(...)` and `@import` references of a stylesheet at `document_path` in its bundle
/// (`css/site.css`: `url(../img/a.png)` names `img/a.png`). The report lists the rewritten and
/// unresolved references (deduplicated); the stylesheet has no clickTag or size to report.
pub fn rewrite_css(
    css: &str,
    document_path: &str,
    resolver: &dyn Resolver,
) -> (String, HtmlReport) {
    let mut report = HtmlReport::default();
    let mut refs = RefRewriter::new(
        document_path,
        resolver,
        &mut report,
        expected_refs(css.len()),
    );
    scan_css(&mut refs, css.as_bytes(), 0..css.len(), HtmlQuote::NotHtml);
    let edits = refs.edits;
    if edits.is_empty() {
        return (css.to_owned(), report);
    }
    // Replacements are whole strings spliced at ASCII delimiters, so the result stays UTF-8.
    let out = String::from_utf8(edits.apply(css.as_bytes()))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (out, report)
}

/// How many references `len` bytes of CSS may hold: a dense stylesheet has a `url()` per few hundred
/// bytes.
pub(crate) fn expected_refs(len: usize) -> usize {
    len / 256
}

/// Rewrites the references of the CSS at `range` of `input`. `html` tells whether that CSS is the
/// value of an HTML attribute (`style="..."`), where quotes may be written as `&quot;`. Returns true when
/// an unquoted attribute value now needs quotes.
pub(crate) fn scan_css<'i>(
    refs: &mut RefRewriter<'_, 'i>,
    input: &'i [u8],
    range: Range<usize>,
    html: HtmlQuote,
) -> bool {
    let scanner = Scanner {
        input,
        end: range.end.min(input.len()),
        html,
    };
    let mut needs_quotes = false;
    let mut pos = range.start;
    let others = if html == HtmlQuote::NotHtml {
        &CAPITAL_L_AND_AT
    } else {
        &CAPITAL_L_AT_AND_AMPERSAND
    };
    let mut tokens = NextOf::new(
        input,
        range.start,
        scanner.end,
        [&QUOTES_AND_SLASH, &URL_END, others],
    );
    while pos < scanner.end {
        // Most of a stylesheet is declarations: jump to the next byte that can start what we look for.
        pos = tokens.next_from(pos);
        let Some(&b) = input.get(pos).filter(|_| pos < scanner.end) else {
            break;
        };
        pos = if b == b'/' && input.get(pos + 1) == Some(&b'*') {
            scanner.skip_comment(pos + 2)
        } else if let Some((quote, len)) = scanner.quote_at(pos) {
            scanner.skip_string(pos + len, quote).end
        } else if matches!(b, b'l' | b'L')
            && pos >= range.start + 2
            && scanner.starts_function(pos - 2, b"url(")
        {
            let (url, next) = scanner.url_argument(pos + 2);
            if let Some((span, css)) = url {
                needs_quotes |= refs.reference(input, span, Context::css(html, css));
            }
            next
        } else if b == b'@' && scanner.starts_word(pos + 1, b"import") {
            let (url, next) = scanner.import_string(pos + 7);
            if let Some(span) = url {
                needs_quotes |= refs.reference(input, span, Context::css(html, CssQuote::Quoted));
            }
            next
        } else {
            pos + 1
        };
    }
    needs_quotes
}

/// What can start a string or a comment.
static QUOTES_AND_SLASH: Needle = Needle::Byte(*b"\"'/");
/// The end of `url(` as it is nearly always written. (`(` alone is everywhere in animation CSS:
/// `translate(`.)
static URL_END: LazyLock<Needle> = LazyLock::new(|| {
    static FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"l("));
    Needle::Seq(&FINDER)
});
/// The `L` of `URL(` (capitals are rare in CSS), what can start `@import`, and in an HTML attribute the
/// `&` of `&quot;`, which starts a string too.
static CAPITAL_L_AND_AT: Needle = Needle::Byte(*b"L@@");
static CAPITAL_L_AT_AND_AMPERSAND: Needle = Needle::Byte(*b"L@&");

/// Bytes that can end a string or escape what follows.
const STRING_STOPS: [bool; 256] = byte_set(b"\\\n\"'&");

const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        set[bytes[i] as usize] = true;
        i += 1;
    }
    set
}

/// A string's content and where scanning resumes after its closing quote.
struct Str {
    content: Range<usize>,
    end: usize,
}

struct Scanner<'i> {
    input: &'i [u8],
    end: usize,
    html: HtmlQuote,
}

impl Scanner<'_> {
    /// The position after the comment that started before `pos` (the end of input when unclosed).
    fn skip_comment(&self, pos: usize) -> usize {
        self.input[pos.min(self.end)..self.end]
            .windows(2)
            .position(|w| w == b"*/")
            .map_or(self.end, |i| pos + i + 2)
    }

    /// A quote at `pos`: the quote character and how many bytes spell it (`"` or, in an attribute, `&quot;`).
    fn quote_at(&self, pos: usize) -> Option<(char, usize)> {
        match self.input.get(pos)? {
            b'"' => Some(('"', 1)),
            b'\'' => Some(('\'', 1)),
            b'&' if self.html != HtmlQuote::NotHtml => {
                let rest = self.input.get(pos..self.end)?;
                let rest = std::str::from_utf8(&rest[..rest.len().min(8)]).ok()?;
                entity_at(rest).filter(|(c, _)| matches!(c, '"' | '\''))
            }
            _ => None,
        }
    }

    /// Skips a string whose content starts at `pos`, up to the same `quote` (escapes honoured; an
    /// unescaped newline ends a CSS string, as in browsers).
    fn skip_string(&self, mut pos: usize, quote: char) -> Str {
        let start = pos;
        while pos < self.end {
            pos += self.input[pos..self.end]
                .iter()
                .position(|&b| STRING_STOPS[usize::from(b)])
                .unwrap_or(self.end - pos);
            let Some(&b) = self.input.get(pos).filter(|_| pos < self.end) else {
                break;
            };
            match b {
                b'\\' => pos += 2,
                b'\n' => {
                    return Str {
                        content: start..pos,
                        end: pos,
                    }
                }
                _ => match self.quote_at(pos) {
                    Some((q, len)) if q == quote => {
                        return Str {
                            content: start..pos,
                            end: pos + len,
                        };
                    }
                    _ => pos += 1,
                },
            }
        }
        let end = pos.min(self.end);
        Str {
            content: start..end,
            end,
        }
    }

    /// `name` (lower-case ASCII, e.g. `url(`) starts at `pos`, case-insensitively, and is not the tail of
    /// a longer identifier.
    fn starts_function(&self, pos: usize, name: &[u8]) -> bool {
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80;
        let after_ident = pos > 0 && is_ident(self.input[pos - 1]);
        !after_ident && self.matches_at(pos, name)
    }

    /// The at-keyword `name` starts at `pos` and ends there (`@import`, not `@imports`).
    fn starts_word(&self, pos: usize, name: &[u8]) -> bool {
        let next = self.input.get(pos + name.len()).copied();
        let ends = !next.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ends && self.matches_at(pos, name)
    }

    fn matches_at(&self, pos: usize, name: &[u8]) -> bool {
        self.input
            .get(pos..pos + name.len())
            .is_some_and(|s| pos + name.len() <= self.end && s.eq_ignore_ascii_case(name))
    }

    fn skip_space(&self, mut pos: usize) -> usize {
        while pos < self.end && self.input[pos].is_ascii_whitespace() {
            pos += 1;
        }
        pos
    }

    /// The URL inside `url(` (whose argument starts at `pos`): its span and quoting, and where scanning
    /// resumes.
    fn url_argument(&self, pos: usize) -> (Option<(Range<usize>, CssQuote)>, usize) {
        let pos = self.skip_space(pos);
        if let Some((quote, len)) = self.quote_at(pos) {
            let string = self.skip_string(pos + len, quote);
            return (Some((string.content, CssQuote::Quoted)), string.end);
        }
        // An unquoted URL ends at `)`; whitespace may only precede that `)`, and quotes or `(` make
        // it a bad URL, which browsers ignore.
        let mut end = pos;
        while end < self.end {
            match self.input[end] {
                b'\\' => end += 2,
                b')' | b'"' | b'\'' | b'(' => break,
                b if b.is_ascii_whitespace() => break,
                _ => end += 1,
            }
        }
        let end = end.min(self.end);
        let close = self.skip_space(end);
        if close >= self.end {
            // Unclosed at the end of the input: browsers still take the URL.
            (Some((pos..end, CssQuote::Unquoted)), self.end)
        } else if self.input[close] == b')' {
            (Some((pos..end, CssQuote::Unquoted)), close + 1)
        } else {
            (None, end.max(pos + 1))
        }
    }

    /// The string target of `@import "x"` (whose prelude starts at `pos`); `@import url(x)` is left to the
    /// `url(` rule.
    fn import_string(&self, mut pos: usize) -> (Option<Range<usize>>, usize) {
        loop {
            pos = self.skip_space(pos);
            if self.input.get(pos..pos + 2) == Some(b"/*") {
                pos = self.skip_comment(pos + 2);
                continue;
            }
            break;
        }
        match self.quote_at(pos) {
            Some((quote, len)) => {
                let string = self.skip_string(pos + len, quote);
                (Some(string.content), string.end)
            }
            None => (None, pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::html::report::RewrittenRef;

    fn resolver(path: &str) -> Option<String> {
        matches!(
            path,
            "img/a.png" | "img/b.png" | "fonts/f.woff2" | "css/base.css" | "a b.png"
        )
        .then(|| format!("https://cdn.example/{}", path.replace(' ', "_")))
    }

    fn rewrite(css: &str, document_path: &str) -> (String, HtmlReport) {
        rewrite_css(css, document_path, &resolver)
    }

    #[test]
    fn every_url_form_is_rewritten() {
        let css = "a{background:url(img/a.png)}b{background:URL( 'img/a.png' )}\
                   c{background:url(\"img/b.png\")}d{background:url(  img/b.png  )}";
        let (out, _) = rewrite(css, "index.html");
        assert_eq!(
            out,
            "a{background:url(https://cdn.example/img/a.png)}\
             b{background:URL( 'https://cdn.example/img/a.png' )}\
             c{background:url(\"https://cdn.example/img/b.png\")}\
             d{background:url(  https://cdn.example/img/b.png  )}"
        );
    }

    #[test]
    fn imports_are_rewritten_in_both_forms() {
        let css =
            "@import \"base.css\";\n@import url(base.css) screen;\n@IMPORT /* c */ 'base.css';";
        let (out, _) = rewrite(css, "css/site.css");
        assert_eq!(
            out,
            "@import \"https://cdn.example/css/base.css\";\n\
             @import url(https://cdn.example/css/base.css) screen;\n\
             @IMPORT /* c */ 'https://cdn.example/css/base.css';"
        );
    }

    #[test]
    fn references_resolve_from_the_stylesheet_folder() {
        let (out, report) = rewrite(
            "@font-face{src:url(../fonts/f.woff2?v=3#iefix) format('woff2')}",
            "css/site.css",
        );
        assert_eq!(
            out,
            "@font-face{src:url(https://cdn.example/fonts/f.woff2?v=3#iefix) format('woff2')}"
        );
        assert_eq!(
            report.rewritten_refs(),
            [RewrittenRef {
                original: "../fonts/f.woff2?v=3#iefix",
                cdn_url: "https://cdn.example/fonts/f.woff2?v=3#iefix"
            }]
        );
    }

    #[test]
    fn comments_and_other_strings_are_untouched() {
        let css = "/* url(img/a.png) @import 'img/a.png'; */ a::after{content:\"url(img/a.png)\"}\
                   b{content:'@import \"img/a.png\"'} /* unclosed url(img/a.png)";
        let (out, report) = rewrite(css, "index.html");
        assert_eq!(out, css);
        assert_eq!(report, HtmlReport::default());
    }

    #[test]
    fn external_and_data_urls_are_untouched() {
        let css = "a{background:url(https://x.example/a.png)}b{background:url(data:image/png;base64,iVBO)}\
                   c{background:url(//x.example/b.png)}d{filter:url(#f)}e{background:url()}";
        let (out, report) = rewrite(css, "index.html");
        assert_eq!(out, css);
        assert_eq!(report, HtmlReport::default());
    }

    #[test]
    fn unresolved_references_are_reported_once_and_left_alone() {
        let css = "a{background:url(missing.png)}b{background:url('missing.png')}c{background:url(../../up.png)}";
        let (out, report) = rewrite(css, "index.html");
        assert_eq!(out, css);
        assert_eq!(report.unresolved_refs(), ["missing.png", "../../up.png"]);
    }

    #[test]
    fn escapes_in_urls_are_decoded_before_resolving() {
        let (out, _) = rewrite("a{background:url(a\\ b.png)}", "index.html");
        assert_eq!(out, "a{background:url(https://cdn.example/a_b.png)}");
    }

    #[test]
    fn function_and_rule_names_match_in_any_case() {
        let css = "a{background:uRl(img/a.png)}b{background:URL(img/b.png)}@Import 'img/a.png';\
                   c{src:local(x),url(fonts/f.woff2)}d{x:l(img/a.png)}";
        let (out, _) = rewrite(css, "index.html");
        assert_eq!(
            out,
            "a{background:uRl(https://cdn.example/img/a.png)}b{background:URL(https://cdn.example/img/b.png)}\
             @Import 'https://cdn.example/img/a.png';c{src:local(x),url(https://cdn.example/fonts/f.woff2)}d{x:l(img/a.png)}"
        );
    }

    #[test]
    fn only_whole_url_functions_count() {
        let css = "a{background:myurl(img/a.png);x:--url(img/a.png)}@imports 'img/a.png';";
        assert_eq!(rewrite(css, "index.html").0, css);
    }

    #[test]
    fn non_ascii_text_around_references_is_kept() {
        let css = "/* é */ a{content:'ü';background:url(img/a.png)} /* 日本 */";
        let (out, _) = rewrite(css, "index.html");
        assert_eq!(
            out,
            css.replace("img/a.png", "https://cdn.example/img/a.png")
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for css in [
            "url(",
            "url('",
            "url(\"a",
            "@import",
            "@import '",
            "/*",
            "'\\",
            "url(\\",
            "\u{0}url(a\\",
        ] {
            let _ = rewrite(css, "index.html");
        }
    }

    #[test]
    fn entity_quotes_in_style_attributes_delimit_urls() {
        let input = b"background:url(&quot;img/a.png&quot;);x:url(&#39;img/b.png&#39;)";
        let resolver = |p: &str| resolver(p);
        let mut report = HtmlReport::default();
        let mut refs = RefRewriter::new("index.html", &resolver, &mut report, 4);
        scan_css(&mut refs, input, 0..input.len(), HtmlQuote::Double);
        let out = std::mem::take(&mut refs.edits).apply(input);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "background:url(&quot;https://cdn.example/img/a.png&quot;);x:url(&#39;https://cdn.example/img/b.png&#39;)"
        );
    }
}
