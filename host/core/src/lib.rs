//! Token lifecycle and the `/validate/check` algorithm, over the store and the plugin runtime.
//!
//! `Tessera` is the one object the API calls. It owns no HTTP and no wasm: it speaks to the store
//! through `tessera_store::Store` and to plugins through `tessera_runtime::Runtime`, and takes time
//! from a `Clock`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod access;
mod admins;
mod auth_counts;
mod auth_options;
mod clock;
mod directory;
mod enroll_policy;
pub mod import;
mod pin;
mod policies;
mod qr;
mod realms;
mod sysconfig;
mod throttle;
mod tokens;
mod users;
mod validate;

use std::sync::Arc;
use std::time::Duration;

pub use access::{owned_by, token_target};
pub use clock::{Clock, FixedClock, SystemClock, format_timestamp, parse_timestamp};
pub use pin::{PinHashParams, PinHasher};
pub use policies::{Caller, LoginMode, Target};
pub use sysconfig::SysConfig;
pub use tessera_proto::PiError;
pub use tessera_store::TokenRecord;
pub use throttle::ThrottleConfig;
pub use tokens::InitResult;
pub use users::ResolvedUser;
pub use validate::{Authentication, Challenge, CheckRequest, CheckResult, DetailFlags};

use tessera_runtime::{CallError, Runtime};
use tessera_store::{Sealer, Store, StoreError};

/// Core settings (the daemon fills them from its TOML file).
#[derive(Clone, Debug)]
pub struct CoreConfig {
    pub pin_hash: PinHashParams,
    pub jwt_validity: Duration,
    /// Issuer written into otpauth URIs (privacyIDEA's `tokenissuer`).
    pub issuer: String,
    pub default_maxfail: u32,
    pub default_count_window: u32,
    pub default_sync_window: u32,
    pub throttle: ThrottleConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            pin_hash: PinHashParams::default(),
            jwt_validity: Duration::from_secs(3600),
            issuer: "privacyIDEA".into(),
            default_maxfail: 10,
            default_count_window: 10,
            default_sync_window: 1000,
            throttle: ThrottleConfig::default(),
        }
    }
}

/// The authentication server's logic. Cheap to clone.
#[derive(Clone)]
pub struct Tessera {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    runtime: Arc<Runtime>,
    sealer: Sealer,
    clock: Arc<dyn Clock>,
    cfg: CoreConfig,
    pins: PinHasher,
    jwt_secret: Vec<u8>,
    directory: directory::Directory,
    sys: sysconfig::SysConfigCell,
    throttle: throttle::Throttle,
    /// `auth_max_success`/`auth_max_fail` counts (in memory, per node).
    counts: auth_counts::AuthCounts,
    policies: policies::Policies,
}

impl Tessera {
    /// Build the core. Creates the JWT signing secret on first start (kept sealed in the store).
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<Runtime>,
        sealer: Sealer,
        clock: Arc<dyn Clock>,
        cfg: CoreConfig,
    ) -> Result<Tessera, PiError> {
        let pins = PinHasher::new(cfg.pin_hash)?;
        let jwt_secret = admins::load_or_create_jwt_secret(store.as_ref(), &sealer)?;
        let directory = directory::Directory::load(store.as_ref())?;
        let sys = sysconfig::SysConfigCell::load(store.as_ref(), &cfg)?;
        let throttle = throttle::Throttle::new(cfg.throttle);
        let types: Vec<String> = runtime
            .token_types()
            .into_iter()
            .map(|t| t.type_name)
            .collect();
        let policies = policies::Policies::load(store.as_ref(), &types)?;
        Ok(Tessera {
            inner: Arc::new(Inner {
                store,
                runtime,
                sealer,
                clock,
                cfg,
                pins,
                jwt_secret,
                directory,
                sys,
                throttle,
                counts: auth_counts::AuthCounts::new(),
                policies,
            }),
        })
    }

    /// Unix time with fractions, from the core's clock.
    pub fn now(&self) -> f64 {
        self.inner.clock.now()
    }
    /// HS256 key for the API's JWTs.
    pub fn jwt_secret(&self) -> &[u8] {
        &self.inner.jwt_secret
    }
    pub fn jwt_validity(&self) -> Duration {
        self.inner.cfg.jwt_validity
    }
    /// (type name, description) of every loaded token type.
    pub fn token_types(&self) -> Vec<(String, String)> {
        self.inner
            .runtime
            .token_types()
            .into_iter()
            .map(|t| (t.type_name, t.description))
            .collect()
    }
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }
}

/// A caller's value as quoted in an error message: at most 64 characters, so that a huge parameter
/// does not come back as a huge answer.
pub(crate) fn shorten(value: &str) -> String {
    match value.char_indices().nth(64) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_string(),
    }
}

/// Log a store failure once and turn it into the generic 500 answer.
pub(crate) fn store_err(e: StoreError) -> PiError {
    tracing::error!(error = %e, "store failure");
    PiError::internal()
}

/// Map a plugin call failure: the plugin's own errors are the caller's fault (400/503); traps
/// are server faults (500, logged by the runtime).
pub(crate) fn call_err(e: CallError) -> PiError {
    use tessera_proto::ErrorKind;
    use tessera_runtime::PluginErrorCode as C;
    match e {
        CallError::Plugin { code, message } => match code {
            C::BadParameter | C::MissingParameter | C::NotSupported | C::BadConfig => {
                PiError::parameter(message)
            }
            C::Unavailable => PiError::new(ErrorKind::Unavailable, message),
            C::Internal => {
                tracing::error!(%message, "plugin reported an internal error");
                PiError::internal()
            }
        },
        CallError::UnknownType(t) => PiError::parameter(format!("unknown type '{t}'")),
        CallError::Trap { plugin, reason } => {
            tracing::error!(%plugin, %reason, "plugin failed");
            PiError::new(
                ErrorKind::PluginFailed,
                format!(
                    "ERR903: The plugin '{plugin}' failed ({reason}); the request was not processed."
                ),
            )
        }
    }
}
