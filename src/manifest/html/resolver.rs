//! How a rewrite finds an uploaded file's public URL: the one thing the HTML and CSS rewrites ask of
//! their caller. Kept apart from both so neither has to import the other for it.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Finds the public URL of an uploaded file by its bundle-relative path (already normalised: no "./",
/// no "..", percent-decoded, '/'-separated, e.g. "img/logo.png").
pub trait Resolver {
    /// Appends the public URL of the file at `path` to `out` and returns true; returns false, with
    /// `out` as it was, when no file was uploaded there. Writing into the caller's buffer spares a
    /// string per reference.
    fn resolve_into(&self, path: &str, out: &mut String) -> bool;
}

/// Public URLs by bundle-relative path: what the service builds once per document to resolve against.
/// Hashed with a per-process seed rather than SipHash: every distinct reference of a page is looked up.
pub type UrlMap = HashMap<String, String, foldhash::fast::RandomState>;

impl<S: BuildHasher> Resolver for HashMap<String, String, S> {
    fn resolve_into(&self, path: &str, out: &mut String) -> bool {
        match self.get(path) {
            Some(url) => {
                out.push_str(url);
                true
            }
            None => false,
        }
    }
}

/// Any function from path to URL.
impl<F: Fn(&str) -> Option<String>> Resolver for F {
    fn resolve_into(&self, path: &str, out: &mut String) -> bool {
        match self(path) {
            Some(url) => {
                out.push_str(&url);
                true
            }
            None => false,
        }
    }
}
