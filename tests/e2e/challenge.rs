//! Challenge-response without policies: `/validate/triggerchallenge` (admin only), answering with
//! the OTP alone, single use, expiry (the server's clock moved with libfaketime), a wrong answer;
//! AutoResync with two consecutive OTPs; the system configuration keys.

use serde_json::json;

use crate::harness::{
    Api, Captured, Mismatches, Options, RFC_KEY, Server, hotp, serial_of, setup_realm,
};

const PI_SERIAL: &str = "OATH00001C1B";

fn enroll_alice(admin: &Api) -> String {
    serial_of(&admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("pin", "test"),
        ("user", "alice"),
        ("realm", "realm1"),
    ]))
}

fn transaction_id(resp: &crate::harness::Resp) -> String {
    resp.json["detail"]["transaction_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail.transaction_id in {resp}"))
        .to_string()
}

#[test]
fn triggered_challenges_are_answered_once_and_expire() {
    let server = Server::start_with(Options {
        fake_clock: true,
        ..Default::default()
    });
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll_alice(&admin);
    let mut report = Mismatches::default();

    // 75: without an administrator's JWT, no challenge.
    report.check(
        &Captured::load("75-validate-triggerchallenge-noauth"),
        &anon.post("/validate/triggerchallenge", &[("user", "alice")]),
    );
    // 73/74: the admin triggers; the user answers with the OTP alone.
    let trigger = admin.post("/validate/triggerchallenge", &[("user", "alice")]);
    let tx = transaction_id(&trigger);
    assert_eq!(tx.len(), 20, "{trigger}");
    assert!(tx.bytes().all(|b| b.is_ascii_digit()), "{trigger}");
    report.check(
        &Captured::load("73-validate-triggerchallenge")
            .subst(PI_SERIAL, &serial)
            .subst("04239264766642845653", &tx)
            .ignore("detail.preferred_client_mode"),
        &trigger,
    );
    let answer = |tx: &str, otp: &str| {
        anon.check(&[("user", "alice"), ("transaction_id", tx), ("pass", otp)])
    };
    report.check(
        &Captured::load("74-validate-check-answer-triggered").subst(PI_SERIAL, &serial),
        &answer(&tx, &hotp(RFC_KEY, 0)),
    );
    report.assert_none();

    // Single use: the transaction is gone after its answer, even with the next valid OTP.
    let reused = answer(&tx, &hotp(RFC_KEY, 1));
    reused.expect_auth("REJECT", reused.message());
    assert!(reused.message().contains("No open challenge"), "{reused}");
    // `state` is the FreeRADIUS name of the same parameter.
    let tx2 = transaction_id(&admin.post("/validate/triggerchallenge", &[("user", "alice")]));
    anon.check(&[
        ("user", "alice"),
        ("state", &tx2),
        ("pass", &hotp(RFC_KEY, 1)),
    ])
    .expect_auth("ACCEPT", "Found matching challenge");

    // A wrong answer names the token and counts a failure; the challenge stays open for a retry.
    let tx3 = transaction_id(&admin.post("/validate/triggerchallenge", &[("user", "alice")]));
    let wrong = answer(&tx3, "000000");
    wrong.expect_auth("REJECT", "Response did not match the challenge.");
    assert_eq!(wrong.json["detail"]["serial"], json!(serial));
    assert_eq!(admin.token_info(&serial)["failcount"], json!(1));
    answer(&tx3, &hotp(RFC_KEY, 2)).expect_auth("ACCEPT", "Found matching challenge");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(0));

    // Expiry: DefaultChallengeValidityTime is 120 s; 121 s later the challenge is dead.
    let tx4 = transaction_id(&admin.post("/validate/triggerchallenge", &[("user", "alice")]));
    server.shift_clock(121);
    let late = answer(&tx4, &hotp(RFC_KEY, 3));
    late.expect_auth("REJECT", late.message());
    assert!(late.message().contains("No open challenge"), "{late}");
    // The OTP was not used up by the late answer: it still logs in with the PIN.
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 3))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");

    // A shorter validity from the system configuration applies to new challenges.
    admin
        .post(
            "/system/setConfig",
            &[("DefaultChallengeValidityTime", "30")],
        )
        .expect_ok();
    let tx5 = transaction_id(&admin.post("/validate/triggerchallenge", &[("user", "alice")]));
    server.shift_clock(121 + 31);
    let late = answer(&tx5, &hotp(RFC_KEY, 4));
    assert!(late.message().contains("No open challenge"), "{late}");

    // Unknown user, or a user without tokens: clear errors, no challenge.
    admin
        .post("/validate/triggerchallenge", &[("user", "nobody")])
        .expect_error(400, 904);
    admin
        .post("/validate/triggerchallenge", &[("user", "bob")])
        .expect_error(400, 905);
}

