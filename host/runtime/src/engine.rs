//! The wasmtime engine (epoch interruption on, one ticker thread) and component compilation with
//! an optional on-disk cache of compiled artifacts.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

use crate::LoadError;
use crate::state::TICK;

/// A new engine for plugins: Cranelift, epoch interruption, no fuel.
pub(crate) fn new_engine() -> Result<Engine, LoadError> {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true);
    Engine::new(&cfg).map_err(|e| LoadError::Engine(e.to_string()))
}

/// Start the thread that advances the engine's epoch every [`TICK`]. It stops by itself once
/// the engine (held by the runtime and its components) is dropped.
pub(crate) fn start_ticker(engine: &Engine) -> Result<(), LoadError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("tessera-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|e| LoadError::Engine(format!("cannot start the epoch thread: {e}")))
}

/// Compile `wasm`, or load it from `cache_dir` if it was compiled by a compatible engine before.
/// A cache file that cannot be loaded is replaced; cache write failures are only logged.
pub(crate) fn compile(
    engine: &Engine,
    plugin: &str,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<Component, LoadError> {
    let Some(dir) = cache_dir else {
        return compile_now(engine, plugin, wasm);
    };
    let path = cache_path(engine, dir, wasm);
    if path.is_file() {
        match load_cached(engine, &path) {
            Ok(c) => return Ok(c),
            Err(e) => tracing::warn!(
                plugin,
                path = %path.display(),
                error = %e,
                "compiled plugin cache file unusable; recompiling"
            ),
        }
    }
    let component = compile_now(engine, plugin, wasm)?;
    if let Err(e) = store_cached(&component, dir, &path) {
        tracing::warn!(plugin, path = %path.display(), error = %e, "cannot write compiled plugin cache");
    }
    Ok(component)
}

fn compile_now(engine: &Engine, plugin: &str, wasm: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, wasm).map_err(|e| LoadError::Compile {
        plugin: plugin.to_string(),
        message: format!("{e:#}"),
    })
}

/// `<dir>/<sha256 of the wasm>-<engine compatibility hash>.cwasm`.
fn cache_path(engine: &Engine, dir: &Path, wasm: &[u8]) -> PathBuf {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let name = format!(
        "{}-{:016x}.cwasm",
        hex::encode(Sha256::digest(wasm)),
        h.finish()
    );
    dir.join(name)
}

/// Reads the file into memory rather than `Component::deserialize_file`: a mapped file that is
/// truncated in place while loaded (an admin "fixing" the cache) kills the process with SIGBUS,
/// as a test here showed. The copy costs about 0.1 ms for a plugin of this size.
#[allow(unsafe_code)]
fn load_cached(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    let bytes = std::fs::read(path)?;
    // SAFETY: the bytes are a file this host wrote with `Component::serialize` into its own
    // cache directory, named by the hash of the wasm it came from and of the engine
    // configuration; wasmtime checks the header, version and configuration and refuses
    // mismatches.
    unsafe { Component::deserialize(engine, &bytes) }
}

fn store_cached(component: &Component, dir: &Path, path: &Path) -> Result<(), String> {
    let bytes = component.serialize().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    // Write then rename, so a concurrent reader never sees a partial file.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}
