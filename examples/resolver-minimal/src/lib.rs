//! Example resolver `inlineresolver`: users listed in its own configuration, field `users` =
//! `alice=1000,bob=1001` (login `=` user id, comma-separated). It has no passwords.

use tessera_sdk::resolver::{ConfigField, FieldKind, Guest, ResolverInfo, UserInfo};
use tessera_sdk::{Pairs, Params, PluginError};

/// The `inlineresolver` resolver type.
pub struct InlineResolver;

/// The users of a configuration; `bad-config` for an entry that is not `login=id`.
pub fn users(config: &Pairs) -> Result<Vec<UserInfo>, PluginError> {
    let entry = |item: &str| match item.trim().split_once('=') {
        Some((login, id)) if !login.is_empty() && !id.is_empty() => Ok(UserInfo::new(id, login)),
        _ => Err(PluginError::bad_config(format!(
            "users: '{item}' is not login=id"
        ))),
    };
    let list = Params::new(config).required("users")?;
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(entry)
        .collect()
}

/// The user for which `pick` holds.
fn find(config: &Pairs, pick: impl Fn(&UserInfo) -> bool) -> Result<Option<UserInfo>, PluginError> {
    Ok(users(config)?.into_iter().find(pick))
}

impl Guest for InlineResolver {
    fn describe() -> ResolverInfo {
        let users = ConfigField::new("users", "login=id, comma-separated", FieldKind::Text, true);
        ResolverInfo::new(
            "inlineresolver",
            "Example: users from the config",
            vec![users],
        )
    }

    fn test_config(config: Pairs) -> Result<u64, PluginError> {
        Ok(users(&config)?.len() as u64)
    }

    fn get_user_id(config: Pairs, login: String) -> Result<Option<String>, PluginError> {
        Ok(find(&config, |u| u.username == login)?.map(|u| u.userid))
    }

    fn get_user(config: Pairs, userid: String) -> Result<Option<UserInfo>, PluginError> {
        find(&config, |u| u.userid == userid)
    }

    fn list_users(config: Pairs, filter: Pairs) -> Result<Vec<UserInfo>, PluginError> {
        Ok(users(&config)?
            .into_iter()
            .filter(|u| u.matches(&filter))
            .collect())
    }

    fn check_password(_: Pairs, _: String, _: String) -> Result<bool, PluginError> {
        Err(PluginError::not_supported(
            "inlineresolver users have no passwords",
        ))
    }
}

tessera_sdk::export_resolver!(InlineResolver);
