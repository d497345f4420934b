//! Token management after enrollment: disable/enable, resync, setpin, the fail counter and reset,
//! each answer compared with the captured privacyIDEA one (all mismatches reported at the end).

use serde_json::json;

use crate::harness::{
    Api, Captured, Mismatches, RFC_KEY, Server, hotp, hotp_range, serial_of, setup_realm,
};

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
    let mut report = Mismatches::default();
    let check = |pin: &str, counter: u64| {
        anon.check(&[
            ("user", "alice"),
            ("pass", &format!("{pin}{}", hotp(RFC_KEY, counter))),
        ])
    };

    // 50/51/52: a disabled token rejects a correct OTP and says so; enabled again, it accepts.
    report.check(
        &captured("50-token-disable"),
        &admin.post("/token/disable", &[("serial", &serial)]),
    );
    report.check(&captured("51-validate-check-disabled"), &check("test", 0));
    report.check(
        &captured("52-token-enable"),
        &admin.post("/token/enable", &[("serial", &serial)]),
    );
    check("test", 1).expect_auth("ACCEPT", "matching 1 tokens");

    // Counter 13 is outside the window of 10 after counter 1: rejected before the resync.
    check("test", 13).expect_auth("REJECT", "wrong otp value");
    // 53/54: resync with two consecutive OTPs, then the next one is accepted.
    let (otp1, otp2) = (hotp(RFC_KEY, 10), hotp(RFC_KEY, 11));
    let resync = admin.post(
        "/token/resync",
        &[("serial", &serial), ("otp1", &otp1), ("otp2", &otp2)],
    );
    report.check(&captured("53-token-resync"), &resync);
    report.check(
        &captured("54-validate-check-after-resync"),
        &check("test", 12),
    );
    // Resync with OTPs that do not follow each other fails.
    let bad = admin.post(
        "/token/resync",
        &[
            ("serial", &serial),
            ("otp1", &hotp(RFC_KEY, 20)),
            ("otp2", &hotp(RFC_KEY, 25)),
        ],
    );
    assert_eq!(bad.json["result"]["value"], json!(false), "{bad}");

    // 55: a new PIN; the old one no longer matches.
    report.check(
        &captured("55-token-setpin"),
        &admin.post(
            "/token/setpin",
            &[("serial", &serial), ("otppin", "newpin")],
        ),
    );
    check("test", 13).expect_auth("REJECT", "wrong otp pin");
    check("newpin", 13).expect_auth("ACCEPT", "matching 1 tokens");

    // 60: management calls on an unknown serial.
    report.check(
        &captured("60-token-disable-unknown"),
        &admin.post("/token/disable", &[("serial", "NOSUCHSERIAL")]),
    );
    report.assert_none();
}

#[test]
fn fail_counter_locks_the_token_until_reset() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let serial = enroll_alice(&admin);
    let captured = |name: &str| Captured::load(name).subst(PI_SERIAL, &serial);
    let mut report = Mismatches::default();
    let check = |otp: &str| anon.check(&[("user", "alice"), ("pass", &format!("test{otp}"))]);

    let set = admin.post("/token/set", &[("serial", &serial), ("max_failcount", "3")]);
    set.expect_ok();
    assert_eq!(admin.token_info(&serial)["maxfail"], json!(3));

    // Three wrong OTPs (000000 is none of the OTPs the window could accept).
    assert!(!hotp_range(RFC_KEY, 0, 20).contains(&"000000".to_string()));
    for _ in 0..3 {
        report.check(
            &captured("56-validate-check-wrong-otp-x3"),
            &check("000000"),
        );
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
    report.check(
        &list_expected(3),
        &admin.get("/token/", &[("serial", &serial)]),
    );

    // A correct OTP is now refused because of the fail counter.
    check(&hotp(RFC_KEY, 0)).expect_auth("REJECT", "matching 1 tokens, Failcounter exceeded");
    assert_eq!(
        admin.token_info(&serial)["failcount"],
        json!(3),
        "the counter stops at maxfail"
    );

    // 58/59: reset clears it, and the next OTP is accepted.
    report.check(
        &captured("58-token-reset"),
        &admin.post("/token/reset", &[("serial", &serial)]),
    );
    let after_reset = admin.get("/token/", &[("serial", &serial)]);
    let count = after_reset.json["result"]["value"]["tokens"][0]["count"].clone();
    report.check(
        &list_expected(0).set("/result/value/tokens/0/count", count),
        &after_reset,
    );
    check(&hotp(RFC_KEY, 1)).expect_auth("ACCEPT", "matching 1 tokens");

    // A success resets the fail counter too.
    check("000000").expect_auth("REJECT", "wrong otp value");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(1));
    check(&hotp(RFC_KEY, 2)).expect_auth("ACCEPT", "matching 1 tokens");
    assert_eq!(admin.token_info(&serial)["failcount"], json!(0));
    report.assert_none();
}

