//! The object store: local files by default, S3-compatible storage by URL. Every stored object has a
//! public URL `{CDN_BASE_URL}/{key}`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

/// Characters escaped in a URL path segment (RFC 3986: everything but unreserved and sub-delims).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Files at most this big are sent in one PUT; bigger ones stream as multipart parts of this size, so
/// memory stays bounded whatever the file size.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts of one upload sent to S3 at once: enough to keep the link busy while the next part is read
/// from the spool, few enough that an upload holds at most this many parts (8 MiB each) in memory.
const PARTS_IN_FLIGHT: usize = 4;

/// Why `key` cannot be stored in every store we support, if it cannot: S3 takes keys up to 1,024
/// bytes; local files take names up to 255 bytes, and the local store keeps `name#N` for its own
/// partial writes (it refuses such keys, and hides such files).
pub fn key_problem(key: &str) -> Option<&'static str> {
    if ObjectPath::parse(key).is_err() {
        return Some("it is not a valid object path");
    }
    if key.len() > 1024 {
        return Some("the path is longer than 1,024 bytes");
    }
    if key.split('/').any(|seg| seg.len() > 255) {
        return Some("a name in the path is longer than 255 bytes");
    }
    if key.contains('#') {
        return Some("'#' is not allowed in a name");
    }
    None
}

#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    /// The directory of the local store; `None` on S3.
    local_root: Option<std::path::PathBuf>,
    /// The local store itself, for its key -> file mapping (moving spool files into place).
    local: Option<Arc<LocalFileSystem>>,
    cdn_base: String,
}

impl Objects {
    /// `url`: `None` (files under `default_dir`), `file:///abs/dir`, or `s3://bucket[/prefix]` (with the
    /// usual `AWS_*` variables, e.g. `AWS_ENDPOINT` and `AWS_ALLOW_HTTP` for a local S3 server).
    pub fn open(
        url: Option<&str>,
        default_dir: &Path,
        cdn_base: String,
    ) -> anyhow::Result<Objects> {
        let mut local_root = None;
        let mut local_store = None;
        let store: Arc<dyn ObjectStore> = match url {
            None => {
                local_root = Some(default_dir.to_owned());
                let store = Arc::new(local(default_dir)?);
                local_store = Some(store.clone());
                store
            }
            Some(raw) => {
                let parsed = url::Url::parse(raw).context("OBJECT_STORE_URL is not a URL")?;
                match parsed.scheme() {
                    "file" => {
                        let dir = parsed.to_file_path().map_err(|_| {
                            anyhow::anyhow!("OBJECT_STORE_URL file path must be absolute")
                        })?;
                        let store = Arc::new(local(&dir)?);
                        local_root = Some(dir);
                        local_store = Some(store.clone());
                        store
                    }
                    "s3" => {
                        let bucket = parsed.host_str().context("s3 URL needs a bucket")?;
                        let s3 = AmazonS3Builder::from_env()
                            .with_bucket_name(bucket)
                            .build()
                            .context("configuring S3")?;
                        let prefix = parsed.path().trim_matches('/');
                        if prefix.is_empty() {
                            Arc::new(s3)
                        } else {
                            Arc::new(PrefixStore::new(s3, prefix))
                        }
                    }
                    other => anyhow::bail!("unsupported OBJECT_STORE_URL scheme '{other}'"),
                }
            }
        };
        Ok(Objects {
            store,
            local_root,
            local: local_store,
            cdn_base: cdn_base.trim_end_matches('/').to_owned(),
        })
    }

