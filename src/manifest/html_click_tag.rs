//! clickTag variables: the IAB convention by which an ad server hands an HTML5 creative its click URL.
//! Creatives declare `var clickTag = "https://advertiser.example"`; the service swaps the literal for
//! its click tracker.
//!
//! Scripts are read with a small lexer (comments, strings, template literals and regular expressions
//! skipped) rather than a pattern, so a clickTag inside a comment or a string is not taken for a
//! declaration.

use std::ops::Range;

use crate::manifest::ref_rewriter::Edits;

/// Finds the clickTag-style variables (`clickTag`, `clickTAG`, `clicktag`, `ClickTag`, `clickTag2`, ...)
/// that `js` declares or assigns (`var/let/const clickTag = "..."`, `window.clickTag = '...'`,
/// `window["clickTag"] = "..."`, `clickTag = "..."`). When `tracker` is given, each one whose value is a
/// single string literal (`"..."`, `'...'` or `` `...` ``, possibly empty) gets `tracker` instead,
/// escaped for that literal's quotes.
///
/// Returns the script, the names found (deduplicated, as spelled), and whether the script changed.
pub fn rewrite_click_tags(js: &str, tracker: Option<&str>) -> (String, Vec<String>, bool) {
    let mut edits = Edits::default();
    let found = scan_click_tags(js.as_bytes(), 0..js.len(), tracker, &mut edits);
    if edits.is_empty() {
        return (js.to_owned(), found.names, false);
    }
    // Replacements are whole strings spliced at quote characters, so the result stays UTF-8.
    let out = String::from_utf8(edits.apply(js.as_bytes()))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let changed = out != js;
    (out, found.names, changed)
}

/// The clickTag variables of one script.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ClickTags {
    /// Every clickTag-style variable declared or assigned.
    pub names: Vec<String>,
    /// Those whose literal now holds the tracker.
    pub inserted: Vec<String>,
}

/// Scans the script at `range` of `input`, recording literal replacements in `edits`.
pub(crate) fn scan_click_tags(
    input: &[u8],
    range: Range<usize>,
    tracker: Option<&str>,
    edits: &mut Edits,
) -> ClickTags {
    let end = range.end.min(input.len());
    let mut found = ClickTags::default();
    if !mentions_click_tag(input.get(range.start..end).unwrap_or_default()) {
        return found;
    }
    let lexer = Lexer { input, end };
    let mut prev = Prev::Start;
    let mut pos = range.start;
    while pos < end {
        let b = input[pos];
        if b.is_ascii_whitespace() {
            pos += 1;
            continue;
        }
        (pos, prev) = match b {
            b'/' if input.get(pos + 1) == Some(&b'/') => (lexer.skip_line(pos), prev),
            b'/' if input.get(pos + 1) == Some(&b'*') => (lexer.skip_block_comment(pos), prev),
            b'/' if prev.allows_regex(input) => (lexer.skip_regex(pos), Prev::Value),
            b'"' | b'\'' | b'`' => (lexer.literal_end(pos).unwrap_or(end), Prev::Value),
            _ if is_ident_start(b) => {
                let word = pos..lexer.ident_end(pos);
                let next = lexer.click_tag_at(&word, prev, tracker, edits, &mut found);
                (next.unwrap_or(word.end), Prev::Word(word))
            }
            _ if b.is_ascii_digit() => (lexer.ident_end(pos), Prev::Value),
            _ => (pos + 1, Prev::Punct(b)),
        };
    }
    found
}

/// A cheap test before lexing: ad pages inline large libraries that never mention clickTag. The `k`
/// (any case) of the word is rare in code, so a SIMD search for it leaves few places to compare.
fn mentions_click_tag(bytes: &[u8]) -> bool {
    const WORD: &[u8; 8] = b"clicktag";
    // `k` is the word's fifth byte.
    memchr::memchr2_iter(b'k', b'K', bytes).any(|k| {
        k >= 4
            && bytes
                .get(k - 4..k + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case(WORD))
    })
}

/// The token before the current one, which decides whether `/` starts a regular expression.
#[derive(Debug, Clone)]
enum Prev {
    Start,
    Punct(u8),
    Word(Range<usize>),
    /// A literal, a number or a regular expression: `/` after it divides.
    Value,
}

