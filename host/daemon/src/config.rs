//! The daemon's settings: a TOML file (every key optional, defaults documented in examples/tessera.toml),
//! then command-line flags on top.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tessera_core::{CoreConfig, PinHashParams, ThrottleConfig};
use tessera_runtime::{InstanceMode, RuntimeConfig};

/// The whole file. Unknown keys are errors, so that a typo does not silently fall back to a default.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port `serve` listens on.
    pub listen: String,
    /// Holds the store (`db/`), the key (`enckey`) and the compiled-plugin cache (`cache/`).
    pub data_dir: PathBuf,
    /// The key that seals seeds at rest; `None` is `<data_dir>/enckey`.
    pub enckey_file: Option<PathBuf>,
    /// Extra plugins (`X.wasm` + `X.toml`) loaded after the bundled ones.
    pub plugin_dir: Option<PathBuf>,
    /// Lifetime of the JWT `/auth` issues, seconds.
    pub jwt_validity_secs: u64,
    pub pin_hash: PinHash,
    pub plugins: Plugins,
    pub tokens: Tokens,
    pub throttle: Throttle,
    pub audit: Audit,
}

/// The audit log (one signed entry per request) and signed answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Audit {
    pub enabled: bool,
    /// Add privacyIDEA's `signature` (RSA-PSS with the audit key) to every JSON answer.
    pub sign_responses: bool,
    /// Segment files; `None` is `<data_dir>/audit`.
    pub dir: Option<PathBuf>,
    /// `audit-private.pem` / `audit-public.pem`; `None` is `<data_dir>/audit-keys`.
    pub key_dir: Option<PathBuf>,
    /// Entries per segment file (retention deletes whole segments).
    pub segment_entries: u64,
    /// Delete segments whose newest entry is older than this many days.
    pub max_age_days: Option<u32>,
    /// Keep at most about this many entries (whole segments are deleted).
    pub max_entries: Option<u64>,
    /// The `privacyidea_server` column; `None` is the host name.
    pub node: Option<String>,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            enabled: true,
            sign_responses: false,
            dir: None,
            key_dir: None,
            segment_entries: 100_000,
            max_age_days: None,
            max_entries: None,
            node: None,
        }
    }
}

/// Brute-force throttling of `/validate/check` (off by default: privacyIDEA has none).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Throttle {
    pub enabled: bool,
    pub user_free_failures: u32,
    pub client_free_failures: u32,
    pub base_delay_secs: f64,
    pub max_delay_secs: f64,
    pub forget_after_secs: f64,
}

impl Default for Throttle {
    fn default() -> Self {
        let t = ThrottleConfig::default();
        Throttle {
            enabled: t.enabled,
            user_free_failures: t.user_free_failures,
            client_free_failures: t.client_free_failures,
            base_delay_secs: t.base_delay_secs,
            max_delay_secs: t.max_delay_secs,
            forget_after_secs: t.forget_after_secs,
        }
    }
}

/// argon2id cost of OTP PINs and administrator passwords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PinHash {
    pub t_cost: u32,
    pub m_cost_kib: u32,
    pub p_cost: u32,
}

/// The plugin sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Plugins {
    pub instance_mode: Mode,
    /// Default time limit of one plugin call (a manifest may set its own).
    pub time_limit_ms: u64,
    /// Default linear-memory limit of one plugin instance (a manifest may set its own).
    pub memory_limit_mib: u64,
    /// Most warm instances kept in `pooled` mode.
    pub max_idle_instances: usize,
    /// Keep compiled plugins in `<data_dir>/cache` so later starts skip compiling.
    pub cache: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Pooled,
    Fresh,
}

/// Defaults for new tokens and their enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tokens {
    /// Issuer written into `otpauth://` enrollment URIs.
    pub issuer: String,
    pub maxfail: u32,
    pub count_window: u32,
    pub sync_window: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:5000".into(),
            data_dir: PathBuf::from("./data"),
            enckey_file: None,
            plugin_dir: None,
            jwt_validity_secs: 3600,
            pin_hash: PinHash::default(),
            plugins: Plugins::default(),
            tokens: Tokens::default(),
            throttle: Throttle::default(),
            audit: Audit::default(),
        }
    }
}

