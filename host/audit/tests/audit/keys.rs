//! Key files, and response signatures checked against privacyIDEA's own code (testdata/make_fixtures.py).

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use tessera_audit::pyjson::dumps_sorted;
use tessera_audit::{AuditKeys, AuditPublicKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};

use crate::keys;

fn capture_97() -> Value {
    let capture: Value =
        serde_json::from_str(include_str!("../../testdata/97-audit.json")).unwrap();
    capture["response"].clone()
}

#[test]
fn the_signed_text_is_pythons_json_dumps_sort_keys() {
    // privacyIDEA's sign_response signs json.dumps(content, sort_keys=True) of the body without `signature`.
    let want = include_str!("../../testdata/97-audit.canonical.txt");
    assert_eq!(dumps_sorted(&capture_97(), &["signature"]), want);
}

#[test]
fn a_response_signed_by_privacyidea_code_verifies_here_and_ours_verifies_too() {
    let public = AuditPublicKey::from_pem(include_str!("../../testdata/test-public.pem")).unwrap();
    let signed_by_python: Value =
        serde_json::from_str(include_str!("../../testdata/97-audit.signed.json")).unwrap();
    assert!(public.verify_response(&signed_by_python));
    let mut changed = signed_by_python.clone();
    changed["result"]["value"]["count"] = 71.into();
    assert!(!public.verify_response(&changed));
    let mut changed = signed_by_python.clone();
    changed["nonce"] = "another".into();
    assert!(!public.verify_response(&changed));

    let keys = keys();
    assert_eq!(keys.public(), &public);
    let mut body = capture_97();
    keys.add_signature(&mut body, Some("n\u{f6}nce-12345"));
    assert_eq!(body["nonce"], "n\u{f6}nce-12345");
    let sig = body["signature"].as_str().unwrap();
    assert!(
        sig.starts_with("rsa_sha256_pss:") && sig.len() == 15 + 512,
        "{sig}"
    );
    assert!(keys.verify_response(&body));
    body["result"]["value"]["auditdata"][0]["user"] = "mallory".into();
    assert!(!keys.verify_response(&body));
    assert!(
        !public.verify_response(&capture_97()),
        "signed by the captured server's key, not ours"
    );
}

#[test]
fn created_keys_are_private_load_back_and_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let created = AuditKeys::create(dir.path()).unwrap();
    let private = dir.path().join(PRIVATE_KEY_FILE);
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(&private)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let public_pem = std::fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));

    let loaded = AuditKeys::load(dir.path()).unwrap();
    assert_eq!(loaded.public(), created.public());
    assert_eq!(
        &AuditPublicKey::load(&dir.path().join(PUBLIC_KEY_FILE)).unwrap(),
        created.public()
    );
    let sig = loaded.sign(b"checkpoint").unwrap();
    assert!(created.public().verify(b"checkpoint", &sig));
    assert!(!created.public().verify(b"checkpoinT", &sig));

    assert!(
        AuditKeys::create(dir.path()).is_err(),
        "an existing key is kept"
    );
    assert_eq!(
        AuditKeys::load(dir.path()).unwrap().public(),
        created.public()
    );
}
