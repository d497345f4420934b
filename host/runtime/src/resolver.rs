//! Calls into resolver plugins and the conversions between the public types and the generated
//! WIT types. The configuration of each call is kept in the store for the `files` capability.

use std::hash::{DefaultHasher, Hash, Hasher};

use wasmtime::Store;

use crate::bindings::resolver::ResolverPlugin;
use crate::bindings::resolver::exports::tessera::plugin::resolver as wit;
use crate::bindings::token::tessera::plugin::types::PluginError;
use crate::loader::ResolverEntry;
use crate::runtime::{Runtime, call};
use crate::state::HostState;
use crate::trap::plugin_error;
use crate::{CallError, ConfigField, FieldKind, Pairs, ResolverTypeInfo, UserInfo};

pub(crate) fn type_info(d: wit::ResolverInfo) -> ResolverTypeInfo {
    ResolverTypeInfo {
        type_name: d.type_name,
        description: d.description,
        config_fields: d
            .config_fields
            .into_iter()
            .map(|f| ConfigField {
                name: f.name,
                description: f.description,
                kind: match f.kind {
                    wit::FieldKind::Text => FieldKind::Text,
                    wit::FieldKind::Password => FieldKind::Password,
                    wit::FieldKind::File => FieldKind::File,
                    wit::FieldKind::Integer => FieldKind::Integer,
                    wit::FieldKind::Boolean => FieldKind::Boolean,
                },
                required: f.required,
            })
            .collect(),
    }
}

fn user_from_wit(u: wit::UserInfo) -> UserInfo {
    UserInfo {
        userid: u.userid,
        username: u.username,
        givenname: u.givenname,
        surname: u.surname,
        email: u.email,
        phone: u.phone,
        mobile: u.mobile,
        extra: u.extra,
    }
}

/// The warm-instance key of a resolver: its name and its configuration, so an instance never
/// serves a configuration other than the one it has seen.
fn isolation_key(resolver: &str, config: &Pairs) -> String {
    let mut h = DefaultHasher::new();
    config.hash(&mut h);
    format!("{resolver}\u{0}{:016x}", h.finish())
}

impl Runtime {
    fn resolver(&self, rtype: &str) -> Result<&ResolverEntry, CallError> {
        self.resolvers
            .get(rtype)
            .ok_or_else(|| CallError::UnknownType(rtype.to_string()))
    }

    /// Call a resolver plugin with `config` available to `files.read`; `resolver` (the configured
    /// resolver's name) selects warm instances, `None` forces a fresh one.
    fn resolver_call<R>(
        &self,
        rtype: &str,
        resolver: Option<&str>,
        config: &Pairs,
        body: impl FnOnce(
            &mut Store<HostState>,
            &ResolverPlugin,
        ) -> wasmtime::Result<Result<R, PluginError>>,
    ) -> Result<R, CallError> {
        let p = self.resolver(rtype)?;
        let key = resolver.map(|r| isolation_key(r, config));
        let warm = key
            .as_deref()
            .and_then(|k| self.warm_slot(&self.resolver_pool, k));
        let r = call(
            &self.engine,
            &p.common,
            warm,
            || p.new_state(),
            |s| p.pre.instantiate(s),
            |store, inst| {
                set_config(store, config.clone());
                let r = body(store, inst);
                set_config(store, Vec::new());
                r
            },
        )?;
        r.map_err(plugin_error)
    }

    /// Check a configuration (privacyIDEA's "test resolver"); the number of users found.
    pub fn resolver_test(&self, rtype: &str, config: &Pairs) -> Result<u64, CallError> {
        self.resolver_call(rtype, None, config, |s, i| {
            i.tessera_plugin_resolver().call_test_config(s, config)
        })
    }

    /// The user id of `login` in resolver `resolver`, if there is such a user.
    pub fn get_user_id(
        &self,
        rtype: &str,
        resolver: &str,
        config: &Pairs,
        login: &str,
    ) -> Result<Option<String>, CallError> {
        self.resolver_call(rtype, Some(resolver), config, |s, i| {
            i.tessera_plugin_resolver()
                .call_get_user_id(s, config, login)
        })
    }

    /// The attributes of user `userid`, if the id is known.
    pub fn get_user(
        &self,
        rtype: &str,
        resolver: &str,
        config: &Pairs,
        userid: &str,
    ) -> Result<Option<UserInfo>, CallError> {
        let u = self.resolver_call(rtype, Some(resolver), config, |s, i| {
            i.tessera_plugin_resolver().call_get_user(s, config, userid)
        })?;
        Ok(u.map(user_from_wit))
    }

    /// Users matching every filter (`*` is a wildcard in filter values).
    pub fn list_users(
        &self,
        rtype: &str,
        resolver: &str,
        config: &Pairs,
        filter: &Pairs,
    ) -> Result<Vec<UserInfo>, CallError> {
        let users = self.resolver_call(rtype, Some(resolver), config, |s, i| {
            i.tessera_plugin_resolver()
                .call_list_users(s, config, filter)
        })?;
        Ok(users.into_iter().map(user_from_wit).collect())
    }

    /// Whether `password` is the password of user `userid`.
    pub fn check_password(
        &self,
        rtype: &str,
        resolver: &str,
        config: &Pairs,
        userid: &str,
        password: &str,
    ) -> Result<bool, CallError> {
        self.resolver_call(rtype, Some(resolver), config, |s, i| {
            i.tessera_plugin_resolver()
                .call_check_password(s, config, userid, password)
        })
    }
}

fn set_config(store: &mut Store<HostState>, config: Pairs) {
    if let Some(ctx) = store.data_mut().resolver.as_mut() {
        ctx.config = config;
    }
}