#[test]
fn auto_resync_accepts_two_consecutive_otps_within_the_timeout() {
    let server = Server::start_with(Options {
        fake_clock: true,
        ..Default::default()
    });
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    enroll_alice(&admin);
    let check = |counter: u64| {
        anon.check(&[
            ("user", "alice"),
            ("pass", &format!("test{}", hotp(RFC_KEY, counter))),
        ])
    };
    // Off by default: 20 and 21 are beyond the count window of 10.
    check(20).expect_auth("REJECT", "wrong otp value");
    check(21).expect_auth("REJECT", "wrong otp value");

    let set = admin.post("/system/setConfig", &[("AutoResync", "true")]);
    assert_eq!(
        set.json["result"]["value"],
        json!({"AutoResync": "insert"}),
        "{set}"
    );
    // Two consecutive OTPs in the sync window, the second within AutoResyncTimeout (300 s).
    check(30).expect_auth("REJECT", "wrong otp value");
    check(31).expect_auth("ACCEPT", "matching 1 tokens");
    check(32).expect_auth("ACCEPT", "matching 1 tokens");
    check(32).expect_auth("REJECT", "wrong otp value. previous otp used again");

    // Too slow: the remembered OTP has expired, so the pair does not count ...
    check(50).expect_auth("REJECT", "wrong otp value");
    server.shift_clock(301);
    check(51).expect_auth("REJECT", "wrong otp value");
    // ... but the late one is remembered in turn, and its successor resyncs.
    check(52).expect_auth("ACCEPT", "matching 1 tokens");
    // Not consecutive: 70 then 72 (both beyond the count window after 52).
    check(70).expect_auth("REJECT", "wrong otp value");
    check(72).expect_auth("REJECT", "wrong otp value");
}

#[test]
fn system_configuration_is_read_written_and_checked() {
    let server = Server::start();
    let admin = server.admin();
    Captured::load("95-system-config")
        .ignore("result.value.__timestamp__")
        .assert_matches(&admin.get("/system/", &[]));

    let set = admin.post(
        "/system/setConfig",
        &[("PrependPin", "False"), ("DefaultMaxFailCount", "5")],
    );
    assert_eq!(
        set.json["result"]["value"],
        json!({"PrependPin": "insert", "DefaultMaxFailCount": "insert"}),
        "{set}"
    );
    let all = admin.get("/system/", &[]);
    assert_eq!(all.json["result"]["value"]["PrependPin"], json!("False"));
    assert_eq!(
        all.json["result"]["value"]["DefaultMaxFailCount"],
        json!("5")
    );

    // Bad values and unknown keys are refused, and nothing of the request is written.
    for params in [
        vec![("AutoResync", "perhaps")],
        vec![("DefaultMaxFailCount", "-3")],
        vec![("NoSuchKey", "1")],
        vec![("AutoResync", "True"), ("DefaultOtpLen", "7")],
    ] {
        admin
            .post("/system/setConfig", &params)
            .expect_error(400, 905);
    }
    assert!(admin.get("/system/", &[]).json["result"]["value"]["AutoResync"].is_null());
    // Without a JWT: 401.
    server.anon().get("/system/", &[]).expect_error(401, 4033);

    // PrependPin=False: the PIN comes after the OTP.
    setup_realm(&server, &admin);
    let serial = enroll_alice(&admin);
    assert_eq!(admin.token_info(&serial)["maxfail"], json!(5));
    server
        .anon()
        .check(&[
            ("user", "alice"),
            ("pass", &format!("{}test", hotp(RFC_KEY, 0))),
        ])
        .expect_auth("ACCEPT", "matching 1 tokens");
    admin.delete("/system/PrependPin").expect_ok();
    server
        .anon()
        .check(&[
            ("user", "alice"),
            ("pass", &format!("test{}", hotp(RFC_KEY, 1))),
        ])
        .expect_auth("ACCEPT", "matching 1 tokens");
}
