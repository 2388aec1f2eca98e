//! HTML5 ZIP bundles: checks every entry against the bundle rules, then extracts the files under names the service
//! makes. Blocking file I/O on the two paths given, nothing else; run it on a blocking thread.
//!
//! Nothing a ZIP declares is trusted: paths are normalised and must stay inside the bundle, sizes are counted as the
//! bytes inflate, and an entry's name never becomes a local file name.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipArchive};

/// Bytes of each file kept in [`ExtractedFile::head`]: what the classifier sniffs.
pub const HEAD_LEN: usize = crate::manifest::media::classify::SNIFF_LEN;

/// How much a bundle may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Files the bundle holds, not counting directories and ignored entries (`__MACOSX/`, `.DS_Store`, ...): a
    /// bundle zipped on a Mac carries a twin of every file, and the buyer did not put it there.
    pub max_files: usize,
    /// Entries in the central directory, everything counted: each costs work to read and check whatever we then do
    /// with it, so a bundle of 10,000 empty folders is refused before any of it is read.
    pub max_entries: usize,
    /// Total bytes of all files once inflated, counted as they stream out (declared sizes are not trusted).
    pub max_uncompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 100,
            max_entries: 1000,
            max_uncompressed_bytes: 100 * 1024 * 1024,
        }
    }
}

/// One extracted file.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedFile {
    /// Normalised path inside the bundle, `/`-separated, never empty, never absolute, never with `..` or `.`.
    pub path: String,
    /// Where the bytes are, under `out_dir`, with a service-made name.
    pub local_path: PathBuf,
    /// Real inflated size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// The first `min(HEAD_LEN, size)` bytes.
    pub head: Vec<u8>,
}

/// A checked, extracted bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// Path (as in [`ExtractedFile::path`]) of the HTML page that starts the creative.
    pub entry_point: String,
    /// The files, in archive order.
    pub files: Vec<ExtractedFile>,
    /// Entries skipped on purpose (directories, `__MACOSX/`, `.DS_Store`, `Thumbs.db`), as named in the archive.
    pub ignored: Vec<String>,
}

/// Why a bundle is refused. Messages name the offending entry and can go to an API user as they are, except
/// [`BundleError::Io`], which is the service's own failure.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BundleError {
    #[error("not a readable ZIP archive: {0}")]
    NotAZip(String),
    #[error("the ZIP archive is damaged at entry \"{entry}\": {reason}")]
    Corrupt { entry: String, reason: String },
    #[error("the bundle has {count} entries; at most {max} are allowed")]
    TooManyEntries { count: u64, max: usize },
    #[error("the bundle has {count} files; at most {max} are allowed (folders, __MACOSX/ and .DS_Store not counted)")]
    TooManyFiles { count: usize, max: usize },
    #[error("the bundle inflates to more than {max} bytes (limit passed at entry \"{entry}\")")]
    TooLarge { entry: String, max: u64 },
    #[error("entry \"{0}\" has a path that leads outside the bundle")]
    PathTraversal(String),
    #[error("entry \"{0}\" has an absolute path; paths must be relative to the bundle root")]
    AbsolutePath(String),
    #[error("entry \"{0}\" has a control character in its name")]
    ControlCharacter(String),
    #[error("entry \"{0}\" is a symbolic link; links are not allowed in a bundle")]
    Symlink(String),
    #[error("entry \"{0}\" is a ZIP archive; nested archives are not allowed")]
    NestedArchive(String),
    #[error("entry \"{0}\" is encrypted; upload the bundle without a password")]
    Encrypted(String),
    #[error("entry \"{entry}\" is compressed with {method}; only Deflate and Store are supported")]
    UnsupportedCompression { entry: String, method: String },
    #[error("the bundle has more than one entry at path \"{0}\"")]
    DuplicatePath(String),
    #[error("the bundle has no HTML entry point: add an index.html at its root")]
    NoEntryPoint,
    #[error("the bundle has several HTML files and no index.html at its root: {}", .0.join(", "))]
    SeveralEntryPoints(Vec<String>),
    #[error("could not extract the bundle: {0}")]
    Io(String),
    /// The disk filled up while extracting: the service's condition, not the bundle's.
    #[error("no space left to extract the bundle")]
    StorageFull,
}

