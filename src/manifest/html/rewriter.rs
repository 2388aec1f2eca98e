//! Rewriting references in place: escaping a CDN URL for where it goes (HTML attribute, CSS, srcset),
//! splicing replacements into the original bytes, and the per-document table that resolves and reports
//! each distinct reference once.
//!
//! Rewrites never reserialise a document: each replacement is an [`Edits`] entry over a byte range of the
//! input, and everything between entries is copied through untouched.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use super::refs::{
    decode_css_escapes, decode_html_entities, document_folder, resolve, resolve_plain,
    strip_url_whitespace, Resolved,
};
use super::report::HtmlReport;
use super::resolver::Resolver;

/// How the text around a reference is quoted in HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HtmlQuote {
    /// Not inside an HTML attribute (a CSS file, a `<style>` block).
    NotHtml,
    Double,
    Single,
    Unquoted,
}

/// Where in CSS a reference sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CssQuote {
    NotCss,
    /// `url(x)`: parentheses and quotes would end it.
    Unquoted,
    /// `url("x")`, `@import 'x'`.
    Quoted,
}

/// Everything the escaping of a replacement URL depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Context {
    pub html: HtmlQuote,
    pub css: CssQuote,
    /// A srcset candidate, where commas separate candidates.
    pub srcset: bool,
}

impl Context {
    pub(crate) const fn attribute(html: HtmlQuote) -> Context {
        Context {
            html,
            css: CssQuote::NotCss,
            srcset: false,
        }
    }

    pub(crate) const fn css(html: HtmlQuote, css: CssQuote) -> Context {
        Context {
            html,
            css,
            srcset: false,
        }
    }

    /// Decodes the escapes of the reference's raw text (HTML first, as the browser does: the CSS of a
    /// `style` attribute is what the attribute value decodes to).
    fn decode<'t>(&self, raw: &'t str) -> Cow<'t, str> {
        let html = match self.html {
            HtmlQuote::NotHtml => Cow::Borrowed(raw),
            _ => decode_html_entities(raw),
        };
        if self.css == CssQuote::NotCss {
            return html;
        }
        match decode_css_escapes(&html) {
            Cow::Borrowed(_) => html,
            Cow::Owned(decoded) => Cow::Owned(decoded),
        }
    }

    /// Which [`ESCAPES`] bits apply here.
    fn escape_mask(&self) -> u8 {
        let mut mask = ESCAPE_ALWAYS;
        if self.html != HtmlQuote::NotHtml {
            mask |= ESCAPE_IN_HTML;
        }
        if self.css == CssQuote::Unquoted {
            mask |= ESCAPE_IN_CSS_URL;
        }
        if self.srcset {
            mask |= ESCAPE_IN_SRCSET;
        }
        mask
    }

    /// Appends `url` to `out`, escaped so that it stays one URL in this context. Characters that break a
    /// context are percent-encoded (browsers would encode them in a URL anyway); `&` becomes `&amp;` in HTML.
    fn push_escaped(&self, out: &mut String, url: &str) {
        let mask = self.escape_mask();
        if url.bytes().all(|b| ESCAPES[usize::from(b)] & mask == 0) {
            out.push_str(url);
            return;
        }
        for ch in url.chars() {
            match u8::try_from(ch) {
                Ok(b'&') if mask & ESCAPE_IN_HTML != 0 => out.push_str("&amp;"),
                Ok(b) if b.is_ascii() && ESCAPES[usize::from(b)] & mask != 0 => {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                }
                _ => out.push(ch),
            }
        }
    }
}

/// Characters a replacement URL may not carry as they are, by the contexts they break (bits below).
const ESCAPES: [u8; 256] = escapes();
/// Ends or splits a URL anywhere: whitespace and controls, quotes, `<>`, backtick, backslash.
const ESCAPE_ALWAYS: u8 = 1;
/// `&` starts a character reference in HTML.
const ESCAPE_IN_HTML: u8 = 2;
/// Parentheses end an unquoted CSS `url(...)`.
const ESCAPE_IN_CSS_URL: u8 = 4;
/// A comma can end a srcset candidate.
const ESCAPE_IN_SRCSET: u8 = 8;

