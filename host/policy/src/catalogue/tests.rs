//! Tests of the catalogue: dynamic per-type actions, value validation, the `/policy/defs` shape.

use serde_json::json;

use super::*;

fn catalogue() -> Catalogue {
    Catalogue::new(&["hotp".into(), "TOTP".into(), "yubico".into()])
}

#[test]
fn token_types_add_enroll_rights_and_oath_enrollment_actions() {
    let cat = catalogue();
    assert_eq!(cat.token_types(), ["hotp", "totp", "yubico"]);
    for scope in [Scope::Admin, Scope::User] {
        for name in ["enrollHOTP", "enrollTOTP", "enrollYUBICO"] {
            let def = cat.get(scope, name).unwrap();
            assert_eq!(
                (def.kind, def.group),
                (ActionKind::Bool, Some("enrollment"))
            );
        }
    }
    for name in [
        "hotp_otplen",
        "hotp_hashlib",
        "totp_otplen",
        "totp_hashlib",
        "totp_timestep",
    ] {
        assert!(cat.get(Scope::Enrollment, name).is_some(), "{name}");
    }
    assert!(cat.get(Scope::Enrollment, "yubico_otplen").is_none());
    assert!(cat.get(Scope::Enrollment, "hotp_timestep").is_none());
    let without_totp = Catalogue::new(&["hotp".into()]);
    assert!(
        without_totp
            .get(Scope::Enrollment, "totp_timestep")
            .is_none()
    );
    assert!(without_totp.get(Scope::Admin, "enrollTOTP").is_none());
    assert_eq!(cat.actions(Scope::System).count(), 0);
}

#[test]
fn policy_defs_json_has_privacyidea_shape() {
    let defs = catalogue().to_json();
    let scopes: Vec<&String> = defs.as_object().unwrap().keys().collect();
    assert_eq!(
        scopes,
        [
            "admin",
            "authentication",
            "authorization",
            "enrollment",
            "system",
            "user",
            "webui"
        ]
    );
    assert_eq!(
        defs["authentication"]["otppin"],
        json!({
            "type": "str",
            "desc": "The PIN part of the password is checked against the token PIN (tokenpin), \
                     the user store password (userstore) or not at all (none).",
            "value": ["tokenpin", "userstore", "none"]
        })
    );
    assert_eq!(
        defs["admin"]["enrollHOTP"],
        json!({"type": "bool", "desc": "Admin is allowed to enroll HOTP tokens.", "group": "enrollment"})
    );
    assert_eq!(defs["enrollment"]["hotp_otplen"]["type"], "int");
    assert_eq!(defs["enrollment"]["hotp_otplen"]["value"], json!([6, 8]));
    assert_eq!(
        defs["enrollment"]["totp_timestep"]["value"],
        json!([30, 60])
    );
    assert_eq!(defs["enrollment"]["max_token_per_user"]["type"], "int");
    assert_eq!(
        defs["authentication"]["challenge_response"]["value"],
        json!(["hotp", "totp", "yubico"])
    );
    assert_eq!(defs["authentication"]["passOnNoToken"]["type"], "bool");
    assert_eq!(defs["system"], json!({}));
    assert_eq!(catalogue().scope_json(Scope::Webui), defs["webui"]);
    let admin = defs["admin"].as_object().unwrap();
    for right in [
        "policywrite",
        "tokenlist",
        "auditlog",
        "smtpserver_write",
        "losttoken",
    ] {
        assert_eq!(admin[right]["type"], "bool", "{right}");
    }
}

/// `Ok(value)` or `Err(part of the message)`.
type Want = Result<ActionValue, &'static str>;

