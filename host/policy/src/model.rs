//! The stored policy (`Policy`, kept by the caller as JSON) and its privacyIDEA wire form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::scope::Scope;
use crate::value::ActionValue;

/// One policy, as `POST /policy/<name>` wrote it. Lists keep the entries as given, including the
/// `-` of exclusions (`user: ["-bob"]`, `client: ["10.0.0.0/8", "-10.0.0.7"]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub scope: Scope,
    /// action -> value; a switch is `Bool(true)`.
    pub action: BTreeMap<String, ActionValue>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Lower wins when policies give an action different values; at least 1.
    #[serde(default = "one")]
    pub priority: u32,
    #[serde(default)]
    pub realm: Vec<String>,
    #[serde(default)]
    pub resolver: Vec<String>,
    #[serde(default)]
    pub user: Vec<String>,
    /// Admin scope only: realms of the administrators the policy is for.
    #[serde(default)]
    pub adminrealm: Vec<String>,
    /// Admin scope only: names of the administrators the policy is for.
    #[serde(default)]
    pub adminuser: Vec<String>,
    /// IP addresses and networks (CIDR), `-` to exclude.
    #[serde(default)]
    pub client: Vec<String>,
    /// UTC ranges like `Mon-Fri: 9-18`; empty: always.
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub check_all_resolvers: bool,
    #[serde(default)]
    pub user_case_insensitive: bool,
    #[serde(default)]
    pub description: String,
    /// privacyIDEA's extended conditions; always empty (non-empty ones are refused when written).
    #[serde(default)]
    pub conditions: Vec<Value>,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

impl Policy {
    /// An active policy of priority 1 that matches everything and has no actions yet.
    pub fn new(name: impl Into<String>, scope: Scope) -> Self {
        Policy {
            name: name.into(),
            scope,
            action: BTreeMap::new(),
            active: true,
            priority: 1,
            realm: Vec::new(),
            resolver: Vec::new(),
            user: Vec::new(),
            adminrealm: Vec::new(),
            adminuser: Vec::new(),
            client: Vec::new(),
            time: String::new(),
            check_all_resolvers: false,
            user_case_insensitive: false,
            description: String::new(),
            conditions: Vec::new(),
        }
    }

    /// One object of `GET /policy/`, shaped like privacyIDEA 3.7's (81-policy-list.json) plus
    /// `description` and `user_case_insensitive` (privacyIDEA 3.8+/3.10+ have them too). Action
    /// values are strings there except switches (`"max_token_per_user": "2"`).
    pub fn to_json(&self) -> Value {
        let action: Map<String, Value> = self
            .action
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        json!({
            "action": action,
            "active": self.active,
            "adminrealm": self.adminrealm,
            "adminuser": self.adminuser,
            "check_all_resolvers": self.check_all_resolvers,
            "client": self.client,
            "conditions": self.conditions,
            "description": self.description,
            "name": self.name,
            "pinode": [],
            "priority": self.priority,
            "realm": self.realm,
            "resolver": self.resolver,
            "scope": self.scope,
            "time": self.time,
            "user": self.user,
            "user_case_insensitive": self.user_case_insensitive,
        })
    }

    /// The policy as `POST /policy/<name>` parameters (lists as JSON arrays, the actions as a JSON
    /// object): `from_params` reads them back into an equal policy.
    pub fn to_params(&self) -> BTreeMap<&'static str, String> {
        let action: Map<String, Value> = self
            .action
            .iter()
            .filter(|(_, v)| v.is_set())
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        let list = |l: &Vec<String>| Value::from(l.clone()).to_string();
        BTreeMap::from([
            ("scope", self.scope.to_string()),
            ("action", Value::Object(action).to_string()),
            ("active", self.active.to_string()),
            ("priority", self.priority.to_string()),
            ("realm", list(&self.realm)),
            ("resolver", list(&self.resolver)),
            ("user", list(&self.user)),
            ("adminrealm", list(&self.adminrealm)),
            ("adminuser", list(&self.adminuser)),
            ("client", list(&self.client)),
            ("time", self.time.clone()),
            ("check_all_resolvers", self.check_all_resolvers.to_string()),
            (
                "user_case_insensitive",
                self.user_case_insensitive.to_string(),
            ),
            ("description", self.description.clone()),
        ])
    }

    /// The actions in privacyIDEA's text form, `otppin=userstore, passOnNoToken` (commas inside
    /// values escaped as `\,`). `POST /policy/<name>` reads this form back.
    pub fn action_string(&self) -> String {
        let parts: Vec<String> = self
            .action
            .iter()
            .filter(|(_, v)| v.is_set())
            .map(|(k, v)| match v {
                ActionValue::Bool(_) => k.clone(),
                other => format!("{k}={}", other.to_string().replace(',', "\\,")),
            })
            .collect();
        parts.join(", ")
    }
}
