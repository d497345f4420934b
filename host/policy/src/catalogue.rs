//! The catalogue of policy actions: what each scope accepts, of which kind, and the validation of a
//! written value. Serves `GET /policy/defs` and `GET /policy/defs/<scope>`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tessera_proto::PiError;

use crate::actions::{self, Static};
use crate::scope::Scope;
use crate::value::{self, ActionValue};

/// The kind of value an action takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// A switch: the action alone (or `=true`, `=1`).
    Bool,
    /// A switch or a string: `passthru` alone means `userstore`, `passthru=<radius server>` names one.
    BoolOrStr,
    /// A whole number ≥ 0.
    Int,
    /// A whole number from a fixed list (`hotp_otplen`: 6 or 8).
    IntChoice(&'static [i64]),
    /// Free text (see `Check` for formats that are checked).
    Str,
    /// One word of a fixed list (`otppin`: tokenpin, userstore, none).
    Choice(&'static [&'static str]),
    /// Space separated words.
    StrList,
    /// Space separated words of a fixed list (`preferred_client_mode`).
    ChoiceList(&'static [&'static str]),
    /// One installed token type.
    TokenType,
    /// Space separated installed token types (`challenge_response=hotp totp`).
    TokenTypes,
}

impl ActionKind {
    /// privacyIDEA's `type` in `GET /policy/defs`.
    pub fn json_type(self) -> &'static str {
        match self {
            ActionKind::Bool => "bool",
            ActionKind::Int | ActionKind::IntChoice(_) => "int",
            _ => "str",
        }
    }
}

/// A format a `Str` action's value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    None,
    /// A regular expression (`serial`).
    Regex,
    /// `key/regex/` (`tokeninfo`).
    TokenInfo,
    /// `30h`, `7d`, `5m` (`last_auth`, `auditlog_age`).
    Duration,
    /// `3/5m` (`auth_max_fail`, `auth_max_success`).
    Rate,
    /// `cns`, `+cn`, `-s`, `[0123456789]` (`otp_pin_contents`).
    PinContents,
    /// A `BoolOrStr` whose only string value is `userstore` (`passthru`: Tessera has no RADIUS
    /// passthru).
    UserStoreOnly,
}

/// One action of one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionDef {
    pub name: String,
    pub scope: Scope,
    pub kind: ActionKind,
    pub check: Check,
    pub desc: String,
    /// privacyIDEA's UI group (`token`, `system`, `pin` ...), if any.
    pub group: Option<&'static str>,
    /// Whether Tessera enforces the action. Unsupported actions are listed in `GET /policy/defs`
    /// with `"supported": false` and refused by `POST /policy`.
    pub supported: bool,
}

impl ActionDef {
    fn new(
        scope: Scope,
        name: &str,
        kind: ActionKind,
        group: &'static str,
        desc: impl Into<String>,
    ) -> Self {
        ActionDef {
            name: name.to_string(),
            scope,
            kind,
            check: Check::None,
            desc: desc.into(),
            group: (!group.is_empty()).then_some(group),
            supported: true,
        }
    }
}

/// Every action of every scope, including the ones that depend on the installed token types.
#[derive(Clone, Debug)]
pub struct Catalogue {
    scopes: [BTreeMap<String, ActionDef>; Scope::ALL.len()],
    token_types: Vec<String>,
}

impl Catalogue {
    /// The static actions plus, for each token type: admin and user `enroll<TYPE>` (`enrollHOTP`);
    /// for the OATH types `hotp` and `totp` the enrollment actions `<type>_otplen` and
    /// `<type>_hashlib`; for `totp` also `totp_timestep`.
    pub fn new(token_types: &[String]) -> Self {
        let mut types: Vec<String> = token_types.iter().map(|t| t.to_ascii_lowercase()).collect();
        types.sort();
        types.dedup();
        let mut cat = Catalogue {
            scopes: std::array::from_fn(|_| BTreeMap::new()),
            token_types: types.clone(),
        };
        let tables: [(Scope, &[Static]); 7] = [
            (Scope::Authentication, actions::AUTHENTICATION),
            (Scope::Authorization, actions::AUTHORIZATION),
            (Scope::Enrollment, actions::ENROLLMENT),
            (Scope::Admin, actions::ADMIN),
            (Scope::User, actions::USER),
            (Scope::Webui, actions::WEBUI),
            (Scope::System, actions::SYSTEM),
        ];
        for (scope, table) in tables {
            for s in table {
                let mut def = ActionDef::new(scope, s.name, s.kind, s.group, s.desc);
                def.check = s.check;
                def.supported = s.supported;
                cat.add(def);
            }
        }
        let enroll = ActionKind::Bool;
        for t in &types {
            let upper = t.to_ascii_uppercase();
            let name = format!("enroll{upper}");
            let desc = format!("Admin is allowed to enroll {upper} tokens.");
            cat.add(ActionDef::new(
                Scope::Admin,
                &name,
                enroll,
                "enrollment",
                desc,
            ));
            let desc = format!("Users are allowed to enroll {upper} tokens.");
            cat.add(ActionDef::new(
                Scope::User,
                &name,
                enroll,
                "enrollment",
                desc,
            ));
            let group = match t.as_str() {
                "hotp" => "hotp",
                "totp" => "totp",
                _ => continue,
            };
            let rule = "enrollment requests may not choose another";
            let (name, desc) = (
                format!("{t}_otplen"),
                format!("Digits of {upper} tokens; {rule}."),
            );
            let kind = ActionKind::IntChoice(actions::OTPLEN);
            cat.add(ActionDef::new(Scope::Enrollment, &name, kind, group, desc));
            let (name, desc) = (
                format!("{t}_hashlib"),
                format!("Hash algorithm of {upper} tokens; {rule}."),
            );
            let kind = ActionKind::Choice(actions::HASHLIB);
            cat.add(ActionDef::new(Scope::Enrollment, &name, kind, group, desc));
            if group == "totp" {
                let desc = format!("Time step of TOTP tokens in seconds; {rule}.");
                let kind = ActionKind::IntChoice(actions::TIMESTEP);
                cat.add(ActionDef::new(
                    Scope::Enrollment,
                    "totp_timestep",
                    kind,
                    group,
                    desc,
                ));
            }
        }
        cat
    }

