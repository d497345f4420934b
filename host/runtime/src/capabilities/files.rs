//! Capability `files`: a resolver reads (or stamps) the file named by one of its own
//! `kind: file` configuration fields, and nothing else. A file's version is its (path, mtime,
//! length): contents are cached by it, so a passwd file is read from disk only when it changes,
//! and `stamp` hashes it, so a plugin can keep what it parsed until the file changes.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::bindings::resolver::tessera::plugin::files;
use crate::bindings::token::tessera::plugin::types::{ErrorCode, PluginError};
use crate::state::HostState;

/// Files larger than this are not read (a resolver's user file, not a database).
const MAX_FILE_BYTES: u64 = 64 << 20;
/// Distinct paths kept in the cache; the whole cache is dropped when it is full.
const MAX_CACHED_FILES: usize = 256;

/// What tells two versions of a file apart without reading it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Version {
    /// None where the platform or file system reports no modification time: such a file is
    /// never trusted to be unchanged.
    mtime: Option<SystemTime>,
    len: u64,
}

impl Version {
    /// The version of the regular file at `path` (one `stat`), refused if it is too large to read.
    fn of(path: &Path) -> Result<Self, std::io::Error> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(std::io::Error::other(format!(
                "file is larger than {} MiB",
                MAX_FILE_BYTES >> 20
            )));
        }
        Ok(Version {
            mtime: meta.modified().ok(),
            len: meta.len(),
        })
    }

    /// Whether `self` and `other` are known to be the same version.
    fn same_as(&self, other: &Version) -> bool {
        self.mtime.is_some() && self == other
    }
}

struct Cached {
    version: Version,
    data: Arc<[u8]>,
}

/// File contents shared by every store of a runtime.
#[derive(Default)]
pub(crate) struct FileCache {
    entries: Mutex<HashMap<PathBuf, Cached>>,
    /// Counts stamps of files without a modification time, so that each such stamp is new.
    unversioned: AtomicU64,
}

impl FileCache {
    /// The content of `path`, from the cache if the file's mtime and length did not change.
    pub fn read(&self, path: &Path) -> Result<Arc<[u8]>, std::io::Error> {
        let version = Version::of(path)?;
        {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = entries.get(path)
                && c.version.same_as(&version)
            {
                return Ok(c.data.clone());
            }
        }
        let data: Arc<[u8]> = std::fs::read(path)?.into();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_CACHED_FILES && !entries.contains_key(path) {
            entries.clear();
        }
        entries.insert(
            path.to_path_buf(),
            Cached {
                // The file may have changed between the `stat` and the read: keep the length
                // actually read, so a grown or shrunk file is read again next time.
                version: Version {
                    len: data.len() as u64,
                    ..version
                },
                data: data.clone(),
            },
        );
        Ok(data)
    }

    /// A number that changes when the file at `path` changes: a hash of the path, the length and
    /// the mtime in nanoseconds, from one `stat`. Without an mtime every stamp is a new number,
    /// so the caller never keeps stale data. Fails as [`read`](Self::read) would.
    pub fn stamp(&self, path: &Path) -> Result<u64, std::io::Error> {
        let version = Version::of(path)?;
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        version.len.hash(&mut h);
        match version.mtime {
            Some(mtime) => {
                // Before the epoch is as good a version as after it; keep the sign apart.
                match mtime.duration_since(SystemTime::UNIX_EPOCH) {
                    Ok(d) => (0u8, d.as_nanos()).hash(&mut h),
                    Err(e) => (1u8, e.duration().as_nanos()).hash(&mut h),
                }
            }
            None => (2u8, self.unversioned.fetch_add(1, Ordering::Relaxed)).hash(&mut h),
        }
        Ok(h.finish())
    }
}

fn err(code: ErrorCode, message: String) -> PluginError {
    PluginError { code, message }
}

impl HostState {
    /// The runtime's file cache and the path in configuration field `field` of the resolver being
    /// called, if the resolver declared that field with kind `file` and it holds a path.
    fn file_field(&self, field: &str) -> Result<(&FileCache, &str), PluginError> {
        let Some(ctx) = &self.resolver else {
            return Err(err(
                ErrorCode::BadConfig,
                "no resolver configuration".into(),
            ));
        };
        if !ctx.file_fields.iter().any(|f| f == field) {
            return Err(err(
                ErrorCode::BadConfig,
                format!("configuration field `{field}` is not declared with kind `file`"),
            ));
        }
        let Some((_, path)) = ctx.config.iter().find(|(k, _)| k == field) else {
            return Err(err(
                ErrorCode::BadConfig,
                format!("configuration field `{field}` is missing"),
            ));
        };
        if path.is_empty() {
            return Err(err(
                ErrorCode::BadConfig,
                format!("configuration field `{field}` is empty"),
            ));
        }
        Ok((&ctx.files, path))
    }
}

fn unavailable(path: &str, e: &std::io::Error) -> PluginError {
    err(ErrorCode::Unavailable, format!("cannot read {path}: {e}"))
}

