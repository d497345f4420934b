//! The only crate that uses wasmtime: loads token-type and resolver plugins (wasm components over
//! `sdk/wit`), enforces their sandbox (capabilities, time and memory limits) and calls them.
//!
//! Public types here are plain Rust mirrors of the WIT types, so that no other crate depends on
//! wasmtime or on generated bindings.
//!
//! Module map: `manifest` (the TOML beside each plugin), `engine` (engine, epoch ticker, compile
//! cache), `loader` (capability check, linking, `describe`, registry), `runtime` ([`Runtime`] and
//! the one call path), `pool` (warm instances by isolation key), `state` (store data, limits),
//! `trap` (trap classification), `token` / `resolver` (the calls), `capabilities/*` (one module
//! per host interface), `bindings` (the two `bindgen!` worlds).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod bindings;
mod capabilities;
mod engine;
mod loader;
mod manifest;
mod pool;
mod resolver;
mod runtime;
mod state;
mod token;
mod trap;

pub use manifest::{Capability, Manifest, ManifestError, PluginKind};
pub use runtime::{InstanceMode, Runtime, RuntimeConfig};

use std::collections::BTreeMap;

/// Ordered key/value pairs (WIT `pairs`).
pub type Pairs = Vec<(String, String)>;

/// A plugin's own error (WIT `error-code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginErrorCode {
    BadParameter,
    MissingParameter,
    NotSupported,
    BadConfig,
    Unavailable,
    Internal,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error: a normal outcome, usually the caller's fault.
    #[error("{message}")]
    Plugin {
        code: PluginErrorCode,
        message: String,
    },
    /// The plugin trapped, timed out or ran out of memory; the instance was thrown away.
    #[error("plugin {plugin} failed: {reason}")]
    Trap { plugin: String, reason: TrapReason },
    /// No plugin of that type/name is loaded.
    #[error("unknown plugin type {0}")]
    UnknownType(String),
}

/// Why a plugin could not be loaded. Every variant names the plugin (its manifest `name`) or the
/// file it came from.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest is not valid TOML or has an invalid value.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The wasm bytes are not a valid component for this host.
    #[error("plugin {plugin}: cannot compile: {message}")]
    Compile { plugin: String, message: String },
    /// The component imports a host interface its manifest does not grant.
    #[error(
        "plugin {plugin} imports `{import}` but its manifest does not grant the `{capability}` capability"
    )]
    CapabilityNotGranted {
        plugin: String,
        capability: String,
        import: String,
    },
    /// A capability that the plugin's kind can never use (for example `files` on a token type).
    #[error("plugin {plugin}: capability `{capability}` is only available to {allowed} plugins")]
    CapabilityNotAllowed {
        plugin: String,
        capability: String,
        allowed: &'static str,
    },
    /// The component does not fit the world of its declared kind (missing exports, wrong types).
    #[error("plugin {plugin}: does not implement the {world} world: {message}")]
    Link {
        plugin: String,
        world: &'static str,
        message: String,
    },
    /// Calling `describe` failed.
    #[error("plugin {plugin}: describe failed: {reason}")]
    Describe { plugin: String, reason: TrapReason },
    /// Another loaded plugin already registered this type name.
    #[error(
        "plugin {plugin}: {kind} type `{type_name}` is already registered by plugin {existing}"
    )]
    DuplicateType {
        plugin: String,
        kind: &'static str,
        type_name: String,
        existing: String,
    },
    /// The wasm engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// An error while loading one file of a plugin directory.
    #[error("{}: {source}", file.display())]
    InFile {
        file: std::path::PathBuf,
        source: Box<LoadError>,
    },
}

/// What went wrong inside a plugin.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrapReason {
    #[error("exceeded its time limit")]
    Timeout,
    #[error("exceeded its memory limit")]
    OutOfMemory,
    #[error("panicked: {0}")]
    Panic(String),
    #[error("trapped: {0}")]
    Other(String),
}

// ---- token plugins ----

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenTypeInfo {
    pub type_name: String,
    pub serial_prefix: String,
    pub description: String,
    pub enroll_params: Vec<ParamSpec>,
    pub challenge_response: bool,
}

/// WIT `token-state`, with `info` as a map.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TokenState {
    pub counter: u64,
    pub otplen: u32,
    pub info: BTreeMap<String, String>,
}

/// WIT `detail-entry`, after the host filled in the secret placeholders (done by the runtime).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailEntry {
    pub key: String,
    pub fields: Pairs,
    pub qr_field: Option<String>,
}

pub struct EnrollRequest {
    pub serial: String,
    pub params: Pairs,
    /// Clear key bytes from `otpkey`; moved into the plugin's `secret` resource, never into its memory.
    pub otpkey: Option<zeroize::Zeroizing<Vec<u8>>>,
    pub username: Option<String>,
    pub issuer: String,
    pub now: u64,
}

pub struct Enrollment {
    pub state: TokenState,
    /// The key to store (clear; the caller seals it).
    pub key: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// Detail entries with `{secret-hex}`/`{secret-base32}` already substituted.
    pub detail: Vec<DetailEntry>,
}

pub struct CheckRequest<'a> {
    pub key: &'a [u8],
    pub state: TokenState,
    pub otp: String,
    pub now: u64,
    pub window: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    NoMatch,
    Replayed,
    Matched(TokenState),
}

pub struct ResyncRequest<'a> {
    pub key: &'a [u8],
    pub state: TokenState,
    pub otp1: String,
    pub otp2: String,
    pub now: u64,
    pub window: u32,
}

// ---- resolver plugins ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Password,
    File,
    Integer,
    Boolean,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigField {
    pub name: String,
    pub description: String,
    pub kind: FieldKind,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolverTypeInfo {
    pub type_name: String,
    pub description: String,
    pub config_fields: Vec<ConfigField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub userid: String,
    pub username: String,
    pub givenname: String,
    pub surname: String,
    pub email: String,
    pub phone: String,
    pub mobile: String,
    pub extra: Pairs,
}
