//! The flat-file user resolver (`passwdresolver`, as privacyIDEA's PasswdIdResolver): users from
//! a file in `/etc/passwd` format, read through the host's `files` capability; passwords
//! verified by the host's `passwords` capability, so no hashing code lives in the plugin.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod passwd;

pub use passwd::{Entry, parse};
use tessera_sdk::resolver::{
    ConfigField, FieldKind, Guest, ResolverInfo, UserInfo, read_file, verify_password,
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
        let entries = load(&config).map_err(|e| match e.code {
            ErrorCode::Unavailable => PluginError::bad_config(e.message),
            _ => e,
        })?;
        Ok(entries.len() as u64)
    }

    fn get_user_id(config: Pairs, login: String) -> Result<Option<String>, PluginError> {
        Ok(load(&config)?
            .into_iter()
            .find(|e| e.login == login)
            .map(|e| e.uid))
    }

    fn get_user(config: Pairs, userid: String) -> Result<Option<UserInfo>, PluginError> {
        Ok(load(&config)?
            .into_iter()
            .find(|e| e.uid == userid)
            .map(|e| e.user_info()))
    }

    fn list_users(config: Pairs, filter: Pairs) -> Result<Vec<UserInfo>, PluginError> {
        Ok(load(&config)?
            .into_iter()
            .map(|e| e.user_info())
            .filter(|u| u.matches(&filter))
            .collect())
    }

    fn check_password(
        config: Pairs,
        userid: String,
        password: String,
    ) -> Result<bool, PluginError> {
        let Some(entry) = load(&config)?.into_iter().find(|e| e.uid == userid) else {
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

/// Read and parse the configured file (the host reads it; this plugin cannot name a path).
fn load(config: &Pairs) -> Result<Vec<Entry>, PluginError> {
    Params::new(config).required(FILE_FIELD)?;
    let bytes = read_file(FILE_FIELD)?;
    Ok(parse(&String::from_utf8_lossy(&bytes)))
}