const fn escapes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b <= 0x20 {
        table[b] = ESCAPE_ALWAYS;
        b += 1;
    }
    table[0x7f] = ESCAPE_ALWAYS;
    let always = b"\"'<>`\\";
    let mut i = 0;
    while i < always.len() {
        table[always[i] as usize] = ESCAPE_ALWAYS;
        i += 1;
    }
    table[b'&' as usize] = ESCAPE_IN_HTML;
    table[b'(' as usize] = ESCAPE_IN_CSS_URL;
    table[b')' as usize] = ESCAPE_IN_CSS_URL;
    table[b',' as usize] = ESCAPE_IN_SRCSET;
    table
}

/// `url` needs no escaping in any context. A table lookup per byte, without branches: this runs over
/// every CDN URL a page gets, and those are long (a folder and a content hash).
fn is_verbatim(url: &str) -> bool {
    url.bytes()
        .fold(0u8, |any, b| any | ESCAPES[usize::from(b)])
        == 0
}

/// `text` cannot stand in an unquoted attribute value.
fn needs_quotes(text: &str) -> bool {
    text.bytes().fold(0u8, |any, b| {
        any | u8::from(b <= b' ') | u8::from(matches!(b, b'=' | b'"' | b'\'' | b'<' | b'>' | b'`'))
    }) != 0
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Replacements over byte ranges of one input, applied in one pass. Replacement texts share one buffer,
/// so a reference used many times costs one string.
#[derive(Debug, Default)]
pub(crate) struct Edits {
    list: Vec<(Range<usize>, Range<usize>)>,
    text: String,
}

impl Edits {
    /// Room for about `edits` replacements, so that a page's first ones do not reallocate.
    fn with_capacity(edits: usize) -> Edits {
        Edits {
            list: Vec::with_capacity(edits),
            // CDN URLs are long: a content hash and the creative's folder.
            text: String::with_capacity(edits * 64),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Replaces `at` (a byte range of the input) by `text`.
    pub(crate) fn replace(&mut self, at: Range<usize>, text: &str) {
        let start = self.text.len();
        self.text.push_str(text);
        self.list.push((at, start..self.text.len()));
    }

    /// Replaces `at` by text already in the buffer (from [`Edits::buffered`]).
    fn reuse(&mut self, at: Range<usize>, text: Range<usize>) {
        self.list.push((at, text));
    }

    /// Writes a replacement text into the buffer with `write`; returns its range there.
    fn buffered(&mut self, write: impl FnOnce(&mut String)) -> Range<usize> {
        let start = self.text.len();
        write(&mut self.text);
        start..self.text.len()
    }

    /// The input with every replacement made. Out-of-range or overlapping replacements (none are made
    /// by this module, but a garbled input must not panic) are dropped.
    pub(crate) fn apply(mut self, input: &[u8]) -> Vec<u8> {
        // Edits mostly arrive in document order; only handlers of one element may interleave.
        if !self.list.is_sorted_by_key(|(at, _)| (at.start, at.end)) {
            self.list.sort_by_key(|(at, _)| (at.start, at.end));
        }
        // Sized exactly: replacements of a repeated reference share one text range, so the edit
        // buffer's length is no bound, and growing the output means copying it again.
        let size = self.list.iter().fold(input.len(), |n, (at, text)| {
            (n + text.len()).saturating_sub(at.len())
        });
        let mut out = Vec::with_capacity(size);
        let mut copied = 0;
        for (at, text) in &self.list {
            let (Some(before), Some(replacement)) = (
                input.get(copied..at.start),
                self.text.as_bytes().get(text.clone()),
            ) else {
                continue;
            };
            if at.end < at.start || at.end > input.len() {
                continue;
            }
            out.extend_from_slice(before);
            out.extend_from_slice(replacement);
            copied = at.end;
        }
        out.extend_from_slice(input.get(copied..).unwrap_or_default());
        out
    }
}

/// What a distinct reference (as the document means it) resolved to; cached, since ad pages repeat
/// references.
#[derive(Debug, Clone)]
enum Resolution {
    Keep,
    Url {
        /// The CDN URL then the reference's suffix, unescaped, in the edit buffer.
        text: Range<usize>,
        /// Where the URL ends within `text`.
        url_len: usize,
        /// `text` can go into any context as it is: the URL needs no escaping and the suffix is as
        /// written.
        verbatim: bool,
    },
}

/// Every distinct reference of a document and what it resolved to, keyed by its decoded text (which is
/// the text as written, borrowed from the input, when it holds no escapes: most references). The hash
/// is seeded per process, so no document can be made to collide.
type Known<'i> = HashMap<Cow<'i, [u8]>, Resolution, foldhash::fast::RandomState>;

/// Resolves references of one input and records their replacements and the report.
pub(crate) struct RefRewriter<'a, 'i> {
    document_path: &'a str,
    /// The document's folder, which relative references start from.
    folder: &'a str,
    resolver: &'a dyn Resolver,
    pub(crate) report: &'a mut HtmlReport,
    pub(crate) edits: Edits,
    /// Every distinct reference seen, which also keeps the report free of duplicates.
    known_refs: Known<'i>,
    /// Where a reference's folder and path are joined before resolving.
    joined: String,
}

impl<'a, 'i> RefRewriter<'a, 'i> {
    /// A rewriter for about `expected` references (which sizes its tables: a good guess spares both
    /// regrowth and large allocations the allocator would hand back to the OS after each page).
    pub(crate) fn new(
        document_path: &'a str,
        resolver: &'a dyn Resolver,
        report: &'a mut HtmlReport,
        expected: usize,
    ) -> Self {
        let expected = expected.clamp(16, 4096);
        // Pages repeat references: about half are new.
        report.reserve(expected / 2);
        RefRewriter {
            document_path,
            folder: document_folder(document_path),
            resolver,
            report,
            edits: Edits::with_capacity(expected),
            known_refs: Known::with_capacity_and_hasher(expected, Default::default()),
            joined: String::new(),
        }
    }

    /// Rewrites the reference at `span` of `input` if it names an uploaded file. Surrounding whitespace
    /// stays where it is. Returns true when the replacement needs its attribute value quoted.
    pub(crate) fn reference(&mut self, input: &'i [u8], span: Range<usize>, ctx: Context) -> bool {
        let Some(span) = trim_span(input, span) else {
            return false;
        };
        let raw = &input[span.clone()];
        let (resolution, as_written) = self.lookup(raw, ctx);
        let Resolution::Url {
            text,
            url_len,
            verbatim,
        } = resolution
        else {
            return false;
        };
        let text = if verbatim && as_written {
            text
        } else {
            self.escaped(text, url_len, ctx, as_written)
        };
        let quotes =
            ctx.html == HtmlQuote::Unquoted && needs_quotes(&self.edits.text[text.clone()]);
        self.edits.reuse(span, text);
        quotes
    }

    /// Decodes `raw` and finds what it resolves to, resolving it when new. Also returns whether nothing
    /// was decoded (the reference is as written).
    fn lookup(&mut self, raw: &'i [u8], ctx: Context) -> (Resolution, bool) {
        // Most references are plain ASCII with nothing to decode: their decoded form is themselves.
        let escapes = raw.iter().fold(0u8, |any, &b| {
            any | u8::from(b == b'&') | u8::from(b == b'\\') | (b & 0x80)
        }) != 0;
        if !escapes {
            if let Some(resolution) = self.known_refs.get(raw) {
                return (resolution.clone(), true);
            }
        }
        let decoded: Cow<'i, str> = match std::str::from_utf8(raw) {
            Ok(text) if !escapes => Cow::Borrowed(text),
            Ok(text) => ctx.decode(text),
            Err(_) => Cow::Owned(ctx.decode(&String::from_utf8_lossy(raw)).into_owned()),
        };
        let as_written = matches!(decoded, Cow::Borrowed(_));
        // Without escapes, the decoded text is `raw`, already looked up.
        if escapes {
            if let Some(resolution) = self.known_refs.get(decoded.as_bytes()) {
                return (resolution.clone(), as_written);
            }
        }
        let resolution = self.resolve_new(&decoded, as_written);
        let key = match decoded {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        };
        self.known_refs.insert(key, resolution.clone());
        (resolution, as_written)
    }

    /// The replacement for a resolution that needs escaping in `ctx`: its URL escaped, its suffix as
    /// written (valid where it stands) or escaped again once decoded.
    fn escaped(
        &mut self,
        text: Range<usize>,
        url_len: usize,
        ctx: Context,
        as_written: bool,
    ) -> Range<usize> {
        let unescaped = self.edits.text[text].to_owned();
        let (url, suffix) = unescaped.split_at(url_len.min(unescaped.len()));
        self.edits.buffered(|out| {
            ctx.push_escaped(out, url);
            if as_written {
                out.push_str(suffix);
            } else {
                ctx.push_escaped(out, suffix);
            }
        })
    }

    /// Resolves a reference seen for the first time, and reports it.
    fn resolve_new(&mut self, decoded: &str, as_written: bool) -> Resolution {
        if let Some((folder, path, suffix)) = resolve_plain(self.folder, decoded) {
            if folder.is_empty() {
                return self.resolved_to(decoded, path, suffix, as_written);
            }
            let mut joined = std::mem::take(&mut self.joined);
            joined.clear();
            joined.push_str(folder);
            joined.push('/');
            joined.push_str(path);
            let resolution = self.resolved_to(decoded, &joined, suffix, as_written);
            self.joined = joined;
            return resolution;
        }
        let cleaned = strip_url_whitespace(decoded);
        match resolve(self.document_path, &cleaned) {
            Resolved::External => Resolution::Keep,
            Resolved::OutsideBundle => self.unresolved(decoded),
            Resolved::Local { path, suffix } => {
                let as_written = as_written && matches!(cleaned, Cow::Borrowed(_));
                self.resolved_to(decoded, &path, suffix, as_written)
            }
        }
    }

    /// Asks the resolver for the file at `path` and records the outcome. The URL is written straight
    /// into the edit buffer, where the replacements take it from.
    fn resolved_to(
        &mut self,
        decoded: &str,
        path: &str,
        suffix: &str,
        as_written: bool,
    ) -> Resolution {
        let start = self.edits.text.len();
        if !self.resolver.resolve_into(path, &mut self.edits.text) {
            self.edits.text.truncate(start);
            return self.unresolved(decoded);
        }
        let url_len = self.edits.text.len() - start;
        let verbatim = as_written && is_verbatim(&self.edits.text[start..]);
        self.edits.text.push_str(suffix);
        let text = start..self.edits.text.len();
        // Each distinct reference is resolved once, so reported once.
        self.report
            .push_rewritten(decoded, &self.edits.text[text.clone()]);
        Resolution::Url {
            text,
            url_len,
            verbatim,
        }
    }

    fn unresolved(&mut self, original: &str) -> Resolution {
        self.report.push_unresolved(original);
        Resolution::Keep
    }

    /// Quotes the unquoted attribute value at `value` (its replacement needs it), with whichever quote
    /// the value does not contain.
    pub(crate) fn quote_value(&mut self, input: &[u8], value: Range<usize>) {
        let Some(bytes) = input.get(value.clone()) else {
            return;
        };
        let quote = if !bytes.contains(&b'"') {
            "\""
        } else if !bytes.contains(&b'\'') {
            "'"
        } else {
            return;
        };
        self.edits.replace(value.start..value.start, quote);
        self.edits.replace(value.end..value.end, quote);
    }

    /// Rewrites every URL of a srcset value at `value` (HTML spec "parse a srcset attribute"), keeping
    /// descriptors, commas and whitespace as written. Returns true when the value needs quoting.
    pub(crate) fn srcset(&mut self, input: &'i [u8], value: Range<usize>, html: HtmlQuote) -> bool {
        let ctx = Context {
            html,
            css: CssQuote::NotCss,
            srcset: true,
        };
        let mut needs_quotes = false;
        for url in srcset_urls(input, value) {
            needs_quotes |= self.reference(input, url, ctx);
        }
        needs_quotes
    }
}

/// The byte ranges of the candidate URLs of the srcset value at `value`.
pub(crate) fn srcset_urls(input: &[u8], value: Range<usize>) -> SrcsetUrls<'_> {
    SrcsetUrls {
        input,
        pos: value.start,
        end: value.end.min(input.len()),
    }
}

pub(crate) struct SrcsetUrls<'i> {
    input: &'i [u8],
    pos: usize,
    end: usize,
}

