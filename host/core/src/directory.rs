//! An in-memory copy of the realm and resolver configuration, so that `/validate/check` reads no
//! configuration from disk. Every write goes to the store first, then replaces the copy.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tessera_proto::PiError;
use tessera_store::{RealmRecord, ResolverRecord, Store};

use crate::store_err;

/// Config key of the default realm.
pub(crate) const DEFAULT_REALM_KEY: &str = "DefaultRealm";

/// One consistent view of realms and resolvers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot {
    pub realms: BTreeMap<String, RealmRecord>,
    pub resolvers: BTreeMap<String, ResolverRecord>,
    pub default_realm: Option<String>,
}

impl Snapshot {
    /// The resolvers of a realm, lowest priority number first (no priority last), then by name.
    pub fn realm_resolvers(&self, realm: &str) -> Vec<&ResolverRecord> {
        let Some(r) = self.realms.get(realm) else {
            return Vec::new();
        };
        let mut entries: Vec<_> = r.resolvers.iter().collect();
        entries.sort_by_key(|e| (e.priority.unwrap_or(u32::MAX), e.name.clone()));
        entries
            .iter()
            .filter_map(|e| self.resolvers.get(&e.name))
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct Directory {
    current: RwLock<Arc<Snapshot>>,
    /// Serialises writers so that reload-after-write cannot interleave.
    write_lock: std::sync::Mutex<()>,
}

impl Directory {
    pub fn load(store: &dyn Store) -> Result<Self, PiError> {
        let snap = read_snapshot(store)?;
        Ok(Directory {
            current: RwLock::new(Arc::new(snap)),
            write_lock: std::sync::Mutex::new(()),
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Run a configuration write, then reload the copy from the store.
    pub fn write<T>(
        &self,
        store: &dyn Store,
        f: impl FnOnce() -> Result<T, PiError>,
    ) -> Result<T, PiError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let out = f();
        let snap = read_snapshot(store)?;
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(snap),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(snap),
        }
        out
    }
}

fn read_snapshot(store: &dyn Store) -> Result<Snapshot, PiError> {
    let realms = store
        .list_realms()
        .map_err(store_err)?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let resolvers = store
        .list_resolvers()
        .map_err(store_err)?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let default_realm = store.get_config(DEFAULT_REALM_KEY).map_err(store_err)?;
    Ok(Snapshot {
        realms,
        resolvers,
        default_realm,
    })
}