    fn add(&mut self, def: ActionDef) {
        self.scopes[def.scope.index()].insert(def.name.clone(), def);
    }

    pub fn get(&self, scope: Scope, action: &str) -> Option<&ActionDef> {
        self.scopes[scope.index()].get(action)
    }

    /// The actions of a scope, sorted by name.
    pub fn actions(&self, scope: Scope) -> impl Iterator<Item = &ActionDef> {
        self.scopes[scope.index()].values()
    }

    /// The installed token types, lower case, sorted.
    pub fn token_types(&self) -> &[String] {
        &self.token_types
    }

    /// The stored value of `action` written as `raw` (`None`: the action was given alone).
    /// Unknown and unsupported actions, and values of the wrong kind or format, are 905 errors
    /// that name them.
    pub fn value(
        &self,
        scope: Scope,
        action: &str,
        raw: Option<&str>,
    ) -> Result<ActionValue, PiError> {
        let def = self.get(scope, action).ok_or_else(|| {
            PiError::parameter(format!(
                "Unknown action '{action}' in scope '{scope}'. GET /policy/defs/{scope} lists the actions."
            ))
        })?;
        if !def.supported {
            return Err(PiError::parameter(format!(
                "Action '{action}' in scope '{scope}' is not supported by Tessera yet: \
                 a policy with it would have no effect, so it is refused."
            )));
        }
        self.parse(def, raw)
    }

