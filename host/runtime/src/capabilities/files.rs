//! Capability `files`: a resolver reads the file named by one of its own `kind: file`
//! configuration fields, and nothing else. Contents are cached by (path, mtime, length) so a
//! passwd file is read from disk only when it changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::bindings::resolver::tessera::plugin::files;
use crate::bindings::token::tessera::plugin::types::{ErrorCode, PluginError};
use crate::state::HostState;

/// Files larger than this are not read (a resolver's user file, not a database).
const MAX_FILE_BYTES: u64 = 64 << 20;
/// Distinct paths kept in the cache; the whole cache is dropped when it is full.
const MAX_CACHED_FILES: usize = 256;

struct Cached {
    mtime: Option<SystemTime>,
    len: u64,
    data: Arc<[u8]>,
}

/// File contents shared by every store of a runtime.
#[derive(Default)]
pub(crate) struct FileCache {
    entries: Mutex<HashMap<PathBuf, Cached>>,
}

impl FileCache {
    /// The content of `path`, from the cache if the file's mtime and length did not change.
    pub fn read(&self, path: &Path) -> Result<Arc<[u8]>, std::io::Error> {
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
        let mtime = meta.modified().ok();
        {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = entries.get(path)
                && c.mtime.is_some()
                && c.mtime == mtime
                && c.len == meta.len()
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
                mtime,
                len: data.len() as u64,
                data: data.clone(),
            },
        );
        Ok(data)
    }
}

fn err(code: ErrorCode, message: String) -> PluginError {
    PluginError { code, message }
}

impl files::Host for HostState {
    fn read(&mut self, field: String) -> wasmtime::Result<Result<Vec<u8>, PluginError>> {
        let Some(ctx) = &self.resolver else {
            return Ok(Err(err(
                ErrorCode::BadConfig,
                "no resolver configuration".into(),
            )));
        };
        if !ctx.file_fields.contains(&field) {
            return Ok(Err(err(
                ErrorCode::BadConfig,
                format!("configuration field `{field}` is not declared with kind `file`"),
            )));
        }
        let Some((_, path)) = ctx.config.iter().find(|(k, _)| *k == field) else {
            return Ok(Err(err(
                ErrorCode::BadConfig,
                format!("configuration field `{field}` is missing"),
            )));
        };
        if path.is_empty() {
            return Ok(Err(err(
                ErrorCode::BadConfig,
                format!("configuration field `{field}` is empty"),
            )));
        }
        match ctx.files.read(Path::new(path)) {
            Ok(data) => Ok(Ok(data.to_vec())),
            Err(e) => Ok(Err(err(
                ErrorCode::Unavailable,
                format!("cannot read {path}: {e}"),
            ))),
        }
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
        // `logo` names the same file, but it is not a `kind: file` field.
        let e = state.read("logo".into()).unwrap().unwrap_err();
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
        assert_eq!(
            state.read("absent".into()).unwrap().unwrap_err().code,
            ErrorCode::BadConfig
        );

        let mut token = HostState::new("hotp".into(), &limits, None);
        assert_eq!(
            token.read("fileName".into()).unwrap().unwrap_err().code,
            ErrorCode::BadConfig
        );
    }
}
