//! Finding the next place where a scanner has something to do: SIMD searches (the `memchr` crate) for
//! a few bytes or short byte strings, each answer kept until the scan passes it. The stylesheet and
//! script scanners use it to jump over the bulk of a document (declarations, code) to the few places
//! that can change what they are reading.

use memchr::memmem::Finder;

/// What one search looks for.
pub(crate) enum Needle {
    /// Any of three bytes (repeat one to look for fewer).
    Byte([u8; 3]),
    /// A byte string.
    Seq(&'static Finder<'static>),
}

/// The next position, at or after a given one, where any of `N` needles occurs.
pub(crate) struct NextOf<'i, const N: usize> {
    input: &'i [u8],
    end: usize,
    needles: [&'i Needle; N],
    /// Where each needle next occurs (`end` when it does not), as of its last search.
    next: [usize; N],
}

impl<'i, const N: usize> NextOf<'i, N> {
    /// Searches `input[start..end]`.
    pub(crate) fn new(input: &'i [u8], start: usize, end: usize, needles: [&'i Needle; N]) -> Self {
        let end = end.min(input.len());
        let mut finder = NextOf {
            input,
            end,
            needles,
            next: [end; N],
        };
        for i in 0..N {
            finder.search(i, start);
        }
        finder
    }

    fn search(&mut self, i: usize, from: usize) {
        let hay = self.input.get(from..self.end).unwrap_or_default();
        let found = match self.needles[i] {
            Needle::Byte([a, b, c]) => memchr::memchr3(*a, *b, *c, hay),
            Needle::Seq(finder) => finder.find(hay),
        };
        self.next[i] = found.map_or(self.end, |at| from + at);
    }

    /// The first position at or after `pos` where a needle starts; the end when there is none.
    pub(crate) fn next_from(&mut self, pos: usize) -> usize {
        let mut first = self.end;
        for i in 0..N {
            if self.next[i] < pos {
                self.search(i, pos);
            }
            first = first.min(self.next[i]);
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;

    static PAIR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"l("));

    #[test]
    fn every_needle_is_found_in_order() {
        let input = b"ab\"cd/ef'gh url(ij@kl";
        let quotes = Needle::Byte(*b"\"'\"");
        let others = Needle::Byte(*b"/@@");
        let pair = Needle::Seq(&PAIR);
        let mut finder = NextOf::new(input, 0, input.len(), [&quotes, &others, &pair]);
        let mut found = Vec::new();
        let mut pos = 0;
        loop {
            pos = finder.next_from(pos);
            if pos >= input.len() {
                break;
            }
            found.push(input[pos]);
            pos += 1;
        }
        assert_eq!(found, b"\"/'l@");
    }

    #[test]
    fn the_search_stays_within_its_range() {
        let input = b"/x/y/";
        let slash = Needle::Byte(*b"///");
        let mut finder = NextOf::new(input, 1, 4, [&slash]);
        assert_eq!(finder.next_from(1), 2);
        assert_eq!(finder.next_from(3), 4);
        assert_eq!(finder.next_from(5), 4);
    }
}
