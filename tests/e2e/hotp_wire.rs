//! The privacyIDEA capture sequence for an HOTP token with the RFC 4226 key, replayed against Tessera
//! request for request (same parameters, same OTP counters), each answer compared with the captured one.

use serde_json::json;

use crate::harness::{Captured, Mismatches, RFC_KEY, Server, hotp, serial_of, setup_realm};

/// The serial privacyIDEA generated in the capture; replaced by Tessera's own.
const PI_SERIAL: &str = "OATH00001C1B";

#[test]
fn hotp_enroll_list_and_check_answers_match_privacyidea() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let pass = |pin: &str, counter: u64| format!("{pin}{}", hotp(RFC_KEY, counter));

    // 20: enroll with a given key, a PIN and a user.
    let init = admin.post(
        "/token/init",
        &[
            ("type", "hotp"),
            ("genkey", "0"),
            ("otpkey", RFC_KEY),
            ("pin", "test"),
            ("user", "alice"),
            ("realm", "realm1"),
            ("description", "rfc4226"),
        ],
    );
    let serial = serial_of(&init);
    let captured = |name: &str| Captured::load(name).subst(PI_SERIAL, &serial);
    let mut report = Mismatches::default();
    report.check(&captured("20-token-init-hotp"), &init);

    // 27: the token by serial; 26: the whole list (privacyIDEA's had four more tokens).
    report.check(
        &captured("27-token-list-serial"),
        &admin.get("/token/", &[("serial", &serial)]),
    );
    let all = captured("26-token-list");
    let alice_token = all.response()["result"]["value"]["tokens"][2].clone();
    assert_eq!(alice_token["serial"], json!(serial));
    let all = all
        .set("/result/value/count", json!(1))
        .set("/result/value/tokens", json!([alice_token]));
    report.check(&all, &admin.get("/token/", &[]));

    // 30/31: a correct OTP, then the same OTP again.
    report.check(
        &captured("30-validate-check-ok"),
        &anon.check(&[("user", "alice"), ("pass", &pass("test", 0))]),
    );
    report.check(
        &captured("31-validate-check-replay"),
        &anon.check(&[("user", "alice"), ("pass", &pass("test", 0))]),
    );
    // 32: a wrong OTP.
    report.check(
        &captured("32-validate-check-wrong-otp"),
        &anon.check(&[("user", "alice"), ("pass", "test000000")]),
    );
    // 33/33b: a wrong PIN does not use up the OTP.
    report.check(
        &captured("33-validate-check-wrong-pin"),
        &anon.check(&[("user", "alice"), ("pass", &pass("wrong", 1))]),
    );
    report.check(
        &captured("33b-validate-check-same-otp-after-wrong-pin"),
        &anon.check(&[("user", "alice"), ("pass", &pass("test", 1))]),
    );
    // 34/35: unknown user, missing pass.
    report.check(
        &captured("34-validate-check-unknown-user"),
        &anon.check(&[("user", "nobody"), ("pass", &pass("test", 1))]),
    );
    report.check(
        &captured("35-validate-check-missing-pass"),
        &anon.check(&[("user", "alice")]),
    );
    // 37/38: by serial; an OTP far behind the counter is just wrong (not "used again").
    report.check(
        &captured("37-validate-check-serial-ok"),
        &anon.check(&[("serial", &serial), ("pass", &pass("test", 2))]),
    );
    report.check(
        &captured("38-validate-check-serial-wrong"),
        &anon.check(&[("serial", &serial), ("pass", &pass("test", 0))]),
    );
    // 39: GET works like POST.
    let get = anon.get(
        "/validate/check",
        &[("user", "alice"), ("pass", &pass("test", 3))],
    );
    report.check(&captured("39-validate-check-get"), &get);
    // 40: a pass shorter than the OTP is a wrong PIN.
    report.check(
        &captured("40-validate-check-short-pass"),
        &anon.check(&[("user", "alice"), ("realm", "realm1"), ("pass", "x")]),
    );
    // 41: neither user nor serial.
    report.check(
        &captured("41-validate-check-no-user-no-serial"),
        &anon.check(&[("pass", "test123456")]),
    );

    // 86/90: delete the token, then an unknown one.
    report.check(
        &captured("86-token-delete"),
        &admin.delete(&format!("/token/{serial}")),
    );
    report.check(
        &captured("90-token-delete-unknown"),
        &admin.delete("/token/NOSUCHSERIAL"),
    );
    anon.check(&[("user", "alice"), ("pass", &pass("test", 4))])
        .expect_auth("REJECT", "The user has no tokens assigned");
    report.assert_none();
}
