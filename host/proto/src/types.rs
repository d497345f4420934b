//! Shapes of `result.value` for the admin endpoints, as captured from privacyIDEA 3.7.1.

use std::collections::BTreeMap;

use serde::Serialize;

/// One token in `GET /token/` (26-token-list.json).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TokenView {
    pub active: bool,
    pub count: u64,
    pub count_window: u32,
    pub description: String,
    pub failcount: u32,
    pub id: u64,
    pub info: BTreeMap<String, String>,
    pub locked: bool,
    pub maxfail: u32,
    pub otplen: u32,
    pub realms: Vec<String>,
    pub resolver: String,
    pub revoked: bool,
    pub rollout_state: String,
    pub serial: String,
    pub sync_window: u32,
    pub tokentype: String,
    /// Present only for assigned tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_editable: Option<bool>,
    pub user_id: String,
    pub user_realm: String,
    pub username: String,
}

/// `result.value` of `GET /token/`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TokenPage {
    pub count: usize,
    pub current: usize,
    pub next: Option<usize>,
    pub prev: Option<usize>,
    pub tokens: Vec<TokenView>,
}

/// One user in `GET /user/` (15-user-list.json).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UserView {
    pub description: String,
    pub editable: bool,
    pub email: String,
    pub givenname: String,
    pub mobile: String,
    pub phone: String,
    pub resolver: String,
    pub surname: String,
    pub userid: String,
    pub username: String,
}

/// One resolver entry of a realm in `GET /realm/` (14-realm-list.json).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RealmResolverView {
    pub name: String,
    pub priority: Option<u32>,
    #[serde(rename = "type")]
    pub rtype: String,
}

/// One realm in `GET /realm/`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RealmView {
    pub default: bool,
    pub id: u64,
    pub option: String,
    pub resolver: Vec<RealmResolverView>,
}

/// One resolver in `GET /resolver/` (11-resolver-list.json).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ResolverView {
    pub censor_keys: Vec<String>,
    pub data: BTreeMap<String, String>,
    pub resolvername: String,
    #[serde(rename = "type")]
    pub rtype: String,
}