impl Iterator for SrcsetUrls<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let (input, end) = (self.input, self.end);
        loop {
            while self.pos < end && (is_html_space(input[self.pos]) || input[self.pos] == b',') {
                self.pos += 1;
            }
            let start = self.pos;
            while self.pos < end && !is_html_space(input[self.pos]) {
                self.pos += 1;
            }
            if start == self.pos {
                return None;
            }
            let mut url_end = self.pos;
            if input[url_end - 1] == b',' {
                // A URL ending in commas has no descriptors; the commas separate candidates.
                while url_end > start && input[url_end - 1] == b',' {
                    url_end -= 1;
                }
            } else {
                self.pos = skip_descriptors(input, self.pos, end);
            }
            if url_end > start {
                return Some(start..url_end);
            }
        }
    }
}

/// Skips a candidate's descriptors up to and including the comma that ends it (commas inside
/// parentheses do not count).
fn skip_descriptors(input: &[u8], mut pos: usize, end: usize) -> usize {
    let mut in_parens = false;
    while pos < end {
        match input[pos] {
            b'(' => in_parens = true,
            b')' => in_parens = false,
            b',' if !in_parens => return pos + 1,
            _ => {}
        }
        pos += 1;
    }
    pos
}

fn is_html_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// `span` without surrounding HTML/CSS whitespace; None when nothing is left or it is out of range.
fn trim_span(input: &[u8], span: Range<usize>) -> Option<Range<usize>> {
    let bytes = input.get(span.clone())?;
    let start = bytes.iter().position(|&b| !is_html_space(b))?;
    let end = bytes.iter().rposition(|&b| !is_html_space(b))? + 1;
    Some(span.start + start..span.start + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srcset_candidates_are_found_with_their_descriptors_skipped() {
        let value =
            " a.png 1x, b.png  2x ,c.png,d.png,, e(1).png 300w, data:image/png;base64,AA 2x";
        let urls: Vec<&str> = srcset_urls(value.as_bytes(), 0..value.len())
            .map(|r| &value[r])
            .collect();
        assert_eq!(
            urls,
            // As in browsers, a comma without whitespace after it does not end a URL.
            [
                "a.png",
                "b.png",
                "c.png,d.png",
                "e(1).png",
                "data:image/png;base64,AA"
            ]
        );
    }

    #[test]
    fn srcset_descriptor_parentheses_hide_commas() {
        let value = "a.png foo(1,2), b.png";
        let urls: Vec<&str> = srcset_urls(value.as_bytes(), 0..value.len())
            .map(|r| &value[r])
            .collect();
        assert_eq!(urls, ["a.png", "b.png"]);
    }

    #[test]
    fn escaping_keeps_a_url_one_token_in_its_context() {
        let mut out = String::new();
        let url = "https://c.example/a b(1)\"'<>,&x=1";
        Context::attribute(HtmlQuote::Double).push_escaped(&mut out, url);
        assert_eq!(out, "https://c.example/a%20b(1)%22%27%3C%3E,&amp;x=1");
        out.clear();
        Context::css(HtmlQuote::NotHtml, CssQuote::Unquoted).push_escaped(&mut out, url);
        assert_eq!(out, "https://c.example/a%20b%281%29%22%27%3C%3E,&x=1");
        out.clear();
        let srcset = Context {
            srcset: true,
            ..Context::attribute(HtmlQuote::Single)
        };
        srcset.push_escaped(&mut out, "https://c.example/a,b.png");
        assert_eq!(out, "https://c.example/a%2Cb.png");
    }

    #[test]
    fn edits_apply_in_order_and_drop_overlaps_and_garbage() {
        let input = b"0123456789";
        let mut edits = Edits::default();
        edits.replace(6..8, "x");
        edits.replace(1..3, "ab");
        edits.replace(2..4, "no");
        edits.replace(9..99, "no");
        edits.replace(5..5, "+");
        assert_eq!(edits.apply(input), b"0ab34+5x89");
    }
}
