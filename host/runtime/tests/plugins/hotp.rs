//! The `hotp` plugin against RFC 4226 Appendix D: every value at its counter, replays, window.

use tessera_runtime::{CheckOutcome, CheckRequest, ResyncRequest, Runtime};

use crate::{both, state};

const KEY: &[u8] = b"12345678901234567890";
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

fn check(rt: &Runtime, serial: &str, counter: u64, otp: &str, window: u32) -> CheckOutcome {
    let req = CheckRequest {
        key: KEY,
        state: state(counter, 6, &[("hashlib", "sha1")]),
        otp: otp.into(),
        now: 1_700_000_000,
        window,
    };
    rt.check("hotp", serial, req).unwrap()
}

fn matched(counter: u64) -> CheckOutcome {
    CheckOutcome::Matched(state(counter, 6, &[("hashlib", "sha1")]))
}

#[test]
fn every_appendix_d_value_is_accepted_at_its_counter() {
    for (mode, rt) in both() {
        for (c, otp) in RFC4226.iter().enumerate() {
            let c = c as u64;
            assert_eq!(
                check(rt, "OATH0001", c, otp, 1),
                matched(c + 1),
                "{mode}: counter {c}"
            );
        }
    }
}

#[test]
fn used_values_are_replays_and_wrong_values_do_not_match() {
    for (mode, rt) in both() {
        // After counter 5 was used (the stored counter is 6), its value is a replay ("previous otp
        // used again"); older values are plain mismatches, as privacyIDEA 3.7.1 answers (captures 31, 38).
        for (c, otp) in RFC4226.iter().enumerate().take(6) {
            let expected = if c == 5 {
                CheckOutcome::Replayed
            } else {
                CheckOutcome::NoMatch
            };
            assert_eq!(
                check(rt, "OATH0002", 6, otp, 10),
                expected,
                "{mode}: counter {c}"
            );
        }
        assert_eq!(
            check(rt, "OATH0002", 6, "000000", 10),
            CheckOutcome::NoMatch,
            "{mode}"
        );
        assert_eq!(
            check(rt, "OATH0002", 6, "75522", 10),
            CheckOutcome::NoMatch,
            "{mode}: too short"
        );
        assert_eq!(
            check(rt, "OATH0002", 6, "abcdef", 10),
            CheckOutcome::NoMatch,
            "{mode}: not digits"
        );
    }
}

#[test]
fn the_window_bounds_the_look_ahead() {
    for (mode, rt) in both() {
        // Counter 9 is 9 ahead of 0: found with a window of 10, not with 9.
        assert_eq!(
            check(rt, "OATH0003", 0, RFC4226[9], 10),
            matched(10),
            "{mode}"
        );
        assert_eq!(
            check(rt, "OATH0003", 0, RFC4226[9], 9),
            CheckOutcome::NoMatch,
            "{mode}"
        );
        // Window 0 still checks the current counter.
        assert_eq!(
            check(rt, "OATH0003", 4, RFC4226[4], 0),
            matched(5),
            "{mode}"
        );
        assert_eq!(
            check(rt, "OATH0003", 4, RFC4226[5], 0),
            CheckOutcome::NoMatch,
            "{mode}"
        );
    }
}

#[test]
fn resync_finds_two_consecutive_values() {
    for (mode, rt) in both() {
        let req = |otp1: &str, otp2: &str| ResyncRequest {
            key: KEY,
            state: state(0, 6, &[("hashlib", "sha1")]),
            otp1: otp1.into(),
            otp2: otp2.into(),
            now: 0,
            window: 1000,
        };
        let next = rt
            .resync("hotp", "OATH0004", req(RFC4226[3], RFC4226[4]))
            .unwrap();
        assert_eq!(next.map(|s| s.counter), Some(5), "{mode}");
        assert_eq!(
            rt.resync("hotp", "OATH0004", req(RFC4226[3], RFC4226[5]))
                .unwrap(),
            None,
            "{mode}"
        );
    }
}

#[test]
fn unknown_type_is_reported() {
    let rt = both()[0].1;
    let req = CheckRequest {
        key: KEY,
        state: state(0, 6, &[]),
        otp: "755224".into(),
        now: 0,
        window: 1,
    };
    let err = rt.check("nosuchtype", "X", req).unwrap_err();
    assert!(
        matches!(err, tessera_runtime::CallError::UnknownType(ref t) if t == "nosuchtype"),
        "{err:?}"
    );
}
