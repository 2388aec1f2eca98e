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
        let store: Arc<dyn ObjectStore> = match url {
            None => {
                local_root = Some(default_dir.to_owned());
                Arc::new(local(default_dir)?)
            }
            Some(raw) => {
                let parsed = url::Url::parse(raw).context("OBJECT_STORE_URL is not a URL")?;
                match parsed.scheme() {
                    "file" => {
                        let dir = parsed.to_file_path().map_err(|_| {
                            anyhow::anyhow!("OBJECT_STORE_URL file path must be absolute")
                        })?;
                        let store = local(&dir)?;
                        local_root = Some(dir);
                        Arc::new(store)
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
                writer.wait_for_capacity(2).await?;
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
