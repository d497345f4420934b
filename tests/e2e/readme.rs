//! The README walk-through: admin login, a flat-file realm, a TOTP token for alice, and a login with
//! PIN + OTP, then the same OTP again (rejected as a replay).

use serde_json::json;

use crate::harness::{
    Captured, RFC_KEY, RFC_KEY_B32, Server, now_with_step_margin, serial_of, setup_realm, totp,
};

#[test]
fn readme_walkthrough_enroll_totp_and_log_in() {
    let server = Server::start();

    // POST /auth: the JWT is result.value.token.
    let login = server
        .anon()
        .post("/auth", &[("username", "admin"), ("password", "adminpass")]);
    login.expect_ok();
    assert_eq!(login.json["result"]["value"]["role"], "admin", "{login}");
    assert_eq!(
        login.json["result"]["value"]["username"], "admin",
        "{login}"
    );
    let jwt = login.json["result"]["value"]["token"].as_str().unwrap();
    assert_eq!(jwt.split('.').count(), 3, "a JWT has three parts: {jwt}");
    let admin = server.anon().with_auth(jwt);

    // Resolver, realm, default realm: the same answers as privacyIDEA.
    let realm = setup_realm(&server, &admin);
    Captured::load("10-resolver-create").assert_matches(&realm.resolver);
    Captured::load("12-realm-create").assert_matches(&realm.realm);
    Captured::load("13-defaultrealm-set").assert_matches(&realm.default_realm);

    // The users come from the flat file, with the fields privacyIDEA reads from the GECOS column.
    let users = admin.get("/user/", &[("realm", "realm1")]);
    Captured::load("15-user-list").assert_matches(&users);

    // A TOTP token for alice with PIN; the answer has the otpauth URI with the key in base32.
    let init = admin.post(
        "/token/init",
        &[
            ("type", "totp"),
            ("otpkey", RFC_KEY),
            ("pin", "alicepin"),
            ("user", "alice"),
            ("realm", "realm1"),
        ],
    );
    let serial = serial_of(&init);
    Captured::load("22-token-init-totp")
        .subst("TOTPBOB0001", &serial)
        .assert_matches(&init);
    let uri = init.json["detail"]["googleurl"]["value"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!("otpauth://totp/{serial}?")),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={RFC_KEY_B32}")), "{uri}");
    assert!(uri.contains("period=30"), "{uri}");
    assert_eq!(
        init.json["detail"]["otpkey"]["value"],
        json!(format!("seed://{RFC_KEY}"))
    );

    // bob has no token yet.
    server
        .anon()
        .check(&[("user", "bob"), ("pass", "bobpin123456")])
        .expect_auth("REJECT", "The user has no tokens assigned");

    // alice logs in with PIN + the current TOTP from oathtool.
    let now = now_with_step_margin(30);
    let pass = format!("alicepin{}", totp(RFC_KEY, now, 30));
    let ok = server.anon().check(&[("user", "alice"), ("pass", &pass)]);
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    Captured::load("36-validate-check-totp-ok")
        .subst("TOTPBOB0001", &serial)
        .assert_matches(&ok);

    // The same OTP again is a replay.
    let again = server.anon().check(&[("user", "alice"), ("pass", &pass)]);
    again.expect_auth("REJECT", "wrong otp value. previous otp used again");
    assert_eq!(again.json["detail"]["serial"], json!(serial));
    assert_eq!(again.json["detail"]["type"], "totp");
}
