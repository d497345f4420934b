//! Every error row of the API contract: HTTP status, privacyIDEA error code, JSON envelope; where
//! privacyIDEA answers HTML or a 500, Tessera answers JSON with a meaningful status. Also the request
//! body formats: form and JSON accepted, bad JSON rejected.

use serde_json::{Value, json};

use crate::harness::{Captured, RFC_KEY, Resp, Server, hotp, setup_realm};

/// privacyIDEA's error envelope, whatever the code: `result.status` false, `detail` null.
fn assert_envelope(resp: &Resp) {
    assert!(
        resp.content_type.starts_with("application/json"),
        "not JSON: {resp}"
    );
    assert_eq!(resp.json["jsonrpc"], "2.0", "{resp}");
    assert_eq!(resp.json["result"]["status"], json!(false), "{resp}");
    assert!(resp.json["result"]["error"]["code"].is_i64(), "{resp}");
    assert!(
        resp.json["result"]["error"]["message"].is_string(),
        "{resp}"
    );
    assert_eq!(resp.json["detail"], Value::Null, "{resp}");
}

#[test]
fn admin_authentication_errors() {
    let server = Server::start();
    let anon = server.anon();

    // 4031: wrong password, and an unknown admin.
    Captured::load("02-auth-admin-wrong-password")
        .assert_matches(&anon.post("/auth", &[("username", "admin"), ("password", "wrong")]));
    anon.post(
        "/auth",
        &[("username", "nosuchadmin"), ("password", "adminpass")],
    )
    .expect_error(401, 4031);
    // 4033: no Authorization header.
    Captured::load("03-missing-auth-header").assert_matches(&anon.get("/token/", &[]));
    anon.post("/token/init", &[("type", "hotp"), ("genkey", "1")])
        .expect_error(401, 4033);
    // 4304: garbage (privacyIDEA answers 500 here), and a JWT signed with another key.
    anon.with_auth("not.a.jwt")
        .get("/token/", &[])
        .expect_error(401, 4304);
    anon.with_auth("Bearer not.a.jwt")
        .get("/token/", &[])
        .expect_error(401, 4304);
    let forged = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJ1c2VybmFtZSI6ICJhZG1pbiIsICJyZWFsbSI6ICIiLCAicm9sZSI6ICJhZG1pbiIsICJhdXRodHlwZSI6ICJwYXNzd29yZCIsICJleHAiOiA5OTk5OTk5OTk5LCAicmlnaHRzIjogW119.bDgZmU_qUGc_Vd_OclSM777hGHalI5sEUoVRetG5Suw";
    anon.with_auth(forged)
        .get("/token/", &[])
        .expect_error(401, 4304);
    // A token with the signature cut off, and one with alg "none".
    let admin = server.admin();
    let jwt = server
        .anon()
        .post("/auth", &[("username", "admin"), ("password", "adminpass")])
        .json["result"]["value"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let unsigned = format!("{}.", jwt.rsplit_once('.').unwrap().0);
    anon.with_auth(&unsigned)
        .get("/token/", &[])
        .expect_error(401, 4304);
    let mut parts: Vec<&str> = jwt.split('.').collect();
    let none_header = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0"; // {"typ":"JWT","alg":"none"}
    parts[0] = none_header;
    anon.with_auth(&format!("{}.{}.", parts[0], parts[1]))
        .get("/token/", &[])
        .expect_error(401, 4304);

    // The real JWT works raw and with the Bearer prefix (privacyIDEA: 500 with Bearer).
    admin.get("/token/", &[]).expect_ok();
    anon.with_auth(&format!("Bearer {jwt}"))
        .get("/token/", &[])
        .expect_ok();
}

#[test]
fn parameter_user_and_token_errors() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);

    // 905: missing parameters.
    Captured::load("35-validate-check-missing-pass")
        .assert_matches(&anon.check(&[("user", "alice")]));
    Captured::load("41-validate-check-no-user-no-serial")
        .assert_matches(&anon.check(&[("pass", "test123456")]));
    admin.post("/token/enable", &[]).expect_error(400, 905);
    admin
        .post("/token/resync", &[("serial", "X")])
        .expect_error(400, 905);
    // 904: unknown user, on check and on init.
    Captured::load("34-validate-check-unknown-user")
        .assert_matches(&anon.check(&[("user", "nobody"), ("pass", "test287082")]));
    Captured::load("25-token-init-unknown-user").assert_matches(&admin.post(
        "/token/init",
        &[
            ("type", "hotp"),
            ("genkey", "1"),
            ("user", "nobody"),
            ("realm", "realm1"),
        ],
    ));
    // 601: unknown token, for every management call.
    Captured::load("60-token-disable-unknown")
        .assert_matches(&admin.post("/token/disable", &[("serial", "NOSUCHSERIAL")]));
    Captured::load("90-token-delete-unknown").assert_matches(&admin.delete("/token/NOSUCHSERIAL"));
    let unknown = [("serial", "NOSUCHSERIAL")];
    for path in ["/token/enable", "/token/reset", "/token/unassign"] {
        admin.post(path, &unknown).expect_error(404, 601);
    }
    admin
        .post(
            "/token/setpin",
            &[("serial", "NOSUCHSERIAL"), ("otppin", "x")],
        )
        .expect_error(404, 601);
    admin
        .post(
            "/token/set",
            &[("serial", "NOSUCHSERIAL"), ("max_failcount", "3")],
        )
        .expect_error(404, 601);
    admin
        .post(
            "/token/resync",
            &[
                ("serial", "NOSUCHSERIAL"),
                ("otp1", "123456"),
                ("otp2", "234567"),
            ],
        )
        .expect_error(404, 601);
    admin
        .post(
            "/token/assign",
            &[
                ("serial", "NOSUCHSERIAL"),
                ("user", "alice"),
                ("realm", "realm1"),
            ],
        )
        .expect_error(404, 601);

    // Where privacyIDEA answers 500 or accepts garbage, Tessera answers 400.
    let bad_type = admin.post("/token/init", &[("type", "nosuchtype"), ("genkey", "1")]);
    assert_eq!(bad_type.status, 400, "{bad_type}");
    assert_envelope(&bad_type);
    let bad_key = admin.post(
        "/token/init",
        &[
            ("type", "hotp"),
            ("genkey", "0"),
            ("otpkey", "zzzz"),
            ("serial", "BADKEY0001"),
        ],
    );
    assert_eq!(bad_key.status, 400, "{bad_key}");
    assert_envelope(&bad_key);
    assert_eq!(
        admin.get("/token/", &[("serial", "BADKEY0001")]).json["result"]["value"]["count"],
        json!(0)
    );

    // /validate/check by an unknown serial: privacyIDEA 3.7.1 raises ResourceNotFoundError
    // (lib/token.py check_serial_pass -> get_one_token).
    anon.check(&[("serial", "NOSUCHSERIAL"), ("pass", "123456")])
        .expect_error(404, 601);
}

