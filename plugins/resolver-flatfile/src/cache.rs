//! The users parsed from the configured file, kept in the instance between calls and parsed again
//! only when the host's stamp of the file (path, size, mtime) changes.
//!
//! The cache holds one file. That is enough: the host hands a warm instance back out only for the
//! resolver name and configuration hash it served before (the runtime's pool), so a pooled
//! instance only ever sees its own resolver's file, and a fresh instance sees one call.

use std::sync::{Arc, Mutex, PoisonError};

use tessera_sdk::PluginError;

use crate::passwd::Users;

/// What one file parsed to, and which version of which file that was.
struct Parsed {
    /// The value of the file field (the path), as configured.
    path: String,
    stamp: u64,
    users: Arc<Users>,
}

/// The parsed users of the last file read.
pub(crate) struct UserCache {
    // A Mutex only because a `static` must be `Sync`: a wasm instance runs one call at a time.
    slot: Mutex<Option<Parsed>>,
}

impl UserCache {
    pub(crate) const fn new() -> Self {
        UserCache {
            slot: Mutex::new(None),
        }
    }

    /// The users of the file at `path` whose current stamp is `stamp`: the cached ones if both
    /// match, or else the content from `read` parsed. Take the stamp before reading, so that a
    /// change in between shows as a new stamp on the next call. A failed read leaves nothing
    /// cached.
    pub(crate) fn users(
        &self,
        path: &str,
        stamp: u64,
        read: impl FnOnce() -> Result<Vec<u8>, PluginError>,
    ) -> Result<Arc<Users>, PluginError> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = slot.as_ref()
            && p.stamp == stamp
            && p.path == path
        {
            return Ok(p.users.clone());
        }
        // Free the old users before parsing the new ones: the instance's memory is limited.
        *slot = None;
        let users = Arc::new(Users::parse(&String::from_utf8_lossy(&read()?)));
        *slot = Some(Parsed {
            path: path.to_owned(),
            stamp,
            users: users.clone(),
        });
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn parses_again_only_for_a_new_stamp_or_path() {
        let cache = UserCache::new();
        let reads = Cell::new(0);
        let file = |text: &'static str| {
            let reads = &reads;
            move || {
                reads.set(reads.get() + 1);
                Ok(text.as_bytes().to_vec())
            }
        };
        let logins = |users: &Users| -> Vec<String> {
            users.entries().iter().map(|e| e.login.clone()).collect()
        };

        let alice = "alice:x:1000:1000:Alice:/:/\n";
        let both = "alice:x:1000:1000:Alice:/:/\nbob:x:1001:1001:Bob:/:/\n";
        let u = cache.users("/etc/p", 1, file(alice)).unwrap();
        assert_eq!(logins(&u), ["alice"]);
        // Same stamp: served from the cache even though the "file" now says otherwise.
        let u = cache.users("/etc/p", 1, file(both)).unwrap();
        assert_eq!((logins(&u).len(), reads.get()), (1, 1));
        // New stamp: read and parsed again.
        let u = cache.users("/etc/p", 2, file(both)).unwrap();
        assert_eq!(
            (logins(&u), reads.get()),
            (vec!["alice".into(), "bob".into()], 2)
        );
        // Another path with the same stamp is another file.
        let u = cache.users("/etc/q", 2, file(alice)).unwrap();
        assert_eq!((logins(&u).len(), reads.get()), (1, 3));

        // A failed read is reported and leaves nothing stale behind.
        let e = cache
            .users("/etc/q", 3, || Err(PluginError::unavailable("gone")))
            .unwrap_err();
        assert_eq!(e.message, "gone");
        let u = cache.users("/etc/q", 2, file(both)).unwrap();
        assert_eq!((logins(&u).len(), reads.get()), (2, 4));
    }
}
