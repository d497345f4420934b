//! [`Params`]: typed lookups over `pairs` (request parameters, token info, resolver config).

use std::str::FromStr;

use crate::PluginError;

/// Read-only view of WIT `pairs` with lookups that produce clear [`PluginError`]s.
///
/// An empty value counts as absent: web forms send empty fields, and privacyIDEA treats
/// `otplen=` like a missing `otplen`. With duplicate keys the first one wins.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    pairs: &'a [(String, String)],
}

/// Longest value quoted back in an error message.
const MAX_QUOTED: usize = 64;

impl<'a> Params<'a> {
    /// A view of `pairs`.
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Params { pairs }
    }

    /// The value of `name`, or none if it is absent or empty.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`; `missing-parameter` if it is absent or empty.
    pub fn required(&self, name: &str) -> Result<&'a str, PluginError> {
        self.get(name)
            .ok_or_else(|| PluginError::missing_parameter(name))
    }

    /// `name` parsed as `T`, or `default` if absent; `bad-parameter` naming the parameter, the
    /// value and `expected` (for example "a whole number") if it does not parse.
    pub fn parse_or<T: FromStr>(
        &self,
        name: &str,
        default: T,
        expected: &str,
    ) -> Result<T, PluginError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| bad_value(name, v, expected)),
        }
    }

    /// `name` as a whole number, or `default` if absent; `bad-parameter` if it is not one.
    pub fn u32_or(&self, name: &str, default: u32) -> Result<u32, PluginError> {
        self.parse_or(name, default, "a whole number")
    }

    /// `name` as a whole number; `missing-parameter` if absent, `bad-parameter` if not a number.
    pub fn required_u32(&self, name: &str) -> Result<u32, PluginError> {
        let v = self.required(name)?;
        v.trim()
            .parse()
            .map_err(|_| bad_value(name, v, "a whole number"))
    }

    /// `name` as a whole number that must be one of `allowed`, or `default` if absent.
    pub fn u32_one_of(
        &self,
        name: &str,
        allowed: &[u32],
        default: u32,
    ) -> Result<u32, PluginError> {
        let n = self.u32_or(name, default)?;
        if allowed.contains(&n) {
            Ok(n)
        } else {
            let list: Vec<String> = allowed.iter().map(u32::to_string).collect();
            Err(bad_value(
                name,
                &n.to_string(),
                &format!("one of {}", list.join(", ")),
            ))
        }
    }

    /// `name` as one of `allowed` (compared case-insensitively, returned as written in
    /// `allowed`), or `default` if absent.
    pub fn one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, PluginError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(v.trim()))
                .copied()
                .ok_or_else(|| bad_value(name, v, &format!("one of {}", allowed.join(", ")))),
        }
    }

    /// Whether `name` is a true value (`1`, `true`, `True`, `yes`, `on`), `default` if absent;
    /// `bad-parameter` for anything that is neither true nor false (`0`, `false`, `no`, `off`).
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, PluginError> {
        match self.get(name).map(str::trim) {
            None => Ok(default),
            Some(v)
                if ["1", "true", "yes", "on"]
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(v)) =>
            {
                Ok(true)
            }
            Some(v)
                if ["0", "false", "no", "off"]
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(v)) =>
            {
                Ok(false)
            }
            Some(v) => Err(bad_value(name, v, "True or False")),
        }
    }

    /// All pairs, in order.
    pub fn pairs(&self) -> &'a [(String, String)] {
        self.pairs
    }
}

/// `bad-parameter` for `name` = `value`, quoting at most [`MAX_QUOTED`] characters of the value.
fn bad_value(name: &str, value: &str, expected: &str) -> PluginError {
    let mut quoted: String = value.chars().take(MAX_QUOTED).collect();
    if value.chars().count() > MAX_QUOTED {
        quoted.push_str("...");
    }
    PluginError::bad_parameter(format!(
        "Invalid value for parameter '{name}': '{quoted}' (expected {expected})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn get_treats_empty_as_absent_and_first_duplicate_wins() {
        let p = pairs(&[("otplen", ""), ("hashlib", "sha256"), ("hashlib", "sha1")]);
        let params = Params::new(&p);
        assert_eq!(params.get("otplen"), None);
        assert_eq!(params.get("hashlib"), Some("sha256"));
        assert_eq!(params.get("nope"), None);
    }

    #[test]
    fn required_reports_the_missing_name() {
        let p = pairs(&[("fileName", "")]);
        let e = Params::new(&p).required("fileName").unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingParameter);
        assert_eq!(e.message, "Missing parameter: 'fileName'");
    }

    #[test]
    fn u32_lookups() {
        let p = pairs(&[
            ("otplen", "8"),
            ("bad", "eight"),
            ("neg", "-1"),
            ("spaced", " 30 "),
        ]);
        let params = Params::new(&p);
        assert_eq!(params.u32_or("otplen", 6).unwrap(), 8);
        assert_eq!(params.u32_or("absent", 6).unwrap(), 6);
        assert_eq!(params.u32_or("spaced", 6).unwrap(), 30);
        let e = params.u32_or("bad", 6).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadParameter);
        assert_eq!(
            e.message,
            "Invalid value for parameter 'bad': 'eight' (expected a whole number)"
        );
        assert!(params.u32_or("neg", 6).is_err());
        assert_eq!(
            params.required_u32("absent").unwrap_err().code,
            ErrorCode::MissingParameter
        );
        assert_eq!(params.required_u32("otplen").unwrap(), 8);
    }

    #[test]
    fn u32_one_of_lists_allowed_values() {
        let p = pairs(&[("otplen", "7")]);
        let e = Params::new(&p)
            .u32_one_of("otplen", &[6, 8], 6)
            .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value for parameter 'otplen': '7' (expected one of 6, 8)"
        );
        assert_eq!(
            Params::new(&[]).u32_one_of("otplen", &[6, 8], 6).unwrap(),
            6
        );
    }

    #[test]
    fn one_of_is_case_insensitive_and_returns_the_canonical_spelling() {
        let p = pairs(&[("hashlib", "SHA256"), ("bad", "md5")]);
        let params = Params::new(&p);
        assert_eq!(
            params
                .one_of("hashlib", &["sha1", "sha256"], "sha1")
                .unwrap(),
            "sha256"
        );
        assert_eq!(
            params
                .one_of("absent", &["sha1", "sha256"], "sha1")
                .unwrap(),
            "sha1"
        );
        let e = params
            .one_of("bad", &["sha1", "sha256"], "sha1")
            .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value for parameter 'bad': 'md5' (expected one of sha1, sha256)"
        );
    }

    #[test]
    fn bool_or_accepts_privacyidea_spellings() {
        let p = pairs(&[("a", "True"), ("b", "0"), ("c", "maybe")]);
        let params = Params::new(&p);
        assert!(params.bool_or("a", false).unwrap());
        assert!(!params.bool_or("b", true).unwrap());
        assert!(params.bool_or("absent", true).unwrap());
        assert_eq!(
            params.bool_or("c", true).unwrap_err().code,
            ErrorCode::BadParameter
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(200);
        let p = pairs(&[("n", &long)]);
        let e = Params::new(&p).u32_or("n", 1).unwrap_err();
        assert!(
            e.message.contains(&format!("'{}...'", "x".repeat(64))),
            "{}",
            e.message
        );
    }
}
