//! clickTag variables: the IAB convention by which an ad server hands an HTML5 creative its click URL.
//! Creatives declare `var clickTag = "https://advertiser.example"`; the service swaps the literal for
//! its click tracker.
//!
//! Scripts are read with a small lexer (comments, strings, template literals and regular expressions
//! skipped) rather than a pattern, so a clickTag inside a comment or a string is not taken for a
//! declaration.

use std::ops::Range;

use super::byte_scan::{Needle, NextOf};
use super::rewriter::Edits;

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
///
/// The scan jumps from one byte that can change what it reads to the next: quotes, `/` (comments,
/// regular expressions) and the `k` of a clickTag name. The token before a `/` or a name, which says
/// whether `/` starts a regular expression and whether a name is declared, is read backwards from it
/// when needed, so code in between costs only the search. (Whitespace may stand between `window`, its
/// `.` or `[`, and the name; a comment there hides the member.)
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
    let mut back = Behind {
        input,
        settled: range.start,
        settled_prev: Prev::Start,
    };
    let mut specials = NextOf::new(input, range.start, end, [&QUOTES, &SLASH_AND_K]);
    let mut pos = range.start;
    while pos < end {
        pos = specials.next_from(pos);
        let Some(&b) = input.get(pos).filter(|_| pos < end) else {
            break;
        };
        pos = match b {
            b'"' | b'\'' | b'`' => {
                // An unclosed quoted string (a newline in it) ends what can be read.
                let Some(literal_end) = lexer.literal_end(pos) else {
                    break;
                };
                let member = back.window_bracket(&lexer, pos..literal_end);
                back.settle(literal_end, Prev::Value);
                match member {
                    Some((name, after, prev)) => lexer
                        .click_tag(name, after, &prev, tracker, edits, &mut found)
                        .unwrap_or(after),
                    None => literal_end,
                }
            }
            b'/' if input.get(pos + 1) == Some(&b'/') => {
                let prev = back.prev_at(pos);
                let line_end = lexer.skip_line(pos);
                back.settle(line_end, prev);
                line_end
            }
            b'/' if input.get(pos + 1) == Some(&b'*') => {
                let prev = back.prev_at(pos);
                let comment_end = lexer.skip_block_comment(pos);
                back.settle(comment_end, prev);
                comment_end
            }
            b'/' if back.prev_at(pos).allows_regex(input) => {
                let regex_end = lexer.skip_regex(pos);
                back.settle(regex_end, Prev::Value);
                regex_end
            }
            b'/' => pos + 1,
            // The `k` of `clickTag`, or of any other word.
            _ => {
                let word = back.word_around(pos, end);
                if !is_click_tag_name(&input[word.clone()]) {
                    word.end
                } else {
                    // `window.clickTag` is the variable; `other.clickTag` is not. Declared or not
                    // is told by the token before `window`.
                    let prev = match back.prev_at(word.start) {
                        Prev::Punct(b'.') => back.before_window(word.start),
                        prev => Some(prev),
                    };
                    match prev {
                        Some(prev) => lexer
                            .click_tag(word.clone(), word.end, &prev, tracker, edits, &mut found)
                            .unwrap_or(word.end),
                        None => word.end,
                    }
                }
            }
        };
    }
    found
}

static QUOTES: Needle = Needle::Byte(*b"\"'`");
/// Comments and regular expressions, and the `k` of a clickTag name.
static SLASH_AND_K: Needle = Needle::Byte(*b"/kK");

/// Reads tokens backwards from a position, back to the end of the last literal, comment or regular
/// expression the scan skipped (`settled`), whose own token before is known.
struct Behind<'i> {
    input: &'i [u8],
    settled: usize,
    /// The token before `settled`: a value after a literal or a regular expression, what came
    /// before a comment.
    settled_prev: Prev,
}

