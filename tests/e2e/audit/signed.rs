//! Signed answers (`[audit] sign_responses`): every JSON answer carries privacyIDEA's `signature`, which the
//! `openssl` CLI verifies with the audit public key over Python's `json.dumps(body, sort_keys=True)`, and
//! echoes the request's `nonce`.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::text;
use crate::harness::server::ADMIN_PASSWORD;
use crate::harness::{Captured, Options, RFC_KEY, Resp, Server, hotp, setup_realm};
use crate::policies::enroll;

/// The text privacyIDEA signs: `json.dumps(body, sort_keys=True)` without `signature`, made by Python.
fn python_canonical(body: &str) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             d = json.load(sys.stdin)\n\
             d.pop('signature', None)\n\
             sys.stdout.write(json.dumps(d, sort_keys=True))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running python3: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed on {body}");
    out.stdout
}

/// `openssl dgst` verifies RSA-PSS (SHA-256, MGF1-SHA-256, salt 222 bytes: the maximum for a 2048-bit key,
/// privacyIDEA's `PSS.MAX_LENGTH`) of `message` with the PEM public key.
fn openssl_verifies(dir: &Path, public_pem: &Path, message: &[u8], signature: &[u8]) -> bool {
    let (msg, sig) = (dir.join("message"), dir.join("signature.bin"));
    fs::write(&msg, message).unwrap();
    fs::write(&sig, signature).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss"])
        .args([
            "-sigopt",
            "rsa_pss_saltlen:222",
            "-sigopt",
            "rsa_mgf1_md:sha256",
        ])
        .arg("-verify")
        .arg(public_pem)
        .arg("-signature")
        .arg(&sig)
        .arg(&msg)
        .output()
        .unwrap_or_else(|e| panic!("running openssl: {e}"));
    let said = text(&out.stdout);
    assert!(
        said.trim() == "Verified OK" || said.trim() == "Verification failure",
        "openssl: {said}{}",
        text(&out.stderr)
    );
    out.status.success()
}

#[test]
fn signed_answers_verify_with_the_audit_public_key_and_echo_the_nonce() {
    let server = Server::start_with(Options {
        extra_config: "\n[audit]\nsign_responses = true\n",
        ..Options::default()
    });
    let anon = server.anon();
    let login = anon.post(
        "/auth",
        &[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("nonce", "n-auth"),
        ],
    );
    login.expect_ok();
    let admin = anon.with_auth(login.json["result"]["value"]["token"].as_str().unwrap());
    setup_realm(&server, &admin);
    enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let nonce = "5fd1c3b9e02a4d7e8f6a1b2c3d4e5f60";
    let answers: Vec<(Resp, Option<&str>)> = vec![
        (login, Some("n-auth")),
        (admin.get("/token/", &[("nonce", "n-list")]), Some("n-list")),
        (
            anon.check(&[
                ("user", "alice"),
                ("pass", &format!("test{}", hotp(RFC_KEY, 0))),
                ("nonce", nonce),
            ]),
            Some(nonce),
        ),
        (
            anon.post_json(
                "/validate/check",
                &json!({"user": "alice", "pass": "test000000", "nonce": "n-json"}),
            ),
            Some("n-json"),
        ),
        (
            anon.check(&[("user", "nobody"), ("pass", "x"), ("nonce", "n-err")]),
            Some("n-err"),
        ),
        // No handler reads a 404's parameters, so its nonce is not echoed (privacyIDEA signs no 404).
        (anon.get("/no/such/path", &[]), None),
        (anon.raw("PUT", "/validate/check", None, ""), None),
        (anon.get("/token/", &[]), None),
        (admin.get("/audit/", &[]), None),
    ];
    assert_eq!(answers[2].0.authentication(), "ACCEPT", "{}", answers[2].0);
    assert_eq!(answers[3].0.authentication(), "REJECT", "{}", answers[3].0);
    for (status, (resp, _)) in [400, 404, 405, 401].into_iter().zip(&answers[4..8]) {
        assert_eq!(resp.status, status, "{resp}");
    }

    let public_pem = server
        .data_dir()
        .join("audit-keys")
        .join("audit-public.pem");
    let scratch = tempfile::tempdir().unwrap();
    for (resp, sent_nonce) in &answers {
        let signature = resp.json["signature"]
            .as_str()
            .unwrap_or_else(|| panic!("no signature in {resp}"));
        let hex = signature
            .strip_prefix("rsa_sha256_pss:")
            .unwrap_or_else(|| panic!("{signature}"));
        assert_eq!(hex.len(), 512, "a 2048-bit signature: {signature}");
        let sig = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        assert_eq!(resp.json["nonce"].as_str(), *sent_nonce, "{resp}");
        let canonical = python_canonical(&resp.body);
        assert!(
            openssl_verifies(scratch.path(), &public_pem, &canonical, &sig),
            "the signature of {resp} does not verify over {}",
            text(&canonical)
        );
        // The same signature over a text one byte off must fail.
        let mut changed = canonical.clone();
        let last = changed.len() - 2;
        changed[last] ^= 0x01;
        assert!(!openssl_verifies(
            scratch.path(),
            &public_pem,
            &changed,
            &sig
        ));
    }
    // A signed answer keeps privacyIDEA's shape (the capture is signed too).
    let unknown = anon.check(&[("user", "nobody"), ("pass", "test000000")]);
    assert!(unknown.json["signature"].is_string(), "{unknown}");
    Captured::load("34-validate-check-unknown-user")
        .ignore("signature")
        .assert_matches(&unknown);
    // The nonce is part of what is signed: moving it to another answer breaks the signature.
    let mut moved: Value = answers[3].0.json.clone();
    moved["nonce"] = json!(nonce);
    let canonical = python_canonical(&moved.to_string());
    let hex = answers[3].0.json["signature"].as_str().unwrap();
    let sig = data_encoding::HEXLOWER
        .decode(hex.trim_start_matches("rsa_sha256_pss:").as_bytes())
        .unwrap();
    assert!(!openssl_verifies(
        scratch.path(),
        &public_pem,
        &canonical,
        &sig
    ));
}
