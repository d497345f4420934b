//! Policies seen from a client: the captured privacyIDEA exchanges 70–89c, challenge-response with
//! two tokens under one transaction id, expiry and single use, passOnNoToken/passOnNoUser,
//! failcounter_clear_timeout, increase_failcounter_on_challenge, reset_all_user_tokens, the
//! authorization post-checks, the enrollment rules and policy conflicts.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{
    Api, Captured, Mismatches, Options, RFC_KEY, Resp, Server, hotp, now_with_step_margin,
    serial_of, setup_realm, totp,
};

/// The serial and transaction ids of the privacyIDEA captures.
const PI_SERIAL: &str = "OATH00001C1B";
const PI_TX: &str = "14538944572000038415";
/// A second HOTP key (ASCII "abcdefghijabcdefghij").
pub const KEY_B: &str = "6162636465666768696a6162636465666768696a";

/// `POST /policy/<name>` that must succeed.
pub fn set_policy(admin: &Api, name: &str, params: &[(&str, &str)]) -> Resp {
    let resp = admin.post(&format!("/policy/{name}"), params);
    resp.expect_ok();
    resp
}

/// A token of `ttype` with `key` and `pin` for `user` in the default realm; returns its serial.
pub fn enroll(admin: &Api, ttype: &str, key: &str, pin: &str, user: &str) -> String {
    serial_of(&admin.init_token(&[
        ("type", ttype),
        ("otpkey", key),
        ("pin", pin),
        ("user", user),
    ]))
}

/// `detail.transaction_id` of a CHALLENGE answer.
pub fn transaction_id(resp: &Resp) -> String {
    resp.json["detail"]["transaction_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail.transaction_id in {resp}"))
        .to_string()
}

