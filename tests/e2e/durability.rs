//! What the server answered survives `kill -9`: an accepted OTP stays used, a fail counter stays counted.

use serde_json::json;

use crate::harness::{RFC_KEY, Server, enroll_rfc_hotp, hotp};

#[test]
fn accepted_otp_and_fail_count_survive_kill_9() {
    let mut server = Server::start();
    let serial = enroll_rfc_hotp(&server.admin(), "DURABLE1", "");
    let check = |server: &Server, otp: &str| {
        server
            .anon()
            .check(&[("serial", serial.as_str()), ("pass", otp)])
    };

    for counter in 0..3 {
        let otp = hotp(RFC_KEY, counter);
        check(&server, &otp).expect_auth("ACCEPT", "matching 1 tokens");
        // No shutdown code runs: only what was on disk (or in the kernel) when the answer left counts.
        server.kill9();
        server.restart();
        check(&server, &otp).expect_auth("REJECT", "wrong otp value. previous otp used again");
    }
    // The replays above counted as failures; the next success clears them.
    check(&server, &hotp(RFC_KEY, 3)).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(server.admin().token_info(&serial)["failcount"], json!(0));

    // A failure is counted durably too.
    check(&server, "000000").expect_auth("REJECT", "wrong otp value");
    server.kill9();
    server.restart();
    let token = server.admin().token_info(&serial);
    assert_eq!(token["failcount"], json!(1), "{token}");
    // And the admin account and the token itself came back with the same key.
    check(&server, &hotp(RFC_KEY, 4)).expect_auth("ACCEPT", "matching 1 tokens");
}

#[test]
fn management_changes_survive_kill_9() {
    let mut server = Server::start();
    let admin = server.admin();
    let serial = enroll_rfc_hotp(&admin, "DURABLE2", "pin1");
    admin
        .post("/token/setpin", &[("serial", &serial), ("otppin", "pin2")])
        .expect_ok();
    admin
        .post("/token/disable", &[("serial", &serial)])
        .expect_ok();
    admin
        .post(
            "/token/set",
            &[
                ("serial", &serial),
                ("max_failcount", "7"),
                ("description", "kept"),
            ],
        )
        .expect_ok();
    server.kill9();
    server.restart();

    let token = server.admin().token_info(&serial);
    assert_eq!(
        (&token["active"], &token["maxfail"], &token["description"]),
        (&json!(false), &json!(7), &json!("kept")),
        "{token}"
    );
    let check = |pass: String| {
        server
            .anon()
            .check(&[("serial", serial.as_str()), ("pass", pass.as_str())])
    };
    check(format!("pin2{}", hotp(RFC_KEY, 0)))
        .expect_auth("REJECT", "matching 1 tokens, Token is disabled");
    server
        .admin()
        .post("/token/enable", &[("serial", &serial)])
        .expect_ok();
    check(format!("pin1{}", hotp(RFC_KEY, 1))).expect_auth("REJECT", "wrong otp pin");
    check(format!("pin2{}", hotp(RFC_KEY, 1))).expect_auth("ACCEPT", "matching 1 tokens");
}