fn check(scope: Scope, action: &str, raw: Option<&str>, want: Want) {
    let got = catalogue().value(scope, action, raw);
    match (got, want) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{action}={raw:?}"),
        (Err(err), Err(part)) => {
            assert_eq!(err.kind.status_and_code(), (400, 905), "{action}={raw:?}");
            assert!(err.message.starts_with("ERR905: "), "{}", err.message);
            assert!(
                err.message.contains(part),
                "{action}={raw:?}: {}",
                err.message
            );
        }
        (got, want) => panic!("{action}={raw:?}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn values_by_kind() {
    use ActionValue::{Bool, Int, Str};
    use Scope::*;
    let s = |v: &str| Ok(Str(v.to_string()));
    let table: Vec<(Scope, &str, Option<&str>, Want)> = vec![
        (Authentication, "passOnNoToken", None, Ok(Bool(true))),
        (
            Authentication,
            "passOnNoToken",
            Some("true"),
            Ok(Bool(true)),
        ),
        (Authentication, "passOnNoToken", Some("1"), Ok(Bool(true))),
        (
            Authentication,
            "passOnNoToken",
            Some("no"),
            Err("Action 'passOnNoToken' is a switch: give it alone"),
        ),
        (
            Authentication,
            "passOnNoToken",
            Some("false"),
            Err("To switch it off, leave it out"),
        ),
        (Authentication, "passthru", None, Ok(Bool(true))),
        (
            Authentication,
            "passthru",
            Some("UserStore"),
            s("userstore"),
        ),
        (
            Authentication,
            "passthru",
            Some("radius1"),
            Err("got 'radius1': passthru to a RADIUS server is not supported by Tessera yet"),
        ),
        (Authentication, "otppin", Some("userstore"), s("userstore")),
        (Authentication, "otppin", Some("UserStore"), s("userstore")),
        (
            Authentication,
            "otppin",
            Some("ldap"),
            Err("must be one of tokenpin, userstore, none, got 'ldap'"),
        ),
        (
            Authentication,
            "otppin",
            None,
            Err("needs a value, for example 'otppin=tokenpin'"),
        ),
        (
            Authentication,
            "challenge_response",
            Some(" HOTP  totp hotp"),
            s("hotp totp"),
        ),
        (
            Authentication,
            "challenge_response",
            Some("hotp sms"),
            Err("unknown token type 'sms'. Installed types: hotp, totp, yubico"),
        ),
        (
            Authentication,
            "preferred_client_mode",
            Some("poll interactive"),
            Err(
                "Action 'preferred_client_mode' in scope 'authentication' is not supported by \
                 Tessera yet",
            ),
        ),
        (
            Authentication,
            "challenge_text",
            Some("Enter the OTP, {user}"),
            s("Enter the OTP, {user}"),
        ),
        (
            Authentication,
            "nosuchaction",
            None,
            Err("Unknown action 'nosuchaction' in scope 'authentication'"),
        ),
        (
            Authorization,
            "otppin",
            Some("none"),
            Err("Unknown action 'otppin' in scope 'authorization'"),
        ),
        (
            Authorization,
            "serial",
            Some("^OATH[0-9]+$"),
            s("^OATH[0-9]+$"),
        ),
        (
            Authorization,
            "serial",
            Some("OATH("),
            Err("'OATH(' is not a valid regular expression"),
        ),
        (
            Authorization,
            "tokeninfo",
            Some("tokenkind/software/"),
            s("tokenkind/software/"),
        ),
        (
            Authorization,
            "tokeninfo",
            Some("tokenkind"),
            Err("is not of the form key/regex/"),
        ),
        (
            Authorization,
            "tokeninfo",
            Some("k/[a/"),
            Err("is not a valid regular expression"),
        ),
        (Authorization, "last_auth", Some("30h"), s("30h")),
        (
            Authorization,
            "last_auth",
            Some("30"),
            Err("'30' is not a duration like 30s, 5m, 30h, 7d or 1y"),
        ),
        (Authorization, "auth_max_fail", Some("3/5m"), s("3/5m")),
        (
            Authorization,
            "auth_max_success",
            Some("1000/1d"),
            s("1000/1d"),
        ),
        (
            Authorization,
            "auth_max_success",
            Some("1001/1d"),
            Err("at most 1000 authentications per period can be counted"),
        ),
        (Authorization, "application_tokentype", None, Ok(Bool(true))),
        (
            Authorization,
            "api_key_required",
            None,
            Err(
                "Action 'api_key_required' in scope 'authorization' is not supported by Tessera yet",
            ),
        ),
        (
            Authorization,
            "auth_max_fail",
            Some("3"),
            Err("'3' is not a rate like 3/5m"),
        ),
        (
            Authorization,
            "authorized",
            Some("deny_access"),
            s("deny_access"),
        ),
        (Authorization, "tokentype", Some("totp"), s("totp")),
        (Enrollment, "max_token_per_user", Some("2"), Ok(Int(2))),
        (
            Enrollment,
            "max_token_per_user",
            Some("two"),
            Err("must be a whole number of 0 or more, got 'two'"),
        ),
        (
            Enrollment,
            "max_token_per_user",
            Some("-1"),
            Err("must be a whole number of 0 or more"),
        ),
        (Enrollment, "max_token_per_user", None, Err("needs a value")),
        (Enrollment, "hotp_otplen", Some("8"), Ok(Int(8))),
        (
            Enrollment,
            "hotp_otplen",
            Some("7"),
            Err("must be one of 6, 8, got '7'"),
        ),
        (Enrollment, "totp_timestep", Some("60"), Ok(Int(60))),
        (Enrollment, "totp_hashlib", Some("sha256"), s("sha256")),
        (
            Enrollment,
            "totp_hashlib",
            Some("md5"),
            Err("must be one of sha1, sha256, sha512"),
        ),
        (Enrollment, "otp_pin_contents", Some("+cn"), s("+cn")),
        (
            Enrollment,
            "otp_pin_contents",
            Some("cnx"),
            Err("'x' is not a group"),
        ),
        (
            Enrollment,
            "tokenlabel",
            Some("{user}@{realm}"),
            Err("Action 'tokenlabel' in scope 'enrollment' is not supported by Tessera yet"),
        ),
        (Admin, "enrollHOTP", None, Ok(Bool(true))),
        (
            Admin,
            "enrollSMS",
            None,
            Err("Unknown action 'enrollSMS' in scope 'admin'"),
        ),
        (Admin, "auditlog_age", Some("7d"), s("7d")),
        (User, "enrollTOTP", None, Ok(Bool(true))),
        (
            User,
            "policywrite",
            None,
            Err("Unknown action 'policywrite' in scope 'user'"),
        ),
        (Webui, "login_mode", Some("privacyidea"), s("privacyIDEA")),
        (
            Webui,
            "jwt_validity",
            Some("3600"),
            Err("not supported by Tessera yet"),
        ),
        (
            System,
            "anything",
            None,
            Err("Unknown action 'anything' in scope 'system'"),
        ),
    ];
    for (scope, action, raw, want) in table {
        check(scope, action, raw, want);
    }
}

/// Unsupported actions are refused by name, but their kinds still read values (for the day they
/// are supported): `parse` skips the support check.
#[test]
fn unsupported_actions_are_refused_but_keep_their_kinds() {
    use ActionValue::{Int, Str};
    use Scope::*;
    let cat = catalogue();
    let table: Vec<(Scope, &str, Option<&str>, Want)> = vec![
        (
            Authentication,
            "preferred_client_mode",
            Some("poll interactive"),
            Ok(Str("poll interactive".into())),
        ),
        (
            Authentication,
            "preferred_client_mode",
            Some("poll carrier-pigeon"),
            Err("accepts only interactive, webauthn, poll, u2f"),
        ),
        (
            Enrollment,
            "autoassignment",
            Some("any_pin"),
            Ok(Str("any_pin".into())),
        ),
        (Webui, "jwt_validity", Some("3600"), Ok(Int(3600))),
        (
            Webui,
            "default_tokentype",
            Some("totp"),
            Ok(Str("totp".into())),
        ),
        (
            Webui,
            "default_tokentype",
            Some("hotp totp"),
            Err("takes one token type"),
        ),
    ];
    for (scope, action, raw, want) in table {
        let def = cat.get(scope, action).unwrap();
        assert!(!def.supported, "{action}");
        match (cat.parse(def, raw), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{action}"),
            (Err(err), Err(part)) => assert!(err.message.contains(part), "{}", err.message),
            (got, want) => panic!("{action}={raw:?}: got {got:?}, want {want:?}"),
        }
        check(scope, action, raw, Err("is not supported by Tessera yet"));
    }
}

/// The actions nothing in Tessera enforces, by scope: the list the catalogue must keep honest
/// (`grep` host/core and host/api for an action before taking it off this list).
#[test]
fn the_unsupported_actions_are_exactly_these() {
    let cat = catalogue();
    let unsupported = |scope: Scope| -> Vec<&str> {
        cat.actions(scope)
            .filter(|d| !d.supported)
            .map(|d| d.name.as_str())
            .collect()
    };
    assert_eq!(
        unsupported(Scope::Authentication),
        [
            "challenge_text_footer",
            "challenge_text_header",
            "disabled_token_types",
            "preferred_client_mode"
        ]
    );
    assert_eq!(unsupported(Scope::Authorization), ["api_key_required"]);
    assert_eq!(
        unsupported(Scope::Enrollment),
        [
            "appimageurl",
            "autoassignment",
            "max_active_token_per_user",
            "require_description",
            "tokenlabel"
        ]
    );
    assert_eq!(unsupported(Scope::Webui).len(), 9);
    assert!(cat.get(Scope::Webui, "login_mode").unwrap().supported);
    for scope in [Scope::Admin, Scope::User, Scope::System] {
        assert_eq!(unsupported(scope), Vec::<&str>::new(), "{scope}");
    }
    let defs = cat.to_json();
    assert_eq!(
        defs["authorization"]["api_key_required"]["supported"],
        json!(false)
    );
    assert!(
        defs["authorization"]["api_key_required"]["desc"]
            .as_str()
            .unwrap()
            .starts_with(UNSUPPORTED_NOTE)
    );
    assert!(
        defs["authorization"]["last_auth"]
            .get("supported")
            .is_none()
    );
}