impl files::Host for HostState {
    fn read(&mut self, field: String) -> wasmtime::Result<Result<Vec<u8>, PluginError>> {
        Ok(self.file_field(&field).and_then(|(files, path)| {
            files
                .read(Path::new(path))
                .map(|data| data.to_vec())
                .map_err(|e| unavailable(path, &e))
        }))
    }

    fn stamp(&mut self, field: String) -> wasmtime::Result<Result<u64, PluginError>> {
        Ok(self.file_field(&field).and_then(|(files, path)| {
            files
                .stamp(Path::new(path))
                .map_err(|e| unavailable(path, &e))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_follows_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        std::fs::write(&path, "alice:x:1000\n").unwrap();
        let cache = FileCache::default();
        let first = cache.read(&path).unwrap();
        assert_eq!(&*first, b"alice:x:1000\n");
        assert!(
            Arc::ptr_eq(&first, &cache.read(&path).unwrap()),
            "second read is served from the cache"
        );
        std::fs::write(&path, "alice:x:1000\nbob:x:1001\n").unwrap();
        assert_eq!(&*cache.read(&path).unwrap(), b"alice:x:1000\nbob:x:1001\n");
        assert!(cache.read(&dir.path().join("missing")).is_err());
        assert!(cache.read(dir.path()).is_err(), "a directory is not a file");
    }

    #[test]
    fn stamp_follows_path_length_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let write = |path: &Path, text: &str, mtime: SystemTime| {
            std::fs::write(path, text).unwrap();
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        };
        write(&path, "alice:x:1000\n", t0);
        let cache = FileCache::default();
        let first = cache.stamp(&path).unwrap();
        assert_eq!(cache.stamp(&path).unwrap(), first, "unchanged file");

        // A user added: the length changes (mtime kept on purpose).
        write(&path, "alice:x:1000\nbob:x:1001\n", t0);
        let added = cache.stamp(&path).unwrap();
        assert_ne!(added, first);
        // Same length, one nanosecond later: a password hash replaced by one as long.
        write(
            &path,
            "alice:y:1000\nbob:x:1001\n",
            t0 + std::time::Duration::from_nanos(1),
        );
        let edited = cache.stamp(&path).unwrap();
        assert_ne!(edited, added);
        // The same length and mtime in another file is another version.
        let copy = dir.path().join("passwd.copy");
        write(
            &copy,
            "alice:y:1000\nbob:x:1001\n",
            t0 + std::time::Duration::from_nanos(1),
        );
        assert_ne!(cache.stamp(&copy).unwrap(), edited);

        // What `read` refuses, `stamp` refuses too.
        assert!(cache.stamp(&dir.path().join("missing")).is_err());
        assert!(
            cache.stamp(dir.path()).is_err(),
            "a directory is not a file"
        );
    }

    #[test]
    fn only_fields_declared_as_files_are_read() {
        use crate::state::{CallLimits, ResolverCtx};
        use files::Host as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        std::fs::write(&path, "alice:x:1000\n").unwrap();
        let p = path.to_str().unwrap().to_string();
        let ctx = ResolverCtx {
            file_fields: Arc::from(vec!["fileName".to_string()]),
            config: vec![
                ("fileName".into(), p.clone()),
                ("logo".into(), p.clone()),
                ("other".into(), "/nonexistent/file".into()),
            ],
            files: Arc::default(),
        };
        let limits = CallLimits {
            memory_bytes: 1 << 20,
            time: std::time::Duration::from_millis(10),
        };
        let mut state = HostState::new("flat".into(), &limits, Some(ctx));
        assert_eq!(
            state.read("fileName".into()).unwrap().unwrap(),
            b"alice:x:1000\n"
        );
        let stamp = state.stamp("fileName".into()).unwrap().unwrap();
        assert_eq!(stamp, state.stamp("fileName".into()).unwrap().unwrap());
        // `logo` names the same file, but it is not a `kind: file` field.
        let e = state.read("logo".into()).unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::BadConfig);
        assert!(e.message.contains("`logo`"), "{}", e.message);
        let e = state.stamp("logo".into()).unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::BadConfig);
        assert!(e.message.contains("`logo`"), "{}", e.message);

        if let Some(ctx) = state.resolver.as_mut() {
            ctx.file_fields = Arc::from(vec![
                "fileName".to_string(),
                "other".to_string(),
                "absent".to_string(),
            ]);
        }
        let e = state.read("other".into()).unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert!(e.message.contains("/nonexistent/file"), "{}", e.message);
        let e = state.stamp("other".into()).unwrap().unwrap_err();
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert!(e.message.contains("/nonexistent/file"), "{}", e.message);
        assert_eq!(
            state.read("absent".into()).unwrap().unwrap_err().code,
            ErrorCode::BadConfig
        );
        assert_eq!(
            state.stamp("absent".into()).unwrap().unwrap_err().code,
            ErrorCode::BadConfig
        );

        let mut token = HostState::new("hotp".into(), &limits, None);
        assert_eq!(
            token.read("fileName".into()).unwrap().unwrap_err().code,
            ErrorCode::BadConfig
        );
        assert_eq!(
            token.stamp("fileName".into()).unwrap().unwrap_err().code,
            ErrorCode::BadConfig
        );
    }
}
