//! Who may do what: a second administrator limited to one realm by admin policies (and unlimited
//! before the first admin policy), the `triggerchallenge` right, and realm users who log in with
//! their password (or, with `login_mode=privacyIDEA`, their tokens) and act on their own tokens only.

use std::fs;

use serde_json::json;

use crate::harness::{Api, RFC_KEY, Resp, Server, USERS_PASSWD, hotp, serial_of, setup_realm};
use crate::policies::{KEY_B, enroll, set_policy, transaction_id};

/// Every admin right the server checks, for the policy that keeps `admin` all-powerful.
const ALL_ADMIN_RIGHTS: &str = "enable, disable, set, setpin, resync, reset, assign, unassign, \
     delete, importtokens, tokenrealms, tokenlist, triggerchallenge, userlist, configread, \
     configwrite, configdelete, policyread, policywrite, policydelete, resolverread, \
     resolverwrite, resolverdelete, auditlog, enrollHOTP, enrollTOTP";

/// Resolver `flat2` with carol (password `alicepw`: alice's hash line under another name) and
/// realm `realm2` with it.
pub(crate) fn setup_realm2(server: &Server, admin: &Api) {
    let alice = USERS_PASSWD.lines().next().unwrap();
    let carol = alice
        .replacen("alice:", "carol:", 1)
        .replace(":1000:1000:Alice Anchor", ":1002:1002:Carol Second");
    let path = server.root().join("users2.passwd");
    fs::write(&path, format!("{carol}\n")).unwrap();
    admin
        .post(
            "/resolver/flat2",
            &[
                ("type", "passwdresolver"),
                ("fileName", path.to_str().unwrap()),
            ],
        )
        .expect_ok();
    admin
        .post("/realm/realm2", &[("resolvers", "flat2")])
        .expect_ok();
}