    /// `{CDN_BASE_URL}/{key}`, each segment of the key percent-encoded (bundle files keep their
    /// authors' names, spaces and all).
    pub fn public_url(&self, key: &str) -> String {
        let encoded: Vec<String> = key
            .split('/')
            .map(|seg| percent_encoding::utf8_percent_encode(seg, SEGMENT).to_string())
            .collect();
        format!("{}/{}", self.cdn_base, encoded.join("/"))
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The file behind `key` when the store is local (for serving it with the OS's file machinery).
    pub fn local_file(&self, key: &str) -> Option<std::path::PathBuf> {
        let local = self.local.as_ref()?;
        local.path_to_filesystem(&ObjectPath::parse(key).ok()?).ok()
    }

    /// Stores the spooled file `src` under `key` without writing its bytes again where it can: on a
    /// local store on the same filesystem the file's inode is linked into place (the spool's name
    /// goes when the request ends), so the bytes exist once on disk. Across filesystems, and on S3,
    /// the bytes are streamed as [`Objects::put_file`] does. `src` must be a file this process owns
    /// and no longer writes (its mode is opened up to the store's 0644).
    pub async fn put_spooled(&self, key: &str, src: &Path, size: u64) -> anyhow::Result<()> {
        let Some(dest) = self.local_file(key) else {
            return self.put_file(key, src, size).await;
        };
        let src_owned = src.to_owned();
        let linked =
            tokio::task::spawn_blocking(move || link_into_place(&src_owned, &dest)).await??;
        match linked {
            Placement::Linked => Ok(()),
            Placement::OtherFilesystem => self.put_file(key, src, size).await,
        }
    }

    /// Streams a local file into the store under `key`.
    pub async fn put_file(&self, key: &str, src: &Path, size: u64) -> anyhow::Result<()> {
        let path = ObjectPath::parse(key)?;
        let mut file = tokio::fs::File::open(src).await?;
        if size <= PART_SIZE as u64 {
            let mut buf = Vec::with_capacity(size as usize);
            file.read_to_end(&mut buf).await?;
            self.store.put(&path, PutPayload::from(buf)).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; 256 * 1024];
        let result: anyhow::Result<()> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                writer.write(&buf[..n]);
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(&ObjectPath::parse(key)?, PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Deletes `key`; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&ObjectPath::parse(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes what interrupted writes left in the local store: `name#N` files it writes before
    /// renaming them into place, which a killed process never renames nor removes (the store hides
    /// them from listings). Only those untouched for `grace`, so a write under way is left alone.
    /// S3 needs nothing here: an unfinished upload never becomes an object. Returns how many went.
    pub async fn remove_partial_writes(&self, grace: std::time::Duration) -> anyhow::Result<usize> {
        let Some(root) = self.local_root.clone() else {
            return Ok(0);
        };
        tokio::task::spawn_blocking(move || remove_partial_files(&root, grace)).await?
    }

    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.store.head(&ObjectPath::parse(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// How [`link_into_place`] went.
#[derive(Debug, PartialEq, Eq)]
enum Placement {
    Linked,
    /// The spool and the store are on different filesystems: the bytes must be copied.
    OtherFilesystem,
}

/// Sequence for the temporary names of links being placed (with the process id, unique on the host).
static LINK_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Hard-links `src` to `dest`: first to `dest#N` (the local store's own name for partial writes, so
/// the janitor removes one a crash left), then renamed over `dest`, so a reader sees the old object
/// or the new one, never a missing or partial file. A link rather than a rename keeps the spool's
/// name owned by its `NamedTempFile`, which removes it when the request ends: no name the spool may
/// hand out again is ever deleted by someone else.
fn link_into_place(src: &Path, dest: &Path) -> anyhow::Result<Placement> {
    use std::os::unix::fs::PermissionsExt;
    let parent = dest.parent().context("object path has no folder")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    // Spool files are private (0600); stored objects are as readable as the store writes them.
    std::fs::set_permissions(src, std::fs::Permissions::from_mode(0o644))?;
    let seq = LINK_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut temp = dest.as_os_str().to_owned();
    temp.push(format!("#{}{seq:06}", std::process::id()));
    let temp = std::path::PathBuf::from(temp);
    match std::fs::hard_link(src, &temp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            return Ok(Placement::OtherFilesystem)
        }
        Err(e) => return Err(e).with_context(|| format!("linking {}", temp.display())),
    }
    if let Err(e) = std::fs::rename(&temp, dest) {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("placing {}", dest.display()));
    }
    Ok(Placement::Linked)
}

/// Whether a file name is one of the local store's partial writes: `name#N`, N digits.
fn is_partial_write(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(base, n)| {
        !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

fn remove_partial_files(root: &Path, grace: std::time::Duration) -> anyhow::Result<usize> {
    let mut removed = 0;
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            let name = entry.file_name();
            if !kind.is_file() || !is_partial_write(&name.to_string_lossy()) {
                continue;
            }
            let idle = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
            if idle >= grace {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn local(dir: &Path) -> anyhow::Result<LocalFileSystem> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true))
}

#[cfg(test)]
mod tests {
    use super::key_problem;

    #[test]
    fn keys_must_suit_every_store() {
        assert_eq!(key_problem("creatives/cr_1/bundles/ab/img/logo.png"), None);
        assert_eq!(
            key_problem("creatives/cr_1/bundles/ab/ünï côde 100%.svg"),
            None
        );
        assert!(key_problem("creatives/cr_1/img#1").is_some());
        assert!(key_problem(&format!("creatives/{}", "n".repeat(300))).is_some());
        assert!(key_problem(&"a/".repeat(2000)).is_some());
        assert!(key_problem("creatives//x").is_some());
    }

    /// The spool's bytes become the object: the object is the spool file's inode (a copy would be
    /// another), and once the spool's name goes the bytes exist once on disk.
    #[tokio::test]
    async fn a_spooled_file_is_placed_not_copied() {
        use std::os::unix::fs::MetadataExt;
        let root = tempfile::tempdir().unwrap();
        let objects =
            super::Objects::open(None, &root.path().join("objects"), "http://x/cdn".into())
                .unwrap();
        std::fs::create_dir_all(root.path().join("spool")).unwrap();
        let spool = tempfile::NamedTempFile::new_in(root.path().join("spool")).unwrap();
        std::fs::write(spool.path(), b"twelve bytes").unwrap();
        objects
            .put_spooled("creatives/cr_1/abc.txt", spool.path(), 12)
            .await
            .unwrap();
        let placed = objects.local_file("creatives/cr_1/abc.txt").unwrap();
        let (a, b) = (
            std::fs::metadata(spool.path()).unwrap(),
            std::fs::metadata(&placed).unwrap(),
        );
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
        assert_eq!(b.mode() & 0o777, 0o644);
        drop(spool);
        assert_eq!(std::fs::metadata(&placed).unwrap().nlink(), 1);
        assert_eq!(std::fs::read(&placed).unwrap(), b"twelve bytes");
        // Placing the same key again replaces the object whole, leaving no partial names behind.
        let again = tempfile::NamedTempFile::new_in(root.path().join("spool")).unwrap();
        std::fs::write(again.path(), b"twelve bytes").unwrap();
        objects
            .put_spooled("creatives/cr_1/abc.txt", again.path(), 12)
            .await
            .unwrap();
        let names: Vec<_> = std::fs::read_dir(placed.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("abc.txt")]);
    }

    /// A spool on another filesystem (tmpfs here, when the machine has one) is copied instead.
    #[tokio::test]
    async fn a_spooled_file_on_another_filesystem_is_copied() {
        use std::os::unix::fs::MetadataExt;
        let shm = std::path::Path::new("/dev/shm");
        let root = tempfile::tempdir().unwrap();
        let Ok(spool) = tempfile::NamedTempFile::new_in(shm) else {
            return; // no tmpfs here: nothing to test
        };
        if std::fs::metadata(shm).unwrap().dev() == std::fs::metadata(root.path()).unwrap().dev() {
            return;
        }
        let objects = super::Objects::open(None, root.path(), "http://x/cdn".into()).unwrap();
        std::fs::write(spool.path(), b"bytes").unwrap();
        objects
            .put_spooled("creatives/cr_1/x.txt", spool.path(), 5)
            .await
            .unwrap();
        let placed = objects.local_file("creatives/cr_1/x.txt").unwrap();
        assert_eq!(std::fs::read(placed).unwrap(), b"bytes");
    }

    #[test]
    fn partial_writes_are_told_from_objects() {
        use super::is_partial_write;
        assert!(is_partial_write("abc.mp4#1"));
        assert!(is_partial_write("abc.mp4#12"));
        assert!(!is_partial_write("abc.mp4"));
        assert!(!is_partial_write("abc#x"));
        assert!(!is_partial_write("abc#"));
        assert!(!is_partial_write("#1"));
    }
}
