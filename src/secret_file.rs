//! Secrets kept in files in DATA_DIR (the generated click-signing key, the dev API key): readable and
//! writable by the service's own user only (mode 0600), written whole or not at all.

use std::io::Write;
use std::path::Path;

/// The trimmed contents of the secret file at `path`, if it exists and is not blank. A file left
/// readable by others (written by an earlier version, or copied in) is narrowed to 0600 first.
pub fn read(path: &Path) -> std::io::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    owner_only(path)?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Writes `secret` to `path` with mode 0600: to a temporary file beside it, synced, then renamed
/// (and the folder synced), so a crash leaves either no file or the whole secret, and the secret is
/// never readable by others, not even for a moment. Replaces a file already there.
pub fn write(path: &Path, secret: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    // tempfile creates its files 0600 on Unix.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(secret.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    owner_only(path)?;
    sync_dir(dir)
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode != 0o600 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn written_owner_only_and_read_back_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        assert_eq!(read(&p).unwrap(), None);
        write(&p, "s3cret\n").unwrap();
        assert_eq!(mode(&p), 0o600);
        assert_eq!(read(&p).unwrap().as_deref(), Some("s3cret"));
        write(&p, "other").unwrap();
        assert_eq!(read(&p).unwrap().as_deref(), Some("other"));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_world_readable_file_is_narrowed_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read(&p).unwrap().as_deref(), Some("x"));
        assert_eq!(mode(&p), 0o600);
        std::fs::write(&p, " \n").unwrap();
        assert_eq!(read(&p).unwrap(), None, "blank is no secret");
    }
}