    /// `raw` read as a value of `def`'s kind and format (supported or not).
    pub(crate) fn parse(&self, def: &ActionDef, raw: Option<&str>) -> Result<ActionValue, PiError> {
        let action = def.name.as_str();
        let raw = raw.map(str::trim);
        let bad = |what: String| PiError::parameter(format!("Action '{action}' {what}"));
        let needs =
            |example: &str| bad(format!("needs a value, for example '{action}={example}'."));
        match def.kind {
            ActionKind::Bool => match raw {
                None => Ok(ActionValue::Bool(true)),
                Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => {
                    Ok(ActionValue::Bool(true))
                }
                Some(v) => Err(bad(format!(
                    "is a switch: give it alone or as '{action}=true', not '{action}={v}'. \
                     To switch it off, leave it out."
                ))),
            },
            ActionKind::BoolOrStr => match raw {
                None | Some("") => Ok(ActionValue::Bool(true)),
                Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => {
                    Ok(ActionValue::Bool(true))
                }
                Some(v) if def.check == Check::UserStoreOnly => {
                    if v.eq_ignore_ascii_case("userstore") {
                        Ok(ActionValue::Str("userstore".into()))
                    } else {
                        Err(bad(format!(
                            "accepts only 'userstore' (or no value), got '{v}': \
                             passthru to a RADIUS server is not supported by Tessera yet."
                        )))
                    }
                }
                Some(v) => Ok(ActionValue::Str(v.to_string())),
            },
            ActionKind::Int | ActionKind::IntChoice(_) => {
                let v = raw.filter(|v| !v.is_empty()).ok_or_else(|| needs("2"))?;
                let n = v
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| {
                        bad(format!("must be a whole number of 0 or more, got '{v}'."))
                    })?;
                if let ActionKind::IntChoice(allowed) = def.kind
                    && !allowed.contains(&n)
                {
                    let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
                    return Err(bad(format!(
                        "must be one of {}, got '{v}'.",
                        list.join(", ")
                    )));
                }
                Ok(ActionValue::Int(n))
            }
            ActionKind::Str => {
                let v = raw.filter(|v| !v.is_empty()).ok_or_else(|| needs("..."))?;
                check_format(def.check, v)
                    .map_err(|why| bad(format!("has an invalid value: {why}.")))?;
                Ok(ActionValue::Str(v.to_string()))
            }
            ActionKind::Choice(allowed) => {
                let v = raw
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| needs(allowed.first().copied().unwrap_or("...")))?;
                let found = allowed.iter().find(|a| a.eq_ignore_ascii_case(v));
                let found = found.ok_or_else(|| {
                    bad(format!("must be one of {}, got '{v}'.", allowed.join(", ")))
                })?;
                Ok(ActionValue::Str(found.to_string()))
            }
            ActionKind::StrList
            | ActionKind::ChoiceList(_)
            | ActionKind::TokenTypes
            | ActionKind::TokenType => {
                let v = raw.filter(|v| !v.is_empty()).ok_or_else(|| needs("hotp"))?;
                let words: Vec<&str> = v.split_whitespace().collect();
                let mut out = Vec::with_capacity(words.len());
                for word in words {
                    let word = match def.kind {
                        ActionKind::ChoiceList(allowed) => allowed
                            .iter()
                            .find(|a| a.eq_ignore_ascii_case(word))
                            .map(|a| a.to_string())
                            .ok_or_else(|| {
                                bad(format!(
                                    "accepts only {}, got '{word}'.",
                                    allowed.join(", ")
                                ))
                            })?,
                        ActionKind::TokenTypes | ActionKind::TokenType => {
                            let lower = word.to_ascii_lowercase();
                            if !self.token_types.contains(&lower) {
                                return Err(bad(format!(
                                    "names the unknown token type '{word}'. Installed types: {}.",
                                    self.token_types.join(", ")
                                )));
                            }
                            lower
                        }
                        _ => word.to_string(),
                    };
                    if !out.contains(&word) {
                        out.push(word);
                    }
                }
                if def.kind == ActionKind::TokenType && out.len() != 1 {
                    return Err(bad(format!("takes one token type, got '{v}'.")));
                }
                Ok(ActionValue::Str(out.join(" ")))
            }
        }
    }

    /// `GET /policy/defs`: scope -> action -> `{type, desc, group?, value?}`.
    pub fn to_json(&self) -> Value {
        let mut all = Map::new();
        for scope in Scope::ALL {
            all.insert(scope.as_str().to_string(), self.scope_json(scope));
        }
        Value::Object(all)
    }

    /// `GET /policy/defs/<scope>`: action -> `{type, desc, group?, value?}`; an action Tessera
    /// does not enforce yet also has `"supported": false` and says so at the start of `desc`.
    pub fn scope_json(&self, scope: Scope) -> Value {
        let mut out = Map::new();
        for def in self.actions(scope) {
            let mut entry = Map::new();
            entry.insert("type".into(), json!(def.kind.json_type()));
            if def.supported {
                entry.insert("desc".into(), json!(def.desc));
            } else {
                let desc = format!("{UNSUPPORTED_NOTE} {}", def.desc);
                entry.insert("desc".into(), json!(desc));
                entry.insert("supported".into(), json!(false));
            }
            if let Some(group) = def.group {
                entry.insert("group".into(), json!(group));
            }
            let values = match def.kind {
                ActionKind::IntChoice(v) => Some(json!(v)),
                ActionKind::Choice(v) | ActionKind::ChoiceList(v) => Some(json!(v)),
                ActionKind::TokenType | ActionKind::TokenTypes => Some(json!(self.token_types)),
                _ => None,
            };
            if let Some(values) = values {
                entry.insert("value".into(), values);
            }
            out.insert(def.name.clone(), Value::Object(entry));
        }
        Value::Object(out)
    }
}

/// The start of the `desc` of an unsupported action in `GET /policy/defs`.
pub const UNSUPPORTED_NOTE: &str = "Not supported by Tessera yet (POST /policy refuses it).";

/// Why `v` does not have the format `check` asks for, if it does not.
fn check_format(check: Check, v: &str) -> Result<(), String> {
    match check {
        Check::None | Check::UserStoreOnly => Ok(()),
        Check::Regex => value::check_regex(v),
        Check::TokenInfo => {
            let (_, pattern) = value::parse_tokeninfo_rule(v).ok_or_else(|| {
                format!("'{v}' is not of the form key/regex/, for example tokenkind/software/")
            })?;
            value::check_regex(pattern)
        }
        Check::Duration => value::parse_duration(v)
            .map(|_| ())
            .ok_or_else(|| format!("'{v}' is not a duration like 30s, 5m, 30h, 7d or 1y")),
        Check::Rate => match value::parse_rate(v) {
            None => Err(format!(
                "'{v}' is not a rate like 3/5m (at most 3 within 5 minutes)"
            )),
            Some((count, _)) if count > value::MAX_RATE_COUNT => Err(format!(
                "'{v}': at most {} authentications per period can be counted",
                value::MAX_RATE_COUNT
            )),
            Some(_) => Ok(()),
        },
        Check::PinContents => value::check_pin_contents(v).map_err(|why| format!("'{v}': {why}")),
    }
}

#[cfg(test)]
mod tests;