/// `result.value` of `GET /policy/` as a list of names.
fn policy_names(admin: &Api) -> Vec<String> {
    let resp = admin.get("/policy/", &[]);
    resp.expect_ok();
    resp.json["result"]["value"]
        .as_array()
        .unwrap_or_else(|| panic!("{resp}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn captured_policy_exchanges_match_privacyidea() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let mut report = Mismatches::default();

    // 70–72: challenge_response=hotp: the PIN alone asks for the OTP; the OTP alone answers.
    let cr = [
        ("scope", "authentication"),
        ("action", "challenge_response=hotp"),
        ("realm", "realm1"),
        ("active", "true"),
    ];
    report.check(
        &Captured::load("70-policy-challenge-response"),
        &admin.post("/policy/pol_cr", &cr),
    );
    let challenge = anon.check(&[("user", "alice"), ("pass", "test")]);
    let tx = transaction_id(&challenge);
    report.check(
        &Captured::load("71-validate-check-pin-only-triggers")
            .subst(PI_SERIAL, &serial)
            .subst(PI_TX, &tx)
            .ignore("detail.preferred_client_mode"),
        &challenge,
    );
    report.check(
        &Captured::load("72-validate-check-answer-challenge").subst(PI_SERIAL, &serial),
        &anon.check(&[
            ("user", "alice"),
            ("transaction_id", &tx),
            ("pass", &hotp(RFC_KEY, 0)),
        ]),
    );
    report.check(
        &Captured::load("76-policy-delete"),
        &admin.delete("/policy/pol_cr"),
    );
    // Without the policy the PIN alone is a wrong PIN again.
    anon.check(&[("user", "alice"), ("pass", "test")])
        .expect_auth("REJECT", "wrong otp pin");

    // 80–84: otppin=userstore: the user's password replaces the token PIN.
    report.check(
        &Captured::load("80-policy-otppin-userstore"),
        &admin.post(
            "/policy/pol_userstore",
            &[
                ("scope", "authentication"),
                ("action", "otppin=userstore"),
                ("realm", "realm1"),
                ("active", "true"),
            ],
        ),
    );
    // Tessera adds `description` and `user_case_insensitive` (later privacyIDEA versions have them).
    report.check(
        &Captured::load("81-policy-list")
            .ignore("result.value.*.description")
            .ignore("result.value.*.user_case_insensitive"),
        &admin.get("/policy/", &[]),
    );
    report.check(
        &Captured::load("82-validate-check-userstore-pin-ok").subst(PI_SERIAL, &serial),
        &anon.check(&[
            ("user", "alice"),
            ("pass", &format!("alicepw{}", hotp(RFC_KEY, 1))),
        ]),
    );
    report.check(
        &Captured::load("83-validate-check-userstore-old-pin"),
        &anon.check(&[
            ("user", "alice"),
            ("pass", &format!("test{}", hotp(RFC_KEY, 2))),
        ]),
    );
    report.check(
        &Captured::load("84-policy-delete-userstore"),
        &admin.delete("/policy/pol_userstore"),
    );

    // 85–88: passthru for a user without tokens.
    report.check(
        &Captured::load("85-policy-passthru"),
        &admin.post(
            "/policy/pol_passthru",
            &[
                ("scope", "authentication"),
                ("action", "passthru"),
                ("realm", "realm1"),
                ("active", "true"),
            ],
        ),
    );
    // A user who has a token is not let in by the password alone.
    anon.check(&[("user", "alice"), ("pass", "alicepw")])
        .expect_auth("REJECT", "wrong otp pin");
    report.check(
        &Captured::load("86-token-delete").subst(PI_SERIAL, &serial),
        &admin.delete(&format!("/token/{serial}")),
    );
    report.check(
        &Captured::load("87-validate-check-passthru-ok"),
        &anon.check(&[("user", "alice"), ("pass", "alicepw")]),
    );
    report.check(
        &Captured::load("88-validate-check-passthru-wrong"),
        &anon.check(&[("user", "alice"), ("pass", "wrongpw")]),
    );
    report.assert_none();

    // 89: no realm and an unknown action: privacyIDEA says "Missing parameter: 'realm'", Tessera
    // names the action. 89b/89c: privacyIDEA stores an unknown action or scope; Tessera refuses.
    let bad = admin.post(
        "/policy/pol_bad",
        &[("scope", "authentication"), ("action", "nosuchaction=1")],
    );
    bad.expect_error(400, 905);
    assert!(bad.body.contains("nosuchaction"), "{bad}");
    let bad = admin.post(
        "/policy/pol_bad2",
        &[
            ("scope", "authentication"),
            ("action", "nosuchaction"),
            ("realm", "realm1"),
        ],
    );
    bad.expect_error(400, 905);
    assert!(bad.body.contains("Unknown action 'nosuchaction'"), "{bad}");
    let bad = admin.post(
        "/policy/pol_bad3",
        &[
            ("scope", "nosuchscope"),
            ("action", "otppin=userstore"),
            ("realm", "realm1"),
        ],
    );
    bad.expect_error(400, 905);
    assert!(bad.body.contains("nosuchscope"), "{bad}");
    // A value of the wrong kind is refused too.
    admin
        .post(
            "/policy/pol_bad4",
            &[("scope", "authentication"), ("action", "otppin=sometimes")],
        )
        .expect_error(400, 905);
    assert_eq!(policy_names(&admin), ["pol_passthru"]);
    admin.get("/policy/pol_bad2", &[]).expect_error(404, 601);
}

#[test]
fn two_challenge_response_tokens_share_one_single_use_transaction() {
    let server = Server::start_with(Options {
        fake_clock: true,
        ..Default::default()
    });
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let hotp_serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let totp_serial = enroll(&admin, "totp", KEY_B, "test", "alice");
    set_policy(
        &admin,
        "pol_cr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=hotp totp"),
            ("realm", "realm1"),
        ],
    );
    let ask = || {
        let c = anon.check(&[("user", "alice"), ("pass", "test")]);
        assert_eq!(c.authentication(), "CHALLENGE", "{c}");
        c
    };
    let answer = |tx: &str, otp: &str| {
        anon.check(&[("user", "alice"), ("transaction_id", tx), ("pass", otp)])
    };

    // One transaction id, shared by both entries of multi_challenge.
    let c = ask();
    let tx = transaction_id(&c);
    assert_eq!(c.json["detail"]["transaction_ids"], json!([tx]), "{c}");
    let multi = c.json["detail"]["multi_challenge"].as_array().unwrap();
    let mut serials: Vec<&str> = multi
        .iter()
        .map(|m| m["serial"].as_str().unwrap())
        .collect();
    serials.sort_unstable();
    let mut want = [hotp_serial.as_str(), totp_serial.as_str()];
    want.sort_unstable();
    assert_eq!(serials, want, "{c}");
    assert!(
        multi.iter().all(|m| m["transaction_id"] == json!(tx)),
        "{c}"
    );

    // The TOTP answers; the HOTP's challenge of the same transaction is gone with it.
    let now = now_with_step_margin(30);
    let ok = answer(&tx, &totp(KEY_B, now, 30));
    ok.expect_auth("ACCEPT", "Found matching challenge");
    assert_eq!(ok.json["detail"]["serial"], json!(totp_serial), "{ok}");
    let again = answer(&tx, &hotp(RFC_KEY, 0));
    again.expect_auth("REJECT", again.message());
    assert!(again.message().contains("No open challenge"), "{again}");
    // The HOTP's OTP was not used up by the refused answer: it answers the next challenge.
    let tx2 = transaction_id(&ask());
    assert_ne!(tx2, tx);
    let ok = answer(&tx2, &hotp(RFC_KEY, 0));
    ok.expect_auth("ACCEPT", "Found matching challenge");
    assert_eq!(ok.json["detail"]["serial"], json!(hotp_serial), "{ok}");
    // A reused transaction id, even with a fresh valid OTP: REJECT.
    let reused = answer(&tx2, &hotp(RFC_KEY, 1));
    assert!(reused.message().contains("No open challenge"), "{reused}");
    assert_eq!(reused.authentication(), "REJECT", "{reused}");

    // Expiry: DefaultChallengeValidityTime is 120 s.
    let tx3 = transaction_id(&ask());
    server.shift_clock(121);
    let late = answer(&tx3, &hotp(RFC_KEY, 1));
    assert_eq!(late.authentication(), "REJECT", "{late}");
    assert!(late.message().contains("No open challenge"), "{late}");
    // Within the validity it is answered.
    let tx4 = transaction_id(&ask());
    server.shift_clock(121 + 100);
    answer(&tx4, &hotp(RFC_KEY, 1)).expect_auth("ACCEPT", "Found matching challenge");
}

