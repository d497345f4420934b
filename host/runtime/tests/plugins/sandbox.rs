//! The sandbox, proved with the hostile fixtures: time limit, memory limit, panic reporting,
//! capabilities checked at load, and isolation of warm instances by key.

use std::time::{Duration, Instant};

use tessera_runtime::{
    CallError, CheckOutcome, CheckRequest, InstanceMode, LoadError, Runtime, TrapReason,
};

use crate::{runtime, state};

fn load_fixture(rt: &mut Runtime, name: &str) -> String {
    let wasm = std::fs::read(tessera_bundled::fixture_path(name)).unwrap();
    let manifest = std::fs::read_to_string(tessera_bundled::fixture_manifest_path(name)).unwrap();
    rt.load(&manifest, &wasm)
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

fn check(rt: &Runtime, ttype: &str, serial: &str, otp: &str) -> Result<CheckOutcome, CallError> {
    let req = CheckRequest {
        key: b"12345678901234567890",
        state: state(0, 6, &[]),
        otp: otp.into(),
        now: 0,
        window: 1,
    };
    rt.check(ttype, serial, req)
}

fn trap_reason(r: Result<CheckOutcome, CallError>) -> TrapReason {
    match r {
        Err(CallError::Trap { reason, .. }) => reason,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn an_endless_loop_times_out_and_the_runtime_keeps_working() {
    for mode in [InstanceMode::Fresh, InstanceMode::Pooled] {
        let mut rt = runtime(mode);
        assert_eq!(load_fixture(&mut rt, "hostile-loop"), "hostile-loop");
        for _ in 0..2 {
            // A trapped instance is never reused: the second call times out again rather than
            // failing with "cannot enter component instance".
            let start = Instant::now();
            let reason = trap_reason(check(&rt, "hostile-loop", "LOOP1", "123456"));
            let took = start.elapsed();
            assert_eq!(reason, TrapReason::Timeout, "{mode:?}");
            // The manifest's limit is 100 ms (10 ticks of 10 ms).
            assert!(
                took >= Duration::from_millis(80),
                "{mode:?}: stopped after {took:?}"
            );
            assert!(
                took < Duration::from_millis(600),
                "{mode:?}: stopped only after {took:?}"
            );
        }
        assert_eq!(
            check(&rt, "hotp", "OATH1", "755224").unwrap(),
            CheckOutcome::Matched(state(1, 6, &[]))
        );
    }
}

#[test]
fn growing_memory_without_end_is_out_of_memory() {
    let mut rt = runtime(InstanceMode::Fresh);
    load_fixture(&mut rt, "hostile-grow");
    assert_eq!(
        trap_reason(check(&rt, "hostile-grow", "GROW1", "123456")),
        TrapReason::OutOfMemory
    );
    assert!(matches!(
        check(&rt, "hotp", "OATH1", "755224"),
        Ok(CheckOutcome::Matched(_))
    ));
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let mut rt = runtime(InstanceMode::Pooled);
    load_fixture(&mut rt, "hostile-panic");
    for _ in 0..2 {
        match trap_reason(check(&rt, "hostile-panic", "PANC1", "123456")) {
            TrapReason::Panic(msg) => {
                assert!(
                    msg.contains("hostile-panic: check panicked on purpose"),
                    "{msg}"
                )
            }
            other => panic!("expected a panic, got {other:?}"),
        }
    }
}

#[test]
fn a_resolver_importing_files_without_the_capability_is_refused() {
    let flatfile = tessera_bundled::bundled()
        .iter()
        .find(|p| p.name == "resolver-flatfile")
        .unwrap();
    let mut rt = Runtime::new(Default::default()).unwrap();
    let manifest =
        "name = \"flat-no-files\"\nkind = \"resolver\"\ncapabilities = [\"passwords\"]\n";
    match rt.load(manifest, flatfile.wasm) {
        Err(e @ LoadError::CapabilityNotGranted { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("`files` capability") && msg.contains("flat-no-files"),
                "{msg}"
            );
        }
        other => panic!("expected a capability error, got {other:?}"),
    }
    let manifest = "name = \"flat-no-pw\"\nkind = \"resolver\"\ncapabilities = [\"files\"]\n";
    let err = rt.load(manifest, flatfile.wasm).unwrap_err().to_string();
    assert!(err.contains("`passwords` capability"), "{err}");
    assert!(rt.resolver_types().is_empty());

    let hotp = tessera_bundled::bundled()
        .iter()
        .find(|p| p.name == "hotp")
        .unwrap();
    let err = rt
        .load(
            "name = \"h\"\nkind = \"token\"\ncapabilities = [\"files\"]\n",
            hotp.wasm,
        )
        .unwrap_err();
    assert!(err.to_string().contains("`files`"), "{err}");
    // A token component declared as a resolver does not fit the world.
    let err = rt
        .load("name = \"h\"\nkind = \"resolver\"\n", hotp.wasm)
        .unwrap_err();
    assert!(matches!(err, LoadError::Link { .. }), "{err}");
}

fn snooped(r: Result<CheckOutcome, CallError>) -> String {
    match r.unwrap() {
        CheckOutcome::Matched(s) => s.info.get("snooped").cloned().unwrap_or_default(),
        other => panic!("snoop accepts everything, got {other:?}"),
    }
}

#[test]
fn warm_instances_are_isolated_by_token() {
    let mut rt = runtime(InstanceMode::Pooled);
    load_fixture(&mut rt, "hostile-snoop");
    assert_eq!(snooped(check(&rt, "hostile-snoop", "SNOPA", "111111")), "");
    let b = snooped(check(&rt, "hostile-snoop", "SNOPB", "222222"));
    assert!(!b.contains("111111"), "token B saw token A's OTP: {b:?}");
    // The same token may get its own warm instance back (that is what pooling is for).
    assert_eq!(
        snooped(check(&rt, "hostile-snoop", "SNOPA", "333333")),
        "111111"
    );
    assert_eq!(
        snooped(check(&rt, "hostile-snoop", "SNOPB", "444444")),
        "222222"
    );

    let mut fresh = runtime(InstanceMode::Fresh);
    load_fixture(&mut fresh, "hostile-snoop");
    assert_eq!(
        snooped(check(&fresh, "hostile-snoop", "SNOPA", "111111")),
        ""
    );
    assert_eq!(
        snooped(check(&fresh, "hostile-snoop", "SNOPA", "222222")),
        "",
        "fresh mode keeps nothing"
    );
}

#[test]
fn the_idle_pool_is_bounded() {
    let cfg = tessera_runtime::RuntimeConfig {
        instance_mode: InstanceMode::Pooled,
        max_idle_instances: 2,
        ..Default::default()
    };
    let mut rt = Runtime::new(cfg).unwrap();
    load_fixture(&mut rt, "hostile-snoop");
    for serial in ["A", "B", "C"] {
        snooped(check(&rt, "hostile-snoop", serial, serial));
    }
    // A's instance was the least recently used and was dropped; C's is still warm.
    assert_eq!(snooped(check(&rt, "hostile-snoop", "A", "x")), "");
    assert_eq!(snooped(check(&rt, "hostile-snoop", "C", "x")), "C");
}

#[test]
fn concurrent_calls_share_the_runtime_and_never_see_other_tokens() {
    let mut rt = runtime(InstanceMode::Pooled);
    load_fixture(&mut rt, "hostile-snoop");
    let rt = std::sync::Arc::new(rt);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    // Two threads per serial, so the same key is sometimes in use twice at once.
                    let serial = format!("S{}", t % 2);
                    let otp = format!("{serial}-{t}-{i}");
                    let seen = snooped(check(&rt, "hostile-snoop", &serial, &otp));
                    assert!(
                        seen.is_empty() || seen.starts_with(&format!("{serial}-")),
                        "{serial} saw {seen}"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
