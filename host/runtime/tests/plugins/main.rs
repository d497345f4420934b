//! Integration tests of the runtime: the bundled wasm plugins and the hostile fixtures, run
//! through the real engine and host capabilities, with `now` passed in. One test binary, one
//! module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod enroll;
mod flatfile;
mod hotp;
mod loading;
mod sandbox;
mod totp;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use tessera_runtime::{InstanceMode, Pairs, Runtime, RuntimeConfig, TokenState};

/// A runtime with every bundled plugin loaded.
pub fn runtime(mode: InstanceMode) -> Runtime {
    let mut rt = Runtime::new(RuntimeConfig {
        instance_mode: mode,
        ..RuntimeConfig::default()
    })
    .unwrap();
    for p in tessera_bundled::bundled() {
        rt.load(p.manifest, p.wasm)
            .unwrap_or_else(|e| panic!("loading {}: {e}", p.name));
    }
    rt
}

static FRESH: LazyLock<Runtime> = LazyLock::new(|| runtime(InstanceMode::Fresh));
static POOLED: LazyLock<Runtime> = LazyLock::new(|| runtime(InstanceMode::Pooled));

/// Both shared runtimes, for tests that must hold in either instance mode.
pub fn both() -> [(&'static str, &'static Runtime); 2] {
    [("fresh", &*FRESH), ("pooled", &*POOLED)]
}

pub fn pairs(items: &[(&str, &str)]) -> Pairs {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn state(counter: u64, otplen: u32, info: &[(&str, &str)]) -> TokenState {
    let info: BTreeMap<String, String> = info
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TokenState {
        counter,
        otplen,
        info,
    }
}
