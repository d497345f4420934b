//! Benchmark: µs per plugin call in Fresh and Pooled instance mode, against native HOTP in the
//! same process. Prints figures; asserts nothing. Run: `cargo bench -p tessera-runtime`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use hmac::{Hmac, Mac};
use tessera_runtime::{
    CheckOutcome, CheckRequest, InstanceMode, Runtime, RuntimeConfig, TokenState,
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
    let passwd = dir.path().join("passwd");
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!(
            "user{i}:x:{}:100:User {i},,,,user{i}@example.com:/home/u:/bin/sh\n",
            1000 + i
        ));
    }
    std::fs::write(&passwd, text).unwrap();
    let config = vec![("fileName".to_string(), passwd.to_str().unwrap().to_string())];
    let one = dir.path().join("passwd1");
    std::fs::write(&one, "user50:x:1050:100:User 50:/home/u:/bin/sh\n").unwrap();
    let config_one = vec![("fileName".to_string(), one.to_str().unwrap().to_string())];

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
        let lookup = measure(n, || {
            black_box(
                rt.get_user_id("passwdresolver", "bench", &config, "user50")
                    .unwrap(),
            );
        });
        let lookup_one = measure(n, || {
            black_box(
                rt.get_user_id("passwdresolver", "bench1", &config_one, "user50")
                    .unwrap(),
            );
        });
        println!(
            "{:<44} {hit:>8.2}",
            format!("{mode:?}: check hotp, match, window 0")
        );
        println!(
            "{:<44} {miss:>8.2}",
            format!("{mode:?}: check hotp, miss, window 10")
        );
        println!(
            "{:<44} {lookup:>8.2}",
            format!("{mode:?}: get_user_id, flat file of 100 users")
        );
        println!(
            "{:<44} {lookup_one:>8.2}",
            format!("{mode:?}: get_user_id, flat file of 1 user")
        );
    }
}