#[test]
fn unknown_paths_and_methods_answer_json() {
    let server = Server::start();
    let admin = server.admin();

    // privacyIDEA answers HTML for these (05, 06).
    let not_found = admin.get("/nonexistent/", &[]);
    assert_eq!(not_found.status, 404, "{not_found}");
    assert_envelope(&not_found);
    let not_found = server.anon().post("/nonexistent", &[("a", "b")]);
    assert_eq!(not_found.status, 404, "{not_found}");
    assert_envelope(&not_found);

    let wrong_method = server.anon().get("/auth", &[]);
    assert_eq!(wrong_method.status, 405, "{wrong_method}");
    assert_envelope(&wrong_method);
    let wrong_method = admin.raw("PUT", "/token/init", None, "");
    assert_eq!(wrong_method.status, 405, "{wrong_method}");
    assert_envelope(&wrong_method);
}

#[test]
fn form_and_json_bodies_are_accepted_bad_json_is_400() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);

    // Enroll with a JSON body, check with form and JSON bodies.
    let init = admin.post_json(
        "/token/init",
        &json!({"type": "hotp", "otpkey": RFC_KEY, "pin": "test", "user": "alice", "realm": "realm1", "serial": "JSON0001"}),
    );
    init.expect_ok();
    assert_eq!(init.json["detail"]["serial"], "JSON0001");
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 0))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
    let json_check = anon.post_json(
        "/validate/check",
        &json!({"user": "alice", "pass": format!("test{}", hotp(RFC_KEY, 1))}),
    );
    json_check.expect_auth("ACCEPT", "matching 1 tokens");
    let by_serial = anon.post_json(
        "/validate/check",
        &json!({"serial": "JSON0001", "pass": format!("test{}", hotp(RFC_KEY, 2))}),
    );
    by_serial.expect_auth("ACCEPT", "matching 1 tokens");
    // A JSON number where privacyIDEA expects text is taken as its text.
    admin
        .post_json(
            "/token/set",
            &json!({"serial": "JSON0001", "max_failcount": 5}),
        )
        .expect_ok();
    assert_eq!(admin.token_info("JSON0001")["maxfail"], json!(5));
    // /auth with JSON, as the Keycloak and PHP clients send it.
    server
        .anon()
        .post_json(
            "/auth",
            &json!({"username": "admin", "password": "adminpass"}),
        )
        .expect_ok();

    // Broken JSON: a privacyIDEA error envelope with 400, not a plain-text error.
    for body in ["{\"user\": ", "not json", "[1, 2]"] {
        let bad = anon.raw("POST", "/validate/check", Some("application/json"), body);
        assert_eq!(bad.status, 400, "body {body:?}: {bad}");
        assert_envelope(&bad);
        let bad = admin.raw("POST", "/token/init", Some("application/json"), body);
        assert_eq!(bad.status, 400, "body {body:?}: {bad}");
        assert_envelope(&bad);
    }
    // A broken form body (invalid percent-encoding is tolerated by browsers; invalid UTF-8 is not).
    let bad = anon.raw(
        "POST",
        "/validate/check",
        Some("application/x-www-form-urlencoded"),
        "user=alice&pass=%FF%FE",
    );
    assert!(bad.status == 400 || bad.status == 200, "{bad}");
    assert!(bad.content_type.starts_with("application/json"), "{bad}");
}

