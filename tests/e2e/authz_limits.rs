//! Authorization policies that act while a check runs: `last_auth` (a token unused for too long is
//! refused and stays refused), `auth_max_success` and `auth_max_fail` (per user, sliding window,
//! counted in memory per node), `application_tokentype` (the client's `type` narrows the tokens),
//! and the refusal of policy actions Tessera does not enforce. The clock moves with libfaketime.

use serde_json::{Value, json};

use crate::harness::{
    Api, Options, RFC_KEY, Resp, Server, hotp, now_with_step_margin, serial_of, setup_realm, totp,
};
use crate::policies::{KEY_B, enroll, set_policy};

fn fake_clock_server() -> Server {
    Server::start_with(Options {
        fake_clock: true,
        ..Default::default()
    })
}

/// An authorization policy for realm1.
fn authz(admin: &Api, name: &str, action: &str) -> Resp {
    set_policy(
        admin,
        name,
        &[
            ("scope", "authorization"),
            ("action", action),
            ("realm", "realm1"),
        ],
    )
}

/// alice's `pass` = PIN `test` + the RFC 4226 HOTP at `counter`.
fn alice(anon: &Api, counter: u64) -> Resp {
    let pass = format!("test{}", hotp(RFC_KEY, counter));
    anon.check(&[("user", "alice"), ("pass", &pass)])
}

fn last_auth_of(admin: &Api, serial: &str) -> Value {
    admin.token_info(serial)["info"]["last_auth"].clone()
}

#[test]
fn last_auth_refuses_a_token_unused_for_too_long_and_does_not_refresh_it() {
    let server = fake_clock_server();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    authz(&admin, "pol_lastauth", "last_auth=5m");

    // Never used: passes, and the success is noted.
    assert_eq!(last_auth_of(&admin, &serial), Value::Null);
    alice(&anon, 0).expect_auth("ACCEPT", "matching 1 tokens");
    let first = last_auth_of(&admin, &serial);
    assert!(first.is_string(), "{first}");
    // Used again within 5 minutes: passes and moves last_auth on.
    server.shift_clock(200);
    alice(&anon, 1).expect_auth("ACCEPT", "matching 1 tokens");
    let second = last_auth_of(&admin, &serial);
    assert_ne!(second, first);

    // 400 s later (more than 5 minutes after the last success): refused with privacyIDEA's text.
    server.shift_clock(600);
    let stale = format!(
        "The last successful authentication was {}. It is to long ago.",
        second.as_str().unwrap()
    );
    let refused = alice(&anon, 2);
    refused.expect_auth("REJECT", &stale);
    assert_eq!(refused.json["result"]["value"], json!(false), "{refused}");
    assert_eq!(refused.json["detail"]["serial"], json!(serial), "{refused}");
    // last_auth was not refreshed, and the refused OTP is used up.
    assert_eq!(last_auth_of(&admin, &serial), second);
    assert_eq!(admin.token_info(&serial)["count"], json!(3));
    alice(&anon, 2).expect_auth("REJECT", "wrong otp value. previous otp used again");
    // So the next try is refused just the same.
    alice(&anon, 3).expect_auth("REJECT", &stale);
    assert_eq!(last_auth_of(&admin, &serial), second);
    // No fail counter for a right PIN and OTP.
    assert_eq!(admin.token_info(&serial)["failcount"], json!(1));

    // Without the policy the token works again.
    admin.delete("/policy/pol_lastauth").expect_ok();
    alice(&anon, 4).expect_auth("ACCEPT", "matching 1 tokens");
    assert_ne!(last_auth_of(&admin, &serial), second);
}

