//! TOTP time steps as privacyIDEA 3.7.1 handles them (lib/tokens/totptoken.py `check_otp`):
//! the window reaches steps before and after now, the last used step is stored as `count`, and
//! only that step's OTP counts as "previous otp used again"; older steps are just wrong.
//! OTPs are computed for chosen steps, so nothing waits for time to pass.

use serde_json::json;

use crate::harness::{RFC_KEY, Server, now_with_step_margin, serial_of, totp};

#[test]
fn totp_window_replay_and_stored_step() {
    let server = Server::start();
    let admin = server.admin();
    let serial =
        serial_of(&admin.init_token(&[("type", "totp"), ("otpkey", RFC_KEY), ("timeStep", "30")]));
    let now = now_with_step_margin(30);
    let step = now / 30;
    let otp_at = |s: u64| totp(RFC_KEY, s * 30, 30);
    let check = |otp: &str| {
        server
            .anon()
            .check(&[("serial", serial.as_str()), ("pass", otp)])
    };

    // Two steps back is inside privacyIDEA's default window of 180 s.
    check(&otp_at(step - 2)).expect_auth("ACCEPT", "matching 1 tokens");
    let count_after_first = admin.token_info(&serial);
    assert_eq!(
        count_after_first["info"]["timeStep"], "30",
        "{count_after_first}"
    );

    // The current step is later: accepted.
    check(&otp_at(step)).expect_auth("ACCEPT", "matching 1 tokens");
    // The same step again is a replay.
    check(&otp_at(step)).expect_auth("REJECT", "wrong otp value. previous otp used again");
    // One step ahead (a phone clock running fast) is still inside the window.
    check(&otp_at(step + 1)).expect_auth("ACCEPT", "matching 1 tokens");
    let count_after_last = admin.token_info(&serial)["count"].clone();
    // Far outside the window.
    check(&otp_at(step + 20)).expect_auth("REJECT", "wrong otp value");

    // privacyIDEA stores the last used step as `count` (HOTP stores the next counter).
    assert_eq!(
        count_after_first["count"],
        json!(step - 2),
        "{count_after_first}"
    );
    assert_eq!(count_after_last, json!(step + 1));
    // An older step that was never used is just wrong: only the last used step is "previous".
    check(&otp_at(step - 1)).expect_auth("REJECT", "wrong otp value");
}
