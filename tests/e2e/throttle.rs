//! Brute-force throttling (`[throttle]`, off by default): waits grow per user and per client
//! address, a throttled request checks nothing (no token fail count, no user-store call), and a
//! success clears the user's count. The server's clock is moved with libfaketime.

use serde_json::json;

use crate::harness::{Options, RFC_KEY, Server, hotp, serial_of, setup_realm};

const THROTTLE: &str = "
[throttle]
enabled = true
user_free_failures = 2
client_free_failures = 6
base_delay_secs = 10.0
max_delay_secs = 60.0
";

#[test]
fn failed_checks_make_the_user_wait_longer_and_longer() {
    let server = Server::start_with(Options {
        fake_clock: true,
        extra_config: THROTTLE,
        ..Default::default()
    });
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = serial_of(&admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("pin", "test"),
        ("user", "alice"),
    ]));
    let check = |user: &str, pass: &str| anon.check(&[("user", user), ("pass", pass)]);

    // Two failures are free; the third starts a 10 s wait.
    for _ in 0..3 {
        check("alice", "test000000").expect_auth("REJECT", "wrong otp value");
    }
    assert_eq!(admin.token_info(&serial)["failcount"], json!(3));
    let good = format!("test{}", hotp(RFC_KEY, 0));
    let refused = check("alice", &good);
    refused.expect_auth(
        "REJECT",
        "Too many failed attempts. Try again in 10 seconds.",
    );
    // Nothing was checked: the fail counter did not move and the OTP is still unused.
    assert_eq!(admin.token_info(&serial)["failcount"], json!(3));
    // Another user from the same address is not held up (the address allows 6 failures).
    check("bob", "whatever").expect_auth("REJECT", "The user has no tokens assigned");

    server.shift_clock(11);
    // The next failure doubles the wait to 20 s.
    check("alice", "test000000").expect_auth("REJECT", "wrong otp value");
    check("alice", &good).expect_auth(
        "REJECT",
        "Too many failed attempts. Try again in 20 seconds.",
    );
    server.shift_clock(11 + 21);
    check("alice", &good).expect_auth("ACCEPT", "matching 1 tokens");
    // The success cleared alice's count: two free failures again.
    check("alice", "test000000").expect_auth("REJECT", "wrong otp value");
    check("alice", &format!("test{}", hotp(RFC_KEY, 1))).expect_auth("ACCEPT", "matching 1 tokens");

    // The address: 6 failures in all are free (bob 1, alice 4 + 1 so far is 6) ...
    check("bob", "x").expect_auth("REJECT", "The user has no tokens assigned");
    // ... the 7th and later wait, whoever they name.
    let refused = check("carol", "x");
    assert!(
        refused.message().starts_with("Too many failed attempts"),
        "{refused}"
    );
}