#[test]
fn assign_unassign_count_window_and_list_filters() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    let check = |user: &str, pass: &str| anon.check(&[("user", user), ("pass", pass)]);

    // A token without owner, then assigned to bob (with a PIN), then taken away again.
    let serial = serial_of(&admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("serial", "ASSIGN01"),
    ]));
    check("bob", &hotp(RFC_KEY, 0)).expect_auth("REJECT", "The user has no tokens assigned");
    admin
        .post(
            "/token/assign",
            &[
                ("serial", &serial),
                ("user", "bob"),
                ("realm", "realm1"),
                ("pin", "bobpin"),
            ],
        )
        .expect_ok();
    let token = admin.token_info(&serial);
    assert_eq!(
        (&token["username"], &token["user_realm"], &token["user_id"]),
        (&json!("bob"), &json!("realm1"), &json!("1001"))
    );
    check("bob", &format!("bobpin{}", hotp(RFC_KEY, 0))).expect_auth("ACCEPT", "matching 1 tokens");
    // Assigning a token that already has an owner fails.
    let again = admin.post(
        "/token/assign",
        &[("serial", &serial), ("user", "alice"), ("realm", "realm1")],
    );
    assert!(
        again.status >= 400 && again.json["result"]["status"] == json!(false),
        "{again}"
    );
    admin
        .post("/token/unassign", &[("serial", &serial)])
        .expect_ok();
    assert_eq!(admin.token_info(&serial)["username"], json!(""));
    check("bob", &format!("bobpin{}", hotp(RFC_KEY, 1)))
        .expect_auth("REJECT", "The user has no tokens assigned");

    // count_window: with a window of 2, an OTP three ahead is out of reach.
    admin
        .post(
            "/token/set",
            &[
                ("serial", &serial),
                ("count_window", "2"),
                ("description", "narrow"),
            ],
        )
        .expect_ok();
    let token = admin.token_info(&serial);
    assert_eq!(
        (&token["count_window"], &token["description"]),
        (&json!(2), &json!("narrow"))
    );
    let by_serial = |otp: &str| anon.check(&[("serial", serial.as_str()), ("pass", otp)]);
    by_serial(&hotp(RFC_KEY, 4)).expect_auth("REJECT", "wrong otp value");
    by_serial(&hotp(RFC_KEY, 2)).expect_auth("ACCEPT", "matching 1 tokens");

    // Listing filters and paging, privacyIDEA style (count, current, next, prev).
    admin.init_token(&[
        ("type", "totp"),
        ("genkey", "1"),
        ("serial", "LISTTOTP"),
        ("user", "alice"),
        ("realm", "realm1"),
    ]);
    admin.init_token(&[
        ("type", "hotp"),
        ("genkey", "1"),
        ("serial", "LISTHOTP"),
        ("user", "alice"),
        ("realm", "realm1"),
    ]);
    let serials = |resp: &crate::harness::Resp| -> Vec<String> {
        resp.expect_ok();
        let tokens = resp.json["result"]["value"]["tokens"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut s: Vec<String> = tokens
            .iter()
            .map(|t| t["serial"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    assert_eq!(
        serials(&admin.get("/token/", &[("user", "alice"), ("realm", "realm1")])),
        ["LISTHOTP", "LISTTOTP"]
    );
    assert_eq!(
        serials(&admin.get("/token/", &[("type", "totp")])),
        ["LISTTOTP"]
    );
    assert_eq!(
        serials(&admin.get("/token/", &[("serial", "ASSIGN01")])),
        ["ASSIGN01"]
    );
    let page = admin.get("/token/", &[("pagesize", "1"), ("page", "2")]);
    let value = &page.json["result"]["value"];
    assert_eq!(
        (
            &value["count"],
            &value["current"],
            &value["next"],
            &value["prev"]
        ),
        (&json!(3), &json!(2), &json!(3), &json!(1)),
        "{page}"
    );
    assert_eq!(value["tokens"].as_array().map(Vec::len), Some(1), "{page}");
}
