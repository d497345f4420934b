//! Reading `POST /policy/<name>` parameters into a `Policy`, and re-checking a stored one.
//! Unlike privacyIDEA, unknown scopes and actions and values of the wrong kind are refused (905).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;
use tessera_proto::PiError;

use crate::catalogue::Catalogue;
use crate::model::Policy;
use crate::scope::Scope;
use crate::timespec;
use crate::value::ActionValue;

/// Names that would clash with the `GET /policy/<word>` endpoints.
const RESERVED_NAMES: &[&str] = &["check", "defs", "export", "import", "enable", "disable"];

impl Policy {
    /// A policy from privacyIDEA's `POST /policy/<name>` parameters (`get` returns a parameter's
    /// value; JSON arrays and objects arrive as their JSON text):
    /// `scope` (required), `action` (required: `"a=b, c, d=e f"` or a JSON object), the comma lists
    /// (or JSON arrays) `realm`, `resolver`, `user`, `adminrealm`, `adminuser`, `client`, and
    /// `active` (default true), `priority` (default 1), `time`, `check_all_resolvers`,
    /// `user_case_insensitive`, `description`. `conditions`, `pinode` and `user_agents` must be empty.
    pub fn from_params(
        name: &str,
        get: impl Fn(&str) -> Option<String>,
        catalogue: &Catalogue,
    ) -> Result<Policy, PiError> {
        check_name(name)?;
        for param in FIELDS {
            if get(param).is_some_and(|v| v.len() > MAX_FIELD) {
                return Err(PiError::parameter(format!(
                    "Parameter '{param}' is longer than {MAX_FIELD} bytes."
                )));
            }
        }
        let given = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let scope: Scope = given("scope")
            .ok_or_else(|| PiError::missing("scope"))?
            .parse()?;
        let action_text = given("action").ok_or_else(|| PiError::missing("action"))?;
        let mut policy = Policy::new(name, scope);
        policy.action = parse_actions(scope, &action_text, catalogue)?;
        policy.realm = parse_list("realm", given("realm"))?;
        policy.resolver = parse_list("resolver", given("resolver"))?;
        policy.user = parse_list("user", given("user"))?;
        policy.adminrealm = parse_list("adminrealm", given("adminrealm"))?;
        policy.adminuser = parse_list("adminuser", given("adminuser"))?;
        policy.client = parse_list("client", given("client"))?;
        policy.time = given("time").unwrap_or_default();
        policy.active = read_bool("active", given("active"), true)?;
        policy.check_all_resolvers =
            read_bool("check_all_resolvers", given("check_all_resolvers"), false)?;
        policy.user_case_insensitive = read_bool(
            "user_case_insensitive",
            given("user_case_insensitive"),
            false,
        )?;
        policy.description = given("description").unwrap_or_default();
        if let Some(p) = given("priority") {
            policy.priority = p.parse::<u32>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                PiError::parameter(format!(
                    "Parameter 'priority' must be a whole number of at least 1, got '{p}'"
                ))
            })?;
        }
        for (param, refusal) in [
            (
                "conditions",
                "conditions are not supported: Tessera has no extended policy conditions",
            ),
            (
                "pinode",
                "pinode is not supported: Tessera runs as one node",
            ),
            ("user_agents", "user_agents is not supported"),
        ] {
            if given(param).is_some_and(|v| !is_empty_json(&v)) {
                return Err(PiError::parameter(format!(
                    "{refusal}; send it empty or leave it out."
                )));
            }
        }
        check_attributes(&policy)?;
        Ok(policy)
    }

    /// `POST /policy/<name>` on this existing policy: as privacyIDEA's `set_policy`, only the
    /// parameters `get` returns change (an empty one clears its field); the rest are kept. The result
    /// is checked as a whole, as `from_params` checks a new policy.
    pub fn update_from_params(
        &self,
        get: impl Fn(&str) -> Option<String>,
        catalogue: &Catalogue,
    ) -> Result<Policy, PiError> {
        let stored = self.to_params();
        Policy::from_params(
            &self.name,
            |k| get(k).or_else(|| stored.get(k).cloned()),
            catalogue,
        )
    }

    /// Re-checks a stored policy against the catalogue (for example after a token type was removed):
    /// the same rules as `from_params`.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), PiError> {
        check_name(&self.name)?;
        if self.action.is_empty() {
            return Err(PiError::missing("action"));
        }
        for (action, value) in &self.action {
            let raw = match value {
                ActionValue::Bool(true) => None,
                ActionValue::Bool(false) => {
                    return Err(PiError::parameter(format!(
                        "Action '{action}' is switched off; leave it out instead."
                    )));
                }
                ActionValue::Int(n) => Some(n.to_string()),
                ActionValue::Str(s) => Some(s.clone()),
            };
            catalogue.value(self.scope, action, raw.as_deref())?;
        }
        if self.priority == 0 {
            return Err(PiError::parameter(
                "Parameter 'priority' must be a whole number of at least 1, got '0'",
            ));
        }
        if !self.conditions.is_empty() {
            return Err(PiError::parameter(
                "conditions are not supported: Tessera has no extended policy conditions.",
            ));
        }
        for (param, list) in [
            ("realm", &self.realm),
            ("resolver", &self.resolver),
            ("user", &self.user),
            ("adminrealm", &self.adminrealm),
            ("adminuser", &self.adminuser),
            ("client", &self.client),
        ] {
            for entry in list {
                check_entry(param, entry)?;
            }
        }
        check_attributes(self)
    }
}

/// A policy name: 1 to 64 letters, digits, `_`, `-` or `.`, and not one of the reserved words.
/// The longest value of one policy parameter (a list of realms, a description ...).
pub const MAX_FIELD: usize = 16 * 1024;