#[test]
fn auth_max_success_refuses_successes_past_the_limit_until_the_window_moves_on() {
    let server = fake_clock_server();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    enroll(&admin, "hotp", KEY_B, "bobpin", "bob");
    authz(&admin, "pol_maxsuccess", "auth_max_success=2/1m");

    alice(&anon, 0).expect_auth("ACCEPT", "matching 1 tokens");
    alice(&anon, 1).expect_auth("ACCEPT", "matching 1 tokens");
    // The third good OTP within the minute: privacyIDEA's message, the OTP is used up.
    let refused = alice(&anon, 2);
    refused.expect_auth("REJECT", "Only 2 successful authentications per 0:01:00");
    assert_eq!(refused.json["result"]["value"], json!(false), "{refused}");
    assert_eq!(admin.token_info(&serial)["count"], json!(3));
    // Named with its realm it is the same user (counted by resolver and user id).
    let pass = format!("test{}", hotp(RFC_KEY, 3));
    anon.check(&[("user", "alice"), ("realm", "realm1"), ("pass", &pass)])
        .expect_auth("REJECT", "Only 2 successful authentications per 0:01:00");
    // Another user has their own count.
    let bob = format!("bobpin{}", hotp(KEY_B, 0));
    anon.check(&[("user", "bob"), ("pass", &bob)])
        .expect_auth("ACCEPT", "matching 1 tokens");

    // 61 s later the first two successes left the window.
    server.shift_clock(61);
    alice(&anon, 3).expect_auth("REJECT", "wrong otp value. previous otp used again");
    alice(&anon, 4).expect_auth("ACCEPT", "matching 1 tokens");
    alice(&anon, 5).expect_auth("ACCEPT", "matching 1 tokens");
    alice(&anon, 6).expect_auth("REJECT", "Only 2 successful authentications per 0:01:00");
}

#[test]
fn auth_max_fail_refuses_further_attempts_before_any_token_is_checked() {
    let server = fake_clock_server();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    enroll(&admin, "hotp", KEY_B, "bobpin", "bob");
    authz(&admin, "pol_maxfail", "auth_max_fail=3/1m");

    for _ in 0..3 {
        anon.check(&[("user", "alice"), ("pass", "test000000")])
            .expect_auth("REJECT", "wrong otp value");
    }
    assert_eq!(admin.token_info(&serial)["failcount"], json!(3));
    // Now even the right OTP is refused, and nothing was checked: the fail counter did not move
    // and the OTP is still unused.
    let refused = alice(&anon, 0);
    refused.expect_auth("REJECT", "Only 3 failed authentications per 0:01:00");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(3));
    assert_eq!(admin.token_info(&serial)["count"], json!(0));
    // Another user is not affected.
    let bob = format!("bobpin{}", hotp(KEY_B, 0));
    anon.check(&[("user", "bob"), ("pass", &bob)])
        .expect_auth("ACCEPT", "matching 1 tokens");

    // A minute after the last refusal the user may try again.
    server.shift_clock(61);
    alice(&anon, 0).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(0));
}

#[test]
fn application_tokentype_lets_the_client_narrow_the_check_to_one_token_type() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let hotp_serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let totp_serial = enroll(&admin, "totp", KEY_B, "test", "alice");
    let check =
        |ttype: &str, pass: &str| anon.check(&[("user", "alice"), ("type", ttype), ("pass", pass)]);

    // Without the policy `type` is ignored: the HOTP logs in although totp was asked for.
    let ok = check("totp", &format!("test{}", hotp(RFC_KEY, 0)));
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(ok.json["detail"]["serial"], json!(hotp_serial), "{ok}");

    authz(&admin, "pol_apptype", "application_tokentype");
    // Only the TOTP takes part: the HOTP's good OTP is a wrong OTP for it.
    let refused = check("totp", &format!("test{}", hotp(RFC_KEY, 1)));
    refused.expect_auth("REJECT", "wrong otp value");
    assert_eq!(
        refused.json["detail"]["serial"],
        json!(totp_serial),
        "{refused}"
    );
    // ... and the HOTP did not see it (its counter did not move).
    assert_eq!(admin.token_info(&hotp_serial)["count"], json!(1));
    let now = now_with_step_margin(30);
    let ok = check("TOTP", &format!("test{}", totp(KEY_B, now, 30)));
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(ok.json["detail"]["type"], json!("totp"), "{ok}");
    let ok = check("hotp", &format!("test{}", hotp(RFC_KEY, 1)));
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(ok.json["detail"]["serial"], json!(hotp_serial), "{ok}");
    // A type the user has no token of: privacyIDEA's answer for a user without tokens.
    check("spass", "test").expect_auth("REJECT", "The user has no tokens assigned");
    // Without `type` all tokens take part.
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 2))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
    // With a serial `type` is ignored (privacyIDEA narrows only a user's tokens).
    anon.check(&[
        ("serial", &hotp_serial),
        ("type", "totp"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 3))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
}

