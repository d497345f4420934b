//! privacyIDEA's system configuration (`/system/setConfig`, `GET /system/`): typed keys with defaults,
//! stored as strings in the store's config tree under `sys:`, read by requests from an in-memory copy.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tessera_proto::{Params, PiError};
use tessera_store::Store;

use crate::{CoreConfig, Tessera, shorten, store_err};

const PREFIX: &str = "sys:";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    /// A whole number in the given inclusive range.
    Int(u64, u64),
    /// One of these numbers.
    OneOf(&'static [u64]),
}

/// The keys Tessera understands: name, type, and whether `GET /system/` shows it even when unset
/// (privacyIDEA's setup writes these four).
const KEYS: &[(&str, Kind, bool)] = &[
    ("IncFailCountOnFalsePin", Kind::Bool, true),
    ("PrependPin", Kind::Bool, true),
    ("splitAtSign", Kind::Bool, true),
    ("ReturnSamlAttributes", Kind::Bool, true),
    ("AutoResync", Kind::Bool, false),
    ("AutoResyncTimeout", Kind::Int(1, 86_400), false),
    ("DefaultMaxFailCount", Kind::Int(1, 1_000_000), false),
    ("DefaultCountWindow", Kind::Int(1, 1_000_000), false),
    ("DefaultSyncWindow", Kind::Int(1, 1_000_000), false),
    ("DefaultOtpLen", Kind::OneOf(&[6, 8]), false),
    ("DefaultChallengeValidityTime", Kind::Int(1, 86_400), false),
];

/// The effective values, defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysConfig {
    pub inc_fail_count_on_false_pin: bool,
    pub prepend_pin: bool,
    pub split_at_sign: bool,
    pub return_saml_attributes: bool,
    pub auto_resync: bool,
    pub auto_resync_timeout: u64,
    pub default_maxfail: u32,
    pub default_count_window: u32,
    pub default_sync_window: u32,
    pub default_otplen: u32,
    pub challenge_validity: u64,
    /// The stored strings, for `GET /system/`.
    raw: BTreeMap<String, String>,
}

impl SysConfig {
    fn from_raw(raw: BTreeMap<String, String>, cfg: &CoreConfig) -> SysConfig {
        let flag = |k: &str, d: bool| raw.get(k).map(|v| parse_bool(v).unwrap_or(d)).unwrap_or(d);
        let num = |k: &str, d: u64| raw.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        let small = |k: &str, d: u32| u32::try_from(num(k, u64::from(d))).unwrap_or(d);
        SysConfig {
            inc_fail_count_on_false_pin: flag("IncFailCountOnFalsePin", true),
            prepend_pin: flag("PrependPin", true),
            split_at_sign: flag("splitAtSign", true),
            return_saml_attributes: flag("ReturnSamlAttributes", true),
            auto_resync: flag("AutoResync", false),
            auto_resync_timeout: num("AutoResyncTimeout", 300),
            default_maxfail: small("DefaultMaxFailCount", cfg.default_maxfail),
            default_count_window: small("DefaultCountWindow", cfg.default_count_window),
            default_sync_window: small("DefaultSyncWindow", cfg.default_sync_window),
            default_otplen: small("DefaultOtpLen", 6),
            challenge_validity: num("DefaultChallengeValidityTime", 120),
            raw,
        }
    }
}

/// privacyIDEA's truth values: `True`/`true`/`1`/`yes`/`on` and their opposites.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The in-memory copy; replaced after every write.
#[derive(Debug)]
pub(crate) struct SysConfigCell {
    current: RwLock<Arc<SysConfig>>,
}

impl SysConfigCell {
    pub fn load(store: &dyn Store, cfg: &CoreConfig) -> Result<Self, PiError> {
        Ok(SysConfigCell {
            current: RwLock::new(Arc::new(read(store, cfg)?)),
        })
    }
    pub fn get(&self) -> Arc<SysConfig> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    fn reload(&self, store: &dyn Store, cfg: &CoreConfig) -> Result<(), PiError> {
        let fresh = Arc::new(read(store, cfg)?);
        match self.current.write() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }
}

fn read(store: &dyn Store, cfg: &CoreConfig) -> Result<SysConfig, PiError> {
    let mut raw = BTreeMap::new();
    for (key, _, _) in KEYS {
        if let Some(v) = store
            .get_config(&format!("{PREFIX}{key}"))
            .map_err(store_err)?
        {
            raw.insert((*key).to_string(), v);
        }
    }
    Ok(SysConfig::from_raw(raw, cfg))
}

