//! Tests of `Policy::from_params`: privacyIDEA's captured requests, the wire shape of capture 81,
//! and each kind of bad input (400/905 with a message naming it).

use std::collections::HashMap;

use serde_json::json;

use super::*;

fn catalogue() -> Catalogue {
    Catalogue::new(&["hotp".into(), "totp".into()])
}

fn from(name: &str, params: &[(&str, &str)]) -> Result<Policy, PiError> {
    let map: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Policy::from_params(name, |k| map.get(k).cloned(), &catalogue())
}

#[test]
fn capture_80_then_81_policy_list_shape() {
    // 80-policy-otppin-userstore.json request parameters.
    let policy = from(
        "pol_userstore",
        &[
            ("scope", "authentication"),
            ("action", "otppin=userstore"),
            ("realm", "realm1"),
            ("active", "true"),
        ],
    )
    .unwrap();
    // 81-policy-list.json result.value[0], plus description and user_case_insensitive.
    let captured = json!({
        "action": {"otppin": "userstore"},
        "active": true,
        "adminrealm": [],
        "adminuser": [],
        "check_all_resolvers": false,
        "client": [],
        "conditions": [],
        "name": "pol_userstore",
        "pinode": [],
        "priority": 1,
        "realm": ["realm1"],
        "resolver": [],
        "scope": "authentication",
        "time": "",
        "user": []
    });
    let mut got = policy.to_json();
    let extra = got.as_object_mut().unwrap();
    assert_eq!(extra.remove("description"), Some(json!("")));
    assert_eq!(extra.remove("user_case_insensitive"), Some(json!(false)));
    assert_eq!(got, captured);
}

#[test]
fn captures_70_and_85_and_the_text_form_of_actions() {
    let cr = from(
        "pol_cr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=hotp"),
            ("realm", "realm1"),
            ("active", "true"),
        ],
    )
    .unwrap();
    assert_eq!(
        cr.action["challenge_response"],
        ActionValue::Str("hotp".into())
    );
    let passthru = from(
        "pol_passthru",
        &[
            ("scope", "authentication"),
            ("action", "passthru"),
            ("realm", "realm1"),
        ],
    )
    .unwrap();
    assert_eq!(passthru.to_json()["action"], json!({"passthru": true}));

    let p = from(
        "many",
        &[(
            "action",
            "otppin=none, passOnNoToken ,challenge_response= hotp  totp ,challenge_text=Hello\\, {user}: OTP?",
        ), ("scope", "authentication")],
    )
    .unwrap();
    assert_eq!(
        p.to_json()["action"],
        json!({
            "challenge_response": "hotp totp",
            "challenge_text": "Hello, {user}: OTP?",
            "otppin": "none",
            "passOnNoToken": true
        })
    );
    assert_eq!(
        p.action_string(),
        "challenge_response=hotp totp, challenge_text=Hello\\, {user}: OTP?, otppin=none, passOnNoToken"
    );
    let again = parse_actions(Scope::Authentication, &p.action_string(), &catalogue()).unwrap();
    assert_eq!(again, p.action);
}

#[test]
fn json_action_object_and_json_lists_and_all_attributes() {
    let p = from(
        "admins.r1-2",
        &[
            ("scope", "admin"),
            ("action", r#"{"enrollHOTP": true, "tokenlist": "1", "otp_pin_minlength": 6, "auditlog_age": "7d"}"#),
            ("realm", r#"["r1", "r2"]"#),
            ("resolver", " res1, ,res2 ,res1"),
            ("user", "*, -bob"),
            ("adminrealm", "super"),
            ("adminuser", "alice,-mallory"),
            ("client", "10.0.0.0/8, -10.0.0.7, 2001:db8::/32, 192.168.1.1"),
            ("time", "Mon-Fri: 9-18, Sat: 10:30-12"),
            ("priority", "5"),
            ("active", "0"),
            ("check_all_resolvers", "true"),
            ("user_case_insensitive", "1"),
            ("description", "Realm admins"),
            ("conditions", "[]"),
            ("pinode", ""),
        ],
    )
    .unwrap();
    let json = p.to_json();
    assert_eq!(
        json["action"],
        json!({"auditlog_age": "7d", "enrollHOTP": true, "otp_pin_minlength": "6", "tokenlist": true})
    );
    assert_eq!(p.action["otp_pin_minlength"], ActionValue::Int(6));
    assert_eq!(json["realm"], json!(["r1", "r2"]));
    assert_eq!(json["resolver"], json!(["res1", "res2"]));
    assert_eq!(json["user"], json!(["*", "-bob"]));
    assert_eq!(json["adminuser"], json!(["alice", "-mallory"]));
    assert_eq!(
        json["client"],
        json!(["10.0.0.0/8", "-10.0.0.7", "2001:db8::/32", "192.168.1.1"])
    );
    assert_eq!(json["time"], "Mon-Fri: 9-18, Sat: 10:30-12");
    assert_eq!(
        (json["priority"].clone(), json["active"].clone()),
        (json!(5), json!(false))
    );
    assert_eq!(json["check_all_resolvers"], true);
    assert_eq!(json["user_case_insensitive"], true);
    assert_eq!(json["description"], "Realm admins");
    assert_eq!(p.validate(&catalogue()), Ok(()));
    // The stored form round-trips.
    let stored = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Policy>(&stored).unwrap(), p);
}

#[test]
fn stored_policies_are_rechecked_against_the_catalogue() {
    let p = from(
        "cr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=totp"),
        ],
    )
    .unwrap();
    assert_eq!(p.validate(&catalogue()), Ok(()));
    let without_totp = Catalogue::new(&["hotp".into()]);
    let err = p.validate(&without_totp).unwrap_err();
    assert!(
        err.message.contains("unknown token type 'totp'"),
        "{}",
        err.message
    );
    let minimal: Policy = serde_json::from_str(
        r#"{"name": "m", "scope": "webui", "action": {"login_mode": "userstore"}}"#,
    )
    .unwrap();
    assert_eq!((minimal.active, minimal.priority), (true, 1));
    assert_eq!(minimal.validate(&catalogue()), Ok(()));
}

