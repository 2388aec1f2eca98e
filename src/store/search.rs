//! Substring search on names, the same on every backend: names and needles are folded in Rust
//! (SQL `LOWER` folds only ASCII on SQLite) into a column kept beside the name, and the needle's
//! wildcards are taken literally. Used by the manifest list, the storefront library and the
//! review queue. The manifest list's choice of plan per needle is here too (pure), its SQL in
//! `manifest_search.rs`.

use sqlx::Row;

use super::db::Db;

/// The character SQLite's trigram index appends to every name (migration 0033), so that each
/// character of a name starts a trigram; `fold` keeps it out of names and needles alike.
pub const END_OF_NAME: char = '\u{FFFF}';

/// A name as search compares it: Unicode lowercase, with the index's end marker (a noncharacter,
/// never meaningful text) read as U+FFFD, the replacement character.
pub fn fold(name: &str) -> String {
    name.to_lowercase().replace(END_OF_NAME, "\u{FFFD}")
}

/// How a folded needle is looked up on SQLite: its trigram index serves three characters or
/// more; a shorter needle is looked up by the trigram vocabulary's first characters.
/// (PostgreSQL looks every needle up the same way: `suffix_lookup`.)
#[derive(Debug, PartialEq, Eq)]
pub enum Needle {
    Trigrams(String),
    Short(String),
}

impl Needle {
    /// `search` folded and classified; None when nothing is left to look for.
    pub fn new(search: &str) -> Option<Needle> {
        let folded = fold(search);
        match folded.chars().count() {
            0 => None,
            1 | 2 => Some(Needle::Short(folded)),
            _ => Some(Needle::Trigrams(folded)),
        }
    }

    pub fn folded(&self) -> &str {
        match self {
            Needle::Trigrams(s) | Needle::Short(s) => s,
        }
    }
}

/// An FTS5 query for the phrase `folded`, every character literal: inside double quotes only the
/// quote itself is special (doubled). With the trigram tokenizer a phrase of three characters or
/// more matches exactly the texts containing it.
pub fn fts5_phrase(folded: &str) -> String {
    format!("\"{}\"", folded.replace('"', "\"\""))
}

/// The range of trigram terms that start with `folded` (one or two characters): from the needle
/// itself to the needle followed by the highest code points (terms compare as UTF-8 bytes, whose
/// order is code point order).
pub fn term_prefix_range(folded: &str) -> (String, String) {
    (folded.to_owned(), format!("{folded}\u{10FFFF}\u{10FFFF}"))
}

/// PostgreSQL indexes each name's suffixes cut to this many characters (migration 0035).
pub const SUFFIX_CHARS: usize = 16;

/// The strings that start with a prefix, as a range in code point order (PostgreSQL's "C"
/// collation on UTF-8): from the prefix itself, below its successor (None: every string from
/// `from` on starts with it, the prefix being all U+10FFFF).
#[derive(Debug, PartialEq, Eq)]
pub struct PrefixRange {
    pub from: String,
    pub below: Option<String>,
}

/// How PostgreSQL finds a folded needle among the indexed suffixes.
#[derive(Debug, PartialEq, Eq)]
pub enum SuffixLookup {
    /// Up to `SUFFIX_CHARS` characters: the names whose suffixes start with the needle are
    /// exactly the names containing it.
    Exact(PrefixRange),
    /// Longer: the range of its first `SUFFIX_CHARS` characters yields candidates, each name then
    /// tested for the whole needle.
    Candidates(PrefixRange),
}

pub fn suffix_lookup(folded: &str) -> SuffixLookup {
    match folded.char_indices().nth(SUFFIX_CHARS) {
        None => SuffixLookup::Exact(prefix_range(folded)),
        Some((cut, _)) => SuffixLookup::Candidates(prefix_range(&folded[..cut])),
    }
}