/// Reads the zip at `zip_path`, checks every rule, extracts the files into `out_dir` (which exists and is empty)
/// under service-made names (`0001`, `0002`, ...) and returns them. On error, files it wrote are removed again.
pub fn extract(zip_path: &Path, out_dir: &Path, limits: &Limits) -> Result<Bundle, BundleError> {
    let mut file = File::open(zip_path).map_err(io_error)?;
    // Every layout, ZIP64 included, is checked here before `zip` allocates for it or inflates a byte; an archive
    // whose directory this reader cannot follow is refused rather than left to `zip` unchecked.
    let directory = read_directory(&file, limits.max_entries)
        .ok_or_else(|| BundleError::NotAZip("its central directory could not be read".into()))?;
    check_directory(&directory, limits)?;
    file.rewind().map_err(io_error)?;
    let mut archive =
        ZipArchive::new(BufReader::new(file)).map_err(|e| BundleError::NotAZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(too_many(archive.len() as u64, limits));
    }
    let plan = plan(&mut archive)?;
    if plan.files.len() > limits.max_files {
        return Err(BundleError::TooManyFiles {
            count: plan.files.len(),
            max: limits.max_files,
        });
    }
    let entry_point = entry_point(plan.files.iter().map(|f| f.path.as_str()))?;
    let files = extract_all(&mut archive, &plan.files, out_dir, limits)?;
    Ok(Bundle {
        entry_point,
        files,
        ignored: plan.ignored,
    })
}

/// A file to extract: its index in the archive, its name as given (for messages) and its normalised path.
struct Planned {
    index: usize,
    name: String,
    path: String,
}

struct Plan {
    files: Vec<Planned>,
    ignored: Vec<String>,
}

/// Checks every entry's metadata (no data is inflated yet) and sorts entries into files and ignored ones.
fn plan<R: Read + Seek>(archive: &mut ZipArchive<R>) -> Result<Plan, BundleError> {
    let mut plan = Plan {
        files: Vec::new(),
        ignored: Vec::new(),
    };
    let mut seen = HashSet::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| BundleError::Corrupt {
                entry: format!("#{}", index + 1),
                reason: e.to_string(),
            })?;
        let name = entry.name().to_owned();
        if entry.name_raw().iter().any(|b| b.is_ascii_control())
            || name.chars().any(char::is_control)
        {
            return Err(BundleError::ControlCharacter(shown(&name)));
        }
        let path = normalise(&name)?;
        if entry
            .unix_mode()
            .is_some_and(|mode| mode & 0o170000 == 0o120000)
        {
            return Err(BundleError::Symlink(shown(&name)));
        }
        if entry.encrypted() {
            return Err(BundleError::Encrypted(shown(&name)));
        }
        if is_ignored(&name, &path) {
            plan.ignored.push(name);
            continue;
        }
        if path.to_ascii_lowercase().ends_with(".zip") {
            return Err(BundleError::NestedArchive(shown(&name)));
        }
        check_compression(entry.compression(), &name)?;
        if !seen.insert(path.clone()) {
            return Err(BundleError::DuplicatePath(shown(&path)));
        }
        plan.files.push(Planned { index, name, path });
    }
    Ok(plan)
}

/// The entry's path with `\` read as `/`, `.` and empty parts dropped and `..` applied; refused when absolute
/// (`/x`, `C:\x`, `\\host\x`) or when `..` climbs above the root. A name that resolves to the root itself is only
/// acceptable for a directory entry (`./`), which the caller ignores; as a file it is a traversal.
fn normalise(name: &str) -> Result<String, BundleError> {
    let slashed = name.replace('\\', "/");
    let bytes = slashed.as_bytes();
    if slashed.starts_with('/')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
    {
        return Err(BundleError::AbsolutePath(shown(name)));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in slashed.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(BundleError::PathTraversal(shown(name)));
                }
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() && !is_directory(name) {
        return Err(BundleError::PathTraversal(shown(name)));
    }
    Ok(parts.join("/"))
}

