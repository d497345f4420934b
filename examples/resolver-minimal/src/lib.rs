//! Example resolver `inlineresolver`: users listed in its own configuration, field `users` =
//! `alice=1000,bob=1001` (login `=` user id, comma-separated). It has no passwords.

use tessera_sdk::resolver::{ConfigField, FieldKind, Guest, ResolverInfo, UserInfo};
use tessera_sdk::{Pairs, Params, PluginError};

/// The `inlineresolver` resolver type.
pub struct InlineResolver;

/// The users of a configuration; `bad-config` for an entry that is not `login=id`.
pub fn users(config: &Pairs) -> Result<Vec<UserInfo>, PluginError> {
    let list = Params::new(config).required("users")?;
    let entry = |item: &str| {
        let (login, id) = item.trim().split_once('=').filter(|(l, i)| !l.is_empty() && !i.is_empty())
            .ok_or_else(|| PluginError::bad_config(format!("users: '{item}' is not login=id")))?;
        Ok(UserInfo { userid: id.into(), username: login.into(), givenname: String::new(), surname: String::new(),
            email: String::new(), phone: String::new(), mobile: String::new(), extra: vec![] })
    };
    list.split(',').filter(|s| !s.trim().is_empty()).map(entry).collect()
}

impl Guest for InlineResolver {
    fn describe() -> ResolverInfo {
        let users = ConfigField::new("users", "Users as login=id, comma-separated", FieldKind::Text, true);
        ResolverInfo { type_name: "inlineresolver".into(), description: "Example: users from the config".into(), config_fields: vec![users] }
    }

    fn test_config(config: Pairs) -> Result<u64, PluginError> {
        Ok(users(&config)?.len() as u64)
    }

    fn get_user_id(config: Pairs, login: String) -> Result<Option<String>, PluginError> {
        Ok(users(&config)?.into_iter().find(|u| u.username == login).map(|u| u.userid))
    }

    fn get_user(config: Pairs, userid: String) -> Result<Option<UserInfo>, PluginError> {
        Ok(users(&config)?.into_iter().find(|u| u.userid == userid))
    }

    fn list_users(config: Pairs, filter: Pairs) -> Result<Vec<UserInfo>, PluginError> {
        Ok(users(&config)?.into_iter().filter(|u| u.matches(&filter)).collect())
    }

    fn check_password(_config: Pairs, _userid: String, _password: String) -> Result<bool, PluginError> {
        Err(PluginError::not_supported("inlineresolver users have no passwords"))
    }
}

tessera_sdk::export_resolver!(InlineResolver);
