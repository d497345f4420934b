//! The data directory: created with owner-only permissions, held by one tessera process at a time
//! (an exclusive lock on `<data_dir>/lock`), and its encryption key (created on first use).

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use anyhow::{Context, bail};
use tessera_store::{SealError, Sealer};

/// Held while a command uses the data directory; the lock goes with the file handle.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Creates `dir` (mode 0700) if needed and locks it for this process.
pub fn lock(dir: &Path) -> anyhow::Result<DirLock> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _file: file }),
        Err(TryLockError::WouldBlock) => bail!(
            "the data directory {} is in use by a running tessera serve (or another tessera command); \
             stop it first, or point --data-dir elsewhere",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Loads the key at `path`, creating it first if it does not exist (and saying so, loudly).
pub fn open_or_create_key(path: &Path) -> anyhow::Result<Sealer> {
    match Sealer::from_key_file(path) {
        Ok(sealer) => Ok(sealer),
        Err(SealError::KeyFileMissing(_)) => {
            create_key(path)?;
            Sealer::from_key_file(path)
                .with_context(|| format!("cannot read the new key {}", path.display()))
        }
        Err(e) => Err(e).context("cannot load the encryption key"),
    }
}

/// Writes a new key to `path`; refuses to replace an existing one.
pub fn create_key(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Sealer::create_key_file(path).context("cannot create the encryption key")?;
    tracing::warn!(
        path = %path.display(),
        "created a new encryption key: it seals every token seed. BACK IT UP (and keep it apart from the \
         data backups): without it no enrolled token can be used"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_user_of_a_data_dir_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let held = lock(&data).unwrap();
        let err = format!("{:#}", lock(&data).unwrap_err());
        assert!(
            err.contains("is in use by a running tessera serve"),
            "{err}"
        );
        drop(held);
        lock(&data).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn key_is_created_once_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/enckey");
        let sealer = open_or_create_key(&path).unwrap();
        let sealed = sealer.seal(b"aad", b"seed");
        let text = std::fs::read_to_string(&path).unwrap();
        // loading again uses the same key
        assert_eq!(
            &open_or_create_key(&path)
                .unwrap()
                .open(b"aad", &sealed)
                .unwrap()[..],
            b"seed"
        );
        let err = format!("{:#}", create_key(&path).unwrap_err());
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn a_damaged_key_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enckey");
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(open_or_create_key(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key\n");
    }
}
