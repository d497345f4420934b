//! Loading a plugin: parse its manifest, compile it, check its imports against the granted
//! capabilities before linking, link, call `describe` once and register it by type name.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::resolver::ResolverPluginPre;
use crate::bindings::token::TokenPluginPre;
use crate::manifest::{Capability, Manifest, PluginKind};
use crate::runtime::{Runtime, call};
use crate::state::{CallLimits, HostState, ResolverCtx};
use crate::{CallError, LoadError, ResolverTypeInfo, TokenTypeInfo};

/// What every loaded plugin has.
pub(crate) struct PluginCommon {
    /// Unique within the runtime; keys the instance pool.
    pub id: u32,
    /// The manifest name, for logs and errors.
    pub name: Arc<str>,
    pub limits: CallLimits,
}

pub(crate) struct TokenEntry {
    pub common: PluginCommon,
    pub pre: TokenPluginPre<HostState>,
    pub info: TokenTypeInfo,
}

impl TokenEntry {
    pub fn new_state(&self) -> HostState {
        HostState::new(self.common.name.clone(), &self.common.limits, None)
    }
}

pub(crate) struct ResolverEntry {
    pub common: PluginCommon,
    pub pre: ResolverPluginPre<HostState>,
    pub info: ResolverTypeInfo,
    /// Config fields declared `kind: file`: the only ones `files.read` serves.
    pub file_fields: Arc<[String]>,
    pub files: Arc<crate::capabilities::files::FileCache>,
}

impl ResolverEntry {
    pub fn new_state(&self) -> HostState {
        let ctx = ResolverCtx {
            file_fields: self.file_fields.clone(),
            config: Vec::new(),
            files: self.files.clone(),
        };
        HostState::new(self.common.name.clone(), &self.common.limits, Some(ctx))
    }
}

pub(crate) fn load(rt: &mut Runtime, manifest: &str, wasm: &[u8]) -> Result<String, LoadError> {
    let manifest = Manifest::parse(manifest)?;
    let plugin = manifest.name.clone();
    if manifest.kind == PluginKind::Token
        && let Some(cap) = manifest.capabilities.first()
    {
        return Err(LoadError::CapabilityNotAllowed {
            plugin,
            capability: cap.to_string(),
            allowed: "resolver",
        });
    }
    let component = crate::engine::compile(&rt.engine, &plugin, wasm, rt.cfg.cache_dir.as_deref())?;
    check_imports(&rt.engine, &component, &manifest)?;

    let world = match manifest.kind {
        PluginKind::Token => "token-plugin",
        PluginKind::Resolver => "resolver-plugin",
    };
    let link_err = |e: wasmtime::Error| link_error(&plugin, world, &e);
    let mut linker = Linker::new(&rt.engine);
    match manifest.kind {
        PluginKind::Token => crate::capabilities::link_token(&mut linker),
        PluginKind::Resolver => crate::capabilities::link_resolver(&mut linker, &manifest),
    }
    .map_err(link_err)?;
    // A std guest imports WASI interfaces it never calls; they trap if it does.
    linker
        .define_unknown_imports_as_traps(&component)
        .map_err(link_err)?;
    let pre: InstancePre<HostState> = linker.instantiate_pre(&component).map_err(link_err)?;

    let common = PluginCommon {
        id: rt.next_id,
        name: plugin.as_str().into(),
        limits: CallLimits {
            memory_bytes: manifest
                .memory_mib
                .map_or(rt.cfg.default_memory_limit, |m| (m as usize) << 20),
            time: manifest
                .time_ms
                .map_or(rt.cfg.default_time_limit, Duration::from_millis),
        },
    };
    let type_name = match manifest.kind {
        PluginKind::Token => register_token(rt, common, pre)?,
        PluginKind::Resolver => register_resolver(rt, common, pre)?,
    };
    rt.next_id += 1;
    tracing::info!(plugin, kind = %manifest.kind, type_name, "plugin loaded");
    Ok(type_name)
}

fn link_error(plugin: &str, world: &'static str, e: &wasmtime::Error) -> LoadError {
    LoadError::Link {
        plugin: plugin.to_string(),
        world,
        message: format!("{e:#}"),
    }
}