/// Request parameters of one row.
type Params = Vec<(&'static str, &'static str)>;

#[test]
fn bad_input_is_a_400_that_names_the_problem() {
    let auth = |action: &'static str| vec![("scope", "authentication"), ("action", action)];
    let with = |mut base: Params, k, v| {
        base.push((k, v));
        base
    };
    let long_name = "p".repeat(65);
    let huge_realms: &'static str = "realm1,".repeat(3000).leak();
    let table: Vec<(&str, Params, &str)> = vec![
        (
            "p",
            vec![("action", "otppin=none")],
            "ERR905: Missing parameter: 'scope'",
        ),
        (
            "p",
            vec![("scope", ""), ("action", "otppin=none")],
            "ERR905: Missing parameter: 'scope'",
        ),
        (
            "p",
            vec![("scope", "authentication")],
            "ERR905: Missing parameter: 'action'",
        ),
        ("p", auth(" , ,"), "ERR905: Missing parameter: 'action'"),
        // 89c-policy-bad-scope.json: privacyIDEA accepted it; Tessera refuses.
        (
            "pol_bad3",
            vec![
                ("scope", "nosuchscope"),
                ("action", "otppin=userstore"),
                ("realm", "realm1"),
            ],
            "ERR905: Unknown policy scope 'nosuchscope'. Known scopes: admin, authentication",
        ),
        // 89b-policy-bad-action.json: likewise.
        (
            "pol_bad2",
            with(auth("nosuchaction"), "realm", "realm1"),
            "ERR905: Unknown action 'nosuchaction' in scope 'authentication'. GET /policy/defs/authentication lists the actions.",
        ),
        (
            "p",
            auth("passOnNoToken=no"),
            "Action 'passOnNoToken' is a switch",
        ),
        (
            "p",
            vec![
                ("scope", "enrollment"),
                ("action", "max_token_per_user=many"),
            ],
            "Action 'max_token_per_user' must be a whole number of 0 or more, got 'many'",
        ),
        (
            "p",
            auth("otppin=none, otppin=userstore"),
            "Action 'otppin' is given twice",
        ),
        ("p", auth("=none"), "has an entry without an action name"),
        (
            "p",
            auth(r#"{"passOnNoToken": false}"#),
            "Action 'passOnNoToken' is set to false",
        ),
        (
            "p",
            auth(r#"{"otppin": ["none"]}"#),
            "Action 'otppin' must be true, a number or a string",
        ),
        (
            "p",
            auth(r#"{"otppin": "none""#),
            "Parameter 'action' is not a valid JSON object",
        ),
        (
            "p",
            with(auth("otppin=none"), "adminrealm", "super"),
            "adminrealm and adminuser are only allowed in the admin scope, not in 'authentication'",
        ),
        (
            "p",
            with(auth("otppin=none"), "adminuser", "alice"),
            "only allowed in the admin scope",
        ),
        (
            "p",
            with(auth("otppin=none"), "client", "10.0.0.300"),
            "Parameter 'client': '10.0.0.300' is neither an IP address nor a network",
        ),
        (
            "p",
            with(auth("otppin=none"), "client", "10.0.0.0/33"),
            "'10.0.0.0/33' is neither",
        ),
        (
            "p",
            with(auth("otppin=none"), "client", "-"),
            "Parameter 'client' has the entry '-' without a name",
        ),
        (
            "p",
            with(auth("otppin=none"), "user", "alice, -"),
            "Parameter 'user' has the entry '-' without a name",
        ),
        (
            "p",
            with(auth("otppin=none"), "realm", "[1, 2]"),
            "Parameter 'realm' must be a comma separated list or a JSON array",
        ),
        (
            "p",
            with(auth("otppin=none"), "time", "Mon-Fri 9-18"),
            "Time 'Mon-Fri 9-18' is invalid",
        ),
        (
            "p",
            with(auth("otppin=none"), "time", "Mon: 18-9"),
            "it ends before it starts",
        ),
        (
            "p",
            with(auth("otppin=none"), "priority", "0"),
            "Parameter 'priority' must be a whole number of at least 1, got '0'",
        ),
        (
            "p",
            with(auth("otppin=none"), "priority", "first"),
            "got 'first'",
        ),
        (
            "p",
            with(auth("otppin=none"), "active", "maybe"),
            "Parameter 'active' must be a boolean (1/0, true/false), got 'maybe'",
        ),
        (
            "p",
            with(
                auth("otppin=none"),
                "conditions",
                r#"[["userinfo", "groups", "contains", "admins", true]]"#,
            ),
            "conditions are not supported",
        ),
        (
            "p",
            with(auth("otppin=none"), "pinode", "node1"),
            "pinode is not supported",
        ),
        (
            "bad name",
            auth("otppin=none"),
            "The policy name 'bad name' is invalid: use 1 to 64 letters, digits, '_', '-' or '.'",
        ),
        ("", auth("otppin=none"), "The policy name '' is invalid"),
        ("..", auth("otppin=none"), "The policy name '..' is invalid"),
        (&long_name, auth("otppin=none"), "is invalid"),
        (
            "p",
            with(auth("otppin=none"), "realm", huge_realms),
            "Parameter 'realm' is longer than 16384 bytes.",
        ),
        (
            "Defs",
            auth("otppin=none"),
            "The policy name 'Defs' is reserved",
        ),
    ];
    for (name, params, part) in table {
        let err = from(name, &params).unwrap_err();
        assert_eq!(err.kind.status_and_code(), (400, 905), "{params:?}");
        assert!(
            err.message.contains(part),
            "{params:?}:\n  got  {}\n  want {part}",
            err.message
        );
    }
}

fn update(stored: &Policy, params: &[(&str, &str)]) -> Result<Policy, PiError> {
    let map: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    stored.update_from_params(|k| map.get(k).cloned(), &catalogue())
}

#[test]
fn an_update_changes_only_the_parameters_sent() {
    let stored = from(
        "scoped",
        &[
            ("scope", "authentication"),
            (
                "action",
                "otppin=none, challenge_text=Hello\\, {user}: OTP?",
            ),
            ("realm", "realmX"),
            ("user", "alice, -bob"),
            ("client", "10.0.0.0/8"),
            ("priority", "5"),
            ("time", "Mon-Fri: 9-18"),
            ("description", "scoped one"),
        ],
    )
    .unwrap();
    // The parameter form reads back into the same policy.
    assert_eq!(update(&stored, &[]).unwrap(), stored);

    let changed = update(
        &stored,
        &[
            ("scope", "authentication"),
            ("action", "otppin=userstore"),
            ("active", "false"),
        ],
    )
    .unwrap();
    let mut expected = stored.clone();
    expected.action = BTreeMap::from([("otppin".into(), ActionValue::Str("userstore".into()))]);
    expected.active = false;
    assert_eq!(changed, expected);
    assert_eq!(
        (changed.realm, changed.client, changed.priority),
        (
            vec!["realmX".to_string()],
            vec!["10.0.0.0/8".to_string()],
            5
        )
    );

    // An empty parameter clears its field; the others stay.
    let cleared = update(&stored, &[("realm", ""), ("time", "")]).unwrap();
    assert_eq!((cleared.realm.len(), cleared.time.as_str()), (0, ""));
    assert_eq!((cleared.user, cleared.priority), (stored.user.clone(), 5));

    // The result is checked as a whole: the kept actions do not exist in the new scope.
    let err = update(&stored, &[("scope", "admin")]).unwrap_err();
    assert!(err.message.contains("in scope 'admin'"), "{}", err.message);
    let err = update(&stored, &[("adminuser", "alice")]).unwrap_err();
    assert!(
        err.message.contains("only allowed in the admin scope"),
        "{}",
        err.message
    );
}