#[test]
fn a_serial_that_is_not_the_given_users_is_refused() {
    let server = Server::start();
    let admin = server.admin();
    setup_realm(&server, &admin);
    // An unassigned token and one of bob's: neither may log alice in.
    for (serial, user) in [("LOOSE01", None), ("BOBS01", Some("bob"))] {
        let mut p = vec![("type", "hotp"), ("otpkey", RFC_KEY), ("serial", serial)];
        if let Some(u) = user {
            p.push(("user", u));
        }
        admin.init_token(&p).expect_ok();
        let resp = server.anon().check(&[
            ("user", "alice"),
            ("serial", serial),
            ("pass", &hotp(RFC_KEY, 0)),
        ]);
        resp.expect_error(400, 905);
        assert_envelope(&resp);
        assert_eq!(
            resp.json["result"]["error"]["message"],
            "ERR905: Given serial does not belong to given user!"
        );
    }
    // The same OTP was not used up: by serial alone it is accepted.
    server
        .anon()
        .check(&[("serial", "LOOSE01"), ("pass", &hotp(RFC_KEY, 0))])
        .expect_auth("ACCEPT", "matching 1 tokens");
    // Plain-text rejections of the HTTP layer come back as JSON too.
    let bad = admin.raw("POST", "/policy/a%FFb", None, "");
    assert_eq!(bad.status, 400, "{bad}");
    assert_envelope(&bad);
}
