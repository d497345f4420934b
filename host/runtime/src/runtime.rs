//! [`Runtime`]: the registry of loaded plugins, its configuration, and the one code path every
//! plugin call goes through (get an instance, set limits, call, classify a trap, pool or drop).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Engine, Store};

use crate::bindings;
use crate::capabilities::files::FileCache;
use crate::loader::{PluginCommon, ResolverEntry, TokenEntry};
use crate::pool::{Pool, Warm};
use crate::state::HostState;
use crate::trap::trapped;
use crate::{CallError, LoadError, ResolverTypeInfo, TokenTypeInfo};

/// How instances are used across calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceMode {
    /// A new Store and instance for every call: nothing survives a call.
    Fresh,
    /// Warm instances are kept per (plugin, token serial) or (plugin, resolver name and
    /// configuration) and only reused for that key.
    Pooled,
}

/// Settings of a [`Runtime`].
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where compiled components are kept between runs; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
    /// Time limit of one call, unless the manifest sets `limits.time_ms`.
    pub default_time_limit: Duration,
    /// Linear-memory limit of one instance in bytes, unless the manifest sets `limits.memory_mib`.
    pub default_memory_limit: usize,
    pub instance_mode: InstanceMode,
    /// Most idle warm instances kept in `Pooled` mode, across all plugins and keys.
    pub max_idle_instances: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            default_time_limit: Duration::from_millis(200),
            default_memory_limit: 32 << 20,
            instance_mode: InstanceMode::Fresh,
            max_idle_instances: 256,
        }
    }
}

/// Loaded token-type and resolver plugins, and the sandbox they run in. `Send + Sync`: share it
/// in an `Arc`; calls are synchronous and take microseconds.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) cfg: RuntimeConfig,
    pub(crate) tokens: BTreeMap<String, TokenEntry>,
    pub(crate) resolvers: BTreeMap<String, ResolverEntry>,
    pub(crate) token_pool: Pool<bindings::token::TokenPlugin>,
    pub(crate) resolver_pool: Pool<bindings::resolver::ResolverPlugin>,
    pub(crate) files: Arc<FileCache>,
    pub(crate) next_id: u32,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("token_types", &self.tokens.keys().collect::<Vec<_>>())
            .field("resolver_types", &self.resolvers.keys().collect::<Vec<_>>())
            .field("instance_mode", &self.cfg.instance_mode)
            .finish()
    }
}

impl Runtime {
    /// A runtime with no plugins: creates the engine and starts its epoch ticker thread.
    pub fn new(cfg: RuntimeConfig) -> Result<Runtime, LoadError> {
        let engine = crate::engine::new_engine()?;
        crate::engine::start_ticker(&engine)?;
        Ok(Runtime {
            engine,
            token_pool: Pool::new(cfg.max_idle_instances),
            resolver_pool: Pool::new(cfg.max_idle_instances),
            cfg,
            tokens: BTreeMap::new(),
            resolvers: BTreeMap::new(),
            files: Arc::new(FileCache::default()),
            next_id: 0,
        })
    }

    /// Load one plugin from its manifest text and wasm bytes; returns the type name it registered.
    pub fn load(&mut self, manifest: &str, wasm: &[u8]) -> Result<String, LoadError> {
        crate::loader::load(self, manifest, wasm)
    }

    /// Load every `X.wasm` in `dir` that has an `X.toml` beside it, in name order; returns the
    /// type names registered.
    pub fn load_dir(&mut self, dir: &Path) -> Result<Vec<String>, LoadError> {
        crate::loader::load_dir(self, dir)
    }

    /// All token types, by type name.
    pub fn token_types(&self) -> Vec<TokenTypeInfo> {
        self.tokens.values().map(|t| t.info.clone()).collect()
    }

    pub fn token_type(&self, name: &str) -> Option<&TokenTypeInfo> {
        self.tokens.get(name).map(|t| &t.info)
    }

    /// All resolver types, by type name.
    pub fn resolver_types(&self) -> Vec<ResolverTypeInfo> {
        self.resolvers.values().map(|r| r.info.clone()).collect()
    }

    pub fn resolver_type(&self, name: &str) -> Option<&ResolverTypeInfo> {
        self.resolvers.get(name).map(|r| &r.info)
    }

    /// `Some((pool, key))` if calls on `key` may use warm instances.
    pub(crate) fn warm_slot<'a, I>(
        &self,
        pool: &'a Pool<I>,
        key: &'a str,
    ) -> Option<(&'a Pool<I>, &'a str)> {
        (self.cfg.instance_mode == InstanceMode::Pooled).then_some((pool, key))
    }
}

/// Run one plugin call: take a warm instance for the key (or make a new one), set the time
/// limit, run `body`, and then either return the instance to the pool (success, including a
/// plugin's returned error) or drop it (any trap).
pub(crate) fn call<I, R>(
    engine: &Engine,
    plugin: &PluginCommon,
    warm: Option<(&Pool<I>, &str)>,
    new_state: impl FnOnce() -> HostState,
    instantiate: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<I>,
    body: impl FnOnce(&mut Store<HostState>, &I) -> wasmtime::Result<R>,
) -> Result<R, CallError> {
    let ticks = plugin.limits.ticks();
    let reused = warm.and_then(|(pool, key)| pool.take(plugin.id, key));
    let Warm { mut store, inst } = match reused {
        Some(w) => w,
        None => {
            let mut store = Store::new(engine, new_state());
            store.limiter(|s| &mut s.limiter);
            store.set_epoch_deadline(ticks);
            match instantiate(&mut store) {
                Ok(inst) => Warm { store, inst },
                Err(e) => return Err(trapped(&e, store.data())),
            }
        }
    };
    store.data_mut().begin_call();
    store.set_epoch_deadline(ticks);
    match body(&mut store, &inst) {
        Ok(r) => {
            if let Some((pool, key)) = warm {
                pool.put(plugin.id, key, Warm { store, inst });
            }
            Ok(r)
        }
        Err(e) => Err(trapped(&e, store.data())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn runtime_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<super::Runtime>();
    }
}