/// `prefix` as a range: a string starts with it iff `from <= s < below`, where `below` is the
/// prefix with its last character raised by one (a last U+10FFFF is dropped and the one before
/// raised instead).
pub fn prefix_range(prefix: &str) -> PrefixRange {
    let mut below: Vec<char> = prefix.chars().collect();
    let below = loop {
        let Some(last) = below.pop() else {
            break None;
        };
        let next = match last as u32 + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            below.push(next);
            break Some(below.into_iter().collect());
        }
    };
    PrefixRange {
        from: prefix.to_owned(),
        below,
    }
}

/// Up to this many matches a page is cut from the matches sorted (each one looked up); above it,
/// walking the campaign's ordered index and testing each entry reaches the page sooner.
pub const SORT_MATCHES_UP_TO: i64 = 1_000;

/// How the list finds a page of `take` matches after `skip`, knowing `total` (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePlan {
    /// Past the last match: nothing to read.
    Empty,
    /// Few matches: read them all from the index that found them, sort, cut.
    SortMatches,
    /// Many matches, a page in the newer half: walk newest first, skip `offset` matches, take
    /// `limit`.
    WalkNewest { offset: i64, limit: i64 },
    /// Many matches, a page in the older half: walk oldest first (the same page counted from the
    /// other end), so no walk passes more than half the matches.
    WalkOldest { offset: i64, limit: i64 },
}

pub fn page_plan(total: i64, skip: i64, take: i64) -> PagePlan {
    if skip >= total || take <= 0 {
        return PagePlan::Empty;
    }
    if total <= SORT_MATCHES_UP_TO {
        return PagePlan::SortMatches;
    }
    let limit = take.min(total - skip);
    if skip + limit <= total / 2 {
        PagePlan::WalkNewest {
            offset: skip,
            limit,
        }
    } else {
        PagePlan::WalkOldest {
            offset: total - skip - limit,
            limit,
        }
    }
}