/// Check one key/value and return the value as stored (`True`/`False` for flags).
fn normalise(key: &str, value: &str) -> Result<(&'static str, String), PiError> {
    let Some((name, kind, _)) = KEYS.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(key)) else {
        let known: Vec<&str> = KEYS.iter().map(|(k, _, _)| *k).collect();
        return Err(PiError::parameter(format!(
            "unknown system configuration key '{}'; known keys: {}",
            shorten(key),
            known.join(", ")
        )));
    };
    let stored = match kind {
        Kind::Bool => match parse_bool(value) {
            Some(true) => "True".to_string(),
            Some(false) => "False".to_string(),
            None => {
                return Err(PiError::parameter(format!(
                    "{name} must be True or False, not '{}'",
                    shorten(value)
                )));
            }
        },
        Kind::Int(lo, hi) => match value.trim().parse::<u64>() {
            Ok(n) if (*lo..=*hi).contains(&n) => n.to_string(),
            _ => {
                return Err(PiError::parameter(format!(
                    "{name} must be a whole number from {lo} to {hi}, not '{}'",
                    shorten(value)
                )));
            }
        },
        Kind::OneOf(allowed) => match value.trim().parse::<u64>() {
            Ok(n) if allowed.contains(&n) => n.to_string(),
            _ => {
                let allowed: Vec<String> = allowed.iter().map(u64::to_string).collect();
                return Err(PiError::parameter(format!(
                    "{name} must be one of {}, not '{}'",
                    allowed.join(", "),
                    shorten(value)
                )));
            }
        },
    };
    Ok((name, stored))
}

impl Tessera {
    /// The effective system configuration.
    pub fn sysconfig(&self) -> Arc<SysConfig> {
        self.inner.sys.get()
    }

    /// `POST /system/setConfig`: every parameter is a key. All are checked before any is written.
    /// Returns key -> "insert" | "update", as privacyIDEA does.
    pub async fn set_sysconfig(
        &self,
        params: &Params,
    ) -> Result<BTreeMap<String, String>, PiError> {
        let mut checked = Vec::new();
        for (k, v) in params.iter() {
            checked.push(normalise(k, v)?);
        }
        if checked.is_empty() {
            return Err(PiError::parameter("no configuration key given"));
        }
        let store = self.inner.store.as_ref();
        let mut answer = BTreeMap::new();
        for (name, value) in checked {
            let key = format!("{PREFIX}{name}");
            let existed = store.get_config(&key).map_err(store_err)?.is_some();
            store.set_config(&key, &value).map_err(store_err)?;
            answer.insert(
                name.to_string(),
                if existed { "update" } else { "insert" }.to_string(),
            );
        }
        self.inner.store.commit().wait().await.map_err(store_err)?;
        self.inner.sys.reload(store, &self.inner.cfg)?;
        Ok(answer)
    }

    /// `DELETE /system/<key>`: back to the default. Unknown key → 400; unset key → false.
    pub async fn delete_sysconfig(&self, key: &str) -> Result<bool, PiError> {
        let Some((name, _, _)) = KEYS.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(key)) else {
            return Err(PiError::parameter(format!(
                "unknown system configuration key '{}'",
                shorten(key)
            )));
        };
        let store = self.inner.store.as_ref();
        let existed = store
            .delete_config(&format!("{PREFIX}{name}"))
            .map_err(store_err)?;
        self.inner.store.commit().wait().await.map_err(store_err)?;
        self.inner.sys.reload(store, &self.inner.cfg)?;
        Ok(existed)
    }

    /// `GET /system/`: the stored keys, plus the four privacyIDEA's setup writes, as strings.
    pub fn sysconfig_view(&self) -> BTreeMap<String, String> {
        let sys = self.sysconfig();
        let mut out = sys.raw.clone();
        for (key, _, shown) in KEYS {
            if *shown && !out.contains_key(*key) {
                out.insert((*key).to_string(), "True".to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_normalised() {
        assert_eq!(
            normalise("autoresync", "true").unwrap(),
            ("AutoResync", "True".to_string())
        );
        assert_eq!(
            normalise("DefaultChallengeValidityTime", " 300").unwrap().1,
            "300"
        );
        for (k, v) in [
            ("AutoResync", "maybe"),
            ("DefaultChallengeValidityTime", "-1"),
            ("DefaultChallengeValidityTime", "0"),
            ("DefaultOtpLen", "7x"),
            ("NoSuchKey", "1"),
        ] {
            let e = normalise(k, v).unwrap_err();
            assert_eq!(e.kind.status_and_code().0, 400, "{k}={v}");
        }
    }

    #[test]
    fn defaults_apply_where_unset() {
        let s = SysConfig::from_raw(BTreeMap::new(), &CoreConfig::default());
        assert!(s.inc_fail_count_on_false_pin && s.prepend_pin && s.split_at_sign);
        assert!(!s.auto_resync);
        assert_eq!((s.auto_resync_timeout, s.challenge_validity), (300, 120));
        assert_eq!(s.default_maxfail, 10);
    }
}
