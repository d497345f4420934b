//! `enroll` end to end: a real Tessera server, the virtual key over PC/SC, the OTP the key types accepted by
//! /validate/check; and every way it can stop, each with a clear message and nothing written twice.

use std::process::Command;

use tessera_hwtool::otp::config::SlotMode;

use super::rig::{Run, Session, hwtool_env, session};
use super::server::{ADMIN, ADMIN_PASSWORD, Server};

fn enroll(server: &str, extra: &[&str], password: &str) -> Run {
    let mut args = vec!["enroll", "--server", server, "--realm", "realm1"];
    args.extend(extra);
    hwtool_env(
        &args,
        &[
            ("TESSERA_ADMIN_USER", ADMIN),
            ("TESSERA_ADMIN_PASSWORD", password),
        ],
    )
}

fn slot_key(s: &Session, slot: u8) -> Vec<u8> {
    match s.key().otp.decoded(slot).map(|d| d.mode) {
        Some(SlotMode::Hotp { key, .. }) => key,
        other => panic!("slot {slot} holds {other:?}"),
    }
}

fn press(s: &Session, slot: u8) -> String {
    s.key().otp.press(slot).unwrap()
}

#[test]
fn enrolled_key_otps_are_accepted_and_the_secret_is_never_printed() {
    let s = session();
    let server = Server::start();
    let r = enroll(
        &server.base,
        &["--user", "alice", "--slot", "2", "--mode", "hotp"],
        ADMIN_PASSWORD,
    );
    assert!(
        r.ok()
            .stdout
            .contains("Enrolled UBOM12345678_2 for alice@realm1: YubiKey 12345678 slot 2"),
        "{r:?}"
    );
    let key = slot_key(&s, 2);
    assert!(
        !r.stdout.contains(&hex::encode(&key)) && !r.stderr.contains(&hex::encode(&key)),
        "secret printed: {r:?}"
    );
    let tokens = server.tokens("UBOM12345678_2");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["username"], "alice");
    assert_eq!(tokens[0]["tokentype"], "hotp");

    // The key types HOTP codes for counter 0, 1, ... (checked with oathtool) and the server accepts them.
    let first = press(&s, 2);
    let oathtool = Command::new("oathtool")
        .args(["-c", "0", &hex::encode(&key)])
        .output()
        .unwrap();
    assert_eq!(first, String::from_utf8(oathtool.stdout).unwrap().trim());
    assert_eq!(server.check("alice", &first), "ACCEPT");
    assert_eq!(
        server.check("alice", &first),
        "REJECT",
        "a used OTP is not accepted again"
    );
    assert_eq!(server.check("alice", &press(&s, 2)), "ACCEPT");

    // Slot 1, 8 digits, secret shown on request.
    let r = enroll(
        &server.base,
        &[
            "--user",
            "alice",
            "--slot",
            "1",
            "--digits",
            "8",
            "--show-secret",
        ],
        ADMIN_PASSWORD,
    );
    let key1 = slot_key(&s, 1);
    assert!(
        r.ok()
            .stdout
            .contains(&format!("Secret: {}", hex::encode(&key1))),
        "{r:?}"
    );
    let otp = press(&s, 1);
    assert_eq!(otp.len(), 8);
    assert_eq!(server.check("alice", &otp), "ACCEPT");
}

#[test]
fn refusals_before_anything_is_written() {
    let s = session();
    let server = Server::start();
    let alice = ["--user", "alice", "--slot", "2"];

    enroll(&server.base, &alice, "wrong").failed_with("nothing was changed");
    let none = hwtool_env(
        &[
            "enroll",
            "--server",
            &server.base,
            "--realm",
            "realm1",
            "--user",
            "alice",
        ],
        &[],
    );
    none.failed_with("no admin credentials: set TESSERA_ADMIN_USER");
    enroll("http://127.0.0.1:1", &alice, ADMIN_PASSWORD).failed_with("cannot reach the server");
    assert!(
        s.key().otp.writes.is_empty(),
        "no write after a failed login"
    );

    enroll(&server.base, &alice, ADMIN_PASSWORD).ok();
    let writes = s.key().otp.writes.len();
    enroll(&server.base, &alice, ADMIN_PASSWORD)
        .failed_with("slot 2 is already programmed: pass --force");
    // A blank key with the same serial: now the server already has the token.
    s.key().otp.slots = [None, None];
    enroll(&server.base, &alice, ADMIN_PASSWORD)
        .failed_with("token UBOM12345678_2 already exists on the server");
    assert_eq!(s.key().otp.writes.len(), writes, "nothing written twice");
    assert_eq!(server.tokens("UBOM12345678_2").len(), 1);
}

#[test]
fn a_server_refusal_after_the_write_says_how_to_finish_or_undo() {
    let s = session();
    let server = Server::start();
    let r = enroll(
        &server.base,
        &["--user", "nobody", "--slot", "2"],
        ADMIN_PASSWORD,
    );
    assert_eq!(r.code, 3, "half done has its own exit code: {r:?}");
    for text in [
        "YubiKey 12345678 slot 2 now holds a NEW secret",
        "did not create token UBOM12345678_2",
        "To finish: fix the cause and run the same enroll command again with --force",
        "To undo on the key: tessera-hwtool otp delete 2 --force",
    ] {
        assert!(
            r.stderr.contains(text),
            "stderr lacks \"{text}\": {}",
            r.stderr
        );
    }
    assert!(s.key().otp.slots[1].is_some());
    assert!(server.tokens("UBOM12345678_2").is_empty());
    // Following "finish": the right user and --force.
    enroll(
        &server.base,
        &["--user", "alice", "--slot", "2", "--force"],
        ADMIN_PASSWORD,
    )
    .ok();
    assert_eq!(server.check("alice", &press(&s, 2)), "ACCEPT");
    // Following "undo" on a key: the slot is empty again.
    super::rig::hwtool(&["otp", "delete", "2", "--force"]).ok();
    assert!(s.key().otp.slots[1].is_none());
}

#[test]
fn yubico_otp_enrollment_needs_the_yubikey_token_type() {
    let s = session();
    let server = Server::start();
    let r = enroll(
        &server.base,
        &["--user", "alice", "--slot", "1", "--mode", "yubico"],
        ADMIN_PASSWORD,
    );
    if r.code == 0 {
        assert!(r.stdout.contains("Enrolled UBAM12345678_1"), "{r:?}");
        let otp = press(&s, 1);
        assert!(otp.starts_with("vvccccnrhbfu"), "{otp}");
        assert_eq!(server.check("alice", &otp), "ACCEPT");
    } else {
        // No Yubico OTP token type on the server yet: the tool must say the key was written and how to undo.
        assert_eq!(r.code, 3, "{r:?}");
        assert!(
            r.stderr.contains("did not create token UBAM12345678_1"),
            "{r:?}"
        );
        eprintln!(
            "SKIPPED the Yubico OTP validation: the server has no `yubikey` token type yet ({})",
            r.stderr.trim()
        );
    }
}