impl Behind<'_> {
    fn settle(&mut self, at: usize, prev: Prev) {
        self.settled = at;
        self.settled_prev = prev;
    }

    /// The token that ends before `pos`, past whitespace.
    fn prev_at(&self, pos: usize) -> Prev {
        let input = self.input;
        let q = self.skip_space_back(pos);
        if q <= self.settled {
            return self.settled_prev.clone();
        }
        let last = input[q - 1];
        if last == b'\\' {
            // A word of its own to the lexer (an escape starts an identifier).
            return Prev::Word(q - 1..q);
        }
        if !is_ident_part(last) {
            return Prev::Punct(last);
        }
        let start = self.word_start(q - 1);
        if input[start].is_ascii_digit() {
            Prev::Value
        } else {
            Prev::Word(start..q)
        }
    }

    /// Where the word holding `pos` starts. A `\\` may start one (an escape), as the lexer reads it.
    fn word_start(&self, pos: usize) -> usize {
        let input = self.input;
        let mut start = pos;
        while start > self.settled && is_ident_part(input[start - 1]) {
            start -= 1;
        }
        if start > self.settled && input[start - 1] == b'\\' {
            start -= 1;
        }
        start
    }

    /// The identifier that `pos` is in.
    fn word_around(&self, pos: usize, end: usize) -> Range<usize> {
        let input = self.input;
        let start = self.word_start(pos);
        let mut stop = pos + 1;
        while stop < end && is_ident_part(input[stop]) {
            stop += 1;
        }
        start..stop
    }

    /// When `window` ends at the punctuation before `pos` (the `.` of `window.clickTag`, the `[` of
    /// `window["clickTag"]`) and is not itself a member (`x.window.`), the token before `window`.
    fn before_window(&self, pos: usize) -> Option<Prev> {
        let punct = self.skip_space_back(pos).saturating_sub(1);
        match self.prev_at(punct) {
            Prev::Word(w) if &self.input[w.clone()] == b"window" => {
                Some(self.prev_at(w.start)).filter(|p| !matches!(p, Prev::Punct(b'.')))
            }
            _ => None,
        }
    }

    /// `pos` moved back over whitespace, not past `settled`.
    fn skip_space_back(&self, mut pos: usize) -> usize {
        while pos > self.settled && self.input[pos - 1].is_ascii_whitespace() {
            pos -= 1;
        }
        pos
    }

    /// `window["clickTag"]` around the string literal at `literal`: the name's span, the position after
    /// the `]`, and the token before `window`.
    fn window_bracket(
        &self,
        lexer: &Lexer<'_>,
        literal: Range<usize>,
    ) -> Option<(Range<usize>, usize, Prev)> {
        let name = literal.start + 1..literal.end - 1;
        let quoted = matches!(self.input[literal.start], b'"' | b'\'');
        if !quoted || !is_click_tag_name(&self.input[name.clone()]) {
            return None;
        }
        if !matches!(self.prev_at(literal.start), Prev::Punct(b'[')) {
            return None;
        }
        let prev = self.before_window(literal.start)?;
        let (close, _) = lexer.skip_trivia(literal.end);
        (self.input.get(close) == Some(&b']')).then_some((name, close + 1, prev))
    }
}

/// A cheap test before lexing: ad pages inline large libraries that never mention clickTag. The `k`
/// (any case) of the word is rare in minified code (about three per kilobyte), so a SIMD search for it
/// leaves few places to compare.
fn mentions_click_tag(bytes: &[u8]) -> bool {
    memchr::memchr2_iter(b'k', b'K', bytes).any(|k| {
        k >= 4
            && bytes
                .get(k - 4..k + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"clicktag"))
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
    fn skip_line(&self, pos: usize) -> usize {
        memchr::memchr(b'\n', &self.input[pos..self.end]).map_or(self.end, |i| pos + i)
    }

    fn skip_block_comment(&self, pos: usize) -> usize {
        let from = (pos + 2).min(self.end);
        memchr::memmem::find(&self.input[from..self.end], b"*/").map_or(self.end, |i| from + i + 2)
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
        if quote != b'`' {
            return self.quoted_end(pos, quote);
        }
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

    /// `literal_end` of a `"` or `'` string: only the quote, a backslash or a newline can end or
    /// change it.
    fn quoted_end(&self, pos: usize, quote: u8) -> Option<usize> {
        let mut i = pos + 1;
        while i < self.end {
            i += memchr::memchr3(quote, b'\\', b'\n', &self.input[i..self.end])?;
            match self.input[i] {
                b'\\' => i += 2,
                b'\n' => return None,
                _ => return Some(i + 1),
            }
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

    /// Handles the clickTag variable `name` (its text, in `window["name"]` its literal's content),
    /// whose reference ends at `after_name`, with the token `prev` before it: records a declaration
    /// or an assignment, and points an assigned literal at `tracker`. Returns where scanning resumes
    /// after an assignment.
    fn click_tag(
        &self,
        name: Range<usize>,
        after_name: usize,
        prev: &Prev,
        tracker: Option<&str>,
        edits: &mut Edits,
        found: &mut ClickTags,
    ) -> Option<usize> {
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
    fn a_regular_expression_value_is_skipped_whole() {
        let js = "var clickTag = /a'b/.source; var clickTag2 = \"https://a.example\";";
        let (out, names, _) = rewrite(js);
        assert_eq!(names, ["clickTag", "clickTag2"]);
        assert_eq!(out, js.replace("https://a.example", TRACKER));
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