fn is_directory(name: &str) -> bool {
    name.ends_with('/') || name.ends_with('\\')
}

/// Directories carry nothing (paths of files imply them); the others are litter of macOS and Windows archivers.
fn is_ignored(name: &str, path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    is_directory(name)
        || path.split('/').next() == Some("__MACOSX")
        || last.eq_ignore_ascii_case(".DS_Store")
        || last.eq_ignore_ascii_case("Thumbs.db")
}

fn check_compression(method: CompressionMethod, name: &str) -> Result<(), BundleError> {
    if matches!(
        method,
        CompressionMethod::Stored | CompressionMethod::Deflated
    ) {
        return Ok(());
    }
    #[allow(deprecated)] // the only public way to the method's number, which names it for the user
    let method = match method.to_u16() {
        9 => "Deflate64".to_owned(),
        12 => "bzip2".to_owned(),
        14 => "LZMA".to_owned(),
        93 => "Zstandard".to_owned(),
        95 => "XZ".to_owned(),
        98 => "PPMd".to_owned(),
        n => format!("method {n}"),
    };
    Err(BundleError::UnsupportedCompression {
        entry: shown(name),
        method,
    })
}

/// `index.html` at the root; else `index.html` in the single top-level folder when every file is inside it (a
/// zipped folder); else the only `.html`/`.htm` file anywhere.
fn entry_point<'a>(paths: impl Iterator<Item = &'a str> + Clone) -> Result<String, BundleError> {
    if let Some(root) = paths.clone().find(|p| *p == "index.html") {
        return Ok(root.to_owned());
    }
    let mut tops = paths.clone().map(|p| p.split_once('/').map(|(top, _)| top));
    if let Some(Some(top)) = tops.next() {
        if tops.all(|t| t == Some(top)) {
            let index = format!("{top}/index.html");
            if paths.clone().any(|p| p == index) {
                return Ok(index);
            }
        }
    }
    let html: Vec<String> = paths
        .filter(|p| {
            let lower = p.to_ascii_lowercase();
            lower.ends_with(".html") || lower.ends_with(".htm")
        })
        .map(str::to_owned)
        .collect();
    match <[String; 1]>::try_from(html) {
        Ok([only]) => Ok(only),
        Err(html) if html.is_empty() => Err(BundleError::NoEntryPoint),
        Err(html) => Err(BundleError::SeveralEntryPoints(html)),
    }
}

