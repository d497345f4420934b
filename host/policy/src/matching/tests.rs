//! Matching tests: a table of attribute cases, priorities and conflicts, admin/user rights.

use std::collections::HashMap;
use std::net::IpAddr;

use super::*;

/// 2024-01-01 10:00:00 UTC, a Monday.
const MONDAY_10: i64 = 1_704_103_200;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

fn catalogue() -> Catalogue {
    Catalogue::new(&["hotp".into(), "totp".into()])
}

/// A policy through the real parser.
fn pol(name: &str, scope: &str, action: &str, attrs: &[(&str, &str)]) -> Policy {
    let mut map: HashMap<String, String> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    map.insert("scope".into(), scope.into());
    map.insert("action".into(), action.into());
    Policy::from_params(name, |k| map.get(k).cloned(), &catalogue()).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

struct Case {
    attrs: &'static [(&'static str, &'static str)],
    query: fn(Query<'static>) -> Query<'static>,
    want: bool,
}

const fn case(
    attrs: &'static [(&'static str, &'static str)],
    query: fn(Query<'static>) -> Query<'static>,
    want: bool,
) -> Case {
    Case { attrs, query, want }
}

#[test]
fn attribute_matching_table() {
    let table = [
        // An empty attribute matches everything, also a request without it.
        case(&[], |q| q, true),
        case(
            &[],
            |q| q.realm("r1").user("bob").client(ip("10.0.0.1")),
            true,
        ),
        // Realm: listed, case-insensitive, absent request realm, exclusions.
        case(&[("realm", "realm1")], |q| q.realm("realm1"), true),
        case(&[("realm", "realm1")], |q| q.realm("REALM1"), true),
        case(&[("realm", "Realm1")], |q| q.realm("realm1"), true),
        case(&[("realm", "realm1")], |q| q.realm("realm2"), false),
        case(&[("realm", "realm1")], |q| q, false),
        case(&[("realm", "realm1, realm2")], |q| q.realm("realm2"), true),
        case(&[("realm", "-realm1")], |q| q.realm("realm2"), true),
        case(&[("realm", "-realm1")], |q| q.realm("Realm1"), false),
        case(&[("realm", "-realm1")], |q| q, false),
        // Resolver: exact.
        case(&[("resolver", "res1")], |q| q.resolver("res1"), true),
        case(&[("resolver", "res1")], |q| q.resolver("RES1"), false),
        case(&[("resolver", "res1")], |q| q, false),
        // User: list, exclusions, exact case unless user_case_insensitive.
        case(&[("user", "alice, bob")], |q| q.user("bob"), true),
        case(&[("user", "alice, bob")], |q| q.user("Bob"), false),
        case(&[("user", "alice, bob")], |q| q.user("carol"), false),
        case(&[("user", "-bob")], |q| q.user("alice"), true),
        case(&[("user", "-bob")], |q| q.user("bob"), false),
        case(&[("user", "-bob")], |q| q, false),
        case(&[("user", "*, -bob")], |q| q.user("alice"), true),
        case(&[("user", "*, -bob")], |q| q.user("bob"), false),
        case(&[("user", "*")], |q| q, true),
        case(
            &[("user", "Bob"), ("user_case_insensitive", "1")],
            |q| q.user("bOB"),
            true,
        ),
        case(
            &[("user", "-Bob"), ("user_case_insensitive", "1")],
            |q| q.user("bob"),
            false,
        ),
        case(
            &[("user", "bob")],
            |q| q.user("bob").realm("r1").resolver("res9"),
            true,
        ),
        // Client: networks, exclusions, single hosts, IPv6, IPv4-mapped IPv6, absent client.
        case(
            &[("client", "10.0.0.0/8, -10.0.0.7")],
            |q| q.client(ip("10.1.2.3")),
            true,
        ),
        case(
            &[("client", "10.0.0.0/8, -10.0.0.7")],
            |q| q.client(ip("10.0.0.7")),
            false,
        ),
        case(
            &[("client", "10.0.0.0/8, -10.0.0.7")],
            |q| q.client(ip("192.168.0.1")),
            false,
        ),
        case(
            &[("client", "10.0.0.0/8, -10.0.0.7")],
            |q| q.client(ip("::ffff:10.1.2.3")),
            true,
        ),
        case(&[("client", "10.0.0.0/8")], |q| q, false),
        case(
            &[("client", "-10.0.0.7")],
            |q| q.client(ip("192.168.1.1")),
            true,
        ),
        case(
            &[("client", "-10.0.0.7")],
            |q| q.client(ip("10.0.0.7")),
            false,
        ),
        case(
            &[("client", "192.168.0.1")],
            |q| q.client(ip("192.168.0.1")),
            true,
        ),
        case(
            &[("client", "192.168.0.1")],
            |q| q.client(ip("192.168.0.2")),
            false,
        ),
        case(
            &[("client", "10.1.2.3/8")],
            |q| q.client(ip("10.200.0.1")),
            true,
        ),
        case(
            &[("client", "2001:db8::/32")],
            |q| q.client(ip("2001:db8:1::5")),
            true,
        ),
        case(
            &[("client", "2001:db8::/32")],
            |q| q.client(ip("2001:db9::5")),
            false,
        ),
        case(
            &[("client", "2001:db8::/32")],
            |q| q.client(ip("10.0.0.1")),
            false,
        ),
        case(
            &[("client", "::/0, -2001:db8::1")],
            |q| q.client(ip("2001:db8::1")),
            false,
        ),
        // Time (UTC): weekday ranges, minutes, the end included.
        case(&[("time", "Mon-Fri: 9-18")], |q| q, true),
        case(
            &[("time", "Mon-Fri: 9-18")],
            |q| Query {
                now_unix: MONDAY_10 + 5 * DAY,
                ..q
            },
            false,
        ),
        case(
            &[("time", "Mon-Fri: 9-18")],
            |q| Query {
                now_unix: MONDAY_10 + 8 * HOUR,
                ..q
            },
            true,
        ),
        case(
            &[("time", "Mon-Fri: 9-18")],
            |q| Query {
                now_unix: MONDAY_10 + 8 * HOUR + 60,
                ..q
            },
            false,
        ),
        case(
            &[("time", "Mon-Fri: 9-18")],
            |q| Query {
                now_unix: MONDAY_10 - HOUR - 1,
                ..q
            },
            false,
        ),
        case(&[("time", "Tue: 0-24, Mon: 10:30-11")], |q| q, false),
        case(
            &[("time", "Tue: 0-24, Mon: 10:30-11")],
            |q| Query {
                now_unix: MONDAY_10 + 1800,
                ..q
            },
            true,
        ),
        case(
            &[("time", "Tue: 0-24, Mon: 10:30-11")],
            |q| Query {
                now_unix: MONDAY_10 + 1799,
                ..q
            },
            false,
        ),
        case(
            &[("time", "Sun-Tue: 0-24")],
            |q| Query {
                now_unix: MONDAY_10 - DAY,
                ..q
            },
            true,
        ),
        // Inactive policies never match.
        case(&[("active", "false")], |q| q, false),
        // Several attributes: all must match.
        case(
            &[("realm", "r1"), ("user", "bob"), ("client", "10.0.0.0/8")],
            |q| q.realm("r1").user("bob").client(ip("10.0.0.1")),
            true,
        ),
        case(
            &[("realm", "r1"), ("user", "bob"), ("client", "10.0.0.0/8")],
            |q| q.realm("r1").user("bob").client(ip("11.0.0.1")),
            false,
        ),
    ];
    for (n, case) in table.iter().enumerate() {
        let set = PolicySet::compile(vec![pol(
            "p",
            "authentication",
            "passOnNoToken",
            case.attrs,
        )]);
        let query = (case.query)(Query::new(Scope::Authentication, MONDAY_10));
        let matched = set.matching(&query);
        assert_eq!(
            matched.bool("passOnNoToken"),
            case.want,
            "row {n}: {:?} vs {query:?}",
            case.attrs
        );
        assert!(!matched.bool("passOnNoUser"), "row {n}: another action");
        let names = if case.want { vec!["p"] } else { vec![] };
        assert_eq!(matched.policy_names(), names, "row {n}");
        // The policy is not seen from another scope.
        let other = Query {
            scope: Scope::Authorization,
            ..query
        };
        assert!(!set.matching(&other).bool("passOnNoToken"));
    }
}

#[test]
fn best_priority_wins_and_conflicts_are_errors() {
    let q = Query::new(Scope::Authentication, MONDAY_10)
        .realm("r1")
        .user("bob");
    let set = PolicySet::compile(vec![
        pol(
            "wide",
            "authentication",
            "otppin=userstore",
            &[("priority", "2")],
        ),
        pol(
            "narrow",
            "authentication",
            "otppin=none",
            &[("realm", "r1")],
        ),
        pol(
            "other_realm",
            "authentication",
            "otppin=tokenpin",
            &[("realm", "r2"), ("priority", "1")],
        ),
    ]);
    let m = set.matching(&q);
    assert_eq!(
        m.value("otppin"),
        Ok(Some(&ActionValue::Str("none".into())))
    );
    assert_eq!(
        m.policy_names(),
        ["narrow"],
        "only the policy that supplied the answer"
    );
    let m = set.matching(&Query::new(Scope::Authentication, MONDAY_10).realm("r3"));
    assert_eq!(
        m.value("otppin"),
        Ok(Some(&ActionValue::Str("userstore".into())))
    );
    assert_eq!(m.value("passthru"), Ok(None));
    assert_eq!(m.policy_names(), ["wide"]);

    // Same priority, same value: fine, both named.
    let agree = PolicySet::compile(vec![
        pol("a", "authentication", "otppin=none", &[]),
        pol("b", "authentication", "otppin=none", &[("user", "bob")]),
    ]);
    let m = agree.matching(&q);
    assert_eq!(
        m.value("otppin"),
        Ok(Some(&ActionValue::Str("none".into())))
    );
    assert_eq!(m.policy_names(), ["a", "b"]);

    // Same priority, different values: privacyIDEA's policy conflict.
    let clash = PolicySet::compile(vec![
        pol("pol_b", "authentication", "otppin=none", &[("user", "bob")]),
        pol(
            "pol_a",
            "authentication",
            "otppin=userstore",
            &[("realm", "r1")],
        ),
        pol(
            "pol_c",
            "authentication",
            "otppin=tokenpin",
            &[("priority", "3")],
        ),
    ]);
    let err = clash.matching(&q).value("otppin").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Policy);
    assert_eq!(err.kind.status_and_code(), (403, 303));
    assert_eq!(
        err.message,
        "ERR303: There are policies with conflicting actions: ['pol_a', 'pol_b']: \
         otppin=userstore (pol_a), otppin=none (pol_b). Give them different priorities or the same value."
    );
    // Without bob the conflict does not arise.
    let alice = Query::new(Scope::Authentication, MONDAY_10)
        .realm("r1")
        .user("alice");
    assert_eq!(
        clash.matching(&alice).value("otppin"),
        Ok(Some(&ActionValue::Str("userstore".into())))
    );
}

#[test]
fn lists_add_up_and_switches_ignore_priority() {
    let set = PolicySet::compile(vec![
        pol(
            "cr1",
            "authentication",
            "challenge_response=hotp, passOnNoToken",
            &[("priority", "9")],
        ),
        pol(
            "cr2",
            "authentication",
            "challenge_response=totp hotp",
            &[("realm", "r1")],
        ),
        pol(
            "cr3",
            "authentication",
            "challenge_response=totp",
            &[("realm", "r2")],
        ),
        pol(
            "off",
            "authentication",
            "challenge_response=hotp",
            &[("active", "0")],
        ),
        pol("rate", "authorization", "tokentype=totp", &[]),
    ]);
    let q = Query::new(Scope::Authentication, MONDAY_10).realm("r1");
    let m = set.matching(&q);
    assert_eq!(m.list("challenge_response"), ["totp", "hotp"]);
    assert!(m.bool("passOnNoToken"));
    assert_eq!(m.list("passOnNoToken"), Vec::<String>::new());
    assert_eq!(m.policy_names(), ["cr2", "cr1"]);
    assert_eq!(set.len(), 5, "inactive policies are kept");
    assert_eq!(set.get("off").map(|p| p.active), Some(false));
    let q = Query::new(Scope::Authorization, MONDAY_10);
    assert_eq!(set.matching(&q).list("tokentype"), ["totp"]);
}

#[test]
fn admin_rights_are_open_until_the_first_admin_policy() {
    let admin = Query::new(Scope::Admin, MONDAY_10).adminuser("alice");
    let open = PolicySet::compile(vec![
        pol("u", "user", "setpin", &[]),
        pol("off", "admin", "enable", &[("active", "false")]),
    ]);
    let a = open.allows("delete", &admin);
    assert_eq!((a.yes, a.policies.len()), (true, 0));
    let rights = open.rights(&admin, &catalogue());
    assert!(rights.contains(&"delete".to_string()) && rights.contains(&"enrollTOTP".to_string()));
    assert!(
        !rights.contains(&"auditlog_age".to_string()),
        "only switches"
    );

    let set = PolicySet::compile(vec![
        pol(
            "r1_admins",
            "admin",
            "enable, enrollHOTP, tokenlist",
            &[("realm", "r1")],
        ),
        pol(
            "helpdesk",
            "admin",
            "reset",
            &[("adminrealm", "staff"), ("adminuser", "-mallory")],
        ),
        pol("nights", "admin", "delete", &[("time", "Sun: 0-1")]),
    ]);
    let allows = |action: &str, q: &Query<'_>| set.allows(action, q).yes;
    assert!(
        !allows("delete", &admin),
        "outside its time the policy is invisible, but rights stay closed"
    );
    assert!(allows("enable", &admin.realm("r1")));
    assert!(allows("enable", &admin.realm("R1")));
    assert!(!allows("enable", &admin.realm("r2")));
    assert!(
        allows("enable", &admin),
        "no object realm: every policy applies (privacyIDEA)"
    );
    assert!(
        !allows("enable", &admin.realm("")),
        "an object without a realm"
    );
    assert!(allows("enrollHOTP", &admin.realm("r1")));
    assert!(
        !allows("enrollTOTP", &admin.realm("r1")),
        "enroll rights are per type"
    );
    assert!(allows("reset", &admin.adminrealm("Staff").adminuser("bob")));
    assert!(!allows(
        "reset",
        &admin.adminrealm("staff").adminuser("mallory")
    ));
    assert!(!allows(
        "reset",
        &admin.adminrealm("other").adminuser("bob")
    ));
    assert!(
        !allows("reset", &admin),
        "an admin without a realm is not in adminrealm 'staff'"
    );
    assert_eq!(
        set.allows("tokenlist", &admin.realm("r1")).policies,
        ["r1_admins"]
    );
    assert_eq!(
        set.rights(&admin.realm("r1"), &catalogue()),
        ["enable", "enrollHOTP", "tokenlist"]
    );

    // The user scope follows the same rule, independently of the admin scope.
    let user = Query::new(Scope::User, MONDAY_10).realm("r2").user("bob");
    assert!(set.allows("setpin", &user).yes);
    let set = PolicySet::compile(vec![pol(
        "self",
        "user",
        "setpin, enrollTOTP",
        &[("realm", "r1")],
    )]);
    assert!(!set.allows("setpin", &user).yes);
    assert!(set.allows("enrollTOTP", &user.realm("r1")).yes);
    assert!(!set.allows("enrollHOTP", &user.realm("r1")).yes);
    assert!(
        !set.allows("setpin", &Query::new(Scope::User, MONDAY_10).user("bob"))
            .yes,
        "no default for users' realm"
    );
    // No default-allow in other scopes.
    assert!(
        !PolicySet::default()
            .allows("passOnNoToken", &Query::new(Scope::Authentication, 0))
            .yes
    );
}

#[test]
fn stored_policies_that_cannot_be_read_never_match() {
    let mut bad = pol("bad_client", "admin", "enable", &[]);
    bad.client = vec!["not-an-ip".into()];
    let mut bad_time = pol("bad_time", "authentication", "passOnNoToken", &[]);
    bad_time.time = "whenever".into();
    let set = PolicySet::compile(vec![bad, bad_time]);
    assert_eq!(set.broken().len(), 2);
    assert_eq!(set.broken()[0].0, "bad_client");
    assert!(
        !set.allows("enable", &Query::new(Scope::Admin, MONDAY_10))
            .yes,
        "fails closed"
    );
    assert!(
        !set.matching(&Query::new(Scope::Authentication, MONDAY_10))
            .bool("passOnNoToken")
    );
}
