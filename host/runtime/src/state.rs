//! The data every plugin `Store` carries: the resource table, the memory limiter, the last error
//! log line (for panic messages) and, for resolvers, the configuration of the current call.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::Pairs;
use crate::capabilities::files::FileCache;

/// Most resources (secret handles) one store may hold at a time.
const MAX_RESOURCES: usize = 64;
/// Epoch ticker period; the time limit is rounded up to whole ticks.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// The sandbox limits of one plugin, from its manifest or the runtime defaults.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallLimits {
    pub memory_bytes: usize,
    pub time: Duration,
}

impl CallLimits {
    /// The epoch deadline, in ticks, for one call.
    pub fn ticks(&self) -> u64 {
        let tick = TICK.as_millis().max(1);
        let ticks = self.time.as_millis().div_ceil(tick).max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

/// [`StoreLimits`] plus a flag recording that a memory growth was refused, so that a trap after
/// it is reported as out-of-memory and not as whatever the guest did next.
pub(crate) struct Limiter {
    limits: StoreLimits,
    pub memory_exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.limits.memory_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.memory_exceeded = true;
        }
        r
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// What a resolver call makes available to the `files` capability.
pub(crate) struct ResolverCtx {
    /// Names of the configuration fields the resolver declared as `kind: file`.
    pub file_fields: Arc<[String]>,
    /// The configuration of the call in progress (empty between calls).
    pub config: Pairs,
    pub files: Arc<FileCache>,
}

/// The `T` of every `Store<T>` the runtime creates.
pub(crate) struct HostState {
    /// The plugin's manifest name, for logs.
    pub plugin: Arc<str>,
    pub table: ResourceTable,
    pub limiter: Limiter,
    /// The last `error`-level log line of the current call: the SDK's panic hook logs the panic
    /// message there just before the trap.
    pub last_error: Option<String>,
    /// Set for resolver plugins only.
    pub resolver: Option<ResolverCtx>,
}

impl HostState {
    pub fn new(plugin: Arc<str>, limits: &CallLimits, resolver: Option<ResolverCtx>) -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .memories(4)
            .tables(64)
            .instances(64)
            .trap_on_grow_failure(true)
            .build();
        HostState {
            plugin,
            table,
            limiter: Limiter {
                limits,
                memory_exceeded: false,
            },
            last_error: None,
            resolver,
        }
    }

    /// Forget what the previous call on this store left behind.
    pub fn begin_call(&mut self) {
        self.last_error = None;
        self.limiter.memory_exceeded = false;
    }
}
