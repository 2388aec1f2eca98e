//! What a rewrite of an HTML page or a stylesheet found and did.
//!
//! The references are kept end to end in one buffer rather than as a string each: a dense ad page
//! names a few hundred files, and allocating per reference cost more than resolving them.

use std::ops::Range;

use serde::Serialize;

/// A reference that now points at the CDN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RewrittenRef<'r> {
    /// The reference as the document means it (HTML and CSS escapes decoded, surrounding whitespace
    /// dropped).
    pub original: &'r str,
    /// The file's public URL with the reference's own query and fragment.
    pub cdn_url: &'r str,
}

/// Reference lists are deduplicated by original text, in the order first seen.
#[derive(Debug, Clone, Default)]
pub struct HtmlReport {
    /// The texts of `rewritten` and `unresolved`.
    text: String,
    rewritten: Vec<(Range<usize>, Range<usize>)>,
    unresolved: Vec<Range<usize>>,
    /// clickTag-style variables whose value is now the click tracker ("clickTag", "clickTAG", "clickTag2").
    pub inserted_macros: Vec<String>,
    /// The document declares a clickTag-style variable in an inline script.
    pub has_click_tag: bool,
    /// From `<meta name="ad.size" content="width=300,height=250">` (the first valid one).
    pub ad_size: Option<(u32, u32)>,
}

impl HtmlReport {
    /// Local references that now point at the CDN.
    pub fn rewritten_refs(&self) -> Vec<RewrittenRef<'_>> {
        self.rewritten
            .iter()
            .map(|(original, cdn_url)| RewrittenRef {
                original: &self.text[original.clone()],
                cdn_url: &self.text[cdn_url.clone()],
            })
            .collect()
    }

    /// Local references that name no uploaded file, or climb out of the bundle (original text).
    pub fn unresolved_refs(&self) -> Vec<&str> {
        self.unresolved
            .iter()
            .map(|r| &self.text[r.clone()])
            .collect()
    }

    pub fn rewritten_count(&self) -> usize {
        self.rewritten.len()
    }

    pub fn unresolved_count(&self) -> usize {
        self.unresolved.len()
    }

    /// Room for about `refs` more references, so that a dense page's report does not grow piecemeal.
    pub(crate) fn reserve(&mut self, refs: usize) {
        // An original and a CDN URL (a folder and a content hash) each.
        self.text.reserve(refs * 128);
        self.rewritten.reserve(refs);
    }

    /// Callers deduplicate: each original is pushed once.
    pub(crate) fn push_rewritten(&mut self, original: &str, cdn_url: &str) {
        let entry = (self.keep(original), self.keep(cdn_url));
        self.rewritten.push(entry);
    }

    pub(crate) fn push_unresolved(&mut self, original: &str) {
        let entry = self.keep(original);
        self.unresolved.push(entry);
    }

    fn keep(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }
}

/// Equal when they report the same things, however their buffers are laid out.
impl PartialEq for HtmlReport {
    fn eq(&self, other: &Self) -> bool {
        self.rewritten_refs() == other.rewritten_refs()
            && self.unresolved_refs() == other.unresolved_refs()
            && self.inserted_macros == other.inserted_macros
            && self.has_click_tag == other.has_click_tag
            && self.ad_size == other.ad_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back_in_order_and_compare_by_content() {
        let mut a = HtmlReport::default();
        a.push_unresolved("missing.png");
        a.push_rewritten("img/a.png?v=1", "https://cdn.example/a.png?v=1");
        a.push_rewritten("b.png", "https://cdn.example/b.png");
        assert_eq!(
            a.rewritten_refs(),
            [
                RewrittenRef {
                    original: "img/a.png?v=1",
                    cdn_url: "https://cdn.example/a.png?v=1"
                },
                RewrittenRef {
                    original: "b.png",
                    cdn_url: "https://cdn.example/b.png"
                }
            ]
        );
        assert_eq!(a.unresolved_refs(), ["missing.png"]);
        let mut b = HtmlReport::default();
        b.push_rewritten("img/a.png?v=1", "https://cdn.example/a.png?v=1");
        b.push_rewritten("b.png", "https://cdn.example/b.png");
        b.push_unresolved("missing.png");
        assert_eq!(a, b);
        b.push_unresolved("other.png");
        assert_ne!(a, b);
    }

    #[test]
    fn lists_serialise_as_the_manifest_shows_them() {
        let mut r = HtmlReport::default();
        r.push_rewritten("a.png", "https://cdn.example/a.png");
        assert_eq!(
            serde_json::to_value(r.rewritten_refs()).ok(),
            Some(
                serde_json::json!([{"original": "a.png", "cdn_url": "https://cdn.example/a.png"}])
            )
        );
    }
}