fn extract_all<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    planned: &[Planned],
    out_dir: &Path,
    limits: &Limits,
) -> Result<Vec<ExtractedFile>, BundleError> {
    let mut files: Vec<ExtractedFile> = Vec::with_capacity(planned.len());
    let mut budget = limits.max_uncompressed_bytes;
    for (n, entry) in planned.iter().enumerate() {
        let local_path = out_dir.join(format!("{:04}", n + 1));
        let result = extract_one(archive, entry, &local_path, &mut budget, limits);
        match result {
            Ok(file) => files.push(file),
            Err(e) => {
                // Best effort: the caller owns out_dir and may remove it anyway; a failed removal changes nothing.
                let written = files.iter().map(|f| f.local_path.as_path());
                for path in written.chain(std::iter::once(local_path.as_path())) {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    Ok(files)
}

fn extract_one<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &Planned,
    local_path: &Path,
    budget: &mut u64,
    limits: &Limits,
) -> Result<ExtractedFile, BundleError> {
    let corrupt = |e: &dyn std::fmt::Display| BundleError::Corrupt {
        entry: shown(&entry.name),
        reason: e.to_string(),
    };
    let mut reader = archive.by_index(entry.index).map_err(|e| corrupt(&e))?;
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(local_path)
        .map_err(io_error)?;
    let mut out = BufWriter::new(out);
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| corrupt(&e))?;
        if n == 0 {
            break;
        }
        // Checked before writing, so no byte past the limit reaches the disk.
        *budget = budget
            .checked_sub(n as u64)
            .ok_or_else(|| BundleError::TooLarge {
                entry: shown(&entry.name),
                max: limits.max_uncompressed_bytes,
            })?;
        size += n as u64;
        hasher.update(&buf[..n]);
        let room = HEAD_LEN.saturating_sub(head.len());
        head.extend_from_slice(&buf[..n.min(room)]);
        out.write_all(&buf[..n]).map_err(io_error)?;
    }
    out.flush().map_err(io_error)?;
    // Content, not only the name: a renamed archive is still an archive.
    if archive_signature(&head).is_some() {
        return Err(BundleError::NestedArchive(shown(&entry.name)));
    }
    Ok(ExtractedFile {
        path: entry.path.clone(),
        local_path: local_path.to_path_buf(),
        size,
        sha256: hex::encode(hasher.finalize()),
        head,
    })
}

/// Signatures of archives (and compressed streams) a bundle may not nest, each with where it may sit in a file's
/// head: ZIP records and long magic numbers anywhere (an archive with a byte put before it, or a bare end record,
/// is still one: unzip tools scan for them), short magic numbers only where their format puts them (two bytes
/// occur by chance in any image).
const ARCHIVES: &[(&str, &[u8], Option<usize>)] = &[
    ("ZIP", b"PK\x03\x04", None),
    ("ZIP", b"PK\x05\x06", None),
    ("ZIP", b"PK\x06\x06", None),
    ("ZIP", b"PK\x01\x02", None),
    ("ZIP", b"PK\x07\x08", None),
    ("7z", b"7z\xBC\xAF\x27\x1C", None),
    ("RAR", b"Rar!\x1A\x07", None),
    ("xz", b"\xFD7zXZ\x00", None),
    ("gzip", b"\x1F\x8B\x08", Some(0)),
    ("bzip2", b"BZh", Some(0)),
    ("Zstandard", b"\x28\xB5\x2F\xFD", Some(0)),
    ("tar", b"ustar", Some(257)),
    ("cab", b"MSCF\0\0\0\0", Some(0)),
];

/// The archive format whose signature `head` carries, if any.
pub fn archive_signature(head: &[u8]) -> Option<&'static str> {
    ARCHIVES.iter().find_map(|(format, magic, at)| {
        let found = match at {
            Some(at) => head.get(*at..).is_some_and(|h| h.starts_with(magic)),
            None => memchr::memmem::find(head, magic).is_some(),
        };
        found.then_some(*format)
    })
}

/// The central directory as its end record (plain or ZIP64) declares it, read before `zip` parses the archive:
/// `zip` keeps only the last of several entries with the same name (so exact duplicates would pass silently), and
/// allocates for as many entries as the end record declares.
struct Directory {
    count: u64,
    /// Raw entry names with their declared inflated sizes; empty when `count` is over the limit (no need to read
    /// them).
    entries: Vec<(Vec<u8>, u64)>,
}

fn check_directory(directory: &Directory, limits: &Limits) -> Result<(), BundleError> {
    if directory.count > limits.max_entries as u64 {
        return Err(too_many(directory.count, limits));
    }
    let mut seen = HashSet::new();
    let mut declared = 0u64;
    for (name, size) in &directory.entries {
        let shown_name = || shown(&String::from_utf8_lossy(name));
        if !seen.insert(name.as_slice()) {
            return Err(BundleError::DuplicatePath(shown_name()));
        }
        // What the archive admits to already passes the limit: refused without inflating. A lie is caught as the
        // bytes are counted.
        declared = declared.saturating_add(*size);
        if declared > limits.max_uncompressed_bytes {
            return Err(BundleError::TooLarge {
                entry: shown_name(),
                max: limits.max_uncompressed_bytes,
            });
        }
    }
    Ok(())
}

