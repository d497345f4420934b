//! Enrollment through the plugins: the host passes `otpkey` as a `secret`, gets the key back in
//! clear, and fills the `{secret-hex}` / `{secret-base32}` placeholders of the detail.

use tessera_runtime::{EnrollRequest, Enrollment, PluginErrorCode};
use zeroize::Zeroizing;

use crate::{both, pairs};

fn enroll(ttype: &str, params: &[(&str, &str)], otpkey: Option<&[u8]>) -> Enrollment {
    let req = EnrollRequest {
        serial: "OATH00001C1B".into(),
        params: pairs(params),
        otpkey: otpkey.map(|k| Zeroizing::new(k.to_vec())),
        username: Some("alice".into()),
        issuer: "privacyIDEA".into(),
        now: 1_700_000_000,
    };
    both()[1].1.enroll(ttype, req).unwrap()
}

fn detail_value(e: &Enrollment, key: &str, field: &str) -> String {
    let entry = e
        .detail
        .iter()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("no detail {key}"));
    entry
        .fields
        .iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.clone())
        .unwrap()
}

fn assert_no_placeholders(e: &Enrollment) {
    for d in &e.detail {
        for (k, v) in &d.fields {
            assert!(
                !v.contains("{secret-"),
                "{}.{k} still has a placeholder: {v}",
                d.key
            );
        }
    }
}

#[test]
fn hotp_with_otpkey_returns_it_and_puts_it_in_the_uris() {
    let key = b"12345678901234567890";
    let e = enroll("hotp", &[], Some(key));
    assert_eq!(e.key.as_deref().map(|k| k.as_slice()), Some(&key[..]));
    assert_eq!(e.state.counter, 0);
    assert_eq!(e.state.otplen, 6);
    let url = detail_value(&e, "googleurl", "value");
    assert!(url.starts_with("otpauth://hotp/OATH00001C1B?"), "{url}");
    assert!(
        url.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"),
        "{url}"
    );
    assert_eq!(
        detail_value(&e, "otpkey", "value"),
        "seed://3132333435363738393031323334353637383930"
    );
    assert_eq!(
        detail_value(&e, "otpkey", "value_b32"),
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    );
    assert_no_placeholders(&e);
}

#[test]
fn totp_with_otpkey_and_sha256() {
    let key: Vec<u8> = (0u8..32).collect();
    let e = enroll(
        "totp",
        &[("hashlib", "sha256"), ("otplen", "8"), ("timeStep", "60")],
        Some(&key),
    );
    assert_eq!(e.key.as_deref().map(|k| k.as_slice()), Some(&key[..]));
    assert_eq!(e.state.otplen, 8);
    let url = detail_value(&e, "googleurl", "value");
    let b32 = data_encoding::BASE32_NOPAD.encode(&key);
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&format!("secret={b32}&")), "{url}");
    assert!(url.contains("period=60"), "{url}");
    assert!(url.contains("algorithm=SHA256"), "{url}");
    assert_no_placeholders(&e);
}

#[test]
fn genkey_gives_a_fresh_key_of_the_hash_size() {
    for ttype in ["hotp", "totp"] {
        let e = enroll(ttype, &[], None);
        let key = e.key.clone().expect("a generated key");
        assert_eq!(key.len(), 20, "{ttype}: SHA-1 key length");
        let url = detail_value(&e, "googleurl", "value");
        assert!(
            url.contains(&format!(
                "secret={}&",
                data_encoding::BASE32_NOPAD.encode(&key)
            )),
            "{url}"
        );
        assert_eq!(
            detail_value(&e, "otpkey", "value"),
            format!("seed://{}", hex::encode(&*key))
        );
        assert_no_placeholders(&e);
        let other = enroll(ttype, &[], None).key.unwrap();
        assert_ne!(*key, *other, "{ttype}: two generated keys are different");
    }
    let e = enroll("hotp", &[("hashlib", "sha512")], None);
    assert_eq!(e.key.map(|k| k.len()), Some(64));
}

#[test]
fn bad_parameters_are_plugin_errors() {
    let req = || EnrollRequest {
        serial: "OATH1".into(),
        params: pairs(&[("otplen", "7")]),
        otpkey: None,
        username: None,
        issuer: "privacyIDEA".into(),
        now: 0,
    };
    for (mode, rt) in both() {
        match rt.enroll("hotp", req()) {
            Err(tessera_runtime::CallError::Plugin { code, message }) => {
                assert_eq!(code, PluginErrorCode::BadParameter, "{mode}");
                assert!(message.contains("otplen"), "{mode}: {message}");
            }
            other => panic!(
                "{mode}: expected a plugin error, got {:?}",
                other.map(|e| e.state)
            ),
        }
    }
}