#[test]
fn pass_on_no_token_and_pass_on_no_user_only_with_their_policy() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    enroll(&admin, "hotp", RFC_KEY, "test", "alice");

    // Off without a policy.
    anon.check(&[("user", "bob"), ("pass", "x")])
        .expect_auth("REJECT", "The user has no tokens assigned");
    anon.check(&[("user", "nobody"), ("pass", "x")])
        .expect_error(400, 904);

    set_policy(
        &admin,
        "pol_pont",
        &[
            ("scope", "authentication"),
            ("action", "passOnNoToken"),
            ("realm", "realm1"),
        ],
    );
    anon.check(&[("user", "bob"), ("pass", "x")])
        .expect_auth("ACCEPT", "user has no token, accepted due to 'pol_pont'");
    // A user with a token still needs it.
    anon.check(&[("user", "alice"), ("pass", "x")])
        .expect_auth("REJECT", "wrong otp pin");
    anon.check(&[("user", "nobody"), ("pass", "x")])
        .expect_error(400, 904);

    set_policy(
        &admin,
        "pol_ponu",
        &[
            ("scope", "authentication"),
            ("action", "passOnNoUser"),
            ("realm", "realm1"),
        ],
    );
    anon.check(&[("user", "nobody"), ("realm", "realm1"), ("pass", "x")])
        .expect_auth("ACCEPT", "user does not exist, accepted due to 'pol_ponu'");
    // Without a `realm` parameter the request is about the default realm (realm1).
    anon.check(&[("user", "nobody"), ("pass", "x")])
        .expect_auth("ACCEPT", "user does not exist, accepted due to 'pol_ponu'");
}

#[test]
fn failcounter_clear_timeout_unlocks_a_locked_token_after_the_timeout() {
    let server = Server::start_with(Options {
        fake_clock: true,
        ..Default::default()
    });
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    admin
        .post("/system/setConfig", &[("DefaultMaxFailCount", "3")])
        .expect_ok();
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    set_policy(
        &admin,
        "pol_fct",
        &[
            ("scope", "authentication"),
            ("action", "failcounter_clear_timeout=2"),
            ("realm", "realm1"),
        ],
    );
    let check = |pass: &str| anon.check(&[("user", "alice"), ("pass", pass)]);
    for _ in 0..3 {
        check("test000000").expect_auth("REJECT", "wrong otp value");
    }
    assert_eq!(admin.token_info(&serial)["failcount"], json!(3));
    // Locked: a correct OTP is refused.
    let locked = check(&format!("test{}", hotp(RFC_KEY, 0)));
    assert_eq!(locked.authentication(), "REJECT", "{locked}");
    assert!(
        locked.message().contains("Failcounter exceeded"),
        "{locked}"
    );
    // Before the timeout (2 minutes) it stays locked.
    server.shift_clock(100);
    let locked = check(&format!("test{}", hotp(RFC_KEY, 1)));
    assert!(
        locked.message().contains("Failcounter exceeded"),
        "{locked}"
    );
    // After it the next correct OTP logs in and clears the counter.
    server.shift_clock(125);
    check(&format!("test{}", hotp(RFC_KEY, 2))).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(0));
}

