//! The flat-file user resolver (`passwdresolver`, as privacyIDEA's PasswdIdResolver): users from
//! a file in `/etc/passwd` format, read through the host's `files` capability; passwords
//! verified by the host's `passwords` capability, so no hashing code lives in the plugin. The
//! parsed users stay in the instance until the file's stamp changes (see `cache`).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cache;
mod passwd;

use std::sync::Arc;

pub use passwd::{Entry, Users, parse};
use tessera_sdk::resolver::{
    ConfigField, FieldKind, Guest, ResolverInfo, UserInfo, file_stamp, read_file, verify_password,
};
use tessera_sdk::{ErrorCode, Pairs, Params, PluginError, log};

/// The configuration field naming the file (privacyIDEA's name for it).
pub const FILE_FIELD: &str = "fileName";

/// The `passwdresolver` resolver type.
pub struct FlatFile;

impl Guest for FlatFile {
    fn describe() -> ResolverInfo {
        ResolverInfo {
            type_name: "passwdresolver".into(),
            description: "Users from a file in /etc/passwd format".into(),
            config_fields: vec![ConfigField::new(
                FILE_FIELD,
                "Path of the file: name:hash:uid:gid:gecos:home:shell per line",
                FieldKind::File,
                true,
            )],
        }
    }

    fn test_config(config: Pairs) -> Result<u64, PluginError> {
        // An unreadable file is a configuration mistake when testing a configuration.
        let users = load(&config).map_err(|e| match e.code {
            ErrorCode::Unavailable => PluginError::bad_config(e.message),
            _ => e,
        })?;
        Ok(users.entries().len() as u64)
    }

    fn get_user_id(config: Pairs, login: String) -> Result<Option<String>, PluginError> {
        Ok(load(&config)?.by_login(&login).map(|e| e.uid.clone()))
    }

    fn get_user(config: Pairs, userid: String) -> Result<Option<UserInfo>, PluginError> {
        Ok(load(&config)?.by_uid(&userid).map(Entry::user_info))
    }

    fn list_users(config: Pairs, filter: Pairs) -> Result<Vec<UserInfo>, PluginError> {
        Ok(load(&config)?
            .entries()
            .iter()
            .map(Entry::user_info)
            .filter(|u| u.matches(&filter))
            .collect())
    }

    fn check_password(
        config: Pairs,
        userid: String,
        password: String,
    ) -> Result<bool, PluginError> {
        let users = load(&config)?;
        let Some(entry) = users.by_uid(&userid) else {
            return Ok(false);
        };
        if !entry.has_usable_hash() {
            log::warn(&format!(
                "user id {userid}: the password field holds no hash (empty, locked or in a shadow file)"
            ));
            return Ok(false);
        }
        verify_password(&entry.hash, &password)
    }
}

tessera_sdk::export_resolver!(FlatFile);

/// This instance's users: parsed from the configured file when the host's stamp of it changed,
/// else kept from an earlier call. Per instance, and a warm instance serves one resolver only.
static USERS: cache::UserCache = cache::UserCache::new();

/// The users of the configured file (the host reads it; this plugin cannot name a path). Costs one
/// host call (a `stat`) while the file is unchanged.
fn load(config: &Pairs) -> Result<Arc<Users>, PluginError> {
    let path = Params::new(config).required(FILE_FIELD)?;
    let stamp = file_stamp(FILE_FIELD)?;
    USERS.users(path, stamp, || read_file(FILE_FIELD))
}
