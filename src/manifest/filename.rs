//! User filenames are display text only: never a path, never a storage key.

/// The last path component of a client-sent filename, without control characters, at most 255 chars.
/// Pairing of files to `assets[]` entries compares these.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    trimmed.chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn strips_paths_and_controls() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\me\\ad.png"), "ad.png");
        assert_eq!(display_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(display_name("banner 300x250.png"), "banner 300x250.png");
    }
}
