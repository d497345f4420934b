//! Action values (`ActionValue`) and the value formats some actions use: durations (`30h`),
//! rates (`3/5m`), PIN content rules (`+cn`), token-info rules (`key/regex/`), regular expressions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The value of one action in one policy. A switch (`passOnNoToken`) is `Bool(true)`; `Bool(false)` is
/// never written by this crate and counts as "not set" if found in stored data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionValue {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl ActionValue {
    /// Whether this value switches the action on (any value but `Bool(false)`).
    pub fn is_set(&self) -> bool {
        !matches!(self, ActionValue::Bool(false))
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ActionValue::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            ActionValue::Int(n) => Some(*n),
            _ => None,
        }
    }
    /// privacyIDEA's wire form in `GET /policy/`: switches are `true`, every other value is a string
    /// (privacyIDEA keeps `max_token_per_user=2` as `"2"`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ActionValue::Bool(b) => serde_json::Value::Bool(*b),
            ActionValue::Int(n) => serde_json::Value::String(n.to_string()),
            ActionValue::Str(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl fmt::Display for ActionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionValue::Bool(b) => write!(f, "{b}"),
            ActionValue::Int(n) => write!(f, "{n}"),
            ActionValue::Str(s) => f.write_str(s),
        }
    }
}

/// Seconds in a duration like `30s`, `5m`, `30h`, `7d` or `1y` (365 days), as privacyIDEA writes
/// `last_auth` and `auditlog_age`. `None` if it is not of that form or is zero.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let seconds: u64 = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = number.parse().ok()?;
    count.checked_mul(seconds).filter(|s| *s > 0)
}

/// The largest count of a rate the server can keep track of (`auth_max_fail=1000/1d`): the
/// authentication counts are kept in memory, one timestamp per counted authentication.
pub const MAX_RATE_COUNT: u32 = 1000;

/// `(count, seconds)` of a rate like `3/5m` (at most 3 within 5 minutes), as privacyIDEA writes
/// `auth_max_success` and `auth_max_fail`.
pub fn parse_rate(text: &str) -> Option<(u32, u64)> {
    let (count, period) = text.trim().split_once('/')?;
    let count = count.trim();
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u32 = count.parse().ok()?;
    Some((count, parse_duration(period)?))
}

/// `(key, regex)` of a token-info rule `key/regex/` (privacyIDEA authorization `tokeninfo`).
pub fn parse_tokeninfo_rule(text: &str) -> Option<(&str, &str)> {
    let (key, rest) = text.trim().split_once('/')?;
    let pattern = rest.strip_suffix('/')?;
    (!key.trim().is_empty()).then_some((key.trim(), pattern))
}

/// Why `text` is not a valid PIN content rule, if it is not. privacyIDEA's syntax: letters of the
/// groups `c` (letters), `n` (digits), `s` (special characters), `o` (others): `cns` requires one of
/// each group, `+cn` one character of the combined groups, `-s` forbids the group; or a list of the
/// allowed characters in brackets, `[0123456789]`.
pub fn check_pin_contents(text: &str) -> Result<(), String> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(chars) if !chars.is_empty() => Ok(()),
            _ => Err("a list of allowed characters must look like '[0123456789]'".into()),
        };
    }
    let groups = text
        .strip_prefix('+')
        .or_else(|| text.strip_prefix('-'))
        .unwrap_or(text);
    if groups.is_empty() {
        return Err("give at least one of the groups c, n, s, o".into());
    }
    let mut seen = String::new();
    for c in groups.chars() {
        if !"cnso".contains(c) {
            return Err(format!(
                "'{c}' is not a group: use c (letters), n (digits), s (special), o (others), \
                 optionally after '+' or '-'"
            ));
        }
        if seen.contains(c) {
            return Err(format!("group '{c}' is given twice"));
        }
        seen.push(c);
    }
    Ok(())
}

/// Why `pattern` is not a regular expression, if it is not (first line of the regex crate's message).
pub fn check_regex(pattern: &str) -> Result<(), String> {
    regex::Regex::new(pattern).map(|_| ()).map_err(|e| {
        let text = e.to_string();
        let last = text.lines().rev().find(|l| !l.trim().is_empty());
        format!(
            "'{pattern}' is not a valid regular expression ({})",
            last.unwrap_or("syntax error").trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let table: &[(&str, Option<u64>)] = &[
            ("30h", Some(30 * 3600)),
            ("7d", Some(7 * 86_400)),
            ("5m", Some(300)),
            ("10s", Some(10)),
            ("1y", Some(365 * 86_400)),
            ("2D", Some(2 * 86_400)),
            ("0h", None),
            ("h", None),
            ("30", None),
            ("-3d", None),
            ("3.5h", None),
            ("3w", None),
            ("99999999999999999999d", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), *want, "{text}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("3/5m"), Some((3, 300)));
        assert_eq!(parse_rate("10/1h"), Some((10, 3600)));
        for bad in ["3", "/5m", "3/", "x/5m", "3/5", "-1/5m"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokeninfo_rules() {
        assert_eq!(
            parse_tokeninfo_rule("tokenkind/software/"),
            Some(("tokenkind", "software"))
        );
        assert_eq!(
            parse_tokeninfo_rule("hashlib/sha(256|512)/"),
            Some(("hashlib", "sha(256|512)"))
        );
        assert_eq!(parse_tokeninfo_rule("/x/"), None);
        assert_eq!(parse_tokeninfo_rule("key/x"), None);
        assert_eq!(parse_tokeninfo_rule("key"), None);
    }

    #[test]
    fn pin_contents() {
        for good in ["cns", "+cn", "-s", "c", "o", "[0123456789]"] {
            assert_eq!(check_pin_contents(good), Ok(()), "{good}");
        }
        for bad in ["", "+", "cx", "cc", "[]", "[12", "+-c"] {
            assert!(check_pin_contents(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regexes() {
        assert_eq!(check_regex("^OATH[0-9]+$"), Ok(()));
        let err = check_regex("OATH(").unwrap_err();
        assert!(
            err.starts_with("'OATH(' is not a valid regular expression ("),
            "{err}"
        );
    }

    #[test]
    fn values_serialize_untagged_and_show_as_privacyidea_does() {
        let values = [
            ActionValue::Bool(true),
            ActionValue::Int(2),
            ActionValue::Str("userstore".into()),
        ];
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(json, r#"[true,2,"userstore"]"#);
        assert_eq!(
            serde_json::from_str::<Vec<ActionValue>>(&json).unwrap(),
            values
        );
        let wire: Vec<_> = values.iter().map(ActionValue::to_json).collect();
        assert_eq!(
            serde_json::json!(wire),
            serde_json::json!([true, "2", "userstore"])
        );
    }
}
