//! Host capabilities: one module per WIT interface the host implements for plugins. This file
//! holds `host` (logging, granted to every plugin) and the linker wiring for all of them.

pub(crate) mod files;
pub(crate) mod keystore;
pub(crate) mod passwords;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::token::tessera::plugin::{host, types};
use crate::manifest::{Capability, Manifest};
use crate::state::HostState;

/// Longest log line a plugin may write; longer lines are cut.
const MAX_LOG_LINE: usize = 2048;

impl types::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        let message = truncate(message, MAX_LOG_LINE);
        let plugin = &*self.plugin;
        match level {
            types::LogLevel::Trace => {
                tracing::trace!(target: "tessera::plugin", plugin, "{message}")
            }
            types::LogLevel::Debug => {
                tracing::debug!(target: "tessera::plugin", plugin, "{message}")
            }
            types::LogLevel::Info => tracing::info!(target: "tessera::plugin", plugin, "{message}"),
            types::LogLevel::Warn => tracing::warn!(target: "tessera::plugin", plugin, "{message}"),
            types::LogLevel::Error => {
                tracing::error!(target: "tessera::plugin", plugin, "{message}");
                self.last_error = Some(message);
            }
        }
        Ok(())
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Link the interfaces every token plugin gets: `types`, `host`, `keystore`.
pub(crate) fn link_token(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    crate::bindings::token::TokenPlugin::add_to_linker::<HostState, HasSelf<HostState>>(
        linker,
        |s| s,
    )
}

/// Link `types`, `host`, and `files` / `passwords` only if the manifest grants them.
pub(crate) fn link_resolver(
    linker: &mut Linker<HostState>,
    manifest: &Manifest,
) -> wasmtime::Result<()> {
    use crate::bindings::resolver::tessera::plugin as r;
    types::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    host::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    if manifest.grants(Capability::Files) {
        r::files::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    }
    if manifest.grants(Capability::Passwords) {
        r::passwords::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(super::truncate("aé".repeat(3), 4), "aéa");
        assert_eq!(super::truncate("short".into(), 10), "short");
    }
}