impl Prev {
    fn allows_regex(&self, input: &[u8]) -> bool {
        const KEYWORDS: &[&[u8]] = &[
            b"return",
            b"typeof",
            b"case",
            b"do",
            b"else",
            b"in",
            b"of",
            b"new",
            b"delete",
            b"void",
            b"throw",
            b"instanceof",
            b"yield",
            b"await",
        ];
        match self {
            Prev::Start => true,
            Prev::Punct(p) => !matches!(p, b')' | b']'),
            Prev::Word(w) => KEYWORDS.contains(&&input[w.clone()]),
            Prev::Value => false,
        }
    }

    fn is_declaration(&self, input: &[u8]) -> bool {
        matches!(self, Prev::Word(w) if matches!(&input[w.clone()], b"var" | b"let" | b"const"))
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b == b'\\' || b >= 0x80
}

fn is_ident_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// `clickTag`, `CLICKTAG`, `clickTag12`, ...: the word, any case, and digits.
fn is_click_tag_name(word: &[u8]) -> bool {
    word.len() >= 8
        && word[..8].eq_ignore_ascii_case(b"clicktag")
        && word[8..].iter().all(u8::is_ascii_digit)
}

struct Lexer<'i> {
    input: &'i [u8],
    end: usize,
}

impl Lexer<'_> {
    fn ident_end(&self, mut pos: usize) -> usize {
        pos += 1;
        while pos < self.end && is_ident_part(self.input[pos]) {
            pos += 1;
        }
        pos
    }

    fn skip_line(&self, pos: usize) -> usize {
        self.input[pos..self.end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.end, |i| pos + i)
    }

    fn skip_block_comment(&self, pos: usize) -> usize {
        self.input[(pos + 2).min(self.end)..self.end]
            .windows(2)
            .position(|w| w == b"*/")
            .map_or(self.end, |i| pos + 2 + i + 2)
    }

    /// Skips a regular expression literal (classes may hold `/`); a newline ends a broken one.
    fn skip_regex(&self, mut pos: usize) -> usize {
        let mut in_class = false;
        pos += 1;
        while pos < self.end {
            match self.input[pos] {
                b'\\' => pos += 1,
                b'[' => in_class = true,
                b']' => in_class = false,
                b'/' if !in_class => return pos + 1,
                b'\n' => return pos,
                _ => {}
            }
            pos += 1;
        }
        self.end
    }

    /// The position after the string or template literal starting at `pos`; None when it is not closed
    /// (a newline ends a quoted string). Substitutions `${...}` are skipped by counting braces.
    fn literal_end(&self, pos: usize) -> Option<usize> {
        let quote = self.input[pos];
        let mut depth = 0usize;
        let mut i = pos + 1;
        while i < self.end {
            let b = self.input[i];
            match b {
                b'\\' => i += 1,
                b'\n' if quote != b'`' => return None,
                b'$' if quote == b'`' && self.input.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    i += 1;
                }
                b'{' if depth > 0 => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                _ if b == quote && depth == 0 => return Some(i + 1),
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// Whitespace and comments from `pos`; also whether a line ended on the way.
    fn skip_trivia(&self, mut pos: usize) -> (usize, bool) {
        let mut newline = false;
        while pos < self.end {
            match self.input[pos] {
                b'\n' | b'\r' => newline = true,
                b if b.is_ascii_whitespace() => {}
                b'/' if self.input.get(pos + 1) == Some(&b'/') => {
                    pos = self.skip_line(pos);
                    continue;
                }
                b'/' if self.input.get(pos + 1) == Some(&b'*') => {
                    pos = self.skip_block_comment(pos);
                    continue;
                }
                _ => break,
            }
            pos += 1;
        }
        (pos, newline)
    }

    /// Handles a clickTag declaration or assignment at `word` (a clickTag name, or `window` followed by
    /// one). Returns where scanning resumes when there was one.
    fn click_tag_at(
        &self,
        word: &Range<usize>,
        prev: Prev,
        tracker: Option<&str>,
        edits: &mut Edits,
        found: &mut ClickTags,
    ) -> Option<usize> {
        let text = &self.input[word.clone()];
        let (name, after_name) = if is_click_tag_name(text) && !matches!(prev, Prev::Punct(b'.')) {
            (word.clone(), word.end)
        } else if text == b"window" && !matches!(prev, Prev::Punct(b'.')) {
            self.window_member(word.end)?
        } else {
            return None;
        };
        let name_text = String::from_utf8_lossy(&self.input[name]).into_owned();
        let Some(equals) = self.assignment_at(after_name) else {
            if prev.is_declaration(self.input) {
                note(&mut found.names, &name_text);
            }
            return None;
        };
        note(&mut found.names, &name_text);
        if let (Some(tracker), Some(literal)) = (tracker, self.sole_literal(equals + 1)) {
            let quote = self.input[literal.start];
            let content = literal.start + 1..literal.end - 1;
            edits.replace(content, &escape_js_string(tracker, quote));
            note(&mut found.inserted, &name_text);
        }
        Some(equals + 1)
    }

    /// After `window` at `pos`: `.clickTag` or `["clickTag"]`; the name's span and the position after it.
    fn window_member(&self, pos: usize) -> Option<(Range<usize>, usize)> {
        let (pos, _) = self.skip_trivia(pos);
        match self.input.get(pos)? {
            b'.' => {
                let (start, _) = self.skip_trivia(pos + 1);
                if start >= self.end || !is_ident_start(self.input[start]) {
                    return None;
                }
                let name = start..self.ident_end(start);
                is_click_tag_name(&self.input[name.clone()]).then_some((name.clone(), name.end))
            }
            b'[' => {
                let (start, _) = self.skip_trivia(pos + 1);
                if !matches!(self.input.get(start)?, b'"' | b'\'') {
                    return None;
                }
                let end = self.literal_end(start)?;
                let name = start + 1..end - 1;
                let (close, _) = self.skip_trivia(end);
                let is_member = self.input.get(close) == Some(&b']')
                    && is_click_tag_name(&self.input[name.clone()]);
                is_member.then_some((name, close + 1))
            }
            _ => None,
        }
    }

    /// The position of a plain `=` (not `==`, `=>`) after `pos`, past whitespace and comments.
    fn assignment_at(&self, pos: usize) -> Option<usize> {
        let (pos, _) = self.skip_trivia(pos);
        let is_plain = self.input.get(pos) == Some(&b'=')
            && !matches!(self.input.get(pos + 1), Some(b'=' | b'>'));
        is_plain.then_some(pos)
    }

    /// The string literal at `pos` (past trivia) when it is the whole value: nothing but `;`, `,`, a
    /// closing bracket, the end, or a new statement on the next line follows it.
    fn sole_literal(&self, pos: usize) -> Option<Range<usize>> {
        let (start, _) = self.skip_trivia(pos);
        if !matches!(self.input.get(start)?, b'"' | b'\'' | b'`') {
            return None;
        }
        let end = self.literal_end(start)?;
        let (next, newline) = self.skip_trivia(end);
        let ends_value = match self.input.get(next) {
            _ if next >= self.end => true,
            Some(b';' | b',' | b'}' | b')' | b']') => true,
            Some(b) => newline && !b"+-*/%.?:&|^<>=[(`,".contains(b),
            None => true,
        };
        ends_value.then_some(start..end)
    }
}

fn note(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

/// `url` as the content of a JavaScript literal quoted with `quote`. `<` is escaped too, so the value
/// cannot close the inline `<script>` it sits in.
pub(crate) fn escape_js_string(url: &str, quote: u8) -> String {
    let mut out = String::with_capacity(url.len() + 8);
    let mut chars = url.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            '<' => out.push_str("\\x3C"),
            '$' if quote == b'`' && chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) == u32::from(quote) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACKER: &str = "https://t.example/c?u=https%3A%2F%2Fa.example";

    fn rewrite(js: &str) -> (String, Vec<String>, bool) {
        rewrite_click_tags(js, Some(TRACKER))
    }

    #[test]
    fn every_declaration_form_is_rewritten() {
        let cases = [
            (r#"var clickTag = "https://a.example";"#, "clickTag"),
            ("let clickTAG='';", "clickTAG"),
            ("const clicktag = `https://a.example`", "clicktag"),
            (r#"window.clickTag = "x";"#, "clickTag"),
            (r#"window [ 'ClickTag' ] = "x";"#, "ClickTag"),
            (r#"window["clickTag2"] = 'x'"#, "clickTag2"),
            ("clickTag = \"x\"\nfoo()", "clickTag"),
        ];
        for (js, name) in cases {
            let (out, names, changed) = rewrite(js);
            assert!(changed, "{js}");
            assert!(out.contains(TRACKER), "{js} -> {out}");
            assert_eq!(names, [name], "{js}");
        }
    }

    #[test]
    fn only_the_literal_changes() {
        let js = "/* ad */\nvar clickTag = \"https://a.example\", clickTag2 = '';\nfunction go(){window.open(clickTag)}";
        let (out, names, _) = rewrite(js);
        let expected = js
            .replace("\"https://a.example\"", &format!("\"{TRACKER}\""))
            .replace("''", &format!("'{TRACKER}'"));
        assert_eq!(out, expected);
        assert_eq!(names, ["clickTag", "clickTag2"]);
    }

    #[test]
    fn the_tracker_is_escaped_for_the_quote_style() {
        let tracker = "https://t.example/?a=\"b\"&c='d'&e=`f`${g}\\</script>";
        let (out, _, _) = rewrite_click_tags("var clickTag = \"\";", Some(tracker));
        assert_eq!(
            out,
            r#"var clickTag = "https://t.example/?a=\"b\"&c='d'&e=`f`${g}\\\x3C/script>";"#
        );
        let (out, _, _) = rewrite_click_tags("var clickTag = '';", Some(tracker));
        assert_eq!(
            out,
            r#"var clickTag = 'https://t.example/?a="b"&c=\'d\'&e=`f`${g}\\\x3C/script>';"#
        );
        let (out, _, _) = rewrite_click_tags("var clickTag = ``;", Some(tracker));
        assert_eq!(
            out,
            r#"var clickTag = `https://t.example/?a="b"&c='d'&e=\`f\`\${g}\\\x3C/script>`;"#
        );
    }

    #[test]
    fn without_a_tracker_names_are_found_and_nothing_changes() {
        let js = r#"var clickTag = "https://a.example";"#;
        assert_eq!(
            rewrite_click_tags(js, None),
            (js.to_owned(), vec!["clickTag".to_owned()], false)
        );
    }

    #[test]
    fn declarations_without_a_literal_count_but_are_not_rewritten() {
        for js in [
            "var clickTag = getParam('clickTag');",
            "var clickTag;",
            "var clickTag = \"%%CLICK_URL%%\" + dest;",
            "var clickTag = \"a\"\n + \"b\";",
        ] {
            let (out, names, changed) = rewrite(js);
            assert_eq!((out.as_str(), changed), (js, false), "{js}");
            assert_eq!(names, ["clickTag"], "{js}");
        }
    }

    #[test]
    fn uses_comments_strings_and_lookalikes_are_not_declarations() {
        for js in [
            "window.open(clickTag);",
            "if (clickTag == '') {}",
            "ad.clickTag = 'x';",
            "var myClickTag = 'x'; var clickTagUrl = 'y';",
            "// var clickTag = 'x';",
            "/* clickTag = 'x' */",
            "var s = \"var clickTag = 'x'\";",
            "var r = /clickTag = 'x'/g;",
            "var f = clickTag => 'x';",
        ] {
            let (out, names, changed) = rewrite(js);
            assert_eq!((out.as_str(), changed), (js, false), "{js}");
            assert!(names.is_empty(), "{js}: {names:?}");
        }
    }

    #[test]
    fn division_is_not_taken_for_a_regex() {
        let js = "var a = b / 2; var clickTag = 'x'; var c = d / 3;";
        let (out, names, _) = rewrite(js);
        assert_eq!(names, ["clickTag"]);
        assert!(out.contains(TRACKER));
    }

    #[test]
    fn template_substitutions_are_skipped() {
        let js = "var s = `a ${ {b: '`'}.b } c`; var clickTag = \"x\";";
        let (out, names, _) = rewrite(js);
        assert_eq!(names, ["clickTag"]);
        assert!(out.contains(TRACKER));
    }

    #[test]
    fn names_are_deduplicated() {
        let (_, names, _) = rewrite("var clickTag = 'a'; clickTag = 'b'; window.clickTag = 'c';");
        assert_eq!(names, ["clickTag"]);
    }

    #[test]
    fn the_word_is_found_at_every_offset() {
        for offset in 0..100 {
            let js = format!("{}clickTAG{}", "x".repeat(offset), "y".repeat(100 - offset));
            assert!(mentions_click_tag(js.as_bytes()), "{offset}");
            let js = format!("{}clickTa{}", "x".repeat(offset), "y".repeat(100 - offset));
            assert!(!mentions_click_tag(js.as_bytes()), "{offset}");
        }
        assert!(!mentions_click_tag(b"clickTa"));
        assert!(mentions_click_tag(b"ClickTag"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for js in [
            "var clickTag = '",
            "clickTag =",
            "window[",
            "window['clickTag'",
            "window.",
            "clickTag = `${",
            "/",
            "/*",
            "clickTag = \"\\",
            "\u{0}clickTag\u{ffff}=\u{0}'",
            "window [ \"clickTag\" ] =",
        ] {
            let _ = rewrite(js);
        }
    }
}