#[test]
fn failcounter_policies_on_challenges_and_on_all_user_tokens() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let a = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let b = enroll(&admin, "hotp", KEY_B, "other", "alice");
    let failcount = |s: &str| admin.token_info(s)["failcount"].clone();
    let check = |pass: &str| anon.check(&[("user", "alice"), ("pass", pass)]);

    // Without reset_all_user_tokens a success clears only the token that was used.
    check("other000000").expect_auth("REJECT", "wrong otp value");
    check(&format!("test{}", hotp(RFC_KEY, 0))).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!((failcount(&a), failcount(&b)), (json!(0), json!(1)));
    set_policy(
        &admin,
        "pol_reset",
        &[
            ("scope", "authentication"),
            ("action", "reset_all_user_tokens"),
            ("realm", "realm1"),
        ],
    );
    check("other000000").expect_auth("REJECT", "wrong otp value");
    assert_eq!(failcount(&b), json!(2));
    check(&format!("test{}", hotp(RFC_KEY, 1))).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!((failcount(&a), failcount(&b)), (json!(0), json!(0)));

    // A challenge does not count as a failure, unless increase_failcounter_on_challenge.
    set_policy(
        &admin,
        "pol_cr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=hotp"),
            ("realm", "realm1"),
        ],
    );
    let c = check("test");
    assert_eq!(c.authentication(), "CHALLENGE", "{c}");
    assert_eq!(failcount(&a), json!(0));
    set_policy(
        &admin,
        "pol_cr",
        &[
            ("scope", "authentication"),
            (
                "action",
                "challenge_response=hotp, increase_failcounter_on_challenge",
            ),
            ("realm", "realm1"),
        ],
    );
    let c = check("test");
    assert_eq!(c.authentication(), "CHALLENGE", "{c}");
    assert_eq!(failcount(&a), json!(1));
    let tx = transaction_id(&c);
    anon.check(&[
        ("user", "alice"),
        ("transaction_id", &tx),
        ("pass", &hotp(RFC_KEY, 2)),
    ])
    .expect_auth("ACCEPT", "Found matching challenge");
    assert_eq!(failcount(&a), json!(0));
}

#[test]
fn authorization_policies_refuse_and_shape_successful_checks() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let mut counter = 0;
    let mut login = || {
        let pass = format!("test{}", hotp(RFC_KEY, counter));
        counter += 1;
        anon.check(&[("user", "alice"), ("pass", &pass)])
    };
    let authz = |name: &str, action: &str| {
        set_policy(
            &admin,
            name,
            &[
                ("scope", "authorization"),
                ("action", action),
                ("realm", "realm1"),
            ],
        )
    };

    // tokentype: only TOTP may authenticate, so a correct HOTP is refused.
    authz("pol_type", "tokentype=totp");
    let refused = login();
    assert_eq!(refused.authentication(), "REJECT", "{refused}");
    assert_eq!(refused.json["result"]["value"], json!(false), "{refused}");
    authz("pol_type", "tokentype=hotp totp");
    login().expect_auth("ACCEPT", "matching 1 tokens");
    admin.delete("/policy/pol_type").expect_ok();

    // serial: a regular expression the serial must match.
    authz("pol_serial", "serial=^TOTP");
    assert_eq!(login().authentication(), "REJECT");
    authz("pol_serial", &format!("serial=^{}$", &serial[..4]));
    assert_eq!(login().authentication(), "REJECT");
    authz("pol_serial", &format!("serial=^{serial}$"));
    login().expect_auth("ACCEPT", "matching 1 tokens");
    admin.delete("/policy/pol_serial").expect_ok();

    // add_user_in_response: the user's attributes in detail.user.
    authz("pol_user", "add_user_in_response");
    let ok = login();
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    let user = &ok.json["detail"]["user"];
    assert_eq!(user["username"], json!("alice"), "{ok}");
    assert_eq!(user["email"], json!("alice@example.com"), "{ok}");
    assert_eq!(user["givenname"], json!("Alice"), "{ok}");
    assert_eq!(user["surname"], json!("Anchor"), "{ok}");
    assert_eq!(user["mobile"], json!("+49111"), "{ok}");
    assert_eq!(user["userid"], json!("1000"), "{ok}");
    // Not on a failure.
    let fail = anon.check(&[("user", "alice"), ("pass", "test000000")]);
    assert!(fail.json["detail"]["user"].is_null(), "{fail}");
    admin.delete("/policy/pol_user").expect_ok();

    // no_detail_on_success: the answer carries no detail at all.
    authz("pol_nodetail", "no_detail_on_success");
    let ok = login();
    assert_eq!(ok.authentication(), "ACCEPT", "{ok}");
    assert!(ok.json.get("detail").is_none(), "{ok}");
    let fail = anon.check(&[("user", "alice"), ("pass", "test000000")]);
    assert_eq!(fail.message(), "wrong otp value", "{fail}");
}