#[test]
fn actions_tessera_does_not_enforce_are_refused_by_name() {
    let server = Server::start();
    let admin = server.admin();
    for (scope, action, name) in [
        ("enrollment", "tokenlabel={user}@{realm}", "tokenlabel"),
        ("enrollment", "autoassignment=any_pin", "autoassignment"),
        ("authorization", "api_key_required", "api_key_required"),
        (
            "authentication",
            "disabled_token_types=hotp",
            "disabled_token_types",
        ),
        ("webui", "jwt_validity=600", "jwt_validity"),
    ] {
        let refused = admin.post(
            "/policy/pol_unsupported",
            &[("scope", scope), ("action", action)],
        );
        refused.expect_error(400, 905);
        let want = format!("Action '{name}' in scope '{scope}' is not supported by Tessera yet");
        assert!(refused.body.contains(&want), "{want}: {refused}");
    }
    // Also inside a list of supported ones.
    let refused = admin.post(
        "/policy/pol_unsupported",
        &[
            ("scope", "authorization"),
            ("action", "last_auth=30h, api_key_required"),
        ],
    );
    refused.expect_error(400, 905);
    assert!(refused.body.contains("'api_key_required'"), "{refused}");
    // passthru to a RADIUS server is refused; to the user store it is fine.
    let refused = admin.post(
        "/policy/pol_unsupported",
        &[("scope", "authentication"), ("action", "passthru=radius1")],
    );
    refused.expect_error(400, 905);
    assert!(refused.body.contains("RADIUS"), "{refused}");
    let listed = admin.get("/policy/", &[]);
    assert_eq!(listed.json["result"]["value"], json!([]), "{listed}");
    set_policy(
        &admin,
        "pol_passthru",
        &[
            ("scope", "authentication"),
            ("action", "passthru=userstore"),
        ],
    );

    // GET /policy/defs still lists them, marked.
    let defs = admin.get("/policy/defs/authorization", &[]);
    defs.expect_ok();
    let api_key = &defs.json["result"]["value"]["api_key_required"];
    assert_eq!(api_key["supported"], json!(false), "{defs}");
    assert!(
        api_key["desc"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Not supported by Tessera yet"),
        "{defs}"
    );
    let last_auth = &defs.json["result"]["value"]["last_auth"];
    assert_eq!(last_auth["type"], json!("str"), "{defs}");
    assert!(last_auth.get("supported").is_none(), "{defs}");
}

#[test]
fn setrealm_looks_the_user_up_in_another_realm() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    crate::rights::setup_realm2(&server, &admin);
    let serial = serial_of(&admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("pin", "test"),
        ("user", "carol"),
        ("realm", "realm2"),
    ]));
    let carol = |counter: u64| {
        let pass = format!("test{}", hotp(RFC_KEY, counter));
        anon.check(&[("user", "carol"), ("pass", &pass)])
    };
    // carol is not in the default realm (realm1).
    carol(0).expect_error(400, 904);
    // A setrealm policy for realm1 sends the lookup to realm2.
    authz(&admin, "pol_setrealm", "setrealm=realm2");
    let ok = carol(0);
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(ok.json["detail"]["serial"], json!(serial), "{ok}");
    // Only for requests about realm1: an explicit realm3 is not rewritten.
    let pass = format!("test{}", hotp(RFC_KEY, 1));
    anon.check(&[("user", "carol"), ("realm", "realm3"), ("pass", &pass)])
        .expect_error(400, 904);
    // alice of realm1 is now looked for in realm2, where she does not exist.
    anon.check(&[("user", "alice"), ("pass", "test755224")])
        .expect_error(400, 904);
}
