//! Warm (Store, instance) pairs for `InstanceMode::Pooled`, keyed by (plugin, isolation key).
//! An instance is only ever handed back out for the key it served before, so whatever stays in
//! its memory belongs to that one token or resolver configuration. One LRU order across all keys
//! bounds the number of idle instances.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use wasmtime::Store;

use crate::state::HostState;

/// An instantiated plugin and the store it lives in.
pub(crate) struct Warm<I> {
    pub store: Store<HostState>,
    pub inst: I,
}

/// The idle instances of one (plugin, key), oldest first, each with its LRU stamp.
type IdleList<I> = Vec<(u64, Warm<I>)>;

struct Inner<I> {
    /// plugin id → isolation key → idle instances.
    idle: HashMap<u32, HashMap<String, IdleList<I>>>,
    /// LRU stamp → (plugin id, isolation key); the first entry is the least recently used.
    lru: BTreeMap<u64, (u32, String)>,
    next_stamp: u64,
}

pub(crate) struct Pool<I> {
    inner: Mutex<Inner<I>>,
    cap: usize,
}

impl<I> Pool<I> {
    pub fn new(cap: usize) -> Self {
        Pool {
            inner: Mutex::new(Inner {
                idle: HashMap::new(),
                lru: BTreeMap::new(),
                next_stamp: 0,
            }),
            cap,
        }
    }

    /// The most recently used idle instance of `plugin` for `key`, if any.
    pub fn take(&self, plugin: u32, key: &str) -> Option<Warm<I>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let by_key = inner.idle.get_mut(&plugin)?;
        let list = by_key.get_mut(key)?;
        let (stamp, warm) = list.pop()?;
        if list.is_empty() {
            by_key.remove(key);
        }
        inner.lru.remove(&stamp);
        Some(warm)
    }

    /// Keep `warm` for a later call on the same key; evicts the least recently used idle
    /// instances beyond the cap (dropped after the lock is released).
    pub fn put(&self, plugin: u32, key: &str, warm: Warm<I>) {
        if self.cap == 0 {
            return;
        }
        let mut evicted = Vec::new();
        {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let stamp = inner.next_stamp;
            inner.next_stamp += 1;
            inner.lru.insert(stamp, (plugin, key.to_string()));
            inner
                .idle
                .entry(plugin)
                .or_default()
                .entry(key.to_string())
                .or_default()
                .push((stamp, warm));
            while inner.lru.len() > self.cap {
                let Some((_, (p, k))) = inner.lru.pop_first() else {
                    break;
                };
                if let Some(by_key) = inner.idle.get_mut(&p)
                    && let Some(list) = by_key.get_mut(&k)
                {
                    // Stamps grow, and `take` pops from the back, so the oldest is in front.
                    if !list.is_empty() {
                        evicted.push(list.remove(0));
                    }
                    if list.is_empty() {
                        by_key.remove(&k);
                    }
                }
            }
        }
        drop(evicted);
    }

    /// Number of idle instances.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lru
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::CallLimits;
    use std::time::Duration;

    fn warm(engine: &wasmtime::Engine, tag: u32) -> Warm<u32> {
        let limits = CallLimits {
            memory_bytes: 1 << 20,
            time: Duration::from_millis(10),
        };
        Warm {
            store: Store::new(engine, HostState::new("t".into(), &limits, None)),
            inst: tag,
        }
    }

    #[test]
    fn instances_return_only_to_their_key_and_lru_is_bounded() {
        let engine = wasmtime::Engine::default();
        let pool = Pool::new(2);
        pool.put(1, "A", warm(&engine, 10));
        assert!(
            pool.take(1, "B").is_none(),
            "another key never gets A's instance"
        );
        assert!(
            pool.take(2, "A").is_none(),
            "another plugin never gets it either"
        );
        assert_eq!(pool.take(1, "A").map(|w| w.inst), Some(10));
        assert!(pool.take(1, "A").is_none());

        pool.put(1, "A", warm(&engine, 11));
        pool.put(1, "B", warm(&engine, 20));
        pool.put(1, "C", warm(&engine, 30)); // evicts A's, the least recently used
        assert_eq!(pool.idle(), 2);
        assert!(pool.take(1, "A").is_none());
        assert_eq!(pool.take(1, "B").map(|w| w.inst), Some(20));
        assert_eq!(pool.take(1, "C").map(|w| w.inst), Some(30));
        assert_eq!(pool.idle(), 0);

        let none = Pool::new(0);
        none.put(1, "A", warm(&engine, 1));
        assert!(none.take(1, "A").is_none());
    }
}
