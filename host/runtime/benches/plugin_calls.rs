//! Benchmark: µs per plugin call in Fresh and Pooled instance mode, against native HOTP in the
//! same process. Prints figures; asserts nothing. Run: `cargo bench -p tessera-runtime`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use hmac::{Hmac, Mac};
use tessera_runtime::{
    CheckOutcome, CheckRequest, InstanceMode, Pairs, Runtime, RuntimeConfig, TokenState,
};

const KEY: &[u8] = b"12345678901234567890";

fn runtime(mode: InstanceMode) -> Runtime {
    let mut rt = Runtime::new(RuntimeConfig {
        instance_mode: mode,
        ..RuntimeConfig::default()
    })
    .unwrap();
    for p in tessera_bundled::bundled() {
        rt.load(p.manifest, p.wasm).unwrap();
    }
    rt
}

/// Mean µs per call of `f` over `n` calls, after `n / 10` warm-up calls.
fn measure(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// RFC 4226 HOTP, natively: the reference.
fn native_hotp(key: &[u8], counter: u64) -> u32 {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = usize::from(h[19] & 0x0f);
    (u32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]) & 0x7fff_ffff) % 1_000_000
}

/// A passwd file of `users` users (`user0` = uid 1000, ...) in `dir`; its resolver configuration.
fn passwd_file(dir: &Path, users: usize) -> Pairs {
    let path = dir.join(format!("passwd{users}"));
    let mut text = String::new();
    for i in 0..users {
        text.push_str(&format!(
            "user{i}:x:{}:100:User {i},,,,user{i}@example.com:/home/u:/bin/sh\n",
            1000 + i
        ));
    }
    std::fs::write(&path, text).unwrap();
    vec![("fileName".to_string(), path.to_str().unwrap().to_string())]
}

fn check(rt: &Runtime, otp: &str, window: u32) -> CheckOutcome {
    let state = TokenState {
        counter: 0,
        otplen: 6,
        info: [("hashlib".into(), "sha1".into())].into(),
    };
    let req = CheckRequest {
        key: KEY,
        state,
        otp: otp.into(),
        now: 0,
        window,
    };
    rt.check("hotp", "OATH0001", req).unwrap()
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    println!("plugin call cost, µs per call, mean of {n} calls (release, 1 thread)");

    let native = measure(n * 10, || {
        black_box(native_hotp(black_box(KEY), black_box(0)));
    });
    let native_miss = measure(n * 10, || {
        for c in 0..10 {
            black_box(native_hotp(black_box(KEY), black_box(c)));
        }
    });
    println!("{:<44} {native:>8.2}", "native HOTP, 1 HMAC");
    println!(
        "{:<44} {native_miss:>8.2}",
        "native HOTP, 10 HMACs (miss, window 10)"
    );

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(usize, Pairs)> = [1, 100, 1000]
        .into_iter()
        .map(|users| (users, passwd_file(dir.path(), users)))
        .collect();

    for mode in [InstanceMode::Fresh, InstanceMode::Pooled] {
        let rt = runtime(mode);
        assert!(matches!(check(&rt, "755224", 0), CheckOutcome::Matched(_)));
        assert_eq!(check(&rt, "000000", 10), CheckOutcome::NoMatch);
        let hit = measure(n, || {
            black_box(check(&rt, "755224", 0));
        });
        let miss = measure(n, || {
            black_box(check(&rt, "000000", 10));
        });
        println!(
            "{:<44} {hit:>8.2}",
            format!("{mode:?}: check hotp, match, window 0")
        );
        println!(
            "{:<44} {miss:>8.2}",
            format!("{mode:?}: check hotp, miss, window 10")
        );
        for (users, config) in &files {
            // A user in the middle of the file; the 1000-user file gets fewer calls, since in
            // Fresh mode every call parses the whole file.
            let login = format!("user{}", users / 2);
            let resolver = format!("bench{users}");
            let calls = if *users >= 1000 { n / 10 } else { n };
            let want = (1000 + users / 2).to_string();
            let found = rt.get_user_id("passwdresolver", &resolver, config, &login);
            assert_eq!(found.unwrap(), Some(want), "{mode:?}, {users} users");
            let lookup = measure(calls, || {
                let id = rt
                    .get_user_id("passwdresolver", &resolver, config, &login)
                    .unwrap();
                black_box(id);
            });
            println!(
                "{:<44} {lookup:>8.2}",
                format!("{mode:?}: get_user_id, {users}-user flat file")
            );
        }
    }
}