/// A client with the JWT of `POST /auth` for these credentials.
fn login(server: &Server, params: &[(&str, &str)]) -> (Api, Resp) {
    let anon = server.anon();
    let resp = anon.post("/auth", params);
    resp.expect_ok();
    let jwt = resp.json["result"]["value"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {resp}"))
        .to_string();
    (anon.with_auth(&jwt), resp)
}

fn serials(resp: &Resp) -> Vec<String> {
    resp.expect_ok();
    let mut out: Vec<String> = resp.json["result"]["value"]["tokens"]
        .as_array()
        .unwrap_or_else(|| panic!("{resp}"))
        .iter()
        .map(|t| t["serial"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn a_helpdesk_admin_is_limited_to_its_realm_once_admin_policies_exist() {
    let mut server = Server::start();
    server.stop();
    server.add_admin("helpdesk", "pw");
    server.restart();
    let admin = server.admin();
    setup_realm(&server, &admin);
    setup_realm2(&server, &admin);
    let alice_tok = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let carol_tok = serial_of(&admin.init_token(&[
        ("type", "hotp"),
        ("otpkey", RFC_KEY),
        ("user", "carol"),
        ("realm", "realm2"),
    ]));
    let loose_tok = serial_of(&admin.init_token(&[("type", "hotp"), ("otpkey", KEY_B)]));
    let (helpdesk, _) = login(&server, &[("username", "helpdesk"), ("password", "pw")]);

    // No admin policy yet: helpdesk may do everything (privacyIDEA's rule).
    helpdesk
        .post("/token/disable", &[("serial", &carol_tok)])
        .expect_ok();
    helpdesk
        .post("/token/enable", &[("serial", &carol_tok)])
        .expect_ok();
    helpdesk.get("/policy/", &[]).expect_ok();
    let mut all = vec![alice_tok.clone(), carol_tok.clone(), loose_tok.clone()];
    all.sort();
    assert_eq!(serials(&helpdesk.get("/token/", &[])), all);

    set_policy(
        &admin,
        "pol_admin",
        &[
            ("scope", "admin"),
            ("action", ALL_ADMIN_RIGHTS),
            ("adminuser", "admin"),
        ],
    );
    set_policy(
        &admin,
        "pol_helpdesk",
        &[
            ("scope", "admin"),
            ("action", "enable, disable, tokenlist"),
            ("realm", "realm1"),
            ("adminuser", "helpdesk"),
        ],
    );
    // Within realm1: allowed.
    helpdesk
        .post("/token/disable", &[("serial", &alice_tok)])
        .expect_ok();
    assert_eq!(admin.token_info(&alice_tok)["active"], json!(false));
    helpdesk
        .post(&format!("/token/enable/{alice_tok}"), &[])
        .expect_ok();
    // Outside realm1, or a right not granted: 403/303.
    helpdesk
        .post("/token/disable", &[("serial", &carol_tok)])
        .expect_error(403, 303);
    helpdesk
        .post("/token/disable", &[("serial", &loose_tok)])
        .expect_error(403, 303);
    assert_eq!(admin.token_info(&carol_tok)["active"], json!(true));
    helpdesk
        .delete(&format!("/token/{alice_tok}"))
        .expect_error(403, 303);
    helpdesk
        .post("/token/reset", &[("serial", &alice_tok)])
        .expect_error(403, 303);
    helpdesk.get("/policy/", &[]).expect_error(403, 303);
    helpdesk
        .post(
            "/policy/pol_mine",
            &[("scope", "admin"), ("action", "delete")],
        )
        .expect_error(403, 303);
    helpdesk.get("/realm/", &[]).expect_error(403, 303);
    helpdesk
        .post(
            "/token/init",
            &[("type", "hotp"), ("user", "alice"), ("genkey", "1")],
        )
        .expect_error(403, 303);
    // The token list shows realm1's tokens only.
    assert_eq!(
        serials(&helpdesk.get("/token/", &[])),
        std::slice::from_ref(&alice_tok)
    );
    // admin keeps every right through its own policy.
    assert_eq!(serials(&admin.get("/token/", &[])), all);
    admin.delete(&format!("/token/{carol_tok}")).expect_ok();
    admin.get("/policy/", &[]).expect_ok();
    // The rights list of helpdesk's login reflects the policy.
    let (_, resp) = login(&server, &[("username", "helpdesk"), ("password", "pw")]);
    let mut rights: Vec<String> = resp.json["result"]["value"]["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    rights.sort();
    assert_eq!(rights, ["disable", "enable", "tokenlist"], "{resp}");
}

#[test]
fn triggerchallenge_needs_the_admin_right() {
    let mut server = Server::start();
    server.stop();
    server.add_admin("helpdesk", "pw");
    server.restart();
    let admin = server.admin();
    setup_realm(&server, &admin);
    setup_realm2(&server, &admin);
    enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    admin
        .init_token(&[
            ("type", "hotp"),
            ("otpkey", RFC_KEY),
            ("user", "carol"),
            ("realm", "realm2"),
        ])
        .expect_ok();
    let (helpdesk, _) = login(&server, &[("username", "helpdesk"), ("password", "pw")]);
    set_policy(
        &admin,
        "pol_admin",
        &[
            ("scope", "admin"),
            ("action", ALL_ADMIN_RIGHTS),
            ("adminuser", "admin"),
        ],
    );
    set_policy(
        &admin,
        "pol_helpdesk",
        &[
            ("scope", "admin"),
            ("action", "enable, disable, tokenlist"),
            ("adminuser", "helpdesk"),
        ],
    );
    helpdesk
        .post("/validate/triggerchallenge", &[("user", "alice")])
        .expect_error(403, 303);
    // admin's policy grants it.
    let trigger = admin.post("/validate/triggerchallenge", &[("user", "alice")]);
    trigger.expect_ok();
    assert_eq!(trigger.json["result"]["value"], json!(1), "{trigger}");

    // Granted for realm2 only: carol yes, alice (realm1) no.
    set_policy(
        &admin,
        "pol_helpdesk",
        &[
            ("scope", "admin"),
            ("action", "enable, disable, tokenlist, triggerchallenge"),
            ("realm", "realm2"),
            ("adminuser", "helpdesk"),
        ],
    );
    helpdesk
        .post(
            "/validate/triggerchallenge",
            &[("user", "carol"), ("realm", "realm2")],
        )
        .expect_ok();
    // The right granted for realm2 does not open challenges for users of another realm.
    helpdesk
        .post("/validate/triggerchallenge", &[("user", "alice")])
        .expect_error(403, 303);
}

#[test]
fn realm_users_log_in_and_manage_only_their_own_tokens() {
    let server = Server::start();
    let admin = server.admin();
    setup_realm(&server, &admin);
    let alice_tok = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let bob_tok = enroll(&admin, "hotp", KEY_B, "test", "bob");

    // Wrong password: 401/4031.
    server
        .anon()
        .post(
            "/auth",
            &[
                ("username", "alice"),
                ("realm", "realm1"),
                ("password", "wrong"),
            ],
        )
        .expect_error(401, 4031);
    let (alice, resp) = login(
        &server,
        &[
            ("username", "alice"),
            ("realm", "realm1"),
            ("password", "alicepw"),
        ],
    );
    let value = &resp.json["result"]["value"];
    assert_eq!(value["role"], json!("user"), "{resp}");
    assert_eq!(value["username"], json!("alice"), "{resp}");
    assert_eq!(value["realm"], json!("realm1"), "{resp}");

    // Her own tokens only, whatever filter she sends.
    assert_eq!(
        serials(&alice.get("/token/", &[])),
        std::slice::from_ref(&alice_tok)
    );
    assert!(serials(&alice.get("/token/", &[("user", "bob")])).is_empty());
    alice
        .post("/token/disable", &[("serial", &alice_tok)])
        .expect_ok();
    assert_eq!(admin.token_info(&alice_tok)["active"], json!(false));
    alice
        .post("/token/enable", &[("serial", &alice_tok)])
        .expect_ok();
    // Someone else's token answers as an unknown serial does.
    alice
        .post("/token/disable", &[("serial", &bob_tok)])
        .expect_error(404, 601);
    alice
        .delete(&format!("/token/{bob_tok}"))
        .expect_error(404, 601);
    assert_eq!(admin.token_info(&bob_tok)["active"], json!(true));
    // Enrollment is always for herself.
    let mine = serial_of(&alice.init_token(&[("type", "hotp"), ("genkey", "1"), ("user", "bob")]));
    let listed = admin.get("/token/", &[("user", "alice")]);
    assert!(serials(&listed).contains(&mine), "{listed}");
    let bobs = admin.get("/token/", &[("user", "bob")]);
    assert_eq!(serials(&bobs), std::slice::from_ref(&bob_tok));
    // Admin endpoints are closed to a user JWT.
    for path in ["/realm/", "/policy/", "/system/", "/resolver/"] {
        let r = alice.get(path, &[]);
        assert_eq!(r.status, 403, "GET {path}: {r}");
    }
    let r = alice.post("/policy/pol_x", &[("scope", "user"), ("action", "delete")]);
    assert_eq!(r.status, 403, "{r}");

    // A user policy that grants only `enable`: disable is refused.
    set_policy(
        &admin,
        "pol_user",
        &[("scope", "user"), ("action", "enable"), ("realm", "realm1")],
    );
    alice
        .post("/token/disable", &[("serial", &alice_tok)])
        .expect_error(403, 303);
    alice
        .post("/token/enable", &[("serial", &alice_tok)])
        .expect_ok();
    alice
        .post("/token/init", &[("type", "hotp"), ("genkey", "1")])
        .expect_error(403, 303);
    assert_eq!(admin.token_info(&alice_tok)["active"], json!(true));
}

#[test]
fn login_mode_privacyidea_logs_users_in_with_their_tokens() {
    let server = Server::start();
    let admin = server.admin();
    let anon = server.anon();
    setup_realm(&server, &admin);
    enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    set_policy(
        &admin,
        "pol_webui",
        &[
            ("scope", "webui"),
            ("action", "login_mode=privacyIDEA"),
            ("realm", "realm1"),
        ],
    );
    let auth = |pass: &str| {
        anon.post(
            "/auth",
            &[
                ("username", "alice"),
                ("realm", "realm1"),
                ("password", pass),
            ],
        )
    };
    // The user-store password no longer opens the web UI.
    auth("alicepw").expect_error(401, 4031);
    let ok = auth(&format!("test{}", hotp(RFC_KEY, 0)));
    ok.expect_ok();
    assert_eq!(ok.json["result"]["value"]["role"], json!("user"), "{ok}");
    // The same OTP again is a replay.
    auth(&format!("test{}", hotp(RFC_KEY, 0))).expect_error(401, 4031);

    // With challenge-response the PIN asks for the OTP (401 with the transaction in detail).
    set_policy(
        &admin,
        "pol_cr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=hotp"),
            ("realm", "realm1"),
        ],
    );
    let challenge = auth("test");
    challenge.expect_error(401, 4031);
    let tx = transaction_id(&challenge);
    let ok = anon.post(
        "/auth",
        &[
            ("username", "alice"),
            ("realm", "realm1"),
            ("password", &hotp(RFC_KEY, 1)),
            ("transaction_id", &tx),
        ],
    );
    ok.expect_ok();
    assert_eq!(ok.json["result"]["value"]["role"], json!("user"), "{ok}");
}