/// `None` when this small reader cannot follow the layout (damaged, truncated, split over disks).
fn read_directory(mut file: &File, max_entries: usize) -> Option<Directory> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(22 + u64::from(u16::MAX));
    file.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = Vec::new();
    file.take(tail_len).read_to_end(&mut tail).ok()?;
    // The last signature whose comment length reaches exactly the end of the file.
    let at = (0..tail.len().saturating_sub(21)).rev().find(|&i| {
        tail[i..].starts_with(EOCD) && i + 22 + usize::from(le16(&tail, i + 20)) == tail.len()
    })?;
    let eocd = len - tail_len + at as u64;
    let (count, size, end) = {
        let count = le16(&tail, at + 10);
        let size = le32(&tail, at + 12);
        if count == u16::MAX || size == u32::MAX || le32(&tail, at + 16) == u32::MAX {
            zip64_end(file, eocd)?
        } else {
            (u64::from(count), u64::from(size), eocd)
        }
    };
    if count > max_entries as u64 {
        return Some(Directory {
            count,
            entries: Vec::new(),
        });
    }
    // Measured back from the end record, like `zip` does, so archives with a prefix (self-extractors) still read.
    let start = end.checked_sub(size)?;
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut reader = BufReader::new(file.take(size));
    let mut entries = Vec::new();
    for _ in 0..count {
        let mut header = [0u8; 46];
        reader.read_exact(&mut header).ok()?;
        if !header.starts_with(b"PK\x01\x02") {
            return None;
        }
        let mut name = vec![0u8; usize::from(le16(&header, 28))];
        reader.read_exact(&mut name).ok()?;
        let mut extra = vec![0u8; usize::from(le16(&header, 30))];
        reader.read_exact(&mut extra).ok()?;
        let skip = u64::from(le16(&header, 32));
        std::io::copy(&mut reader.by_ref().take(skip), &mut std::io::sink()).ok()?;
        let size = match le32(&header, 24) {
            u32::MAX => zip64_size(&extra)?,
            n => u64::from(n),
        };
        entries.push((name, size));
    }
    Some(Directory { count, entries })
}

/// The ZIP64 end record's entry count, directory size and position, found through the locator just before the
/// plain end record at `eocd`. The record is looked for right before the locator (it has no extensible data in
/// practice), so a prefix does not matter; else where the locator says.
fn zip64_end(mut file: &File, eocd: u64) -> Option<(u64, u64, u64)> {
    let locator_at = eocd.checked_sub(20)?;
    let mut locator = [0u8; 20];
    file.seek(SeekFrom::Start(locator_at)).ok()?;
    file.read_exact(&mut locator).ok()?;
    if !locator.starts_with(b"PK\x06\x07") {
        return None;
    }
    let declared = le64(&locator, 8);
    for at in [locator_at.checked_sub(56), Some(declared)]
        .into_iter()
        .flatten()
    {
        let mut record = [0u8; 56];
        if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut record).is_err() {
            continue;
        }
        if record.starts_with(b"PK\x06\x06") {
            return Some((le64(&record, 32), le64(&record, 40), at));
        }
    }
    None
}

/// The inflated size from an entry's ZIP64 extra field (tag 1, whose first value is that size when the header says
/// 0xFFFFFFFF).
fn zip64_size(extra: &[u8]) -> Option<u64> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let (tag, len) = (le16(extra, at), usize::from(le16(extra, at + 2)));
        if tag == 1 && len >= 8 && at + 12 <= extra.len() {
            return Some(le64(extra, at + 4));
        }
        at += 4 + len;
    }
    None
}

fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn le64(bytes: &[u8], at: usize) -> u64 {
    u64::from(le32(bytes, at)) | (u64::from(le32(bytes, at + 4)) << 32)
}

fn too_many(count: u64, limits: &Limits) -> BundleError {
    BundleError::TooManyEntries {
        count,
        max: limits.max_entries,
    }
}

fn io_error(e: std::io::Error) -> BundleError {
    if crate::error::is_storage_full(&e) {
        return BundleError::StorageFull;
    }
    BundleError::Io(e.to_string())
}

