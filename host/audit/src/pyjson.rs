//! Python's `json.dumps(value, sort_keys=True)` byte for byte: the text privacyIDEA signs in `sign_response`.
//!
//! Python's defaults: separators `", "` and `": "`, `ensure_ascii=True` (every non-ASCII character and DEL as
//! `\uXXXX`, lowercase, UTF-16 surrogate pairs above U+FFFF), keys sorted by code point, floats as `repr(float)`.

use serde_json::Value;

/// `json.dumps(value, sort_keys=True)`, leaving out the top-level keys in `skip_top`.
pub fn dumps_sorted(value: &Value, skip_top: &[&str]) -> String {
    let mut out = String::new();
    write_value(&mut out, value, skip_top);
    out
}

fn write_value(out: &mut String, value: &Value, skip: &[&str]) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else if let Some(f) = n.as_f64() {
                out.push_str(&float_repr(f));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, &[]);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> =
                map.keys().filter(|k| !skip.contains(&k.as_str())).collect();
            // Rust compares strings by UTF-8 bytes, which is code point order, as Python's sort is.
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, key);
                out.push_str(": ");
                if let Some(v) = map.get(key) {
                    write_value(out, v, &[]);
                }
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that read back to the same value,
/// positional for exponents -4..16, else `d.ddde+XX`; integral values keep `.0`.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` prints the shortest round-trip digits: "-1.2345e-7", "5e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let body = if (-4..16).contains(&exp) {
        if exp < 0 {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if exp + 1 >= n {
            format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_repr() {
        // Expected values printed by CPython 3.11 `repr(x)`.
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (123.0, "123.0"),
            (0.1, "0.1"),
            (0.022577, "0.022577"),
            (1_796_315_926.809_465, "1796315926.809465"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e20, "1.2345e+20"),
            (-2.5, "-2.5"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (123_456_789.123_456_78, "123456789.12345678"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(*f), *want, "{f}");
        }
    }

    #[test]
    fn strings_escape_as_ensure_ascii() {
        let v = serde_json::json!({"b": "é\u{7f}\u{1}\t\"\\/😀", "a": [1, -2, 1.5, null, true, {}], "c": []});
        assert_eq!(
            dumps_sorted(&v, &[]),
            r#"{"a": [1, -2, 1.5, null, true, {}], "b": "\u00e9\u007f\u0001\t\"\\/\ud83d\ude00", "c": []}"#
        );
        assert_eq!(
            dumps_sorted(&v, &["b", "c"]),
            r#"{"a": [1, -2, 1.5, null, true, {}]}"#
        );
    }
}