/// The 8-digit HOTP of `key_hex` at `counter`, by oathtool.
fn hotp8(key_hex: &str, counter: u64) -> String {
    let out = Command::new("oathtool")
        .args(["--hotp", "-d", "8", "-c", &counter.to_string(), key_hex])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn enrollment_policies_limit_tokens_set_otplen_and_check_pins() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    set_policy(
        &admin,
        "pol_enroll",
        &[
            ("scope", "enrollment"),
            (
                "action",
                "max_token_per_user=1, hotp_otplen=8, otp_pin_minlength=4",
            ),
            ("realm", "realm1"),
        ],
    );
    let init = |user: &str, pin: &str, extra: &[(&str, &str)]| {
        let mut params = vec![
            ("type", "hotp"),
            ("otpkey", RFC_KEY),
            ("pin", pin),
            ("user", user),
        ];
        params.extend_from_slice(extra);
        admin.post("/token/init", &params)
    };

    // otp_pin_minlength: a 3-character PIN is refused.
    let short = init("alice", "abc", &[]);
    short.expect_error(403, 303);
    // hotp_otplen=8 overrides what the request asks for.
    let ok = init("alice", "abcd", &[("otplen", "6")]);
    ok.expect_ok();
    let serial = serial_of(&ok);
    assert_eq!(admin.token_info(&serial)["otplen"], json!(8));
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("abcd{}", hotp8(RFC_KEY, 0))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
    // max_token_per_user=1: a second token for alice is refused, bob may still have one.
    init("alice", "abcd", &[]).expect_error(403, 303);
    init("bob", "abcd", &[]).expect_ok();
    let list = admin.get("/token/", &[("user", "alice")]);
    assert_eq!(list.json["result"]["value"]["count"], json!(1), "{list}");
}

#[test]
fn conflicting_values_at_one_priority_are_an_error_and_lower_numbers_win() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let otppin = |name: &str, value: &str, priority: &str| {
        set_policy(
            &admin,
            name,
            &[
                ("scope", "authentication"),
                ("action", &format!("otppin={value}")),
                ("realm", "realm1"),
                ("priority", priority),
            ],
        );
    };
    otppin("pol_a", "userstore", "1");
    otppin("pol_b", "none", "1");
    let conflict = anon.check(&[
        ("user", "alice"),
        ("pass", &format!("alicepw{}", hotp(RFC_KEY, 0))),
    ]);
    conflict.expect_error(403, 303);
    let message = conflict.json["result"]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("pol_a") && message.contains("pol_b") && message.contains("otppin"),
        "{conflict}"
    );

    // pol_b at priority 2: pol_a (userstore) wins.
    otppin("pol_b", "none", "2");
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("alicepw{}", hotp(RFC_KEY, 0))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
    // pol_a at priority 3: pol_b (none) wins, the OTP alone logs in.
    otppin("pol_a", "userstore", "3");
    anon.check(&[("user", "alice"), ("pass", &hotp(RFC_KEY, 1))])
        .expect_auth("ACCEPT", "matching 1 tokens");
    let listed: Vec<Value> = admin.get("/policy/", &[]).json["result"]["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), 2);
}