/// The parameters a policy is made of (each at most [`MAX_FIELD`] bytes).
const FIELDS: [&str; 13] = [
    "scope",
    "action",
    "realm",
    "resolver",
    "user",
    "adminrealm",
    "adminuser",
    "client",
    "time",
    "description",
    "priority",
    "active",
    "conditions",
];

pub fn check_name(name: &str) -> Result<(), PiError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    // "." and ".." cannot be addressed in a URL path.
    let only_dots = name.chars().all(|c| c == '.');
    if name.is_empty() || name.len() > 64 || !ok_chars || only_dots {
        return Err(PiError::parameter(format!(
            "The policy name '{name}' is invalid: use 1 to 64 letters, digits, '_', '-' or '.'."
        )));
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(PiError::parameter(format!(
            "The policy name '{name}' is reserved: GET /policy/{name} is another endpoint."
        )));
    }
    Ok(())
}

/// The actions of privacyIDEA's `action` parameter: `"a=b, c, d=e f"` (value after the first `=`,
/// `\,` for a comma inside a value) or a JSON object (`{"otppin": "userstore", "passOnNoToken": true}`).
pub fn parse_actions(
    scope: Scope,
    text: &str,
    catalogue: &Catalogue,
) -> Result<BTreeMap<String, ActionValue>, PiError> {
    let mut raw: Vec<(String, Option<String>)> = Vec::new();
    let text = text.trim();
    if text.starts_with('{') {
        let object: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| {
            PiError::parameter(format!(
                "Parameter 'action' is not a valid JSON object: {e}"
            ))
        })?;
        for (key, value) in object {
            let value = match value {
                Value::Bool(true) => None,
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(false) => {
                    return Err(PiError::parameter(format!(
                        "Action '{key}' is set to false; leave it out instead."
                    )));
                }
                other => {
                    return Err(PiError::parameter(format!(
                        "Action '{key}' must be true, a number or a string, got {other}."
                    )));
                }
            };
            raw.push((key.trim().to_string(), value));
        }
    } else {
        for item in split_unescaped_commas(text) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match item.split_once('=') {
                Some((k, v)) => raw.push((k.trim().to_string(), Some(v.trim().to_string()))),
                None => raw.push((item.to_string(), None)),
            }
        }
    }
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        if key.is_empty() {
            return Err(PiError::parameter(
                "Parameter 'action' has an entry without an action name.",
            ));
        }
        let value = catalogue.value(scope, &key, value.as_deref())?;
        if out.insert(key.clone(), value).is_some() {
            return Err(PiError::parameter(format!(
                "Action '{key}' is given twice."
            )));
        }
    }
    if out.is_empty() {
        return Err(PiError::missing("action"));
    }
    Ok(out)
}

/// Splits at commas not preceded by a backslash, and turns `\,` into `,`.
fn split_unescaped_commas(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                current.push(',');
            }
            ',' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// A comma list or JSON array of names: trimmed, empty ones dropped, duplicates dropped.
fn parse_list(param: &str, raw: Option<String>) -> Result<Vec<String>, PiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let items: Vec<String> = if raw.starts_with('[') {
        serde_json::from_str(&raw).map_err(|_| {
            PiError::parameter(format!(
                "Parameter '{param}' must be a comma separated list or a JSON array of strings, got '{raw}'"
            ))
        })?
    } else {
        raw.split(',').map(str::to_string).collect()
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim().to_string();
        if item.is_empty() || out.contains(&item) {
            continue;
        }
        check_entry(param, &item)?;
        out.push(item);
    }
    Ok(out)
}

/// One entry of a list attribute: an exclusion needs a name; a client entry is an IP or a network.
fn check_entry(param: &str, entry: &str) -> Result<(), PiError> {
    let name = entry
        .strip_prefix('-')
        .or_else(|| entry.strip_prefix('!'))
        .unwrap_or(entry)
        .trim();
    if name.is_empty() {
        return Err(PiError::parameter(format!(
            "Parameter '{param}' has the entry '{entry}' without a name after the '-'."
        )));
    }
    if param == "client" && parse_net(name).is_none() {
        return Err(PiError::parameter(format!(
            "Parameter 'client': '{entry}' is neither an IP address nor a network like 10.0.0.0/8 \
             or 2001:db8::/32 (a leading '-' excludes it)."
        )));
    }
    Ok(())
}

/// An IP address (as a one-host network) or a CIDR network.
pub(crate) fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

/// Rules across attributes: admin-only attributes, the time format.
fn check_attributes(policy: &Policy) -> Result<(), PiError> {
    if policy.scope != Scope::Admin
        && !(policy.adminrealm.is_empty() && policy.adminuser.is_empty())
    {
        return Err(PiError::parameter(format!(
            "adminrealm and adminuser are only allowed in the admin scope, not in '{}'.",
            policy.scope
        )));
    }
    timespec::parse(&policy.time).map_err(PiError::parameter)?;
    Ok(())
}

/// privacyIDEA's boolean reading: `1`, `true`, `yes`, `on` / `0`, `false`, `no`, `off`.
fn read_bool(param: &str, raw: Option<String>, default: bool) -> Result<bool, PiError> {
    match raw {
        None => Ok(default),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(PiError::parameter(format!(
                "Parameter '{param}' must be a boolean (1/0, true/false), got '{v}'"
            ))),
        },
    }
}

/// `[]`, `{}` and `""` count as not given.
fn is_empty_json(text: &str) -> bool {
    matches!(serde_json::from_str::<Value>(text), Ok(Value::Array(a)) if a.is_empty())
        || matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(o)) if o.is_empty())
        || text == "\"\""
}

#[cfg(test)]
mod tests;