/// `LIKE ... ESCAPE '\'` pattern for folded names containing `search`, its `%`, `_` and `\`
/// literal.
pub fn like_contains(search: &str) -> String {
    let mut out = String::from("%");
    for ch in fold(search).chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Fills each `(source, folded)` column pair of `table` (`folded` = `fold(source)`) where a folded
/// column is still NULL (rows stored before it existed), in batches of 1,000 keyed by the `key`
/// columns; a no-op once done. Returns how many rows it filled. Table and column names are the
/// caller's constants, never input.
pub async fn fill_folded(
    db: &Db,
    table: &str,
    key: &[&str],
    columns: &[(&str, &str)],
) -> anyhow::Result<usize> {
    let sources: Vec<&str> = columns.iter().map(|(source, _)| *source).collect();
    let missing: Vec<String> = columns
        .iter()
        .map(|(_, folded)| format!("{folded} IS NULL"))
        .collect();
    let select = format!(
        "SELECT {keys}, {sources} FROM {table} WHERE {missing} LIMIT 1000",
        keys = key.join(", "),
        sources = sources.join(", "),
        missing = missing.join(" OR ")
    );
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, folded))| format!("{folded} = ${}", i + 1))
        .collect();
    let matches: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", i + 1 + columns.len()))
        .collect();
    let update = format!(
        "UPDATE {table} SET {} WHERE {}",
        sets.join(", "),
        matches.join(" AND ")
    );
    let mut filled = 0;
    loop {
        let rows = sqlx::query(&select).fetch_all(&db.pool).await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut tx = db.begin_write().await?;
        for r in &rows {
            let mut q = sqlx::query(&update);
            for source in &sources {
                q = q.bind(fold(&r.try_get::<String, _>(*source)?));
            }
            for k in key {
                q = q.bind(r.try_get::<String, _>(*k)?);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        filled += rows.len();
    }
}

#[cfg(test)]
mod tests {
    use super::{
        fold, fts5_phrase, like_contains, page_plan, prefix_range, suffix_lookup,
        term_prefix_range, Needle, PagePlan, PrefixRange, SuffixLookup,
    };

    fn range(from: &str, below: Option<&str>) -> PrefixRange {
        PrefixRange {
            from: from.into(),
            below: below.map(Into::into),
        }
    }

    #[test]
    fn a_prefix_range_ends_below_the_prefix_raised_by_one() {
        assert_eq!(prefix_range("summer"), range("summer", Some("summes")));
        assert_eq!(prefix_range("ß"), range("ß", Some("à")));
        // Surrogates are no characters: after U+D7FF comes U+E000.
        assert_eq!(
            prefix_range("a\u{D7FF}"),
            range("a\u{D7FF}", Some("a\u{E000}"))
        );
        // The highest character cannot be raised: the one before it is.
        assert_eq!(prefix_range("a\u{10FFFF}"), range("a\u{10FFFF}", Some("b")));
        assert_eq!(prefix_range("\u{10FFFF}"), range("\u{10FFFF}", None));
        // Every string that starts with the prefix is in the range, in byte (code point) order.
        let r = prefix_range("a\u{10FFFF}");
        for s in ["a\u{10FFFF}", "a\u{10FFFF}\u{10FFFF}z"] {
            assert!(s >= r.from.as_str() && s < r.below.as_deref().unwrap());
        }
    }

    #[test]
    fn needles_longer_than_the_indexed_suffixes_are_checked_by_name() {
        assert_eq!(
            suffix_lookup("été promo 0999"),
            SuffixLookup::Exact(range("été promo 0999", Some("été promo 099:")))
        );
        let exactly = "é".repeat(16);
        assert!(matches!(suffix_lookup(&exactly), SuffixLookup::Exact(_)));
        assert_eq!(
            suffix_lookup(&format!("{exactly}x")),
            SuffixLookup::Candidates(prefix_range(&exactly))
        );
    }

    #[test]
    fn folding_keeps_the_index_end_marker_out_of_names() {
        assert_eq!(fold("ÉTÉ Straße"), "été straße");
        assert_eq!(fold("a\u{FFFF}b"), "a\u{FFFD}b");
    }

    #[test]
    fn needles_below_three_characters_are_short() {
        assert_eq!(Needle::new("ÉT"), Some(Needle::Short("ét".into())));
        assert_eq!(Needle::new("日"), Some(Needle::Short("日".into())));
        assert_eq!(Needle::new("été"), Some(Needle::Trigrams("été".into())));
        assert_eq!(Needle::new(""), None);
    }

    #[test]
    fn fts5_phrases_take_every_character_literally() {
        assert_eq!(fts5_phrase("summer"), "\"summer\"");
        assert_eq!(fts5_phrase("a\"b* OR c"), "\"a\"\"b* OR c\"");
        assert_eq!(
            term_prefix_range("42"),
            ("42".into(), "42\u{10FFFF}\u{10FFFF}".into())
        );
    }

    #[test]
    fn few_matches_are_sorted_many_are_walked_from_the_nearer_end() {
        assert_eq!(page_plan(0, 0, 50), PagePlan::Empty);
        assert_eq!(page_plan(10, 10, 50), PagePlan::Empty);
        assert_eq!(page_plan(1_000, 0, 50), PagePlan::SortMatches);
        assert_eq!(
            page_plan(12_500, 0, 50),
            PagePlan::WalkNewest {
                offset: 0,
                limit: 50
            }
        );
        // The last page, short: counted from the oldest it starts at the oldest match.
        assert_eq!(
            page_plan(12_500, 12_480, 50),
            PagePlan::WalkOldest {
                offset: 0,
                limit: 20
            }
        );
        assert_eq!(
            page_plan(12_500, 10_000, 50),
            PagePlan::WalkOldest {
                offset: 2_450,
                limit: 50
            }
        );
    }

    #[test]
    fn search_patterns_take_wildcards_literally_and_fold_case() {
        assert_eq!(like_contains("Ab"), "%ab%");
        assert_eq!(like_contains("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
