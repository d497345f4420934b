//! Compares a Tessera answer with a captured privacyIDEA 3.7.1 answer (`e2e/captured/*.json`):
//! the same HTTP status, the same keys at every level, the same JSON types, and the same values
//! wherever privacyIDEA's value is deterministic.

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::api::Resp;

/// Keys whose value changes from call to call: only presence and JSON type are compared.
const VOLATILE: &[&str] = &["time", "id", "threadid", "img"];
/// Keys that may be absent on either side: privacyIDEA's response `signature` (Tessera does not sign),
/// `versionnumber` (privacyIDEA leaves it out of error envelopes only) and `threadid` (a Python
/// thread id in `detail`). No client reads them.
const OPTIONAL: &[&str] = &["signature", "versionnumber", "threadid"];

/// A captured exchange, prepared for comparison.
pub struct Captured {
    name: String,
    status: u16,
    response: Value,
    ignored: Vec<String>,
}

impl Captured {
    /// Loads `e2e/captured/<name>.json`.
    pub fn load(name: &str) -> Captured {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("e2e/captured")
            .join(format!("{name}.json"));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file: Value = serde_json::from_str(&text).unwrap();
        let status = u16::try_from(file["status"].as_u64().unwrap()).unwrap();
        Captured {
            name: name.to_string(),
            status,
            response: file["response"].clone(),
            ignored: Vec::new(),
        }
    }

    /// Replaces `from` with `to` inside every string of the captured answer (for generated serials).
    pub fn subst(mut self, from: &str, to: &str) -> Captured {
        replace_strings(&mut self.response, from, to);
        self
    }

    /// Sets the expected value at a JSON pointer (`/result/value/tokens/0/failcount`), for values
    /// that differ from the capture only because the history of the token differs.
    pub fn set(mut self, pointer: &str, value: Value) -> Captured {
        *self
            .response
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{}: no {pointer}", self.name)) = value;
        self
    }

    /// Does not compare anything below this dotted path (`result.value.tokens.*.info`; `*` = any segment).
    pub fn ignore(mut self, path: &str) -> Captured {
        self.ignored.push(path.to_string());
        self
    }

    /// The captured answer as prepared so far.
    pub fn response(&self) -> &Value {
        &self.response
    }

    /// Every difference between the capture and `actual`; empty if they match.
    pub fn differences(&self, actual: &Resp) -> Vec<String> {
        let mut diffs = Vec::new();
        if actual.status != self.status {
            diffs.push(format!(
                "HTTP status: privacyIDEA {} vs Tessera {}",
                self.status, actual.status
            ));
        }
        if !actual.content_type.starts_with("application/json") {
            diffs.push(format!("content type: {:?}", actual.content_type));
        }
        walk("", &self.response, &actual.json, &self.ignored, &mut diffs);
        diffs
    }

    /// Panics with every difference if `actual` does not match.
    pub fn assert_matches(&self, actual: &Resp) {
        let mut all = Mismatches::default();
        all.check(self, actual);
        all.assert_none();
    }
}

/// Collects the differences of a whole sequence of exchanges, so one run reports all of them.
#[derive(Default)]
pub struct Mismatches(Vec<String>);

impl Mismatches {
    pub fn check(&mut self, captured: &Captured, actual: &Resp) {
        let diffs = captured.differences(actual);
        if !diffs.is_empty() {
            self.0.push(format!(
                "Tessera's answer differs from privacyIDEA's {}:\n  {}\n  Tessera: {actual}",
                captured.name,
                diffs.join("\n  ")
            ));
        }
    }

    /// Panics listing every mismatch collected.
    pub fn assert_none(self) {
        assert!(self.0.is_empty(), "{}", self.0.join("\n"));
    }
}

fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_strings(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|i| replace_strings(i, from, to)),
        _ => {}
    }
}

fn is_ignored(path: &str, ignored: &[String]) -> bool {
    let segs: Vec<&str> = path.split('.').collect();
    ignored.iter().any(|pat| {
        let pat: Vec<&str> = pat.split('.').collect();
        pat.len() <= segs.len() && pat.iter().zip(&segs).all(|(p, s)| *p == "*" || p == s)
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(path: &str, expected: &Value, actual: &Value, ignored: &[String], diffs: &mut Vec<String>) {
    if is_ignored(path, ignored) {
        return;
    }
    let key = path.rsplit('.').next().unwrap_or("");
    if VOLATILE.contains(&key) {
        if type_name(expected) != type_name(actual) {
            diffs.push(format!(
                "{path}: type {} vs {}",
                type_name(expected),
                type_name(actual)
            ));
        }
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => walk(&join(path, k), ev, av, ignored, diffs),
                    None if OPTIONAL.contains(&k.as_str())
                        || is_ignored(&join(path, k), ignored) => {}
                    None => diffs.push(format!("{}: missing (privacyIDEA: {ev})", join(path, k))),
                }
            }
            for (k, av) in a {
                if !e.contains_key(k)
                    && !OPTIONAL.contains(&k.as_str())
                    && !is_ignored(&join(path, k), ignored)
                {
                    diffs.push(format!("{}: extra key (Tessera: {av})", join(path, k)));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                diffs.push(format!("{path}: {} items vs {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                walk(&join(path, &i.to_string()), ev, av, ignored, diffs);
            }
        }
        (Value::String(e), Value::String(a))
            if is_uri(e) && normalize_uri(e) != normalize_uri(a) =>
        {
            diffs.push(format!("{path}: {e:?} vs {a:?}"));
        }
        (Value::String(e), Value::String(_)) if is_uri(e) => {}
        (e, a) if e != a => diffs.push(format!("{path}: {e} vs {a}")),
        _ => {}
    }
}

fn is_uri(s: &str) -> bool {
    s.starts_with("otpauth://") || s.starts_with("oathtoken://")
}

/// An enrollment URI with its query parameters sorted: clients parse them, so order is free.
fn normalize_uri(s: &str) -> (String, Vec<String>) {
    let (head, query) = s.split_once('?').unwrap_or((s, ""));
    let mut params: Vec<String> = query.split('&').map(str::to_string).collect();
    params.sort();
    (head.to_string(), params)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resp(status: u16, json: Value) -> Resp {
        Resp {
            status,
            content_type: "application/json".to_string(),
            body: json.to_string(),
            json,
        }
    }

    fn diffs(expected: &Value, actual: &Value, ignored: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        walk("", expected, actual, ignored, &mut out);
        out
    }

    #[test]
    fn a_capture_matches_itself_and_volatile_values_are_free() {
        let captured = Captured::load("30-validate-check-ok");
        let mut same = captured.response().clone();
        same["time"] = json!(1.5);
        same["detail"]["threadid"] = json!(7);
        same.as_object_mut().unwrap().remove("signature");
        captured.assert_matches(&resp(200, same));
    }

    #[test]
    fn differences_are_all_reported() {
        let expected = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}, "time": 1.0, "u": "otpauth://hotp/S?x=1&y=2"});
        let actual = json!({"a": "1", "b": {"c": "y", "d": [1], "e": null}, "time": "now", "u": "otpauth://hotp/S?y=2&x=1"});
        let found = diffs(&expected, &actual, &[]);
        assert_eq!(found.len(), 5, "{found:#?}"); // a type, c value, d length, e extra, time type
        assert!(diffs(&expected, &actual, &["a".into(), "b".into(), "time".into()]).is_empty());
        assert!(
            !diffs(
                &json!({"k": [{"v": 1}]}),
                &json!({"k": [{"v": 2}]}),
                &["k.*.v".into()]
            )
            .iter()
            .any(|d| d.contains("k.0.v"))
        );
    }
}
