//! Resolver and realm configuration (`/resolver/*`, `/realm/*`, `/defaultrealm`).

use std::collections::{BTreeMap, BTreeSet};

use tessera_proto::types::{RealmResolverView, RealmView, ResolverView};
use tessera_proto::{ErrorKind, Params, PiError};
use tessera_store::{RealmRecord, RealmResolver, ResolverRecord};

use crate::directory::DEFAULT_REALM_KEY;
use crate::users::{SEALED_PREFIX, resolver_aad};
use crate::{Tessera, call_err, store_err};

/// Parameters of `POST /resolver/<name>` that are not configuration fields.
const NOT_CONFIG: &[&str] = &["type", "resolver"];

/// What privacyIDEA shows instead of a secret.
const CENSORED: &str = "__CENSORED__";

impl Tessera {
    /// `POST /resolver/<name>`: create or replace a resolver. The configuration is checked by the
    /// resolver plugin (`test-config`) before anything is stored.
    pub fn set_resolver(&self, name: &str, params: &Params) -> Result<(), PiError> {
        check_name(name, "resolver")?;
        let rtype = params.required_nonempty("type")?;
        let info = self.inner.runtime.resolver_type(rtype).ok_or_else(|| {
            let known: Vec<String> = self
                .inner
                .runtime
                .resolver_types()
                .into_iter()
                .map(|t| t.type_name)
                .collect();
            PiError::parameter(format!(
                "unknown resolver type '{}'; known types: {}",
                crate::shorten(rtype),
                known.join(", ")
            ))
        })?;
        let known_fields: BTreeSet<&str> =
            info.config_fields.iter().map(|f| f.name.as_str()).collect();
        let mut data = BTreeMap::new();
        for (k, v) in params.iter() {
            if NOT_CONFIG.contains(&k) {
                continue;
            }
            if !known_fields.contains(k) {
                return Err(PiError::parameter(format!(
                    "unknown configuration field '{k}' for resolver type '{rtype}'; known fields: {}",
                    known_fields.iter().copied().collect::<Vec<_>>().join(", ")
                )));
            }
            data.insert(k.to_string(), v.to_string());
        }
        for f in &info.config_fields {
            if f.required && data.get(&f.name).is_none_or(|v| v.is_empty()) {
                return Err(PiError::missing(&f.name));
            }
        }
        let config: Vec<(String, String)> =
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self.inner
            .runtime
            .resolver_test(rtype, &config)
            .map_err(call_err)?;
        // Seal secret fields before they reach the disk.
        for field in self.secret_fields(rtype) {
            if let Some(v) = data.get_mut(&field) {
                let sealed = self
                    .inner
                    .sealer
                    .seal(&resolver_aad(name, &field), v.as_bytes());
                *v = format!("{SEALED_PREFIX}{}", hex::encode(sealed));
            }
        }
        let record = ResolverRecord {
            name: name.to_string(),
            rtype: rtype.to_string(),
            data,
        };
        let store = self.inner.store.as_ref();
        self.inner
            .directory
            .write(store, || store.put_resolver(&record).map_err(store_err))
    }

