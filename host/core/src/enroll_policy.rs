//! Enrollment policies applied by `/token/init`: token limits per user and realm, OTP PIN rules,
//! the per-type defaults (`hotp_otplen`, `totp_hashlib`, `totp_timestep` ...) and `tokenissuer`.

use tessera_policy::{ActionValue, Query, Scope};
use tessera_proto::{ErrorKind, PiError};
use tessera_store::TokenFilter;

use crate::{ResolvedUser, Tessera, store_err};

/// What the enrollment policies decided for one `/token/init`.
#[derive(Clone, Debug, Default)]
pub(crate) struct EnrollRules {
    /// Parameters the policies set for the plugin (`otplen`, `hashlib`, `timeStep`).
    pub overrides: Vec<(String, String)>,
    /// `tokenissuer`, tags filled in.
    pub issuer: Option<String>,
}

fn denied(message: impl Into<String>) -> PiError {
    PiError::new(ErrorKind::Policy, message)
}

impl Tessera {
    /// Check and gather the enrollment policies for a token of `ttype` owned by `owner`.
    pub(crate) fn enrollment_rules(
        &self,
        ttype: &str,
        serial: &str,
        owner: Option<&ResolvedUser>,
        pin: Option<&str>,
    ) -> Result<EnrollRules, PiError> {
        let set = self.policy_set();
        let mut rules = EnrollRules::default();
        if !set.has_active(Scope::Enrollment) {
            return Ok(rules);
        }
        let mut q = Query::new(Scope::Enrollment, self.now() as i64);
        if let Some(u) = owner {
            q.realm = Some(&u.realm);
            q.resolver = Some(&u.resolver);
            q.user = Some(&u.login);
        }
        let m = set.matching(&q);
        let int = |action: &str| -> Result<Option<i64>, PiError> {
            Ok(m.value(action)?.and_then(ActionValue::as_int))
        };
        if let (Some(max), Some(u)) = (int("max_token_per_user")?, owner) {
            let have = self
                .inner
                .store
                .tokens_of_user(&u.resolver, &u.user_id)
                .map_err(store_err)?
                .len();
            if have as i64 >= max {
                return Err(denied(
                    "ERR303: The number of tokens for this user is limited!",
                ));
            }
        }
        if let (Some(max), Some(u)) = (int("max_token_per_realm")?, owner) {
            let filter = TokenFilter {
                realm: Some(u.realm.clone()),
                ..Default::default()
            };
            let have = self
                .inner
                .store
                .list_tokens(&filter)
                .map_err(store_err)?
                .len();
            if have as i64 >= max {
                return Err(denied(
                    "ERR303: The number of tokens in this realm is limited!",
                ));
            }
        }
        if let Some(pin) = pin {
            check_pin(
                pin,
                int("otp_pin_minlength")?,
                int("otp_pin_maxlength")?,
                m.value("otp_pin_contents")?.and_then(ActionValue::as_str),
            )?;
        }
        for (action, param) in [("otplen", "otplen"), ("hashlib", "hashlib")] {
            if let Some(v) = m.value(&format!("{ttype}_{action}"))? {
                rules.overrides.push((param.into(), v.to_string()));
            }
        }
        if ttype == "totp"
            && let Some(v) = m.value("totp_timestep")?
        {
            rules.overrides.push(("timeStep".into(), v.to_string()));
        }
        if let Some(issuer) = m.value("tokenissuer")?.and_then(ActionValue::as_str) {
            let user = owner.map_or("", |u| u.login.as_str());
            let realm = owner.map_or("", |u| u.realm.as_str());
            rules.issuer = Some(
                issuer
                    .replace("{user}", user)
                    .replace("{realm}", realm)
                    .replace("{serial}", serial),
            );
        }
        Ok(rules)
    }
}

/// privacyIDEA's OTP PIN rules. `contents`: `c` letters, `n` digits, `s` special characters,
/// `o` others; plain (`cn`): each group must occur; `+cn`: at least one of the groups; `-s`: none.
pub(crate) fn check_pin(
    pin: &str,
    min: Option<i64>,
    max: Option<i64>,
    contents: Option<&str>,
) -> Result<(), PiError> {
    let len = pin.chars().count() as i64;
    if let Some(min) = min
        && len < min
    {
        return Err(denied(format!(
            "ERR303: The minimum OTP PIN length is {min}"
        )));
    }
    if let Some(max) = max
        && len > max
    {
        return Err(denied(format!(
            "ERR303: The maximum OTP PIN length is {max}"
        )));
    }
    let Some(spec) = contents else {
        return Ok(());
    };
    let group = |g: char, c: char| match g {
        'c' => c.is_alphabetic(),
        'n' => c.is_ascii_digit(),
        's' => c.is_ascii_punctuation(),
        'o' => !(c.is_alphabetic() || c.is_ascii_digit() || c.is_ascii_punctuation()),
        _ => false,
    };
    let has = |g: char| pin.chars().any(|c| group(g, c));
    if let Some(groups) = spec.strip_prefix('+') {
        if !groups.chars().any(has) {
            return Err(denied(format!(
                "ERR303: The OTP PIN must contain characters of one of the groups '{groups}'"
            )));
        }
    } else if let Some(groups) = spec.strip_prefix('-') {
        if groups.chars().any(has) {
            return Err(denied(format!(
                "ERR303: The OTP PIN must not contain characters of the groups '{groups}'"
            )));
        }
    } else if let Some(missing) = spec.chars().find(|g| !has(*g)) {
        return Err(denied(format!(
            "ERR303: Missing character in PIN: group '{missing}' of '{spec}'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_pin;

    #[test]
    fn pin_rules() {
        let ok = |pin: &str, min, max, spec| check_pin(pin, min, max, spec).is_ok();
        assert!(ok("1234", Some(4), Some(8), None));
        assert!(!ok("123", Some(4), None, None));
        assert!(!ok("123456789", None, Some(8), None));
        assert!(ok("ab12", None, None, Some("cn")));
        assert!(!ok("abcd", None, None, Some("cn")));
        assert!(ok("abcd", None, None, Some("+cn")));
        assert!(!ok("!!!!", None, None, Some("+cn")));
        assert!(ok("ab12", None, None, Some("-s")));
        assert!(!ok("ab1!", None, None, Some("-s")));
        assert!(ok("pä55", Some(4), Some(4), Some("cn")));
    }
}