/// An entry name as it may appear in a message: control characters escaped, at most 200 characters.
pub fn shown(name: &str) -> String {
    let escaped: String = name
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            }
        })
        .collect();
    match escaped.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &escaped[..cut]),
        None => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bundles/");

    fn extract_fixture(
        name: &str,
        limits: &Limits,
    ) -> (Result<Bundle, BundleError>, tempfile::TempDir) {
        let out = tempfile::tempdir().unwrap();
        (extract(&Path::new(DIR).join(name), out.path(), limits), out)
    }

    fn refused(name: &str) -> BundleError {
        extract_fixture(name, &Limits::default()).0.unwrap_err()
    }

    fn paths(bundle: &Bundle) -> Vec<&str> {
        bundle.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn good_bundle_is_extracted_under_service_names() {
        let (bundle, out) = extract_fixture("good.zip", &Limits::default());
        let bundle = bundle.unwrap();
        assert_eq!(bundle.entry_point, "index.html");
        let expected = [
            "index.html",
            "css/style.css",
            "js/app.js",
            "img/logo.png",
            "img/ünïcode 100%.svg",
        ];
        assert_eq!(paths(&bundle), expected);
        assert_eq!(
            bundle.ignored,
            [
                "css/",
                "img/",
                "__MACOSX/",
                "__MACOSX/._index.html",
                ".DS_Store",
                "img/Thumbs.db"
            ]
        );
        for (n, file) in bundle.files.iter().enumerate() {
            assert_eq!(file.local_path, out.path().join(format!("{:04}", n + 1)));
            let bytes = std::fs::read(&file.local_path).unwrap();
            assert_eq!(file.size, bytes.len() as u64);
            assert_eq!(file.sha256, hex::encode(Sha256::digest(&bytes)));
            assert_eq!(file.head, bytes, "small files are all head");
        }
        assert!(bundle.files[0].head.starts_with(b"<!doctype html>"));
        assert!(
            bundle.files[3].head.starts_with(b"\x89PNG"),
            "stored entries read as well as deflated ones"
        );
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            5,
            "nothing but the files is written"
        );
    }

    #[test]
    fn zipped_folder_uses_its_index_and_keeps_paths() {
        let bundle = extract_fixture("good_folder.zip", &Limits::default())
            .0
            .unwrap();
        assert_eq!(bundle.entry_point, "banner/index.html");
        assert_eq!(
            paths(&bundle),
            ["banner/index.html", "banner/css/style.css"]
        );
    }

    #[test]
    fn only_html_file_is_the_entry_point() {
        let bundle = extract_fixture("good_single_html.zip", &Limits::default())
            .0
            .unwrap();
        assert_eq!(bundle.entry_point, "ad_300x250.htm");
    }

    #[test]
    fn entry_point_rules() {
        let pick = |paths: &[&str]| entry_point(paths.iter().copied());
        assert_eq!(pick(&["a.html", "index.html"]), Ok("index.html".into()));
        assert_eq!(
            pick(&["b/a.html", "b/index.html"]),
            Ok("b/index.html".into())
        );
        assert_eq!(
            pick(&["b/index.html", "c/x.css"]),
            Ok("b/index.html".into()),
            "the only HTML file"
        );
        assert_eq!(pick(&["b/a.HTM", "b/x.css"]), Ok("b/a.HTM".into()));
        assert_eq!(pick(&["x.css"]), Err(BundleError::NoEntryPoint));
        assert_eq!(pick(&[]), Err(BundleError::NoEntryPoint));
        let several = pick(&["b/index.html", "c/index.html"]).unwrap_err();
        assert_eq!(
            several,
            BundleError::SeveralEntryPoints(vec!["b/index.html".into(), "c/index.html".into()])
        );
    }

    #[test]
    fn paths_are_normalised_inside_the_bundle() {
        assert_eq!(normalise("a/../b.html"), Ok("b.html".into()));
        assert_eq!(normalise("./a//b\\c.js"), Ok("a/b/c.js".into()));
        assert_eq!(
            normalise("./"),
            Ok(String::new()),
            "a directory entry for the root, ignored by the caller"
        );
        assert_eq!(normalise("%20 é.png"), Ok("%20 é.png".into()));
        for bad in ["../x", "a/../../x", "..\\x", "a/.."] {
            assert!(
                matches!(normalise(bad), Err(BundleError::PathTraversal(_))),
                "{bad}"
            );
        }
        for bad in ["/x", "\\x", "C:\\x", "c:x", "\\\\host\\share\\x"] {
            assert!(
                matches!(normalise(bad), Err(BundleError::AbsolutePath(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn traversal_is_refused() {
        let expected = BundleError::PathTraversal("assets/../../escape.js".into());
        assert_eq!(refused("bad_traversal.zip"), expected);
        assert_eq!(
            refused("bad_traversal_backslash.zip"),
            BundleError::PathTraversal("..\\escape.js".into())
        );
    }

    #[test]
    fn absolute_paths_are_refused() {
        assert_eq!(
            refused("bad_absolute.zip"),
            BundleError::AbsolutePath("/etc/cron.d/escape".into())
        );
        assert_eq!(
            refused("bad_drive.zip"),
            BundleError::AbsolutePath("C:\\Windows\\escape.js".into())
        );
    }

    #[test]
    fn control_characters_are_refused_and_escaped() {
        let err = refused("bad_control_char.zip");
        assert_eq!(
            err,
            BundleError::ControlCharacter("img/logo\\u{7}.png".into())
        );
        assert_eq!(
            err.to_string(),
            "entry \"img/logo\\u{7}.png\" has a control character in its name"
        );
    }

    #[test]
    fn symlinks_are_refused() {
        assert_eq!(
            refused("bad_symlink.zip"),
            BundleError::Symlink("js/app.js".into())
        );
    }

    #[test]
    fn archives_are_recognised_anywhere_in_the_head() {
        assert_eq!(archive_signature(b"PK\x03\x04rest"), Some("ZIP"));
        assert_eq!(archive_signature(b"\0PK\x03\x04rest"), Some("ZIP"));
        // An empty ZIP is its end record alone.
        let mut bare = b"PK\x05\x06".to_vec();
        bare.extend_from_slice(&[0; 18]);
        assert_eq!(archive_signature(&bare), Some("ZIP"));
        assert_eq!(archive_signature(b"xx7z\xBC\xAF\x27\x1Cyy"), Some("7z"));
        assert_eq!(archive_signature(b"\x1F\x8B\x08\0\0"), Some("gzip"));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(archive_signature(&tar), Some("tar"));
        // Short magic numbers count only where their format puts them.
        assert_eq!(
            archive_signature(b"\x89PNG\r\n\x1a\n..\x1F\x8B\x08..BZh"),
            None
        );
        assert_eq!(archive_signature(b"<!doctype html><p>PK</p>"), None);
    }

    #[test]
    fn nested_archives_are_refused_by_name_and_by_content() {
        assert_eq!(
            refused("bad_nested_name.zip"),
            BundleError::NestedArchive("assets/more.zip".into())
        );
        let (result, out) = extract_fixture("bad_nested_content.zip", &Limits::default());
        assert_eq!(
            result,
            Err(BundleError::NestedArchive("assets/data.bin".into()))
        );
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "written files are removed"
        );
    }

    #[test]
    fn too_many_files_are_refused_but_what_is_ignored_does_not_count() {
        let expected = BundleError::TooManyFiles {
            count: 101,
            max: 100,
        };
        assert_eq!(refused("bad_too_many_entries.zip"), expected);
        let roomier = Limits {
            max_files: 101,
            ..Limits::default()
        };
        assert!(extract_fixture("bad_too_many_entries.zip", &roomier)
            .0
            .is_ok());
        let (mac, _out) = extract_fixture("good_macos_100_files.zip", &Limits::default());
        let mac = mac.expect("100 files and their __MACOSX twins");
        assert_eq!((mac.files.len(), mac.ignored.len()), (100, 103));
        // The raw directory is bounded too, before anything is read.
        let tight = Limits {
            max_entries: 202,
            ..Limits::default()
        };
        assert_eq!(
            extract_fixture("good_macos_100_files.zip", &tight).0,
            Err(BundleError::TooManyEntries {
                count: 203,
                max: 202
            })
        );
    }

    #[test]
    fn zip_bomb_is_stopped_at_the_limit() {
        let (result, out) = extract_fixture("bad_bomb.zip", &Limits::default());
        let expected = BundleError::TooLarge {
            entry: "video.bin".into(),
            max: 100 * 1024 * 1024,
        };
        assert_eq!(result, Err(expected));
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "written files are removed"
        );
    }

    #[test]
    fn sizes_are_counted_not_declared() {
        // zeros.bin inflates to 2 MiB while its headers claim 1000 bytes.
        let small = Limits {
            max_uncompressed_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let expected = BundleError::TooLarge {
            entry: "zeros.bin".into(),
            max: 1024 * 1024,
        };
        assert_eq!(
            extract_fixture("bad_bomb_lying.zip", &small).0,
            Err(expected)
        );
        let bundle = extract_fixture("bad_bomb_lying.zip", &Limits::default())
            .0
            .unwrap();
        assert_eq!(bundle.files[1].size, 2 * 1024 * 1024);
        assert_eq!(bundle.files[1].head.len(), HEAD_LEN);
    }

    #[test]
    fn encrypted_entries_are_refused() {
        assert_eq!(
            refused("bad_encrypted.zip"),
            BundleError::Encrypted("js/app.js".into())
        );
    }

    #[test]
    fn bundle_without_html_is_refused() {
        assert_eq!(refused("bad_no_entry.zip"), BundleError::NoEntryPoint);
    }

    #[test]
    fn several_html_files_without_index_are_refused() {
        let err = refused("bad_several_entries.zip");
        assert_eq!(
            err,
            BundleError::SeveralEntryPoints(vec!["a.html".into(), "b.htm".into()])
        );
        assert!(err
            .to_string()
            .ends_with("no index.html at its root: a.html, b.htm"));
    }

    #[test]
    fn duplicate_paths_are_refused() {
        assert_eq!(
            refused("bad_duplicate.zip"),
            BundleError::DuplicatePath("js/app.js".into())
        );
        assert_eq!(
            refused("bad_duplicate_raw.zip"),
            BundleError::DuplicatePath("js/app.js".into())
        );
    }

    #[test]
    fn unsupported_compression_is_refused() {
        let expected = BundleError::UnsupportedCompression {
            entry: "index.html".into(),
            method: "bzip2".into(),
        };
        assert_eq!(refused("bad_compression.zip"), expected);
    }

    #[test]
    fn corrupt_data_is_refused() {
        let err = refused("bad_corrupt_data.zip");
        assert!(
            matches!(&err, BundleError::Corrupt { entry, .. } if entry == "index.html"),
            "{err:?}"
        );
    }

    #[test]
    fn not_a_zip_and_truncated_zips_are_refused() {
        assert!(matches!(refused("not_a_zip.zip"), BundleError::NotAZip(_)));
        assert!(matches!(refused("truncated.zip"), BundleError::NotAZip(_)));
    }

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn extract_bytes(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("in.zip");
        std::fs::write(&zip, bytes).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        extract(&zip, &out, &Limits::default())
    }

    #[test]
    fn garbage_never_panics() {
        for seed in 0..50 {
            let mut bytes = noise(seed, 64 + seed as usize * 37);
            if seed % 2 == 0 {
                bytes.splice(0..0, *b"PK\x03\x04");
                bytes.extend_from_slice(b"PK\x05\x06\0\0\0\0\x02\0\x02\0\x50\0\0\0\x10\0\0\0\0\0");
            }
            assert!(extract_bytes(&bytes).is_err());
        }
        let good = std::fs::read(Path::new(DIR).join("good.zip")).unwrap();
        for len in 0..good.len() {
            assert!(extract_bytes(&good[..len]).is_err(), "truncated at {len}");
        }
        for (i, flip) in noise(7, 300).chunks(2).enumerate() {
            let mut bytes = good.clone();
            let at = (usize::from(flip[0]) * 256 + usize::from(flip[1]) + i) % bytes.len();
            bytes[at] ^= 0xA5;
            let _ = extract_bytes(&bytes); // may pass (a flipped timestamp) or fail; must not panic
        }
    }
}