    /// `POST /resolver/test`: check a configuration without storing it; returns the user count.
    pub fn test_resolver(&self, params: &Params) -> Result<u64, PiError> {
        let rtype = params.required_nonempty("type")?;
        let config: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !NOT_CONFIG.contains(k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.inner
            .runtime
            .resolver_test(rtype, &config)
            .map_err(call_err)
    }

    /// `GET /resolver/[<name>]`, secrets censored.
    pub fn resolvers(&self, name: Option<&str>) -> Result<BTreeMap<String, ResolverView>, PiError> {
        let snap = self.inner.directory.snapshot();
        let mut out = BTreeMap::new();
        for r in snap
            .resolvers
            .values()
            .filter(|r| name.is_none_or(|n| n == r.name))
        {
            let censor_keys = self.secret_fields(&r.rtype);
            let data = r
                .data
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if censor_keys.contains(k) {
                            CENSORED.to_string()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect();
            out.insert(
                r.name.clone(),
                ResolverView {
                    censor_keys,
                    data,
                    resolvername: r.name.clone(),
                    rtype: r.rtype.clone(),
                },
            );
        }
        if let Some(n) = name
            && out.is_empty()
        {
            return Err(not_found("resolver", n));
        }
        Ok(out)
    }

    /// `DELETE /resolver/<name>`: refused while a realm uses it.
    pub fn delete_resolver(&self, name: &str) -> Result<(), PiError> {
        let snap = self.inner.directory.snapshot();
        if !snap.resolvers.contains_key(name) {
            return Err(not_found("resolver", name));
        }
        if let Some(realm) = snap
            .realms
            .values()
            .find(|r| r.resolvers.iter().any(|e| e.name == name))
        {
            return Err(PiError::new(
                ErrorKind::ConfigAdmin,
                format!(
                    "ERR302: The resolver '{name}' is still contained in realm '{}'; remove it from the realm first.",
                    realm.name
                ),
            ));
        }
        let store = self.inner.store.as_ref();
        self.inner.directory.write(store, || {
            store.delete_resolver(name).map(|_| ()).map_err(store_err)
        })
    }

    /// `POST /realm/<name>`: create or replace a realm from `resolvers` (comma separated) and
    /// optional `priority.<resolver>` values. Returns (added, failed) resolver names.
    pub fn set_realm(
        &self,
        name: &str,
        params: &Params,
    ) -> Result<(Vec<String>, Vec<String>), PiError> {
        check_name(name, "realm")?;
        let list = params.required_nonempty("resolvers")?;
        let snap = self.inner.directory.snapshot();
        let (mut added, mut failed, mut entries) = (Vec::new(), Vec::new(), Vec::new());
        for r in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if !snap.resolvers.contains_key(r) {
                failed.push(r.to_string());
                continue;
            }
            let priority = match params.get_nonempty(&format!("priority.{r}")) {
                None => None,
                Some(p) => Some(p.parse::<u32>().map_err(|_| {
                    PiError::parameter(format!(
                        "priority.{r} must be a non-negative integer, got '{p}'"
                    ))
                })?),
            };
            added.push(r.to_string());
            entries.push(RealmResolver {
                name: r.to_string(),
                priority,
            });
        }
        if entries.is_empty() {
            return Err(PiError::parameter(format!(
                "none of the resolvers exist: {}",
                failed.join(", ")
            )));
        }
        let id = snap.realms.get(name).map(|r| r.id).unwrap_or(0);
        let record = RealmRecord {
            id,
            name: name.to_string(),
            resolvers: entries,
        };
        let store = self.inner.store.as_ref();
        self.inner.directory.write(store, || {
            store.put_realm(record).map(|_| ()).map_err(store_err)
        })?;
        Ok((added, failed))
    }

    /// `GET /realm/`.
    pub fn realms(&self) -> BTreeMap<String, RealmView> {
        let snap = self.inner.directory.snapshot();
        snap.realms
            .values()
            .map(|r| {
                let resolver = r
                    .resolvers
                    .iter()
                    .map(|e| RealmResolverView {
                        name: e.name.clone(),
                        priority: e.priority,
                        rtype: snap
                            .resolvers
                            .get(&e.name)
                            .map(|x| x.rtype.clone())
                            .unwrap_or_default(),
                    })
                    .collect();
                let default = snap.default_realm.as_deref() == Some(r.name.as_str());
                (
                    r.name.clone(),
                    RealmView {
                        default,
                        id: r.id,
                        option: String::new(),
                        resolver,
                    },
                )
            })
            .collect()
    }

    /// `DELETE /realm/<name>`.
    pub fn delete_realm(&self, name: &str) -> Result<(), PiError> {
        let store = self.inner.store.as_ref();
        self.inner.directory.write(store, || {
            if !store.delete_realm(name).map_err(store_err)? {
                return Err(not_found("realm", name));
            }
            if store
                .get_config(DEFAULT_REALM_KEY)
                .map_err(store_err)?
                .as_deref()
                == Some(name)
            {
                store.delete_config(DEFAULT_REALM_KEY).map_err(store_err)?;
            }
            Ok(())
        })
    }

    /// `POST /defaultrealm/<name>`.
    pub fn set_default_realm(&self, name: &str) -> Result<(), PiError> {
        if !self.inner.directory.snapshot().realms.contains_key(name) {
            return Err(not_found("realm", name));
        }
        let store = self.inner.store.as_ref();
        self.inner.directory.write(store, || {
            store.set_config(DEFAULT_REALM_KEY, name).map_err(store_err)
        })
    }

    /// `DELETE /defaultrealm`.
    pub fn clear_default_realm(&self) -> Result<(), PiError> {
        let store = self.inner.store.as_ref();
        self.inner.directory.write(store, || {
            store
                .delete_config(DEFAULT_REALM_KEY)
                .map(|_| ())
                .map_err(store_err)
        })
    }

    /// `GET /defaultrealm`: the default realm's name, if any.
    pub fn default_realm(&self) -> Option<String> {
        self.inner.directory.snapshot().default_realm.clone()
    }
}

fn not_found(what: &str, name: &str) -> PiError {
    PiError::new(
        ErrorKind::ResourceNotFound,
        format!("ERR601: The {what} '{name}' does not exist."),
    )
}

/// Names become path segments and keys: letters, digits, `-`, `_`, `.` only.
fn check_name(name: &str, what: &str) -> Result<(), PiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PiError::parameter(format!(
            "invalid {what} name '{}': use 1-128 letters, digits, '-', '_' or '.'",
            crate::shorten(name)
        )))
    }
}
