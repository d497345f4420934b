//! Request parameters: form, JSON or query values, merged into one string map as privacyIDEA does.

use std::collections::BTreeMap;

use crate::error::PiError;

/// The parameters of one request. Later sources override earlier ones (query, then body).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn new() -> Self {
        Params(BTreeMap::new())
    }
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
    pub fn insert(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.0.insert(k.into(), v.into());
    }
    /// The value, if present (an empty value counts as present).
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    /// The value, if present and not empty.
    pub fn get_nonempty(&self, k: &str) -> Option<&str> {
        self.get(k).filter(|v| !v.is_empty())
    }
    /// The value or `ERR905: Missing parameter: 'k'`.
    pub fn required(&self, k: &str) -> Result<&str, PiError> {
        self.get(k).ok_or_else(|| PiError::missing(k))
    }
    /// The value or `ERR905: Missing parameter: 'k'` if absent or empty.
    pub fn required_nonempty(&self, k: &str) -> Result<&str, PiError> {
        self.get_nonempty(k).ok_or_else(|| PiError::missing(k))
    }
    /// privacyIDEA's boolean reading: `1`, `true`, `True`, `yes`, `on` are true; absent is `default`.
    pub fn bool_or(&self, k: &str, default: bool) -> Result<bool, PiError> {
        match self.get_nonempty(k) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(PiError::parameter(format!(
                    "Parameter '{k}' must be a boolean (1/0, true/false), got '{v}'"
                ))),
            },
        }
    }
    /// A non-negative integer, or `default` if absent; a clear 905 error if not a number.
    pub fn u64_or(&self, k: &str, default: u64) -> Result<u64, PiError> {
        match self.get_nonempty(k) {
            None => Ok(default),
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                PiError::parameter(format!(
                    "Parameter '{k}' must be a non-negative integer, got '{v}'"
                ))
            }),
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_values() {
        let p = Params::from_pairs([("a", "1"), ("b", ""), ("n", "x")]);
        assert_eq!(p.required("a"), Ok("1"));
        assert_eq!(
            p.required_nonempty("b").unwrap_err().message,
            "ERR905: Missing parameter: 'b'"
        );
        assert_eq!(p.bool_or("a", false), Ok(true));
        assert_eq!(p.bool_or("zz", true), Ok(true));
        assert!(p.u64_or("n", 1).is_err());
        assert_eq!(p.u64_or("b", 7), Ok(7));
    }
}