/// Refuse a component that imports a capability interface its manifest does not grant.
fn check_imports(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<(), LoadError> {
    for (import, _) in component.component_type().imports(engine) {
        let interface = import.split('@').next().unwrap_or(import);
        for cap in Capability::ALL {
            if interface == cap.interface() && !manifest.grants(cap) {
                return Err(LoadError::CapabilityNotGranted {
                    plugin: manifest.name.clone(),
                    capability: cap.to_string(),
                    import: import.to_string(),
                });
            }
        }
    }
    Ok(())
}

fn describe_error(plugin: &str, e: CallError) -> LoadError {
    let reason = match e {
        CallError::Trap { reason, .. } => reason,
        other => crate::TrapReason::Other(other.to_string()),
    };
    LoadError::Describe {
        plugin: plugin.to_string(),
        reason,
    }
}

fn check_type_name(plugin: &str, type_name: &str) -> Result<(), LoadError> {
    if type_name.is_empty() || type_name.chars().any(char::is_whitespace) {
        return Err(LoadError::Describe {
            plugin: plugin.to_string(),
            reason: crate::TrapReason::Other(format!("invalid type name {type_name:?}")),
        });
    }
    Ok(())
}

fn register_token(
    rt: &mut Runtime,
    common: PluginCommon,
    pre: InstancePre<HostState>,
) -> Result<String, LoadError> {
    let pre = TokenPluginPre::new(pre).map_err(|e| link_error(&common.name, "token-plugin", &e))?;
    let name = common.name.clone();
    let state = || HostState::new(common.name.clone(), &common.limits, None);
    let described = call(
        &rt.engine,
        &common,
        None::<(&crate::pool::Pool<_>, &str)>,
        state,
        |s: &mut Store<HostState>| pre.instantiate(s),
        |s, i| i.tessera_plugin_token().call_describe(s),
    );
    let info = match described {
        Ok(d) => crate::token::type_info(d),
        Err(e) => return Err(describe_error(&name, e)),
    };
    check_type_name(&name, &info.type_name)?;
    if let Some(existing) = rt.tokens.get(&info.type_name) {
        return Err(LoadError::DuplicateType {
            plugin: name.to_string(),
            kind: "token",
            type_name: info.type_name.clone(),
            existing: existing.common.name.to_string(),
        });
    }
    let type_name = info.type_name.clone();
    rt.tokens
        .insert(type_name.clone(), TokenEntry { common, pre, info });
    Ok(type_name)
}

fn register_resolver(
    rt: &mut Runtime,
    common: PluginCommon,
    pre: InstancePre<HostState>,
) -> Result<String, LoadError> {
    let pre =
        ResolverPluginPre::new(pre).map_err(|e| link_error(&common.name, "resolver-plugin", &e))?;
    let name = common.name.clone();
    // `describe` runs before the file fields are known: it gets no file access.
    let state = || {
        let ctx = ResolverCtx {
            file_fields: Arc::from([]),
            config: Vec::new(),
            files: rt.files.clone(),
        };
        HostState::new(common.name.clone(), &common.limits, Some(ctx))
    };
    let described = call(
        &rt.engine,
        &common,
        None::<(&crate::pool::Pool<_>, &str)>,
        state,
        |s: &mut Store<HostState>| pre.instantiate(s),
        |s, i| i.tessera_plugin_resolver().call_describe(s),
    );
    let info = match described {
        Ok(d) => crate::resolver::type_info(d),
        Err(e) => return Err(describe_error(&name, e)),
    };
    check_type_name(&name, &info.type_name)?;
    if let Some(existing) = rt.resolvers.get(&info.type_name) {
        return Err(LoadError::DuplicateType {
            plugin: name.to_string(),
            kind: "resolver",
            type_name: info.type_name.clone(),
            existing: existing.common.name.to_string(),
        });
    }
    let file_fields: Arc<[String]> = info
        .config_fields
        .iter()
        .filter(|f| f.kind == crate::FieldKind::File)
        .map(|f| f.name.clone())
        .collect();
    let type_name = info.type_name.clone();
    let entry = ResolverEntry {
        common,
        pre,
        info,
        file_fields,
        files: rt.files.clone(),
    };
    rt.resolvers.insert(type_name.clone(), entry);
    Ok(type_name)
}

pub(crate) fn load_dir(rt: &mut Runtime, dir: &Path) -> Result<Vec<String>, LoadError> {
    let io = |path: &Path, source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut wasm_files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
            wasm_files.push(path);
        }
    }
    wasm_files.sort();
    let mut loaded = Vec::new();
    for wasm_path in wasm_files {
        let toml_path = wasm_path.with_extension("toml");
        if !toml_path.is_file() {
            tracing::warn!(path = %wasm_path.display(), "no manifest beside plugin; skipped");
            continue;
        }
        let in_file = |file: &Path, e: LoadError| LoadError::InFile {
            file: file.to_path_buf(),
            source: Box::new(e),
        };
        let manifest = std::fs::read_to_string(&toml_path)
            .map_err(|e| in_file(&toml_path, io(&toml_path, e)))?;
        let wasm = std::fs::read(&wasm_path).map_err(|e| in_file(&wasm_path, io(&wasm_path, e)))?;
        loaded.push(load(rt, &manifest, &wasm).map_err(|e| in_file(&wasm_path, e))?);
    }
    Ok(loaded)
}
