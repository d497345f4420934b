//! Token management after enrollment: disable/enable, resync, setpin, the fail counter and reset,
//! each answer compared with the captured privacyIDEA one.

use serde_json::json;

use crate::harness::{Api, Captured, RFC_KEY, Server, hotp, hotp_range, serial_of, setup_realm};

const PI_SERIAL: &str = "OATH00001C1B";

/// Enrolls alice's HOTP token (PIN `test`, RFC key) as in the capture; returns the serial.
fn enroll_alice(admin: &Api) -> String {
    let init = admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("pin", "test"),
        ("user", "alice"),
        ("realm", "realm1"),
        ("description", "rfc4226"),
    ]);
    serial_of(&init)
}

#[test]
fn disable_enable_and_resync() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll_alice(&admin);
    let captured = |name: &str| Captured::load(name).subst(PI_SERIAL, &serial);
    let check = |pin: &str, counter: u64| anon.check(&[("user", "alice"), ("pass", &format!("{pin}{}", hotp(RFC_KEY, counter)))]);

    // 50/51/52: a disabled token rejects a correct OTP and says so; enabled again, it accepts.
    captured("50-token-disable").assert_matches(&admin.post("/token/disable", &[("serial", &serial)]));
    captured("51-validate-check-disabled").assert_matches(&check("test", 0));
    captured("52-token-enable").assert_matches(&admin.post("/token/enable", &[("serial", &serial)]));
    check("test", 1).expect_auth("ACCEPT", "matching 1 tokens");

    // Counter 13 is outside the window of 10 after counter 1: rejected before the resync.
    check("test", 13).expect_auth("REJECT", "wrong otp value");
    // 53/54: resync with two consecutive OTPs, then the next one is accepted.
    let (otp1, otp2) = (hotp(RFC_KEY, 10), hotp(RFC_KEY, 11));
    let resync = admin.post("/token/resync", &[("serial", &serial), ("otp1", &otp1), ("otp2", &otp2)]);
    captured("53-token-resync").assert_matches(&resync);
    captured("54-validate-check-after-resync").assert_matches(&check("test", 12));
    // Resync with OTPs that do not follow each other fails.
    let bad = admin.post("/token/resync", &[("serial", &serial), ("otp1", &hotp(RFC_KEY, 20)), ("otp2", &hotp(RFC_KEY, 25))]);
    assert_eq!(bad.json["result"]["value"], json!(false), "{bad}");

    // 55: a new PIN; the old one no longer matches.
    captured("55-token-setpin").assert_matches(&admin.post("/token/setpin", &[("serial", &serial), ("otppin", "newpin")]));
    check("test", 13).expect_auth("REJECT", "wrong otp pin");
    check("newpin", 13).expect_auth("ACCEPT", "matching 1 tokens");

    // 60: management calls on an unknown serial.
    captured("60-token-disable-unknown").assert_matches(&admin.post("/token/disable", &[("serial", "NOSUCHSERIAL")]));
}

#[test]
fn fail_counter_locks_the_token_until_reset() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll_alice(&admin);
    let captured = |name: &str| Captured::load(name).subst(PI_SERIAL, &serial);
    let check = |otp: &str| anon.check(&[("user", "alice"), ("pass", &format!("test{otp}"))]);

    let set = admin.post("/token/set", &[("serial", &serial), ("max_failcount", "3")]);
    set.expect_ok();
    assert_eq!(admin.token_info(&serial)["maxfail"], json!(3));

    // Three wrong OTPs (000000 is none of the OTPs the window could accept).
    assert!(!hotp_range(RFC_KEY, 0, 20).contains(&"000000".to_string()));
    for _ in 0..3 {
        captured("56-validate-check-wrong-otp-x3").assert_matches(&check("000000"));
    }
    // 57: the token list shows the fail counter. (privacyIDEA's token had its own history:
    // count, info and maxfail are set to what this token must show.)
    let list_expected = |failcount: u64| {
        captured("57-token-list-after-fails")
            .set("/result/value/tokens/0/failcount", json!(failcount))
            .set("/result/value/tokens/0/maxfail", json!(3))
            .set("/result/value/tokens/0/count", json!(0))
            .ignore("result.value.tokens.0.info")
    };
    list_expected(3).assert_matches(&admin.get("/token/", &[("serial", &serial)]));

    // A correct OTP is now refused because of the fail counter.
    check(&hotp(RFC_KEY, 0)).expect_auth("REJECT", "matching 1 tokens, Failcounter exceeded");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(3), "the counter stops at maxfail");

    // 58/59: reset clears it, and the next OTP is accepted.
    captured("58-token-reset").assert_matches(&admin.post("/token/reset", &[("serial", &serial)]));
    let after_reset = admin.get("/token/", &[("serial", &serial)]);
    let count = after_reset.json["result"]["value"]["tokens"][0]["count"].clone();
    list_expected(0).set("/result/value/tokens/0/count", count).assert_matches(&after_reset);
    check(&hotp(RFC_KEY, 1)).expect_auth("ACCEPT", "matching 1 tokens");

    // A success resets the fail counter too.
    check("000000").expect_auth("REJECT", "wrong otp value");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(1));
    check(&hotp(RFC_KEY, 2)).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(0));
}
