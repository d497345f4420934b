//! Cost of a policy lookup with 10, 100 and 1 000 policies (mixed scopes, realms, users, clients,
//! times), in ns and as a ratio to the same lookup in an empty set. `cargo bench -p tessera-policy`.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use tessera_policy::{Catalogue, Policy, PolicySet, Query, Scope};

/// 2024-01-01 10:00:00 UTC, a Monday.
const NOW: i64 = 1_704_103_200;
const ROUNDS: u32 = 200_000;

fn policy(i: usize, catalogue: &Catalogue) -> Policy {
    let (scope, action) = match i % 5 {
        0 => ("authentication", "otppin=userstore"),
        1 => (
            "authentication",
            "challenge_response=hotp totp, passOnNoToken",
        ),
        2 => ("admin", "enable, disable, tokenlist, enrollHOTP"),
        3 => ("authorization", "tokentype=totp, last_auth=30h"),
        _ => ("enrollment", "max_token_per_user=3, hotp_otplen=6"),
    };
    let mut params: HashMap<&str, String> = HashMap::new();
    params.insert("scope", scope.into());
    params.insert("action", action.into());
    params.insert("priority", (1 + i % 7).to_string());
    if !i.is_multiple_of(3) {
        params.insert("realm", format!("realm{}", i % 20));
    }
    if i % 4 == 1 {
        params.insert("user", format!("user{}, -user{}", i % 50, (i + 1) % 50));
    }
    if i % 6 == 2 {
        params.insert(
            "client",
            format!("10.{}.0.0/16, -10.{}.0.7", i % 256, i % 256),
        );
    }
    if i % 10 == 9 {
        params.insert("time", "Mon-Fri: 8-18".into());
    }
    let get = |k: &str| params.get(k).cloned();
    match Policy::from_params(&format!("pol{i}"), get, catalogue) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("policy {i}: {e}");
            std::process::exit(1)
        }
    }
}

/// Nanoseconds per lookup, averaged over three kinds: a value (`otppin`), a list
/// (`challenge_response`) and an admin right (`enable`).
fn measure(set: &PolicySet) -> f64 {
    let realms: Vec<String> = (0..20).map(|i| format!("realm{i}")).collect();
    let users: Vec<String> = (0..50).map(|i| format!("user{i}")).collect();
    let start = Instant::now();
    for n in 0..ROUNDS as usize {
        let client = IpAddr::V4(Ipv4Addr::new(10, (n % 256) as u8, 0, (n % 9) as u8));
        let q = Query::new(Scope::Authentication, NOW)
            .realm(&realms[n % 20])
            .user(&users[n % 50])
            .client(client);
        let matched = set.matching(&q);
        black_box(matched.value("otppin").ok());
        black_box(matched.list("challenge_response"));
        let admin = Query::new(Scope::Admin, NOW)
            .adminuser("admin")
            .realm(&realms[n % 20]);
        black_box(set.allows("enable", &admin).yes);
    }
    start.elapsed().as_nanos() as f64 / f64::from(3 * ROUNDS)
}

fn main() {
    let catalogue = Catalogue::new(&["hotp".into(), "totp".into()]);
    let empty = measure(&PolicySet::default());
    println!("policies  ns/lookup  ratio to empty set");
    println!("{:>8}  {:>9.0}  {:>5.1}", 0, empty, 1.0);
    for n in [10, 100, 1_000] {
        let set = PolicySet::compile((0..n).map(|i| policy(i, &catalogue)).collect());
        let ns = measure(&set);
        println!("{n:>8}  {ns:>9.0}  {:>5.1}", ns / empty);
    }
}
