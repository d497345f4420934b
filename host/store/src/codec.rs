//! On-disk encoding: the versioned record envelope `{"v":1,"data":...}` and the owner-index keys.
//!
//! Every stored value is a JSON object whose first field `v` is the record format version and whose
//! second field `data` is the record. Decoding reads `v` first and then decodes `data` as the type that
//! version defines, without an intermediate `serde_json::Value`.
//! To change a record later: keep the old struct as `FooV1`, add the new one, and make `decode` for that
//! record accept `v == 1` by decoding `FooV1` and converting it (records are then rewritten on update).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::StoreError;

/// The record format version this build writes and reads.
pub(crate) const CURRENT: u64 = 1;

struct Envelope<'a, T>(&'a T);

impl<T: Serialize> Serialize for Envelope<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("v", &CURRENT)?;
        map.serialize_entry("data", self.0)?;
        map.end()
    }
}

/// The stored bytes of a record.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Envelope(value))
        .map_err(|e| StoreError::Io(format!("encoding a record: {e}")))
}

/// Decode stored bytes; `tree` and `key` name the record in the error.
pub(crate) fn decode<T: DeserializeOwned>(
    tree: &str,
    key: &[u8],
    raw: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice::<Decoded<T>>(raw)
        .map(|d| d.0)
        .map_err(|e| corrupt(tree, key, &e))
}

pub(crate) fn corrupt(tree: &str, key: &[u8], what: &dyn fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{tree}/{:?}: {what}", String::from_utf8_lossy(key)))
}

struct Decoded<T>(T);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    V,
    Data,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Decoded<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Decoded<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a record {"v":<version>,"data":...}"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decoded<T>, A::Error> {
                if !matches!(map.next_key::<Field>()?, Some(Field::V)) {
                    return Err(de::Error::custom("the version \"v\" must come first"));
                }
                let version: u64 = map.next_value()?;
                if version != CURRENT {
                    return Err(de::Error::custom(format_args!(
                        "unknown record version {version} (this build reads version {CURRENT})"
                    )));
                }
                if !matches!(map.next_key::<Field>()?, Some(Field::Data)) {
                    return Err(de::Error::missing_field("data"));
                }
                let data = map.next_value::<T>()?;
                if map.next_key::<Field>()?.is_some() {
                    return Err(de::Error::custom("unexpected field after \"data\""));
                }
                Ok(Decoded(data))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

// ---- owner index keys: escape(resolver) 0 escape(user_id) 0 escape(serial) ----
// Escaping (0 -> 1 1, 1 -> 1 2) keeps the 0 separators unambiguous for any names and preserves byte order,
// so an index prefix scan yields serials sorted like the token tree. Names without bytes 0 and 1 are stored
// verbatim.

fn push_escaped(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            0 => out.extend_from_slice(&[1, 1]),
            1 => out.extend_from_slice(&[1, 2]),
            _ => out.push(b),
        }
    }
}

/// The prefix shared by every index key of one owner.
pub(crate) fn owner_prefix(resolver: &str, user_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(resolver.len() + user_id.len() + 2);
    push_escaped(&mut key, resolver);
    key.push(0);
    push_escaped(&mut key, user_id);
    key.push(0);
    key
}

pub(crate) fn owner_key(resolver: &str, user_id: &str, serial: &str) -> Vec<u8> {
    let mut key = owner_prefix(resolver, user_id);
    push_escaped(&mut key, serial);
    key
}

/// The serial at the end of an index key (after the second separator).
pub(crate) fn serial_of_owner_key(key: &[u8]) -> Result<String, StoreError> {
    let bad = |why: &str| corrupt("token_owners", key, &why);
    let mut parts = key.splitn(3, |&b| b == 0);
    let escaped = parts.nth(2).ok_or_else(|| bad("fewer than three parts"))?;
    let mut out = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        match b {
            1 => match bytes.next() {
                Some(1) => out.push(0),
                Some(2) => out.push(1),
                _ => return Err(bad("bad escape")),
            },
            _ => out.push(b),
        }
    }
    String::from_utf8(out).map_err(|_| bad("serial is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct R {
        a: u32,
        b: String,
    }

    fn check_corrupt(raw: &str, needle: &str) {
        let err = decode::<R>("tokens", b"OATH1", raw.as_bytes()).unwrap_err();
        let StoreError::Corrupt(text) = &err else {
            panic!("{err:?}")
        };
        assert!(
            text.contains("tokens/\"OATH1\"") && text.contains(needle),
            "{raw} -> {text}"
        );
    }

    #[test]
    fn envelope_is_versioned_and_round_trips() {
        let r = R {
            a: 7,
            b: "x".into(),
        };
        let raw = encode(&r).unwrap();
        assert_eq!(raw, br#"{"v":1,"data":{"a":7,"b":"x"}}"#);
        assert_eq!(decode::<R>("t", b"k", &raw).unwrap(), r);
    }

    #[test]
    fn bad_bytes_are_corrupt_naming_the_key() {
        check_corrupt(
            r#"{"v":2,"data":{"a":7,"b":"x"}}"#,
            "unknown record version 2",
        );
        check_corrupt(r#"{"data":{"a":7,"b":"x"},"v":1}"#, "must come first");
        check_corrupt(r#"{"v":1}"#, "data");
        check_corrupt(
            r#"{"v":1,"data":{"a":7,"b":"x"},"w":0}"#,
            "unknown field `w`",
        );
        check_corrupt(r#"{"v":1,"data":{"a":"7","b":"x"}}"#, "invalid type");
        check_corrupt(r#"{"v":1,"data":{"a":7,"b":"x"}} trailing"#, "trailing");
        check_corrupt("\u{1}\u{2}garbage", "expected value");
        check_corrupt("", "EOF");
    }

    #[test]
    fn owner_keys_are_unambiguous_and_ordered() {
        assert_eq!(owner_key("flat", "alice", "HOTP1"), b"flat\0alice\0HOTP1");
        // Without escaping these two owners would share a prefix.
        assert_ne!(owner_prefix("a\0b", "c"), owner_prefix("a", "b\0c"));
        for serial in ["HOTP1", "with\0nul", "with\u{1}one", ""] {
            let key = owner_key("r\0x", "u\u{1}", serial);
            assert!(key.starts_with(&owner_prefix("r\0x", "u\u{1}")));
            assert_eq!(serial_of_owner_key(&key).unwrap(), serial);
        }
        let mut serials = ["b", "a\u{1}", "a\0", "a", "a\u{2}"];
        let mut keys: Vec<_> = serials.iter().map(|s| owner_key("r", "u", s)).collect();
        keys.sort();
        serials.sort();
        let back: Vec<_> = keys
            .iter()
            .map(|k| serial_of_owner_key(k).unwrap())
            .collect();
        assert_eq!(back, serials);
        assert!(serial_of_owner_key(b"r\0u").is_err());
        assert!(serial_of_owner_key(b"r\0u\0\x01\x07").is_err());
    }
}