impl Default for PinHash {
    fn default() -> Self {
        let p = PinHashParams::default();
        PinHash {
            t_cost: p.t_cost,
            m_cost_kib: p.m_cost_kib,
            p_cost: p.p_cost,
        }
    }
}

impl Default for Plugins {
    fn default() -> Self {
        Plugins {
            instance_mode: Mode::Pooled,
            time_limit_ms: 200,
            memory_limit_mib: 32,
            max_idle_instances: 256,
            cache: true,
        }
    }
}

impl Default for Tokens {
    fn default() -> Self {
        let c = CoreConfig::default();
        Tokens {
            issuer: c.issuer,
            maxfail: c.default_maxfail,
            count_window: c.default_count_window,
            sync_window: c.default_sync_window,
        }
    }
}

/// Flags that override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub plugin_dir: Option<PathBuf>,
}

impl Config {
    /// Reads `file` (if given), applies `overrides`, and checks the values.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        let mut cfg = match file {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                Config::parse(&text).with_context(|| format!("config file {}", path.display()))?
            }
        };
        if let Some(d) = overrides.data_dir {
            cfg.data_dir = d;
        }
        if let Some(l) = overrides.listen {
            cfg.listen = l;
        }
        if let Some(p) = overrides.plugin_dir {
            cfg.plugin_dir = Some(p);
        }
        cfg.check()?;
        Ok(cfg)
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    fn check(&self) -> anyhow::Result<()> {
        let p = &self.pin_hash;
        if p.t_cost < 1 || p.m_cost_kib < 1024 || p.p_cost < 1 || p.p_cost > 64 {
            bail!(
                "[pin_hash] t_cost = {}, m_cost_kib = {}, p_cost = {}: need t_cost >= 1, m_cost_kib >= 1024, 1 <= p_cost <= 64",
                p.t_cost,
                p.m_cost_kib,
                p.p_cost
            );
        }
        if self.jwt_validity_secs == 0 {
            bail!("jwt_validity_secs must be at least 1");
        }
        if self.plugins.time_limit_ms == 0 || self.plugins.memory_limit_mib == 0 {
            bail!("[plugins] time_limit_ms and memory_limit_mib must be at least 1");
        }
        if self.plugins.memory_limit_mib > 4096 {
            bail!(
                "[plugins] memory_limit_mib = {} is over the 4096 MiB a 32-bit wasm memory can use",
                self.plugins.memory_limit_mib
            );
        }
        if self.data_dir.as_os_str().is_empty() {
            bail!("data_dir must not be empty");
        }
        if self.audit.segment_entries == 0 {
            bail!("[audit] segment_entries must be at least 1");
        }
        let t = &self.throttle;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(t.base_delay_secs)
            || !positive(t.max_delay_secs)
            || !positive(t.forget_after_secs)
            || t.base_delay_secs > t.max_delay_secs
        {
            bail!(
                "[throttle] base_delay_secs = {}, max_delay_secs = {}, forget_after_secs = {}: need positive numbers with base_delay_secs <= max_delay_secs",
                t.base_delay_secs,
                t.max_delay_secs,
                t.forget_after_secs
            );
        }
        Ok(())
    }

    pub fn audit_dir(&self) -> PathBuf {
        self.audit
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit"))
    }

    pub fn audit_key_dir(&self) -> PathBuf {
        self.audit
            .key_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-keys"))
    }

    pub fn db_dir(&self) -> PathBuf {
        self.data_dir.join("db")
    }

    pub fn enckey_path(&self) -> PathBuf {
        self.enckey_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("enckey"))
    }

    pub fn core(&self) -> CoreConfig {
        CoreConfig {
            pin_hash: PinHashParams {
                t_cost: self.pin_hash.t_cost,
                m_cost_kib: self.pin_hash.m_cost_kib,
                p_cost: self.pin_hash.p_cost,
            },
            jwt_validity: Duration::from_secs(self.jwt_validity_secs),
            issuer: self.tokens.issuer.clone(),
            default_maxfail: self.tokens.maxfail,
            default_count_window: self.tokens.count_window,
            default_sync_window: self.tokens.sync_window,
            throttle: ThrottleConfig {
                enabled: self.throttle.enabled,
                user_free_failures: self.throttle.user_free_failures,
                client_free_failures: self.throttle.client_free_failures,
                base_delay_secs: self.throttle.base_delay_secs,
                max_delay_secs: self.throttle.max_delay_secs,
                forget_after_secs: self.throttle.forget_after_secs,
            },
        }
    }

    pub fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            cache_dir: self.plugins.cache.then(|| self.data_dir.join("cache")),
            default_time_limit: Duration::from_millis(self.plugins.time_limit_ms),
            default_memory_limit: usize::try_from(self.plugins.memory_limit_mib << 20)
                .unwrap_or(usize::MAX),
            instance_mode: match self.plugins.instance_mode {
                Mode::Pooled => InstanceMode::Pooled,
                Mode::Fresh => InstanceMode::Fresh,
            },
            max_idle_instances: self.plugins.max_idle_instances,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> String {
        let path = format!("{}/../../examples/tessera.toml", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The documented example, with every key uncommented, is exactly the defaults.
    #[test]
    fn example_file_documents_the_defaults() {
        let text = example();
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|rest| rest.contains(" = "))
                    .unwrap_or(l)
            })
            // Keys without a default (their example value is only an example).
            .filter(|l| {
                ![
                    "enckey_file ",
                    "plugin_dir ",
                    "dir ",
                    "key_dir ",
                    "max_age_days ",
                    "max_entries ",
                    "node ",
                ]
                .iter()
                .any(|k| l.starts_with(k))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            Config::parse(&uncommented).unwrap(),
            Config::default(),
            "{uncommented}"
        );
        assert_eq!(Config::parse(&text).unwrap(), Config::default());
        assert!(text.contains("# enckey_file = ") && text.contains("# plugin_dir = "));
    }

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.listen, "127.0.0.1:5000");
        assert_eq!(
            (c.pin_hash.t_cost, c.pin_hash.m_cost_kib, c.pin_hash.p_cost),
            (2, 19456, 1)
        );
        assert_eq!(c.plugins.instance_mode, Mode::Pooled);
        assert_eq!(c.enckey_path(), PathBuf::from("./data/enckey"));
        let r = c.runtime();
        assert_eq!(r.default_memory_limit, 32 << 20);
        assert_eq!(r.default_time_limit, Duration::from_millis(200));
        assert_eq!(r.cache_dir, Some(PathBuf::from("./data/cache")));
        assert_eq!(c.core().jwt_validity, Duration::from_secs(3600));
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:80\"\ndata_dir = \"/srv/t\"\n[pin_hash]\nt_cost = 1\nm_cost_kib = 1024\n[plugins]\ninstance_mode = \"fresh\"\n").unwrap();
        let c = Config::load(Some(&file), Overrides::default()).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data_dir.as_path()),
            ("0.0.0.0:80", Path::new("/srv/t"))
        );
        assert_eq!(c.runtime().instance_mode, InstanceMode::Fresh);
        assert_eq!(c.pin_hash.p_cost, 1);
        let o = Overrides {
            data_dir: Some("/d".into()),
            listen: Some("127.0.0.1:0".into()),
            plugin_dir: Some("/p".into()),
        };
        let c = Config::load(Some(&file), o).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data_dir.as_path()),
            ("127.0.0.1:0", Path::new("/d"))
        );
        assert_eq!(c.plugin_dir.as_deref(), Some(Path::new("/p")));
        assert_eq!(
            c.core().pin_hash,
            PinHashParams {
                t_cost: 1,
                m_cost_kib: 1024,
                p_cost: 1
            }
        );
    }

    #[test]
    fn mistakes_are_reported() {
        let err = |text: &str| {
            format!(
                "{:#}",
                Config::parse(text)
                    .and_then(|c| c.check().map(|_| c))
                    .unwrap_err()
            )
        };
        assert!(err("listn = \"x\"").contains("unknown field `listn`"));
        assert!(err("[plugins]\ninstance_mode = \"warm\"").contains("unknown variant `warm`"));
        assert!(err("[pin_hash]\nm_cost_kib = 64").contains("m_cost_kib >= 1024"));
        assert!(err("jwt_validity_secs = 0").contains("jwt_validity_secs"));
        let missing = Config::load(
            Some(Path::new("/nonexistent/tessera.toml")),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            format!("{missing:#}")
                .contains("cannot read the config file /nonexistent/tessera.toml")
        );
    }
}
